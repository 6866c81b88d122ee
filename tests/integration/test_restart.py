"""docker run --restart (HostConfig.RestartPolicy) through the real docker CLI against a VCH:
the port layer starts a container again when its run ends, as Docker's restart manager does
(on-failure's limit, always until docker stop, Docker's backoff shown as Restarting), and a
port layer that comes back after a kill -9 brings back an always container the user stopped
(as dockerd's start does) while an unless-stopped one stays stopped.

Servers, registry and CLI as in test_docker.py (its fixtures and helpers are reused); needs
root.
"""

import json
import os
import signal
import time

from test_autoremove import restart_port_layer
from test_docker import docker, image_fixture, registry, vch_fixture  # noqa: F401  (fixtures)

BRIDGE_RANGE = "10.231.0.0/16"
DEADLINE = 30  # s: what a few restarts may take, sanitizer build and a busy host included


vch = vch_fixture("vch-restart", BRIDGE_RANGE)


image = image_fixture()


def inspect(vch, ref):
    r = docker(vch, "inspect", ref)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def wait_until(what, fn, deadline=DEADLINE):
    """Polls fn() until it returns something true, up to a deadline; returns that value."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError("%s: not within %d s (last: %r)" % (what, deadline, last))


def log_has(vch, *needles, since=0):
    """Whether the port layer's log holds one of needles past byte offset since."""
    with open(vch["pl_log"], errors="replace") as f:
        f.seek(since)
        text = f.read()
    return any(n in text for n in needles)


def test_on_failure_restarts_up_to_its_count_then_stays_exited(vch, image):
    t0 = time.time()
    r = docker(vch, "run", "-d", "--name", "rs-fail", "--restart", "on-failure:2", image, "sh",
               "-c", "exit 3")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    # the watcher's last answer: no third restart
    wait_until("the limit reached",
               lambda: log_has(vch, "event=restart_skipped container=%s reason=\"maximum retry "
                                    "count reached\"" % cid[:12]))
    c = inspect(vch, cid)
    st = c["State"]
    assert (c["RestartCount"], st["Status"], st["ExitCode"]) == (2, "exited", 3), st
    assert st["Running"] is False and st["Restarting"] is False
    assert c["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    # three runs: Docker's events show each start and death
    r = docker(vch, "events", "--since", "%.3f" % t0, "--until", "%.3f" % (time.time() + 0.5),
               "--filter", "container=" + cid, "--format", "{{.Action}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["create"] + ["start", "die"] * 3, r.stdout
    # a container created without --restart records Docker's "no"
    r = docker(vch, "create", "--name", "rs-none", image, "true")
    assert r.returncode == 0, r.stderr
    c = inspect(vch, "rs-none")
    assert c["HostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert c["RestartCount"] == 0
    for name in ("rs-fail", "rs-none"):
        assert docker(vch, "rm", name).returncode == 0


def test_always_restarts_until_docker_stop(vch, image):
    r = docker(vch, "run", "-d", "--name", "rs-always", "--restart", "always", image, "true")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    # between runs it waits out Docker's backoff, which grows: inspect and ps show it
    wait_until("inspect shows it restarting", lambda: (
        lambda st: st["Restarting"] and st["Running"] and st["Status"] == "restarting")(
            inspect(vch, cid)["State"]))

    def ps_status():
        r = docker(vch, "ps", "--filter", "name=rs-always", "--format", "{{.Status}}")
        return r.stdout.strip().startswith("Restarting (0) ") and r.stdout.strip()
    status = wait_until("docker ps shows it restarting", ps_status)
    assert status.endswith(" ago"), status
    wait_until("three restarts", lambda: inspect(vch, cid)["RestartCount"] >= 3)
    mark = os.path.getsize(vch["pl_log"])
    assert docker(vch, "stop", "-t", "1", cid).returncode == 0
    count = inspect(vch, cid)["RestartCount"]
    # the watcher's answer to the stop: no restart (of the run the stop ended, or the one
    # that was due)
    wait_until("the stop answered", lambda: log_has(
        vch, "event=restart_skipped container=%s" % cid[:12],
        "event=restart_cancelled container=%s" % cid[:12], since=mark))
    c = inspect(vch, cid)
    st = c["State"]
    assert (st["Status"], st["Running"], st["Restarting"]) == ("exited", False, False), st
    assert c["RestartCount"] == count
    assert not log_has(vch, "event=restarted container=%s" % cid[:12], since=mark)
    # a container between its runs goes with rm -f
    r = docker(vch, "run", "-d", "--restart", "always", image, "sh", "-c", "exit 1")
    assert r.returncode == 0, r.stderr
    other = r.stdout.strip()
    wait_until("another restarting", lambda: inspect(vch, other)["RestartCount"] >= 1)
    assert docker(vch, "rm", "-f", other).returncode == 0
    r = docker(vch, "ps", "-a", "--no-trunc", "--format", "{{.ID}}")
    assert other not in r.stdout.split()
    assert docker(vch, "rm", cid).returncode == 0


def test_a_new_port_layer_brings_back_always_but_not_a_stopped_unless_stopped(vch, image):
    ids = {}
    for name, policy in (("rs-back", "always"), ("rs-kept", "unless-stopped")):
        r = docker(vch, "run", "-d", "--name", name, "--restart", policy, image, "sleep", "300")
        assert r.returncode == 0, r.stderr
        ids[name] = r.stdout.strip()
        assert docker(vch, "stop", "-t", "1", name).returncode == 0
        assert inspect(vch, name)["State"]["Status"] == "exited"
    # kill -9 the port layer (by its PID), and start it again as vic-init does
    os.kill(vch["pl"].pid, signal.SIGKILL)
    vch["pl"].wait(timeout=10)
    mark = os.path.getsize(vch["pl_log"])
    try:
        restart_port_layer(vch, BRIDGE_RANGE)
        c = wait_until("rs-back running again", lambda: (
            lambda c: c["State"]["Status"] == "running" and c)(inspect(vch, "rs-back")))
        assert c["State"]["Restarting"] is False
        assert log_has(vch, "event=restart_scheduled container=%s" % ids["rs-back"][:12],
                       since=mark)
        # the new port layer's first look, which brought rs-back back, left rs-kept stopped
        c = inspect(vch, "rs-kept")
        assert (c["State"]["Status"], c["State"]["Restarting"]) == ("exited", False), c["State"]
    finally:
        if vch["pl"].poll() is not None:  # failed while it was down: back, to stop cleanly
            restart_port_layer(vch, BRIDGE_RANGE)
        for name in ids:
            docker(vch, "rm", "-f", name)
