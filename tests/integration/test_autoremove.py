"""docker run --rm (HostConfig.AutoRemove) through the real docker CLI against a VCH: the port
layer removes the container, with its anonymous volumes, when its run ends, whether the client
is attached or not, and a port layer that comes back after a kill -9 removes what ended while
it was down.

Servers, registry and CLI as in test_docker.py (its fixtures and helpers are reused); needs
root.
"""

import json
import os
import signal
import subprocess
import time

import pytest
import requests

from test_docker import (BIN_DIR, DOCKER, docker, image_fixture,  # noqa: F401  (registry: a fixture)
                         registry, start_vch, stop_vch, vch_fixture, wait_port)

BRIDGE_RANGE = "10.238.0.0/16"
CRASH_BRIDGE_RANGE = "10.239.0.0/16"
DEADLINE = 30  # s: what a removal may take, sanitizer build and a busy host included


def need_root_and_cli():
    if os.geteuid() != 0:
        pytest.skip("the port layer runs VMs: needs root")
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)


vch = vch_fixture("vch-rm", BRIDGE_RANGE,
                  pl_args=["--volume-store", "default=[datastore1] volumes-default"])


image = image_fixture()


def all_ids(vch):
    r = docker(vch, "ps", "-a", "--no-trunc", "--format", "{{.ID}}")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def wait_gone(vch, cid, deadline=DEADLINE):
    """Waits until cid is no longer in docker ps -a; fails past the deadline."""
    end = time.monotonic() + deadline
    while cid in all_ids(vch):
        if time.monotonic() > end:
            raise AssertionError("%s still listed %d s after its exit:\n%s"
                                 % (cid[:12], deadline, docker(vch, "ps", "-a").stdout))
        time.sleep(0.1)


def volume_names(vch):
    r = docker(vch, "volume", "ls", "-q")
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_detached_rm_is_removed_when_it_exits(vch, image):
    t0 = time.time()
    r = docker(vch, "run", "-d", "--rm", "--name", "rm-detached", image, "sh", "-c", "exit 3")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    wait_gone(vch, cid)
    r = docker(vch, "inspect", cid)
    assert r.returncode != 0, r.stdout
    assert "No such object" in r.stderr or "No such container" in r.stderr, r.stderr
    # Docker's events for it: destroy after die (by name: the events of a container that is
    # gone carry its short id)
    t1 = time.time() + 0.5
    r = docker(vch, "events", "--since", "%.3f" % t0, "--until", "%.3f" % t1, "--filter",
               "container=rm-detached", "--format", "{{json .}}")
    assert r.returncode == 0, r.stderr
    evs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["Action"] for e in evs] == ["create", "start", "die", "destroy"], r.stdout
    assert evs[2]["Actor"]["Attributes"]["exitCode"] == "3"


def test_attached_rm_leaves_nothing(vch, image):
    before = all_ids(vch)
    r = docker(vch, "run", "--rm", "--name", "rm-true", image, "true")
    assert r.returncode == 0, r.stderr
    assert all_ids(vch) == before  # gone when the CLI returns: it waits for the removal


def test_attached_rm_returns_the_exit_code(vch, image):
    before = all_ids(vch)
    r = docker(vch, "run", "--rm", image, "sh", "-c", "echo out; exit 7")
    assert (r.returncode, r.stdout) == (7, "out\n"), (r.returncode, r.stdout, r.stderr)
    assert all_ids(vch) == before


def test_inspect_and_wait_of_a_running_rm_container(vch, image):
    r = docker(vch, "run", "-d", "--rm", "--name", "rm-sleepy", image, "sleep", "60")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    r = docker(vch, "inspect", "-f", "{{.HostConfig.AutoRemove}} {{.State.Running}}", cid)
    assert r.stdout.split() == ["true", "true"], r.stdout + r.stderr
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    asked = "/containers/%s/wait" % cid
    before = vch["de_log"].read_text().count(asked)  # docker run's own wait
    waiter = subprocess.Popen([DOCKER, "wait", cid], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        # the waiter is the endpoint's: it asked for the container's wait
        end = time.monotonic() + DEADLINE
        while vch["de_log"].read_text().count(asked) == before:
            assert time.monotonic() < end, "the wait never reached the endpoint"
            assert waiter.poll() is None, waiter.communicate()
            time.sleep(0.05)
        assert docker(vch, "kill", cid).returncode == 0
        out, err = waiter.communicate(timeout=DEADLINE)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert (waiter.returncode, out.strip()) == (0, "137"), (waiter.returncode, out, err)
    wait_gone(vch, cid)
    # a container without --rm reads AutoRemove false and stays
    r = docker(vch, "run", "-d", "--name", "rm-not", image, "true")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert docker(vch, "wait", cid).stdout.strip() == "0"
    r = docker(vch, "inspect", "-f", "{{.HostConfig.AutoRemove}} {{.State.Status}}", cid)
    assert r.stdout.split() == ["false", "exited"], r.stdout + r.stderr
    assert docker(vch, "rm", cid).returncode == 0


def test_rm_takes_anonymous_volumes_and_keeps_named_ones(vch, image):
    before = volume_names(vch)
    r = docker(vch, "run", "--rm", "-v", "/anon", "-v", "rm-kept:/kept", image, "sh", "-c",
               "echo x > /anon/f; echo y > /kept/f")
    assert r.returncode == 0, r.stderr
    # the anonymous one goes with the container (after it, when the reaper removed it)
    end = time.monotonic() + DEADLINE
    while volume_names(vch) != before | {"rm-kept"}:
        assert time.monotonic() < end, (before, volume_names(vch))
        time.sleep(0.1)
    assert docker(vch, "volume", "rm", "rm-kept").returncode == 0


def test_rm_with_a_failed_start_is_removed(vch, image):
    before = all_ids(vch)
    # detached: the start fails with the reason
    r = docker(vch, "run", "-d", "--rm", image, "nosuchcommand")
    assert r.returncode != 0
    assert "nosuchcommand" in r.stderr, r.stderr
    # attached: the run block starts it, and it ends as Docker's does, with 127
    r = docker(vch, "run", "--rm", image, "nosuchcommand")
    assert r.returncode == 127, (r.returncode, r.stderr)
    end = time.monotonic() + DEADLINE
    while all_ids(vch) != before:
        assert time.monotonic() < end, docker(vch, "ps", "-a").stdout
        time.sleep(0.1)


def test_rm_with_a_restart_policy_is_refused(vch, image):
    before = all_ids(vch)
    body = {"Image": image, "Cmd": ["true"],
            "HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "always"}}}
    r = requests.post(vch["url"] + "/v1.41/containers/create", json=body, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "can't create 'AutoRemove' container with restart policy"
    assert all_ids(vch) == before


def vm_powered_off(home, cid, since):
    """Whether the local host's event log (the inventory's) shows cid's VM powered off after
    byte offset since."""
    with open(os.path.join(str(home), "events.log")) as f:
        f.seek(since)
        return any(line.split()[1:2] == ["poweredOff"] and line.split()[2].endswith("-" + cid[:12])
                   for line in f if len(line.split()) > 2)


def restart_port_layer(v, bridge_range):
    """Starts v's port layer again as vic-init does after it died: same arguments, same
    address (the endpoint keeps talking to it)."""
    with open(v["pl_log"], "a") as log:
        v["pl"] = subprocess.Popen(
            [str(BIN_DIR / "port-layer-server"), "--home", str(v["home"]), "--bin-dir",
             str(BIN_DIR), "--token-file", str(v["tmp"] / "token"), "--listen",
             "127.0.0.1:%d" % v["pl_port"], "--bridge-range", bridge_range],
            stdout=log, stderr=subprocess.STDOUT)
    wait_port(v["pl_port"], v["pl"], v["pl_log"])


def test_rm_container_that_exits_while_the_port_layer_is_down_goes_when_it_is_back(
        tmp_path, registry):  # noqa: F811
    need_root_and_cli()
    v = start_vch(tmp_path, "vch-rm-crash", CRASH_BRIDGE_RANGE)
    try:
        ref = registry + "/busybox:latest"
        assert docker(v, "pull", ref).returncode == 0
        r = docker(v, "run", "-d", "--rm", ref, "sleep", "4")
        assert r.returncode == 0, r.stderr
        cid = r.stdout.strip()
        mark = os.path.getsize(os.path.join(str(v["home"]), "events.log"))
        # kill -9 the port layer (by its PID) while the container still runs
        os.kill(v["pl"].pid, signal.SIGKILL)
        v["pl"].wait(timeout=10)
        # the container exits while no port layer runs: the inventory still holds it
        end = time.monotonic() + DEADLINE
        while not vm_powered_off(v["home"], cid, mark):
            assert time.monotonic() < end, "the container never exited"
            time.sleep(0.1)
        restart_port_layer(v, CRASH_BRIDGE_RANGE)
        wait_gone(v, cid)
        # logged once the removal returns: the VM leaves the listing before its files go
        needle = "event=auto_removed container=%s" % cid[:12]
        end = time.monotonic() + DEADLINE
        while needle not in v["pl_log"].read_text():
            assert time.monotonic() < end, v["pl_log"].read_text()[-3000:]
            time.sleep(0.05)
    finally:
        if v["pl"].poll() is not None:  # failed while it was down: back, to stop cleanly
            restart_port_layer(v, CRASH_BRIDGE_RANGE)
        for cid in all_ids(v):
            docker(v, "rm", "-f", cid)
        left = stop_vch(v)
    assert left == [], "bridges left on the host: %s" % left
