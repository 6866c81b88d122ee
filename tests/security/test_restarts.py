"""Attacks on a VCH's components by restarting them: kill -9 of the port layer mid-session.

vic-init starts a port layer that died again within about a second. The Docker endpoint
rides that out: a request whose connection the port layer refuses waits (a few seconds,
polling the connect) and then goes through, and when the port layer does not come back
in time the error names it. A container whose run waited for an attach that died with the
port layer is not left powered on in "starting" forever.

Run with Debian's interpreter:  /usr/bin/python3 -m pytest -q tests/security/test_restarts.py
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from vic_integration_conftest import vic_machine
from test_docker import registry  # noqa: F401  (a pytest fixture)

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
PORT_LAYER_PORT = 2377

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")


# ---- a VCH and its components ----

def docker(vch, *args, timeout=90):
    env = dict(os.environ, DOCKER_CONFIG=str(Path(vch["home"]) / "docker-cli"))
    for line in vch["env"].splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def docker_bg(vch, *args):
    env = dict(os.environ, DOCKER_CONFIG=str(Path(vch["home"]) / "docker-cli"))
    for line in vch["env"].splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return subprocess.Popen([DOCKER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def components(vch):
    path = Path(vch["home"]) / "datastore1" / vch["name"] / "components.json"
    return json.loads(path.read_text())


def gone(pid):
    """Whether pid has exited (a zombie has: its sockets are closed)."""
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def serving_pid(vch, comp, timeout=30):
    """The pid of a component that vic-init reports started (never 0: a kill of pid 0 would
    hit this test's own process group)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = components(vch)[comp]
        if now["state"] == "started" and now["pid"] > 0 and not gone(now["pid"]):
            return now["pid"]
        time.sleep(0.05)
    raise AssertionError("%s is not running: %s" % (comp, components(vch)))


def kill_port_layer(vch):
    """kill -9 of the VCH's port layer; returns once it has exited (its port refuses)."""
    old = serving_pid(vch, "port-layer")
    assert accepts(vch["addr"], PORT_LAYER_PORT)
    os.kill(old, signal.SIGKILL)
    for _ in range(500):
        if gone(old):
            return old
        time.sleep(0.01)
    raise AssertionError("port layer %d did not die" % old)


def accepts(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port_layer_back(vch, old, timeout=30):
    """Waits for vic-init's new port layer: another pid, started, and its port accepting."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = components(vch)["port-layer"]
        if now["pid"] not in (0, old) and now["state"] == "started" and \
                accepts(vch["addr"], PORT_LAYER_PORT):
            return now["pid"]
        time.sleep(0.05)
    raise AssertionError("the port layer did not come back: %s" % components(vch))


@pytest.fixture(scope="module")
def vch(tmp_path_factory, registry):  # noqa: F811
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    home = tmp_path_factory.mktemp("restarts") / "home"
    home.mkdir()
    r = vic_machine(home, "create", "--name", "rs1")
    assert r.returncode == 0, r.stdout + r.stderr
    env = vic_machine(home, "inspect", "--name", "rs1", "--env").stdout
    host = [v for v in env.splitlines() if v.startswith("DOCKER_HOST=")][0]
    addr = host.split("//", 1)[1].rsplit(":", 1)[0]
    v = {"home": home, "name": "rs1", "env": env, "addr": addr,
         "image": "%s/busybox" % registry}
    try:
        p = docker(v, "pull", v["image"])
        assert p.returncode == 0, p.stderr
        yield v
    finally:
        d = vic_machine(home, "delete", "--name", "rs1", "--containers", "all", "--force")
        assert d.returncode == 0, d.stdout + d.stderr


# ---- 15: requests while the port layer restarts ----

def test_requests_during_a_port_layer_restart_wait_for_it(vch):
    """kill -9 of the port layer, then Docker requests at once: each waits for vic-init's new
    port layer and succeeds, none answers 502."""
    old = kill_port_layer(vch)
    t0 = time.time()
    procs = [docker_bg(vch, "ps", "-a")]
    procs += [docker_bg(vch, "run", "--rm", vch["image"], "true") for _ in range(3)]
    procs.append(docker_bg(vch, "info"))
    results = [(p.args[1:], *p.communicate(timeout=120), p.returncode) for p in procs]
    took = time.time() - t0
    for args, out, err, rc in results:
        assert rc == 0, (args, rc, out, err)
        assert "502" not in err and "restarting" not in err, (args, err)
    new = wait_port_layer_back(vch, old)
    assert new != old
    assert took < 60, took


def test_port_layer_that_stays_down_is_named_in_the_error(vch):
    """With vic-init held (SIGSTOP) the port layer does not come back: a request fails after
    the bounded wait, not at once, and says which component is restarting. Once vic-init
    goes on, so do requests."""
    serving_pid(vch, "port-layer")  # whatever an earlier test left, it is back
    init = serving_pid(vch, "vic-init")
    os.kill(init, signal.SIGSTOP)
    try:
        old = kill_port_layer(vch)
        t0 = time.time()
        r = docker(vch, "ps")
        took = time.time() - t0
        assert r.returncode != 0, r.stdout
        assert "the port layer is restarting" in r.stderr and "try again" in r.stderr, r.stderr
        assert 4 <= took < 30, took
    finally:
        os.kill(init, signal.SIGCONT)
    wait_port_layer_back(vch, old)
    r = docker(vch, "ps")
    assert r.returncode == 0, r.stderr


# ---- 14: a run block whose attach died with the port layer ----

def port_layer(vch, method, path):
    """A call to the VCH's port layer API (appliance-internal), with its token."""
    token = (Path(vch["home"]) / "datastore1" / vch["name"] / "portlayer.token").read_text()
    return requests.request(method, "http://%s:%d%s" % (vch["addr"], PORT_LAYER_PORT, path),
                            headers={"Authorization": "Bearer " + token.strip()}, timeout=60)


def inspect_state(vch, name):
    r = docker(vch, "inspect", "-f", "{{json .State}}", name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def ps_status(vch, name):
    r = docker(vch, "ps", "-a", "--filter", "name=" + name, "--format", "{{.Status}}")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_run_block_whose_attach_died_with_the_port_layer_is_given_up(vch):
    """The window of docker run between the start (with VIC's run block: the session waits
    for an attach) and the attach, made deterministic: the container is started through the
    port layer's own API with ?attach=1 and nobody attaches; then the port layer is killed.
    The VM must not stay on in "starting" forever: the new port layer gives the run up, and
    docker ps/inspect never show year 1 as an uptime."""
    r = docker(vch, "create", "--name", "blocked", vch["image"], "echo", "ran")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    start = port_layer(vch, "POST", "/containers/%s/start?attach=1" % cid)
    assert start.status_code == 204, start.text
    st = inspect_state(vch, "blocked")
    assert st["Status"] == "starting" and st["StartedAt"].startswith("0001-"), st
    # on, waiting: no uptime counted from year 1 ("Up 20794 days")
    assert ps_status(vch, "blocked") == "Created"

    old = kill_port_layer(vch)
    wait_port_layer_back(vch, old)
    deadline = time.time() + 60
    while time.time() < deadline:
        st = inspect_state(vch, "blocked")
        if not st["Running"]:
            break
        assert ps_status(vch, "blocked") == "Created"
        time.sleep(0.5)
    assert not st["Running"], st
    assert st["Status"] == "created" and st["ExitCode"] == 125, st
    assert "not started" in st["Error"] and "attach" in st["Error"], st
    assert st["StartedAt"].startswith("0001-"), st
    status = ps_status(vch, "blocked")
    assert status == "Created", status
    vm = port_layer(vch, "GET", "/containers/%s" % cid).json()["vm"]
    assert vm["power"] == "poweredOff", vm
    assert "ran" not in docker(vch, "logs", "blocked").stdout
    created = docker(vch, "ps", "-a", "--filter", "name=blocked", "--format",
                     "{{.RunningFor}}").stdout
    assert "year" not in created and "days" not in created, created

    # given up, not broken: it runs when started again
    r = docker(vch, "start", "-a", "blocked")
    assert r.returncode == 0 and r.stdout == "ran\n", (r.returncode, r.stdout, r.stderr)
    assert docker(vch, "rm", "blocked").returncode == 0
