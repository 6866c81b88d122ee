"""Attacks on the host from a container's network: through its segment's gateway (the host's
adapter on the segment) a container must reach the VCH's name server and nothing else of the
host: no host service on a wildcard address, no other VCH's endpoints, name server or
containers. Containers of one network still reach each other. The rules (nftables, table
inet vic_c: hypervisor/local/netfw.h) come and go with the segments, also after kill -9.

Two VCHs (a port layer and a Docker endpoint each, as in tests/integration/test_docker.py)
run from the sanitizer build with homes of their own; every attack is replayed from a
busybox container with nc, wget and nslookup.

Run with Debian's interpreter:  /usr/bin/python3 -m pytest -q tests/security/test_network.py
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from vic_integration_conftest import BIN_DIR
from test_docker import (DOCKER, bridges_of, docker, registry,  # noqa: F401  (a fixture)
                         start_vch, stop_vch)

NFT = shutil.which("nft") or "/usr/sbin/nft"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")


def guarded():
    """The host adapters in VIC-C's set of isolated segments (empty without the table)."""
    r = subprocess.run([NFT, "-j", "list", "set", "inet", "vic_c", "segments"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return set()
    out = set()
    for item in json.loads(r.stdout)["nftables"]:
        for e in item.get("set", {}).get("elem", []):
            out.add(e if isinstance(e, str) else json.dumps(e))
    return out


def sweep(home):
    """A connection to the local host sweeps its segments (hypervisor/local/netdev.h)."""
    r = subprocess.run([str(BIN_DIR / "vic-machine"), "ls", "--home", str(home)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def gateway(vch, network="bridge"):
    insp = json.loads(docker(vch, "network", "inspect", network).stdout)[0]
    return insp["IPAM"]["Config"][0]["Gateway"]


@pytest.fixture(scope="module")
def vchs(tmp_path_factory, registry):  # noqa: F811
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    if not os.access(NFT, os.X_OK):
        pytest.skip("no nft at %s (Debian's nftables)" % NFT)
    a = start_vch(tmp_path_factory.mktemp("neta"), "net-a", "10.246.0.0/16", "127.0.0.1")
    b = start_vch(tmp_path_factory.mktemp("netb"), "net-b", "10.247.0.0/16", "0.0.0.0")
    image = registry + "/busybox:latest"
    for v in (a, b):
        r = docker(v, "pull", image)
        assert r.returncode == 0, r.stderr
        v["image"] = image
    try:
        yield a, b
    finally:
        for v in (a, b):
            ids = docker(v, "ps", "-aq").stdout.split()
            if ids:
                docker(v, "rm", "-f", *ids)
            stop_vch(v)
        for v in (a, b):
            for _ in range(50):
                if not bridges_of(v["home"]):
                    break
                sweep(v["home"])
            assert bridges_of(v["home"]) == [], bridges_of(v["home"])


def in_container(vch, script, network=None, timeout=90):
    net = ["--network", network] if network else []
    return docker(vch, "run", "--rm", *net, vch["image"], "sh", "-c", script, timeout=timeout)


class Listener:
    """A host TCP service on 0.0.0.0 that greets and counts whoever connects."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with c:
                c.sendall(b"host-secret\n")

    def close(self):
        self.sock.close()


def test_host_wildcard_service_is_out_of_reach_through_the_gateway(vchs):
    a, _ = vchs
    gw = gateway(a)
    # the container's network is up (its gateway exists) before it runs anything
    assert in_container(a, "true").returncode == 0
    svc = Listener()
    try:
        # the host itself reaches the service at the gateway address: it listens there
        with socket.create_connection((gw, svc.port), timeout=5) as c:
            assert c.recv(64) == b"host-secret\n"
        seen = svc.accepted
        r = in_container(a, "nc -w 3 %s %d </dev/null; echo rc=$?" % (gw, svc.port))
        assert r.returncode == 0, r.stderr
        assert "host-secret" not in r.stdout, r.stdout
        assert svc.accepted == seen, "the container connected to the host's service"
    finally:
        svc.close()


def test_other_vchs_endpoint_is_out_of_reach(vchs):
    a, b = vchs
    gw_a, gw_b = gateway(a), gateway(b)
    for v in (a, b):  # their segments are up (each gateway exists) once a container ran
        assert in_container(v, "true").returncode == 0
    # B's Docker endpoint listens on every host address: the host reaches it at A's gateway
    with socket.create_connection((gw_a, b["de_port"]), timeout=5):
        pass
    ask = "printf 'GET /_ping HTTP/1.0\\r\\n\\r\\n' | nc -w 3 %s %d; echo rc=$?"
    for target in (gw_a, gw_b):
        r = in_container(a, ask % (target, b["de_port"]))
        assert r.returncode == 0, r.stderr
        assert "HTTP/1." not in r.stdout, (target, r.stdout)
    # nor A's own port layer through its gateway (it listens on the host's loopback)
    r = in_container(a, ask % (gw_a, a["pl_port"]))
    assert "HTTP/1." not in r.stdout, r.stdout


def test_names_and_containers_of_another_vch_are_out_of_reach(vchs):
    a, b = vchs
    gw_a, gw_b = gateway(a), gateway(b)
    serve = "mkdir /www && echo served by %s > /www/index.html && httpd -f -p 80 -h /www"
    for v, name in ((a, "asrv"), (b, "bsrv")):
        r = docker(v, "run", "-d", "--name", name, v["image"], "sh", "-c", serve % name)
        assert r.returncode == 0, r.stderr
    try:
        ip_a = docker(a, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "asrv").stdout.strip()
        ip_b = docker(b, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "bsrv").stdout.strip()
        assert ip_a.startswith("10.246.") and ip_b.startswith("10.247."), (ip_a, ip_b)
        # its own VCH: names through its own gateway's name server, and the peer's service
        r = in_container(a, "nslookup asrv %s && wget -qO- http://asrv/" % gw_a)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Address: " + ip_a in r.stdout and "served by asrv" in r.stdout, r.stdout
        # B's name server does not answer A's containers (nor leaks B's container names)
        r = in_container(a, "timeout 6 nslookup bsrv %s; echo rc=$?" % gw_b)
        assert ip_b not in r.stdout, r.stdout
        # nor do B's containers, by address
        r = in_container(a, "wget -T 3 -qO- http://%s/; echo rc=$?" % ip_b)
        assert "served by bsrv" not in r.stdout, r.stdout
        # B's own containers still use B's name server
        r = in_container(b, "nslookup bsrv %s" % gw_b)
        assert r.returncode == 0 and "Address: " + ip_b in r.stdout, r.stdout + r.stderr
    finally:
        docker(a, "rm", "-f", "asrv")
        docker(b, "rm", "-f", "bsrv")


def test_rules_follow_segments_through_kill_9(vchs):
    a, _ = vchs
    home = a["home"]
    before = set(bridges_of(home))
    assert docker(a, "network", "create", "killed").returncode == 0
    pids_before = set(glob.glob(str(home / "datastore1" / "*" / "monitor.pid")))
    try:
        r = docker(a, "run", "-d", "--name", "victim", "--network", "killed", a["image"],
                   "sleep", "600")
        assert r.returncode == 0, r.stderr
        seg = sorted(set(bridges_of(home)) - before)
        assert len(seg) == 1, (before, bridges_of(home))
        adapter = "vg" + seg[0][2:]
        # the running segment is guarded; rules lost (by hand, say) while it has a user are
        # restored by the next sweep
        assert adapter in guarded(), guarded()
        r = subprocess.run([NFT, "delete", "element", "inet", "vic_c", "segments",
                            "{ \"%s\" }" % adapter], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        sweep(home)
        assert adapter in guarded(), guarded()
        new = sorted(set(glob.glob(str(home / "datastore1" / "*" / "monitor.pid"))) -
                     pids_before)
        assert len(new) == 1, new
        monitor = int(Path(new[0]).read_text())
        os.kill(monitor, signal.SIGKILL)
        for _ in range(500):
            if not os.path.exists("/proc/%d" % monitor) or \
                    Path("/proc/%d/stat" % monitor).read_text().rsplit(")", 1)[1].split()[0] \
                    in ("Z", "X"):
                break
            time.sleep(0.01)
        docker(a, "rm", "-f", "victim")
        assert docker(a, "network", "rm", "killed").returncode == 0
        # the segment has no user any more: a sweep takes its link, rules and records
        sweep(home)
        assert seg[0] not in bridges_of(home)
        assert adapter not in guarded(), guarded()
        assert not os.path.exists("/sys/class/net/%s" % seg[0])
    finally:
        docker(a, "rm", "-f", "victim")
        docker(a, "network", "rm", "killed")


def test_a_reservation_left_by_a_killed_process_is_swept(vchs):
    """A process killed between recording a segment with its rules and starting the monitor
    leaves a record, its reservation and the rules: the next sweep removes the rules."""
    a, _ = vchs
    home = a["home"]
    dead = subprocess.Popen(["true"])
    dead.wait()
    seg = "vb0000c0ffee00"
    adapter = "vg" + seg[2:]
    rec = home / "netdevs" / seg
    rec.write_text("\nkilled-net\n10.246.250.0/24\n")
    (home / "netdevs" / (seg + ".users")).mkdir()
    (home / "netdevs" / (seg + ".users") / ("%d-r0" % dead.pid)).write_text("")
    r = subprocess.run([NFT, "add", "element", "inet", "vic_c", "segments",
                        "{ \"%s\" }" % adapter], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    sweep(home)
    assert adapter not in guarded(), guarded()
    assert not rec.exists() and seg not in bridges_of(home)
