"""docker logs of large and live logs through a VCH: the real docker CLI against
docker-engine-server over a real port-layer-server, reading a container's serial log.

A log of 48 MiB: its last line with --tail 1 at once, and all of it, streamed, with neither
server's peak memory growing with the log. A follow: the tail, then new lines of both
streams with their times, ending when the container does; a follow whose client leaves ends
in the port layer too.

Reuses test_docker.py's servers and registry fixture; its own VCH on a bridge range of its
own. Needs root and the docker CLI (skipped with the reason otherwise).
"""

import os
import re
import subprocess
import threading
import time

from test_docker import (DOCKER, docker, image_fixture, registry,  # noqa: F401  (a fixture)
                         vch_fixture, wait_log_count)

BRIDGE_RANGE = "10.233.0.0/16"
LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-\n"  # 64 bytes
LINES = 48 * 1024 * 1024 // len(LINE)  # 48 MiB of them
STAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")

vch = vch_fixture("vch-logs", BRIDGE_RANGE)


image = image_fixture()


def env_of(vch):
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    return env


def line_of(stream, proc, timeout=30):
    """The next line of stream (one of proc's pipes), waited for at most timeout seconds;
    past that proc is killed and the test fails."""
    got = []
    t = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        proc.kill()
        t.join(10)
        raise AssertionError("no line from %s within %d s" % (proc.args, timeout))
    return got[0]


def peak_kb(proc):
    with open("/proc/%d/status" % proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % proc.pid)


def reset_peak(proc):
    with open("/proc/%d/clear_refs" % proc.pid, "w") as f:
        f.write("5")


def test_a_large_log_is_read_in_bounded_memory(vch, image, tmp_path):
    # 64 KiB of lines, echoed 768 times (not yes | head: a session has SIGPIPE ignored)
    script = ('s=%s; i=0; while [ $i -lt 10 ]; do s="$s\n$s"; i=$((i+1)); done; '
              'i=0; while [ $i -lt %d ]; do echo "$s"; i=$((i+1)); done; echo last line'
              % (LINE[:-1].decode(), LINES // 1024))
    r = docker(vch, "run", "-d", "--name", "big", image, "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    try:
        w = docker(vch, "wait", "big", timeout=120)
        assert w.stdout.strip() == "0", (w.stdout, w.stderr)
        servers = (vch["pl"], vch["de"])
        for p in servers:
            reset_peak(p)
        before = [peak_kb(p) for p in servers]

        t0 = time.monotonic()
        r = docker(vch, "logs", "--tail", "1", "big")
        took = time.monotonic() - t0
        assert (r.returncode, r.stdout, r.stderr) == (0, "last line\n", ""), r
        assert took < 10, "--tail 1 of a 48 MiB log took %.1f s" % took
        r = docker(vch, "logs", "--tail", "3", "--timestamps", "big")
        lines = r.stdout.encode().splitlines(keepends=True)
        assert len(lines) == 3 and all(STAMP.match(x) for x in lines), r.stdout[:300]
        assert [STAMP.sub(b"", x) for x in lines] == [LINE, LINE, b"last line\n"]

        # all of it, to a file: streamed through both servers
        out = tmp_path / "big.log"
        with out.open("wb") as f:
            r = subprocess.run([DOCKER, "logs", "big"], stdout=f, stderr=subprocess.PIPE,
                               env=env_of(vch), timeout=120)
        assert r.returncode == 0, r.stderr
        assert out.stat().st_size == LINES * len(LINE) + len(b"last line\n")
        with out.open("rb") as f:
            assert f.read(len(LINE)) == LINE
            f.seek(-len(LINE) - 10, os.SEEK_END)
            assert f.read() == LINE + b"last line\n"

        grew = [peak_kb(p) - b for p, b in zip(servers, before)]
        # the log is 48 MiB: neither server may hold it (about 12 MiB each in a sanitizer
        # build, whose allocator keeps what is freed for a while)
        assert all(g < 32 * 1024 for g in grew), "peak memory grew by %s kB" % grew
    finally:
        docker(vch, "rm", "-f", "big")


def test_follow_with_tail_and_timestamps_ends_with_the_container(vch, image):
    r = docker(vch, "run", "-d", "--name", "live", image, "sh", "-c",
               "echo one; echo two >&2; while [ ! -e /tmp/go ]; do sleep 0.1; done; "
               "echo three; echo four >&2")
    assert r.returncode == 0, r.stderr
    p = subprocess.Popen([DOCKER, "logs", "-f", "-t", "--tail", "1", "live"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_of(vch))
    try:
        # the last line of both streams is stderr's
        first = line_of(p.stderr, p)
        assert STAMP.match(first) and STAMP.sub(b"", first) == b"two\n", first
        assert docker(vch, "exec", "live", "touch", "/tmp/go").returncode == 0
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, (out, err)
        assert [STAMP.sub(b"", x) for x in out.splitlines(keepends=True)] == [b"three\n"], out
        assert [STAMP.sub(b"", x) for x in err.splitlines(keepends=True)] == [b"four\n"], err
        assert STAMP.match(out) and STAMP.match(err)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        docker(vch, "rm", "-f", "live")


def test_a_follow_whose_client_leaves_ends(vch, image):
    r = docker(vch, "run", "-d", "--name", "quiet", image, "sh", "-c", "echo ready; sleep 600")
    assert r.returncode == 0, r.stderr
    log = vch["pl_log"]
    ended = log.read_text().count("event=logs_end")
    p = subprocess.Popen([DOCKER, "logs", "-f", "quiet"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env_of(vch))
    try:
        assert line_of(p.stdout, p) == b"ready\n"
        p.kill()
        p.wait()
        # within a few seconds both servers let go of the follow
        wait_log_count(log, "event=logs_end", ended, timeout=10)
        text = log.read_text()
        assert 'reason="the client left or stopped reading"' in text.split("event=logs_end")[-1]
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        docker(vch, "rm", "-f", "quiet")
