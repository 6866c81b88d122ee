"""The real docker CLI against docker-engine-server over a real port-layer-server.

Both servers run from the sanitizer build (VIC_BIN_DIR) on free loopback ports with a temp
$VIC_HOME, and must exit 0 on SIGTERM. Needs root (the port layer runs VMs) and a docker
CLI (/usr/local/bin/docker, or Debian's docker.io client); skipped with the reason otherwise.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import requests

from conftest import BIN_DIR, SANITIZER_MARKERS

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, log):
    for _ in range(200):
        if proc.poll() is not None:
            raise AssertionError("server exited early:\n" + log.read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not listen:\n" + log.read_text())


def stop(proc, log):
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=15)
    text = log.read_text()
    assert code == 0, "exit %d:\n%s" % (code, text)
    assert not any(m in text for m in SANITIZER_MARKERS), text


@pytest.fixture(scope="module")
def vch(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the port layer runs VMs: needs root")
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    tmp = tmp_path_factory.mktemp("vch")
    token = tmp / "token"
    token.write_text("integration-port-layer-token-0123\n")
    token.chmod(0o600)
    pl_port, de_port = free_port(), free_port()
    pl_log, de_log = tmp / "pl.log", tmp / "de.log"
    pl = subprocess.Popen(
        [str(BIN_DIR / "port-layer-server"), "--home", str(tmp / "home"), "--bin-dir",
         str(BIN_DIR), "--token-file", str(token), "--listen", "127.0.0.1:%d" % pl_port],
        stdout=pl_log.open("w"), stderr=subprocess.STDOUT)
    wait_port(pl_port, pl, pl_log)
    de = subprocess.Popen(
        [str(BIN_DIR / "docker-engine-server"), "--port-layer", "http://127.0.0.1:%d" % pl_port,
         "--token-file", str(token), "--listen", "127.0.0.1:%d" % de_port, "--name", "vch-it"],
        stdout=de_log.open("w"), stderr=subprocess.STDOUT)
    wait_port(de_port, de, de_log)
    yield {"host": "tcp://127.0.0.1:%d" % de_port, "url": "http://127.0.0.1:%d" % de_port,
           "pl_url": "http://127.0.0.1:%d" % pl_port, "tmp": tmp}
    stop(de, de_log)
    stop(pl, pl_log)


def docker(vch, *args):
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=60)


def test_version_negotiates_and_names_the_server(vch):
    r = docker(vch, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
    assert r.returncode == 0, r.stderr
    version, api = r.stdout.split()
    assert version.startswith("v0.1.0")
    assert api == "1.41"


def test_info_shows_the_vch(vch):
    r = docker(vch, "info", "--format", "{{.Name}} {{.Containers}} {{.OSType}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["vch-it", "0", "linux"]


def test_ps_on_an_empty_vch(vch):
    r = docker(vch, "ps", "-a", "--format", "{{.ID}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_unknown_container_errors_are_dockers(vch):
    for args in (["logs", "nosuch"], ["rm", "nosuch"], ["start", "nosuch"], ["inspect", "nosuch"]):
        r = docker(vch, *args)
        assert r.returncode != 0
        assert "No such container: nosuch" in r.stderr or "No such object: nosuch" in r.stderr, r.stderr


def test_hostile_container_names_never_reach_the_port_layer(vch):
    for name in ("..%2f..%2fetc", "a b", "x;y"):
        r = requests.get(vch["url"] + "/v1.41/containers/%s/json" % name, timeout=10)
        assert r.status_code == 404, r.text


def test_unsupported_commands_say_why(vch):
    r = requests.post(vch["url"] + "/v1.41/build", timeout=10)
    assert r.status_code == 501
    assert "docker build is not supported by a VCH" in r.json()["message"]


def test_api_versions_out_of_range(vch):
    r = requests.get(vch["url"] + "/v1.99/version", timeout=10)
    assert r.status_code == 400
    assert r.json()["message"] == "client version 1.99 is too new. Maximum supported API version is 1.41"
    r = requests.get(vch["url"] + "/v1.12/version", timeout=10)
    assert r.status_code == 400
    assert "too old" in r.json()["message"]
    r = requests.head(vch["url"] + "/_ping", timeout=10)
    assert r.status_code == 200
    assert r.headers["Api-Version"] == "1.41"


def test_port_layer_refuses_callers_without_its_token(vch):
    r = requests.get(vch["pl_url"] + "/containers", timeout=10)
    assert r.status_code == 401
    r = requests.get(vch["pl_url"] + "/containers",
                     headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert r.status_code == 401
    assert requests.get(vch["pl_url"] + "/version", timeout=10).status_code == 200
