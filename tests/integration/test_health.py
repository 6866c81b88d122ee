"""Health checks (HEALTHCHECK, docker run --health-*) through the real docker CLI against a
VCH: the port layer runs the check in the guest as Docker's daemon does, State.Health shows
it (status, failing streak, the last five results), docker ps shows it in STATUS and filters
on it, docker events reports each change, and a port layer killed with -9 comes back to the
same health and goes on checking.

Servers, registry and CLI as in test_docker.py (its fixtures and helpers are reused); needs
root.
"""

import json
import os
import signal
import time

import pytest
import requests

from test_autoremove import restart_port_layer
from test_docker import docker, image_fixture, registry, vch_fixture  # noqa: F401  (fixtures)

BRIDGE_RANGE = "10.227.0.0/16"
DEADLINE = 30  # s: a few checks, sanitizer build and a busy host included


vch = vch_fixture("vch-health", BRIDGE_RANGE)


image = image_fixture()


@pytest.fixture(autouse=True)
def _clean(vch):
    """Each test's containers go after it, passed or failed (their bridges with them)."""
    yield
    r = docker(vch, "ps", "-aq")
    if r.stdout.split():
        docker(vch, "rm", "-f", *r.stdout.split())


def inspect(vch, ref):
    r = docker(vch, "inspect", ref)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def health(vch, ref):
    return inspect(vch, ref)["State"].get("Health")


def wait_until(what, fn, deadline=DEADLINE):
    """Polls fn() until it returns something true, up to a deadline; returns that value."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("%s: not within %d s (last: %r)" % (what, deadline, last))


def status_is(vch, ref, want):
    def check():
        h = health(vch, ref)
        return h if h and h["Status"] == want else None
    return check


def ps_status(vch, ref):
    r = docker(vch, "ps", "-a", "--filter", "name=" + ref, "--format", "{{.Status}}")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_a_passing_check_makes_it_healthy(vch, image):
    t0 = time.time()
    # failures within the start period do not count while it is starting: it stays starting
    # until the first pass, however many fail (retries 1)
    r = docker(vch, "run", "-d", "--name", "hc-ok", "--health-cmd", "test -f /tmp/ready && echo ok",
               "--health-interval", "1s", "--health-retries", "1", "--health-timeout", "5s",
               "--health-start-period", "120s", image, "sleep", "300")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    c = inspect(vch, cid)
    # the given check, as Docker's Config shows it
    assert c["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "test -f /tmp/ready && echo ok"], "Interval": 1000000000,
        "Timeout": 5000000000, "StartPeriod": 120000000000, "Retries": 1}, c["Config"]
    assert c["State"]["Health"]["Status"] == "starting"
    h = wait_until("two failed checks", lambda: (lambda x: x if x and len(x["Log"]) >= 2
                                                 else None)(health(vch, cid)))
    assert h["Status"] == "starting" and h["FailingStreak"] == 0, h
    assert [e["ExitCode"] for e in h["Log"]][:2] == [1, 1], h["Log"]
    status = ps_status(vch, "hc-ok")
    assert status.startswith("Up ") and status.endswith("(health: starting)"), status
    r = docker(vch, "ps", "--filter", "health=starting", "--format", "{{.Names}}")
    assert r.returncode == 0 and "hc-ok" in r.stdout.split(), (r.stdout, r.stderr)
    assert docker(vch, "exec", "hc-ok", "touch", "/tmp/ready").returncode == 0
    h = wait_until("healthy", status_is(vch, cid, "healthy"))
    assert h["FailingStreak"] == 0
    last = h["Log"][-1]
    assert last["ExitCode"] == 0 and last["Output"] == "ok\n", h["Log"]
    assert last["Start"] <= last["End"]
    status = ps_status(vch, "hc-ok")
    assert status.startswith("Up ") and status.endswith("(healthy)"), status
    r = docker(vch, "ps", "--filter", "health=healthy", "--format", "{{.Names}}")
    assert r.returncode == 0 and "hc-ok" in r.stdout.split(), (r.stdout, r.stderr)
    r = docker(vch, "ps", "--filter", "health=none", "--format", "{{.Names}}")
    assert r.returncode == 0 and "hc-ok" not in r.stdout.split(), r.stdout
    # Docker's event, and its event filter that takes the action's head
    r = docker(vch, "events", "--since", "%.3f" % t0, "--until", "%.3f" % (time.time() + 1.5),
               "--filter", "container=hc-ok", "--filter", "event=health_status",
               "--format", "{{.Action}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["health_status: healthy"], r.stdout
    assert docker(vch, "rm", "-f", "hc-ok").returncode == 0


def test_failing_checks_make_it_unhealthy_after_the_retries(vch, image):
    r = docker(vch, "run", "-d", "--name", "hc-bad", "--health-cmd", "echo no >&2; exit 3",
               "--health-interval", "1s", "--health-retries", "3", image, "sleep", "300")
    assert r.returncode == 0, r.stderr
    h = wait_until("unhealthy", status_is(vch, "hc-bad", "unhealthy"))
    assert h["FailingStreak"] >= 3
    assert [e["ExitCode"] for e in h["Log"]][-3:] == [3, 3, 3], h["Log"]
    assert h["Log"][-1]["Output"] == "no\n"
    assert ps_status(vch, "hc-bad").endswith("(unhealthy)")
    # at most the last five results
    h = wait_until("five results", lambda: (lambda x: x if len(x["Log"]) == 5 and
                                            x["FailingStreak"] >= 6 else None)(
        health(vch, "hc-bad")))
    assert len(h["Log"]) == 5
    r = docker(vch, "ps", "--filter", "health=unhealthy", "--format", "{{.Names}}")
    assert r.stdout.split() == ["hc-bad"], r.stdout
    assert docker(vch, "rm", "-f", "hc-bad").returncode == 0


def test_a_check_past_its_timeout_fails_with_dockers_message(vch, image):
    r = docker(vch, "run", "-d", "--name", "hc-slow", "--health-cmd", "sleep 5",
               "--health-interval", "1s", "--health-timeout", "500ms", "--health-retries", "1",
               image, "sleep", "300")
    assert r.returncode == 0, r.stderr
    h = wait_until("unhealthy", status_is(vch, "hc-slow", "unhealthy"))
    e = h["Log"][-1]
    assert e["ExitCode"] == -1 and e["Output"] == "Health check exceeded timeout (500ms)", e
    assert docker(vch, "rm", "-f", "hc-slow").returncode == 0


def test_no_healthcheck_and_none_have_no_health(vch, image):
    r = docker(vch, "run", "-d", "--name", "hc-none", "--no-healthcheck", image, "sleep", "300")
    assert r.returncode == 0, r.stderr
    c = inspect(vch, "hc-none")
    assert "Health" not in c["State"]
    assert c["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert ps_status(vch, "hc-none").startswith("Up ") and "(" not in ps_status(vch, "hc-none")
    r = docker(vch, "ps", "--filter", "health=none", "--format", "{{.Names}}")
    assert "hc-none" in r.stdout.split(), r.stdout
    assert docker(vch, "rm", "-f", "hc-none").returncode == 0


def test_bad_health_options_are_refused_with_dockers_message(vch, image):
    r = docker(vch, "create", "--health-cmd", "true", "--health-interval", "100us", image)
    assert r.returncode != 0
    assert "Interval in Healthcheck cannot be less than 1ms" in r.stderr, r.stderr
    # the CLI checks what it can itself; the API gets the daemon's checks
    for hc, msg in (({"Test": ["CMD", "true"], "Retries": -1},
                     "Retries in Healthcheck cannot be negative"),
                    ({"Test": ["CMD-SHELL", "true"], "Timeout": 999},
                     "Timeout in Healthcheck cannot be less than 1ms"),
                    ({"Test": ["CMD-SHELL", "true"], "StartPeriod": 5},
                     "StartPeriod in Healthcheck cannot be less than 1ms")):
        r = requests.post(vch["url"] + "/containers/create",
                          json={"Image": image, "Cmd": ["true"], "Healthcheck": hc}, timeout=30)
        assert r.status_code == 400 and msg in r.json()["message"], (r.status_code, r.text)
    r = docker(vch, "ps", "-a", "--format", "{{.Names}}")
    assert r.stdout.strip() == "" or "hc-" not in r.stdout


def test_a_restart_starts_over_and_the_log_stays(vch, image):
    r = docker(vch, "run", "-d", "--name", "hc-re", "--health-cmd", "true", "--health-interval",
               "1s", image, "sleep", "300")
    assert r.returncode == 0, r.stderr
    wait_until("healthy", status_is(vch, "hc-re", "healthy"))
    n = len(health(vch, "hc-re")["Log"])
    assert docker(vch, "stop", "-t", "1", "hc-re").returncode == 0
    # stopped: the last health stays, as Docker keeps it
    assert health(vch, "hc-re")["Status"] == "healthy"
    assert docker(vch, "start", "hc-re").returncode == 0
    h = health(vch, "hc-re")
    assert h["Status"] == "starting" and len(h["Log"]) >= n, h
    wait_until("healthy again", status_is(vch, "hc-re", "healthy"))
    assert docker(vch, "rm", "-f", "hc-re").returncode == 0


def test_health_survives_a_port_layer_kill(vch, image):
    r = docker(vch, "run", "-d", "--name", "hc-crash", "--health-cmd", "cat /tmp/fail && exit 1"
               " || true", "--health-interval", "1s", "--health-retries", "2", image, "sleep",
               "300")
    assert r.returncode == 0, r.stderr
    wait_until("healthy", status_is(vch, "hc-crash", "healthy"))
    before = health(vch, "hc-crash")
    os.kill(vch["pl"].pid, signal.SIGKILL)
    vch["pl"].wait(timeout=10)
    restart_port_layer(vch, BRIDGE_RANGE)
    # what was recorded comes back as it was (the same run: no "starting")
    after = health(vch, "hc-crash")
    assert after["Status"] == "healthy", after
    assert after["Log"][:len(before["Log"])][-1]["Start"] in [e["Start"] for e in after["Log"]]
    # and the new port layer goes on checking: failures make it unhealthy
    r = docker(vch, "exec", "hc-crash", "sh", "-c", "echo broken > /tmp/fail")
    assert r.returncode == 0, r.stderr
    h = wait_until("unhealthy", status_is(vch, "hc-crash", "unhealthy"))
    assert h["Log"][-1]["Output"] == "broken\n" and h["Log"][-1]["ExitCode"] == 1, h["Log"]
    assert docker(vch, "rm", "-f", "hc-crash").returncode == 0
