"""VCH lifecycle on a vSphere target: vic-machine against vcsim.

vcsim (tests/fixtures/vcsim.sh) is the real simulator over TLS; everything vic-machine does
goes through its SOAP API. vcsim runs no guests, so tests/fixtures/fake_appliance.py plays
the appliance: when the appliance VM powers on it reads the VCH's server certificate from the
VM's folder, serves a TLS endpoint with it on loopback and writes the guestinfo keys vic-init
writes (components started, docker_host, ready). The create's docker_api step then checks
that endpoint with the VCH's client certificate, as it checks a real appliance.

What was made is read back through vim25.py, a separate small SOAP client, not through the
code under test.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import BIN_DIR, REPO_ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent))
import vim25  # noqa: E402

VCSIM = REPO_ROOT / "tests" / "fixtures" / "vcsim.sh"
APPLIANCE = REPO_ROOT / "tests" / "fixtures" / "fake_appliance.py"
CLUSTER = "/DC0/host/DC0_C0"
DS = "LocalDS_0"
CREATE_STEPS = ["certificates", "resource_pool", "appliance_image", "appliance_vm",
                "volume_stores", "power_on", "endpoint", "docker_api"]


def start_vcsim(d, listen=None):
    env = dict(os.environ)
    if listen:
        env["VCSIM_LISTEN"] = listen
    r = subprocess.run([str(VCSIM), str(d), "start"], capture_output=True, text=True, env=env,
                       timeout=300)
    if r.returncode == 77:
        pytest.skip("vcsim cannot be built here: " + r.stderr[-500:])
    assert r.returncode == 0, r.stderr
    vals = dict(l.split("=", 1) for l in r.stdout.split() if "=" in l)
    return vals


def stop_vcsim(d):
    subprocess.run([str(VCSIM), str(d), "stop"], capture_output=True, timeout=30)


class Appliance:
    """tests/fixtures/fake_appliance.py as a process; stopped by its PID."""

    def __init__(self, sim, log, hold=False):
        env = dict(os.environ, VCSIM_PASSWORD=sim["VCSIM_PASSWORD"])
        args = [sys.executable, str(APPLIANCE), "--addr", sim["VCSIM_ADDR"], "--user",
                sim["VCSIM_USER"]]
        if hold:
            args.append("--hold")
        self.log = log
        self.proc = subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                     env=env)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("vcsim")
    vals = start_vcsim(d)
    vals["dir"] = d
    vals["thumbprint"] = vim25.thumbprint(vals["VCSIM_ADDR"])
    yield vals
    stop_vcsim(d)


@pytest.fixture(scope="module")
def appliance(sim, tmp_path_factory):
    a = Appliance(sim, tmp_path_factory.mktemp("appliance") / "appliance.log")
    yield a
    a.stop()


@pytest.fixture
def iso(tmp_path):
    p = tmp_path / "appliance.iso"
    p.write_bytes(b"VIC-C test appliance image\n" + os.urandom(4096))
    return p


def vim_of(sim):
    return vim25.Vim(sim["VCSIM_ADDR"], sim["VCSIM_USER"], sim["VCSIM_PASSWORD"])


def machine(home, sim, cmd, *args, password=None, thumbprint=None, iso=None, timeout=120):
    """vic-machine against the simulator; the password travels in VIC_MACHINE_PASSWORD."""
    env = dict(os.environ, VIC_MACHINE_PASSWORD=sim["VCSIM_PASSWORD"] if password is None
               else password)
    argv = [str(BIN_DIR / "vic-machine"), cmd, "--home", str(home), "--bin-dir", str(BIN_DIR),
            "--target", sim["VCSIM_ADDR"], "--user", sim["VCSIM_USER"], "--thumbprint",
            thumbprint or sim["thumbprint"]]
    if iso:
        argv += ["--appliance-iso", str(iso)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                          timeout=timeout)


def ours(vim, name):
    """The appliance VM and the pool named name, as vcsim has them (None when absent)."""
    vm = [v for v in vim.vms() if v["name"] == name]
    pool = [p for p in vim.pools() if p["name"] == name]
    return (vm[0] if vm else None), (pool[0] if pool else None)


def test_create_reads_back_and_delete_leaves_nothing(sim, appliance, iso, tmp_path):
    vim = vim_of(sim)
    files_before = vim.ds_files(DS)
    t0 = time.monotonic()
    r = machine(tmp_path, sim, "create", "--name", "vs1", "--compute-resource", CLUSTER,
                "--image-store", DS, "--public-network-ip", "127.0.0.1", "--memory", "2048",
                "--cpu", "1000", "--endpoint-cpu", "2", "--endpoint-memory", "1024", iso=iso)
    took = time.monotonic() - t0
    out = r.stdout + r.stderr
    assert r.returncode == 0, out + open(appliance.log).read()
    for step in CREATE_STEPS:
        assert "%s done" % step in r.stdout, step
    assert sim["VCSIM_PASSWORD"] not in out
    print("create on vcsim took %.2f s" % took)

    vm, pool = ours(vim, "vs1")
    assert pool is not None and vm is not None
    # the pool sits in the cluster's root pool with the limits asked for
    parent = [p for p in vim.pools() if p["ref"] == pool["parent"]][0]
    assert parent["name"] == "Resources"
    assert pool["config"]["memoryAllocation"]["limit"] == "2048"
    assert pool["config"]["cpuAllocation"]["limit"] == "1000"
    # the appliance VM is in it, powered on, sized as asked
    assert vm["resourcePool"] == pool["ref"]
    assert vm["runtime.powerState"] == "poweredOn"
    assert vm["config.hardware.numCPU"] == "2" and vm["config.hardware.memoryMB"] == "1024"
    ex = vm["extra"]
    assert ex["guestinfo.vice./vch/name"] == "vs1"
    assert ex["guestinfo.vice./vch/address"] == "127.0.0.1"
    assert ex["guestinfo.vice./vch/pool"] == CLUSTER + "/Resources/vs1"
    assert ex["guestinfo.vice./vch/tls"] == "true"
    assert ex["guestinfo.vice./vch/tls_verify"] == "true"
    assert ex["guestinfo.vice./vch/image_dir"] == "[%s] vs1/VIC" % DS
    assert ex["guestinfo.vice./vch/version"].startswith("v0.")
    spec = json.loads(ex["guestinfo.vice./vch/spec"])
    assert spec["name"] == "vs1"
    assert spec["compute"]["resource"]["name"] == CLUSTER + "/Resources"
    assert spec["network"]["public"]["port_group"]["name"] == "VM Network"
    assert spec["network"]["bridge"]["port_group"]["name"] == "DC0_DVPG0"
    # host paths of the machine running vic-machine mean nothing to a VM
    assert "guestinfo.vice./vch/home" not in ex and "guestinfo.vice./vch/bin_dir" not in ex
    assert "vch.creating" not in ex  # the create finished
    # what the appliance reported, as vic-init would
    assert ex["guestinfo.vice..init.ready"] == "true"
    devices = vm["config.hardware.device"]
    devices = devices if isinstance(devices, list) else [devices]
    cdroms = [d for d in devices if "VirtualCdromIsoBackingInfo" in json.dumps(d) or
              (isinstance(d.get("backing"), dict) and
               str(d["backing"].get("fileName", "")).endswith("appliance.iso"))]
    assert cdroms and cdroms[0]["backing"]["fileName"] == "[%s] vs1/appliance.iso" % DS
    nets = sorted(d["backing"].get("deviceName") or d["backing"].get("port", {}).get(
        "portgroupKey") for d in devices if isinstance(d.get("backing"), dict) and
        ("deviceName" in d["backing"] or "port" in d["backing"]) and "macAddress" in d)
    assert len(nets) == 2 and "VM Network" in nets, nets
    serial = [d for d in devices if str((d.get("backing") or {}).get("fileName", "")).endswith(
        "output.log")]
    assert serial and serial[0]["backing"]["fileName"] == "[%s] vs1/output.log" % DS
    # the ISO uploaded byte for byte, the server certificate beside it, no private CA key
    assert vim.ds_get(DS, "vs1/appliance.iso") == iso.read_bytes()
    assert vim.ds_get(DS, "vs1/server-cert.pem").startswith(b"-----BEGIN CERTIFICATE")
    assert vim.ds_get(DS, "vs1/ca-key.pem") is None

    ls = machine(tmp_path, sim, "ls", "--json")
    assert ls.returncode == 0, ls.stderr
    [v] = json.loads(ls.stdout)
    assert (v["name"], v["state"], v["power_state"]) == ("vs1", "running", "poweredOn")
    host = v["docker_host"]
    assert host.startswith("127.0.0.1:")
    model = json.loads(machine(tmp_path, sim, "inspect", "--name", "vs1").stdout)
    assert model["runtime"]["components"] == {"vic-init": "started", "port-layer": "started",
                                              "docker-personality": "started",
                                              "vicadmin": "started"}
    assert model["id"] == vm["ref"]
    env = machine(tmp_path, sim, "inspect", "--name", "vs1", "--env").stdout
    assert "DOCKER_HOST=tcp://%s" % host in env
    certs = tmp_path / "vch" / "vs1"
    # the endpoint the appliance serves takes the VCH's client certificate, and only that
    ok = requests.get("https://%s/info" % host, verify=str(certs / "ca.pem"), timeout=10,
                      cert=(str(certs / "cert.pem"), str(certs / "key.pem")))
    assert ok.status_code == 200 and ok.json()["Name"] == "vs1"
    with pytest.raises(requests.exceptions.RequestException):
        requests.get("https://%s/info" % host, verify=str(certs / "ca.pem"), timeout=10)

    # a live VCH's limits change on its pool
    c = machine(tmp_path, sim, "configure", "--name", "vs1", "--memory", "4096")
    assert c.returncode == 0, c.stderr
    _, pool = ours(vim, "vs1")
    assert pool["config"]["memoryAllocation"]["limit"] == "4096"

    d = machine(tmp_path, sim, "delete", "--name", "vs1")
    assert d.returncode == 0, d.stdout + d.stderr
    assert ours(vim, "vs1") == (None, None)
    assert vim.ds_files(DS) == files_before
    assert not certs.exists()
    ls = machine(tmp_path, sim, "ls", "--json")
    assert json.loads(ls.stdout) == []


def test_dhcp_vch_is_reached_by_its_certificate_name(sim, appliance, iso, tmp_path):
    """Without a static address the server certificate can only name the VCH by DNS name
    (--tls-cname); docker and the docker_api step use that name on the reported port."""
    vim = vim_of(sim)
    r = machine(tmp_path, sim, "create", "--name", "vs2", "--compute-resource", CLUSTER,
                "--image-store", DS, "--tls-cname", "localhost", iso=iso)
    assert r.returncode == 0, r.stdout + r.stderr
    vm, _ = ours(vim, "vs2")
    assert vm["extra"]["guestinfo.vice./vch/address"] == "dhcp"
    reported = vm["extra"]["guestinfo.vice..init.docker_host"]
    port = reported.rsplit(":", 1)[1]
    [v] = json.loads(machine(tmp_path, sim, "ls", "--json").stdout)
    assert v["docker_host"] == "localhost:" + port
    model = json.loads(machine(tmp_path, sim, "inspect", "--name", "vs2").stdout)
    assert model["runtime"]["admin_portal"] == "https://localhost:2378/"
    certs = tmp_path / "vch" / "vs2"
    ok = requests.get("https://localhost:%s/info" % port, verify=str(certs / "ca.pem"),
                      cert=(str(certs / "cert.pem"), str(certs / "key.pem")), timeout=10)
    assert ok.status_code == 200 and ok.json()["Name"] == "vs2"
    # the certificate names no address: by IP it does not verify
    with pytest.raises(requests.exceptions.SSLError):
        requests.get("https://%s/info" % reported, verify=str(certs / "ca.pem"),
                     cert=(str(certs / "cert.pem"), str(certs / "key.pem")), timeout=10)
    d = machine(tmp_path, sim, "delete", "--name", "vs2")
    assert d.returncode == 0, d.stdout + d.stderr
    assert ours(vim, "vs2") == (None, None)


def test_validation_reports_every_problem_with_what_exists(sim, iso, tmp_path):
    r = machine(tmp_path, sim, "create", "--name", "bad", "--compute-resource",
                "/DC0/host/nowhere", "--image-store", "ds9", "--public-network", "nonet",
                iso=iso)
    assert r.returncode == 3, r.stdout + r.stderr
    err = r.stderr
    target = sim["VCSIM_ADDR"]
    assert ("compute.resource: /DC0/host/nowhere does not exist on %s (available: "
            % target) in err
    assert "/DC0/host/DC0_C0" in err and "/DC0/host/DC0_H0" in err
    assert ("storage.image_stores[0]: datastore ds9 does not exist on %s (available: %s)"
            % (target, DS)) in err
    assert ("network.public.port_group: network nonet does not exist on %s (available: "
            % target) in err
    assert "DC0_DVPG0" in err and "DVUplinks" not in err
    assert "3 problems" in err
    # nothing was made
    assert ours(vim_of(sim), "bad") == (None, None)

    # a target with several compute resources needs to be told which
    r = machine(tmp_path, sim, "create", "--name", "bad2", "--image-store", DS, iso=iso)
    assert r.returncode == 3
    assert ("compute.resource: required: %s has more than one compute resource" % target
            in r.stderr)

    # no appliance ISO: said before anything is made
    r = machine(tmp_path, sim, "create", "--name", "bad3", "--compute-resource", CLUSTER,
                "--image-store", DS, iso=tmp_path / "missing.iso")
    assert r.returncode == 3 and "appliance_iso: " in r.stderr and "missing.iso" in r.stderr


def test_wrong_thumbprint_is_refused_showing_the_real_one(sim, tmp_path):
    real = sim["thumbprint"]
    wrong = ":".join(["AB"] * 20)
    r = machine(tmp_path, sim, "ls", thumbprint=wrong)
    assert r.returncode == 1
    assert "does not match the pinned thumbprint" in r.stderr
    assert real.replace(":", "").lower() in r.stderr.replace(":", "").lower(), r.stderr


def test_bad_credentials_are_refused_clearly(sim, tmp_path):
    r = machine(tmp_path, sim, "ls", password="not-the-password-123")
    assert r.returncode == 1
    assert "refused the user name or password of %s" % sim["VCSIM_USER"] in r.stderr
    assert "not-the-password-123" not in r.stdout + r.stderr


def test_password_on_the_command_line_is_not_printed(sim, tmp_path):
    argv = [str(BIN_DIR / "vic-machine"), "ls", "--home", str(tmp_path), "--target",
            sim["VCSIM_ADDR"], "--user", sim["VCSIM_USER"], "--password", "wrong-pw-xyz",
            "--thumbprint", sim["thumbprint"]]
    env = {k: v for k, v in os.environ.items() if k != "VIC_MACHINE_PASSWORD"}
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1 and "wrong-pw-xyz" not in r.stdout + r.stderr


def test_help_documents_the_vsphere_options():
    r = subprocess.run([str(BIN_DIR / "vic-machine"), "create", "--help"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0
    for opt in ("--target", "--user", "--password", "VIC_MACHINE_PASSWORD", "--thumbprint",
                "--compute-resource", "--image-store", "--appliance-iso", "--public-network-ip"):
        assert opt in r.stdout, opt
    r = subprocess.run([str(BIN_DIR / "vic-machine"), "ui", "--help"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0
    for opt in ("install", "remove", "info", "--url", "--server-thumbprint", "--target"):
        assert opt in r.stdout, opt
    r = subprocess.run([str(BIN_DIR / "vic-machine"), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert "  ui " in r.stdout


def test_vcsim_killed_mid_create_fails_cleanly_and_a_retry_converges(tmp_path, iso):
    """vcsim is killed while the create waits for the appliance (after the pool, the VM and
    its files were made). What can honestly be asserted: the create ends promptly with the
    failure and says its rollback could not reach the target (rather than claiming nothing is
    left); the local side is consistent (no task left running, no certificate directory); and
    once vcsim is back on the same address, a retry of the same create succeeds and its delete
    leaves nothing. A restarted vcsim has lost its state, so "nothing orphaned on the target"
    is trivially true here; on a real vCenter the pieces would remain until `vic-machine
    delete`, which the failure message names."""
    d = tmp_path / "sim"
    sim = start_vcsim(d)
    sim["thumbprint"] = vim25.thumbprint(sim["VCSIM_ADDR"])
    held = Appliance(sim, tmp_path / "held.log", hold=True)
    home = tmp_path / "home"
    try:
        env = dict(os.environ, VIC_MACHINE_PASSWORD=sim["VCSIM_PASSWORD"])
        proc = subprocess.Popen(
            [str(BIN_DIR / "vic-machine"), "create", "--home", str(home), "--bin-dir",
             str(BIN_DIR), "--target", sim["VCSIM_ADDR"], "--user", sim["VCSIM_USER"],
             "--thumbprint", sim["thumbprint"], "--appliance-iso", str(iso), "--name", "cut",
             "--compute-resource", CLUSTER, "--image-store", DS, "--public-network-ip",
             "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        vim = vim_of(sim)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            vm, _ = ours(vim, "cut")
            if vm and vm["runtime.powerState"] == "poweredOn":
                break
            time.sleep(0.05)
        else:
            proc.kill()
            pytest.fail("the appliance VM never powered on")
        os.kill(int(sim["VCSIM_PID"]), signal.SIGKILL)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=60)
        assert time.monotonic() - t0 < 30
        assert proc.returncode == 1, out + err
        assert "endpoint failed" in out
        assert "could not remove everything of VCH cut" in out
        assert "vic-machine delete --name cut" in out
        assert "rollback incomplete" in err
        assert not (home / "vch" / "cut").exists()

        stop_vcsim(d)
        sim = start_vcsim(d, listen=sim["VCSIM_ADDR"])
        sim["thumbprint"] = vim25.thumbprint(sim["VCSIM_ADDR"])
        held.stop()
        held = Appliance(sim, tmp_path / "appliance.log")
        ls = machine(home, sim, "ls", "--json")
        assert ls.returncode == 0 and json.loads(ls.stdout) == [], ls.stderr
        log = machine(home, sim, "inspect", "--name", "cut", "--log")
        assert "cut: failed" in log.stdout and "could not remove everything" in log.stdout
        r = machine(home, sim, "create", "--name", "cut", "--compute-resource", CLUSTER,
                    "--image-store", DS, "--public-network-ip", "127.0.0.1", iso=iso)
        assert r.returncode == 0, r.stdout + r.stderr
        d2 = machine(home, sim, "delete", "--name", "cut")
        assert d2.returncode == 0, d2.stdout + d2.stderr
        assert ours(vim_of(sim), "cut") == (None, None)
        assert "cut" not in vim_of(sim).ds_files(DS)
    finally:
        held.stop()
        stop_vcsim(d)


# ---- the REST API with a vSphere target ----

def test_rest_api_creates_lists_and_deletes_on_the_vsphere_target(sim, appliance, iso,
                                                                  make_server):
    from conftest import basic
    target = sim["VCSIM_ADDR"]
    srv = make_server(args=["--vsphere-target", target,
                            "--appliance-iso", str(iso)])
    assert "targets: local, %s" % target in srv.stdout
    vs = srv.session(auth=basic(sim["VCSIM_USER"], sim["VCSIM_PASSWORD"]))
    base = "/container/target/%s/vch" % target
    tp = {"thumbprint": sim["thumbprint"]}
    spec = {"name": "api1", "compute": {"resource": {"name": CLUSTER}},
            "storage": {"image_stores": [DS]},
            "network": {"public": {"static": "127.0.0.1"}}}

    # the thumbprint is required for vcsim's self-signed certificate, and named when missing
    r = vs.post(srv.url(base), json=spec, timeout=60)
    assert r.status_code == 401 and "SHA-1" in r.json()["message"], r.text
    # bad vSphere credentials: refused by the target, said clearly, not echoed
    bad = srv.session(auth=basic(sim["VCSIM_USER"], "wrong-secret-77"))
    r = bad.get(srv.url(base), params=tp, timeout=60)
    assert r.status_code == 401
    assert "refused the user name or password" in r.json()["message"]
    assert "wrong-secret-77" not in r.text
    # a target the service was not told about
    r = vs.get(srv.url("/container/target/127.0.0.1:1/vch"), timeout=30)
    assert r.status_code in (401, 404)
    # validation problems come back together, each at its field
    r = vs.post(srv.url(base), params=tp, json=dict(spec, storage={"image_stores": ["ds9"]},
                                                    network={"public": {"port_group": {
                                                        "name": "nonet"}}}), timeout=60)
    assert r.status_code == 400, r.text
    probs = r.json()["problems"]
    assert any(p.startswith("storage.image_stores[0]: datastore ds9") for p in probs)
    assert any(p.startswith("network.public.port_group: network nonet") for p in probs)

    r = vs.post(srv.url(base), params=dict(tp, wait="1"), json=spec, timeout=120)
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    r = vs.get(srv.url(base), params=tp, timeout=60)
    assert r.status_code == 200
    [v] = r.json()["vchs"]
    assert (v["name"], v["state"]) == ("api1", "running")
    assert v["created_by"] == "%s@%s" % (sim["VCSIM_USER"], target)
    r = vs.get(srv.url("%s/%s" % (base, vid)), params=tp, timeout=60)
    assert r.status_code == 200 and r.json()["runtime"]["components"]["port-layer"] == "started"
    vm, pool = ours(vim_of(sim), "api1")
    assert vm and pool and vm["resourcePool"] == pool["ref"]

    r = vs.delete(srv.url("%s/%s" % (base, vid)), params=dict(tp, wait="1"), timeout=120)
    assert r.status_code == 200, r.text
    assert ours(vim_of(sim), "api1") == (None, None)
    assert "api1" not in vim_of(sim).ds_files(DS)
    assert sim["VCSIM_PASSWORD"] not in srv.stderr()


# ---- the vSphere Client plugin ----

def find_extension(vim, key):
    """The extension key as vCenter's ExtensionManager has it (None when unregistered)."""
    resp = vim.call("FindExtension", vim.sc["extensionManager"],
                    "<extensionKey>%s</extensionKey>" % key)
    rv = resp.find("{%s}returnval" % vim25.NS)
    return vim25._val(rv) if rv is not None else None


def test_vsphere_client_plugin_install_info_remove(sim, make_server, tmp_path):
    """vcsim's ExtensionManager is the fixture's (tests/fixtures/vcsim/main.go: govmomi 0.24
    implements none); the registration goes over the same SOAP calls a vCenter takes."""
    srv = make_server()
    url = srv.url("/ui/vsphere-plugin.json")
    r = requests.get(url, verify=srv.ca, timeout=10)
    assert r.status_code == 200 and r.json()["manifestVersion"] == "1.0.0"
    server_tp = vim25.thumbprint("127.0.0.1:%d" % srv.port)
    key = "com.vmware.vic.ui"

    r = machine(tmp_path, sim, "ui", "install", "--url", url, "--server-thumbprint", server_tp)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sim["VCSIM_PASSWORD"] not in r.stdout + r.stderr
    info = machine(tmp_path, sim, "ui", "info", "--json")
    assert info.returncode == 0, info.stderr
    x = json.loads(info.stdout)
    assert (x["key"], x["url"], x["thumbprint"]) == (key, url, server_tp)
    assert x["version"].startswith("v0.")
    # read back through the extension manager itself
    ext = find_extension(vim_of(sim), key)
    assert ext["key"] == key and ext["client"]["type"] == "vsphere-client-remote"
    assert ext["client"]["url"] == url
    assert ext["server"]["serverThumbprint"] == server_tp
    assert ext["server"]["type"] == "MANIFEST_SERVER"

    # installing again updates the registration
    r = machine(tmp_path, sim, "ui", "install", "--url", url, "--server-thumbprint",
                server_tp.replace(":", "").lower(), "--version", "9.9.9")
    assert r.returncode == 0, r.stderr
    assert find_extension(vim_of(sim), key)["version"] == "9.9.9"

    # what the vSphere Client would refuse is refused here
    r = machine(tmp_path, sim, "ui", "install", "--url", url.replace("https:", "http:"),
                "--server-thumbprint", server_tp)
    assert r.returncode == 3 and "https only" in r.stderr
    r = machine(tmp_path, sim, "ui", "install", "--url", url, "--server-thumbprint", "12:34")
    assert r.returncode == 3 and "SHA-1 thumbprint" in r.stderr

    r = machine(tmp_path, sim, "ui", "remove")
    assert r.returncode == 0, r.stderr
    assert find_extension(vim_of(sim), key) is None
    r = machine(tmp_path, sim, "ui", "info")
    assert r.returncode == 1 and "is not registered" in r.stderr
    r = machine(tmp_path, sim, "ui", "remove")
    assert r.returncode == 1 and "is not registered" in r.stderr


def test_appliance_that_never_comes_up_is_rolled_back(tmp_path, iso):
    """An appliance that never reports (fake_appliance.py --hold): the create gives up after
    --timeout and removes everything it made from the target."""
    d = tmp_path / "sim"
    sim = start_vcsim(d)
    sim["thumbprint"] = vim25.thumbprint(sim["VCSIM_ADDR"])
    held = Appliance(sim, tmp_path / "held.log", hold=True)
    try:
        vim = vim_of(sim)
        before = vim.ds_files(DS)
        t0 = time.monotonic()
        r = machine(tmp_path / "home", sim, "create", "--name", "mute", "--compute-resource",
                    CLUSTER, "--image-store", DS, "--public-network-ip", "127.0.0.1",
                    "--timeout", "2", iso=iso)
        assert r.returncode == 1, r.stdout + r.stderr
        assert time.monotonic() - t0 < 30
        assert "did not report ready within 2 s" in r.stderr
        assert "nothing of VCH mute is left" in r.stdout
        assert ours(vim, "mute") == (None, None)
        assert vim.ds_files(DS) == before
        assert not (tmp_path / "home" / "vch" / "mute").exists()
    finally:
        held.stop()
        stop_vcsim(d)
