"""Registries through the real docker CLI: which registries a VCH may reach over plain HTTP
(--insecure-registry) and which CAs it trusts (--registry-ca), from vic-machine create down
to the port layer's puller.

Registries here are Debian's docker-registry on loopback addresses other than 127.0.0.1
(which a VCH, like Docker Engine, treats as insecure by itself): 127.0.77.2 serves plain
HTTP, 127.0.77.3 serves TLS with a certificate from a CA made here and htpasswd (bcrypt)
basic auth. Both serve the storage tests/fixtures/registry-busybox.sh seeded.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import vic_machine
from test_docker import DOCKER, FIXTURE, free_port, start_vch, stop_vch
from test_vch import docker, home  # noqa: F401  (home: a fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")

PLAIN_IP = "127.0.77.2"
TLS_IP = "127.0.77.3"
USER, PASSWORD = "alice", "s3cret-pass|word"


def _serve(work, name, addr, storage, extra=""):
    """Starts docker-registry on addr with storage; returns the process."""
    cfg = work / ("%s.yml" % name)
    cfg.write_text(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
        "http:\n  addr: %s\n  secret: local-test-only\n%s" % (storage, addr, extra))
    log = (work / ("%s.log" % name)).open("w")
    return subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def _wait_up(proc, url, ctx=None):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, "registry exited"
        try:
            urllib.request.urlopen(url, timeout=1, context=ctx)
            return
        except urllib.error.HTTPError:
            return  # 401: up
        except OSError:
            time.sleep(0.05)
    raise AssertionError("registry at %s did not answer" % url)


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def registries(tmp_path_factory):
    """{"plain": ADDR, "tls": ADDR, "ca": CA file, "work": dir}: the registries above."""
    for tool in ("docker-registry", "skopeo", "htpasswd", "openssl"):
        if not shutil.which(tool):
            pytest.skip("%s is needed (make deps-test installs it)" % tool)
    work = tmp_path_factory.mktemp("registries")
    seed = "127.0.0.1:%d" % free_port()
    env = dict(os.environ, REGISTRY_ADDR=seed)
    r = subprocess.run(["bash", FIXTURE, str(work)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    # a CA and a server certificate for TLS_IP
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", "/CN=vic-test-registry-ca", "-days", "2", "-keyout", "ca.key", "-out",
             "ca.pem", cwd=work)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
             "/CN=%s" % TLS_IP, "-keyout", "srv.key", "-out", "srv.csr", cwd=work)
    (work / "san.ext").write_text("subjectAltName=IP:%s\n" % TLS_IP)
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "srv.pem", cwd=work)
    h = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True, text=True,
                       timeout=60)
    assert h.returncode == 0 and h.stdout.startswith(USER + ":$2y$"), h.stderr
    (work / "htpasswd").write_text(h.stdout)
    storage = work / "storage"
    plain = "%s:%d" % (PLAIN_IP, free_port())
    tls = "%s:%d" % (TLS_IP, free_port())
    procs = [_serve(work, "plain", plain, storage)]
    procs.append(_serve(work, "tls", tls, storage,
                        "  tls:\n    certificate: %s\n    key: %s\n"
                        "auth:\n  htpasswd:\n    realm: vic-test\n    path: %s\n"
                        % (work / "srv.pem", work / "srv.key", work / "htpasswd")))
    try:
        _wait_up(procs[0], "http://%s/v2/" % plain)
        import ssl
        _wait_up(procs[1], "https://%s/v2/" % tls,
                 ssl.create_default_context(cafile=str(work / "ca.pem")))
        yield {"plain": plain, "tls": tls, "ca": work / "ca.pem", "work": work, "seed": seed}
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=15)
        subprocess.run(["bash", FIXTURE, str(work), "stop"], capture_output=True, env=env,
                       timeout=60)


def vch(tmp, name, bridge_range, *pl_args):
    """start_vch in a folder of its own."""
    tmp.mkdir()
    return start_vch(tmp, name, bridge_range, pl_args=pl_args)


def cli(v, *args, config=None, input=None):
    """The docker CLI against a start_vch pair, with a config dir of its own."""
    env = dict(os.environ, DOCKER_HOST=v["host"],
               DOCKER_CONFIG=str(config or (v["tmp"] / "docker-cli")))
    for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        env.pop(k, None)
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env,
                          input=input, timeout=120)


def test_a_registry_on_another_loopback_address_needs_listing(tmp_path, registries):
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    image = "%s/busybox:latest" % registries["plain"]
    strict = vch(tmp_path / "a", "strict", "172.30.40.0/24")
    try:
        r = cli(strict, "pull", image)
        assert r.returncode != 0, r.stdout
        # https was asked of a plain HTTP server: no fallback to http for an unlisted one
        assert "registry ping" in r.stderr and "Downloaded newer image" not in r.stdout, r.stderr
        assert cli(strict, "image", "inspect", image).returncode != 0
    finally:
        assert stop_vch(strict) == []
    listed = vch(tmp_path / "b", "listed", "172.30.41.0/24", "--insecure-registry",
                 registries["plain"])
    try:
        r = cli(listed, "pull", image)
        assert r.returncode == 0, r.stderr
        assert "Downloaded newer image for %s" % image in r.stdout, r.stdout
        run = cli(listed, "run", "--rm", image, "echo", "pulled-over-http")
        assert run.returncode == 0 and run.stdout == "pulled-over-http\n", run.stderr
    finally:
        assert stop_vch(listed) == []


def test_registry_ca_is_trusted_only_when_given(tmp_path, registries):
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    image = "%s/busybox:latest" % registries["tls"]
    plain = vch(tmp_path / "a", "noca", "172.30.42.0/24")
    try:
        r = cli(plain, "pull", image)
        assert r.returncode != 0
        assert "certificate" in r.stderr.lower(), r.stderr
    finally:
        assert stop_vch(plain) == []
    trusted = vch(tmp_path / "b", "ca", "172.30.43.0/24", "--registry-ca", str(registries["ca"]))
    try:
        r = cli(trusted, "pull", image)
        # TLS is verified now: what stops the pull is the registry's own answer
        assert r.returncode != 0
        assert "certificate" not in r.stderr.lower(), r.stderr
        assert "authentication" in r.stderr.lower() or "401" in r.stderr, r.stderr
    finally:
        assert stop_vch(trusted) == []


def test_vic_machine_create_passes_registry_options_to_the_port_layer(home, registries):  # noqa: F811
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    r = vic_machine(home, "create", "--name", "regs", "--insecure-registry", registries["plain"],
                    "--registry-ca", str(registries["ca"]))
    assert r.returncode == 0, r.stdout + r.stderr
    # the CA went by content into the appliance's folder, beside its other certificates
    ca = home / "datastore1" / "regs" / "registry-ca.pem"
    assert ca.read_text() == registries["ca"].read_text()
    env = vic_machine(home, "inspect", "--name", "regs", "--env").stdout
    image = "%s/busybox:latest" % registries["plain"]
    p = docker(env, home, "pull", image)
    assert p.returncode == 0, p.stderr
    p = docker(env, home, "pull", "%s/busybox:latest" % registries["tls"])
    assert p.returncode != 0 and "certificate" not in p.stderr.lower(), p.stderr
    # a CA file that holds no certificate is refused at create, naming the field
    bad = home / "bad-ca.pem"
    bad.write_text("not a certificate\n")
    r = vic_machine(home, "create", "--name", "regs2", "--registry-ca", str(bad))
    assert r.returncode != 0
    assert "registry.certificate_authorities[0].pem" in r.stdout + r.stderr, r.stdout + r.stderr
    d = vic_machine(home, "delete", "--name", "regs", "--force")
    assert d.returncode == 0, d.stdout + d.stderr


def _nowhere(v, secret):
    """Asserts secret is in no file of the VCH's home and in neither server's log."""
    for root, _dirs, files in os.walk(v["home"]):
        for f in files:
            p = os.path.join(root, f)
            try:
                with open(p, "rb") as fh:
                    assert secret.encode() not in fh.read(), "the password is in %s" % p
            except (FileNotFoundError, PermissionError, IsADirectoryError, OSError):
                pass
    for log in (v["pl_log"], v["de_log"]):
        assert secret not in log.read_text(errors="replace"), "the password is in %s" % log


def test_login_pull_with_credentials_and_logout(tmp_path, registries):
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    reg = registries["tls"]
    v = vch(tmp_path / "v", "login", "172.30.44.0/24", "--registry-ca", str(registries["ca"]))
    try:
        # without a login the registry refuses the pull
        r = cli(v, "pull", "%s/busybox:latest" % reg)
        assert r.returncode != 0 and "no basic auth credentials" in r.stderr, r.stderr
        # a wrong password: Docker's 401 with the registry's reason
        r = cli(v, "login", reg, "-u", USER, "--password-stdin", input="wrong\n")
        assert r.returncode != 0, r.stdout
        assert "login attempt to https://%s/v2/ failed with status: 401 Unauthorized" % reg \
            in r.stderr, r.stderr
        import requests
        a = requests.post(v["url"] + "/v1.41/auth", timeout=60,
                          json={"username": USER, "password": "wrong", "serveraddress": reg})
        assert a.status_code == 401 and "401 Unauthorized" in a.json()["message"], a.text
        a = requests.post(v["url"] + "/v1.41/auth", timeout=60,
                          json={"username": USER, "password": PASSWORD, "serveraddress": reg})
        assert a.status_code == 200, a.text
        assert a.json()["Status"] == "Login Succeeded"
        r = cli(v, "login", reg, "-u", USER, "--password-stdin", input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        assert "Login Succeeded" in r.stdout, r.stdout
        # the CLI now sends X-Registry-Auth, which the VCH uses for this pull only
        r = cli(v, "pull", "%s/busybox:latest" % reg)
        assert r.returncode == 0, r.stderr
        assert "Downloaded newer image" in r.stdout, r.stdout
        run = cli(v, "run", "--rm", "%s/busybox:latest" % reg, "echo", "authenticated")
        assert run.returncode == 0 and run.stdout == "authenticated\n", run.stderr
        # a malformed X-Registry-Auth is refused with the reason, and pulls nothing
        bad = requests.post(v["url"] + "/v1.41/images/create?fromImage=%s/busybox&tag=oci" % reg,
                            headers={"X-Registry-Auth": "%%%"}, timeout=60)
        assert "X-Registry-Auth: not base64url" in bad.text, bad.text
        # after logout the CLI sends no credentials: the registry refuses again
        r = cli(v, "logout", reg)
        assert r.returncode == 0, r.stderr
        r = cli(v, "pull", "%s/busybox:oci" % reg)
        assert r.returncode != 0 and "no basic auth credentials" in r.stderr, r.stderr
        _nowhere(v, PASSWORD)
    finally:
        assert stop_vch(v) == []


def test_push_with_credentials(tmp_path, registries):
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    reg = registries["tls"]
    source = "%s/layered:latest" % registries["seed"]
    target = "%s/pushed/layered:v1" % reg
    v = vch(tmp_path / "v", "push", "172.30.45.0/24", "--registry-ca", str(registries["ca"]))
    try:
        assert cli(v, "pull", source).returncode == 0
        image_id = json.loads(cli(v, "image", "inspect", source).stdout)[0]["Id"]
        assert cli(v, "tag", source, target).returncode == 0
        r = cli(v, "push", target)
        assert r.returncode != 0 and "no basic auth credentials" in r.stderr, r.stdout + r.stderr
        r = cli(v, "login", reg, "-u", USER, "--password-stdin", input=PASSWORD + "\n")
        assert r.returncode == 0, r.stderr
        r = cli(v, "push", target)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "The push refers to repository [%s/pushed/layered]" % reg in r.stdout, r.stdout
        assert r.stdout.count("Pushed") == 4, r.stdout
        m = re.search(r"v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)", r.stdout)
        assert m, r.stdout
        # again: the registry has every layer
        r = cli(v, "push", target)
        assert r.returncode == 0 and r.stdout.count("Layer already exists") == 4, r.stdout
        assert m.group(1) in r.stdout
        # what was pushed pulls back as the same image, by tag and by the digest push printed
        assert cli(v, "rmi", target).returncode == 0
        r = cli(v, "pull", "%s/pushed/layered@%s" % (reg, m.group(1)))
        assert r.returncode == 0, r.stderr
        assert json.loads(cli(v, "image", "inspect", "%s/pushed/layered@%s" % (reg, m.group(1))
                              ).stdout)[0]["Id"] == image_id
        r = cli(v, "push", "%s/pushed/nosuch:1" % reg)
        assert r.returncode != 0 and "An image does not exist locally with the tag" in r.stderr
        _nowhere(v, PASSWORD)
    finally:
        assert stop_vch(v) == []
