"""vic-machine stop and start, and a host restart: a stopped VCH stays off (also when the web
service starts), a started one comes back with its containers of restart policy always, and
the web service powers on, at its start, the VCHs that ran when their host went down.

The real vic-machine, web service, appliance (vic-init: port layer and Docker endpoint),
docker CLI and docker-registry; needs root.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import vic_machine
from test_docker import DOCKER, registry  # noqa: F401  (a fixture)

NAME = "powered"


def run(home, *args, timeout=120):
    r = vic_machine(home, *args, timeout=timeout)
    assert r.returncode == 0, "vic-machine %s: %s%s" % (args[0], r.stdout, r.stderr)
    return r.stdout


def power_of(home):
    out = json.loads(run(home, "inspect", "--name", NAME, "--json"))
    return out["runtime"]["power_state"]


def docker(env, *args, timeout=60):
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def wait_until(what, fn, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.1)
    raise AssertionError("%s: not within %d s" % (what, timeout))


@pytest.fixture
def vch(tmp_path, registry):  # noqa: F811
    if os.geteuid() != 0:
        pytest.skip("a VCH runs VMs: needs root")
    home = tmp_path / "home"
    home.mkdir()
    run(home, "create", "--name", NAME, timeout=300)
    env = dict(os.environ, DOCKER_CONFIG=str(tmp_path / "cli"))
    for line in run(home, "inspect", "--name", NAME, "--env").splitlines():
        k, sep, v = line.partition("=")
        if sep and k.startswith("DOCKER_"):
            env[k] = v
    yield home, env, registry + "/busybox:latest"
    vic_machine(home, "delete", "--name", NAME, "--force", "--volume-stores", "all",
                timeout=300)


def state(env, name):
    r = docker(env, "inspect", "-f", "{{.State.Status}}", name)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def appliance_monitor(home):
    """The PID of the monitor (the VM process) of the VCH's appliance, whose folder is named
    after the VCH."""
    pid = home / "datastore1" / NAME / "monitor.pid"
    assert pid.exists(), "the appliance does not run"
    return int(pid.read_text())


def test_stop_keeps_a_vch_off_and_start_brings_it_back(vch, make_server):
    home, env, image = vch
    r = docker(env, "run", "-d", "--name", "always", "--restart", "always", image,
               "sleep", "600")
    assert r.returncode == 0, r.stderr
    assert docker(env, "run", "-d", "--name", "plain", image, "sleep", "600").returncode == 0

    out = run(home, "stop", "--name", NAME, "--grace", "1")
    assert "is stopped" in out
    assert power_of(home) == "poweredOff"
    assert docker(env, "info", timeout=20).returncode != 0
    # no container VM of the VCH still runs
    left = [p for p in (home / "datastore1").glob("*/monitor.pid")]
    assert left == [], left

    # a web service starting on this host leaves a stopped VCH off (it is serving: its
    # start, autostart included, is over)
    make_server(home=home)
    assert power_of(home) == "poweredOff"

    out = run(home, "start", "--name", NAME, timeout=180)
    assert "is running" in out
    assert docker(env, "info", timeout=30).returncode == 0
    wait_until("the always container back", lambda: state(env, "always") == "running")
    assert state(env, "plain") == "exited"
    # start of a running VCH is no error
    run(home, "start", "--name", NAME)


def test_a_host_restart_brings_back_the_vchs_that_ran(vch, make_server):
    home, env, image = vch
    assert docker(env, "info", timeout=30).returncode == 0
    # the host going down: the appliance's VM process dies (its guest goes with it)
    os.kill(appliance_monitor(home), signal.SIGKILL)
    wait_until("the appliance off", lambda: power_of(home) == "poweredOff")
    make_server(home=home)
    wait_until("the appliance on again", lambda: power_of(home) == "poweredOn")
    wait_until("the Docker endpoint answering",
               lambda: docker(env, "info", timeout=20).returncode == 0)


def test_start_and_stop_need_a_known_vch(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    for cmd in ("start", "stop"):
        r = vic_machine(home, cmd, "--name", "nosuch")
        assert r.returncode != 0 and "nosuch" in r.stderr, r.stderr
        r = vic_machine(home, cmd, "--help")
        assert r.returncode == 0 and "Usage: vic-machine " + cmd in r.stdout, r.stdout
    r = vic_machine(home, "stop", "--name", "x", "--grace", "-1")
    assert r.returncode != 0
