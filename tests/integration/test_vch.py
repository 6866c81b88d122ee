"""VCH lifecycle on the local target: vic-machine and the web service's REST API.

A created VCH is real: a resource pool, an appliance VM whose vic-init runs the port layer and
the Docker personality (sanitizer builds) on the VCH's own loopback address, and the real
docker CLI talking to it over TLS with the generated client certificate. Every test ends by
checking that nothing is left: no VM folders, no pools, no processes for its home.
"""

import ipaddress
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import BIN_DIR, vic_machine

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
CREATE_STEPS = ["certificates", "resource_pool", "appliance_image", "appliance_vm",
                "volume_stores", "power_on", "endpoint", "docker_api"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")


def vm_folders(home):
    ds = Path(home) / "datastore1"
    if not ds.exists():
        return []
    return sorted(p.name for p in ds.iterdir() if (p / (p.name + ".vmx")).exists())


def pools(home):
    f = Path(home) / "pools" / "pool.json"
    if not f.exists():
        return []
    data = json.loads(f.read_text())
    return sorted(data.get("pools", data) if isinstance(data, dict) else data)


def processes_for(home):
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "--home %s " % home in line + " "
            and "ps -eo" not in line and "vic-webservice" not in line]


def assert_nothing_left(home):
    deadline = time.time() + 10
    while processes_for(home) and time.time() < deadline:
        time.sleep(0.1)
    assert processes_for(home) == []
    assert vm_folders(home) == []
    ls = vic_machine(home, "ls", "--json")
    assert ls.returncode == 0, ls.stderr
    assert json.loads(ls.stdout) == []
    assert not (Path(home) / "datastore1" / "vic-images").exists() or \
        list((Path(home) / "datastore1" / "vic-images").iterdir()) == []


def docker(env_text, home, *args):
    env = dict(os.environ, DOCKER_CONFIG=str(Path(home) / "docker-cli"))
    for line in env_text.splitlines():
        k, _, v = line.partition("=")
        env[k] = v
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    yield h
    for v in json.loads(vic_machine(h, "ls", "--json").stdout or "[]"):
        vic_machine(h, "delete", "--name", v["name"], "--force")


def test_create_use_configure_and_delete_with_vic_machine(home):
    r = vic_machine(home, "create", "--name", "vch1", "--volume-store",
                    "datastore1/volumes/vch1:default", "--memory", "2048")
    assert r.returncode == 0, r.stdout + r.stderr
    for step in CREATE_STEPS:
        assert "%s done" % step in r.stdout
    assert "export DOCKER_HOST=tcp://127.77." in r.stdout
    env = vic_machine(home, "inspect", "--name", "vch1", "--env")
    assert env.returncode == 0, env.stderr
    assert "DOCKER_TLS_VERIFY=1" in env.stdout
    cert_path = [l.split("=", 1)[1] for l in env.stdout.splitlines()
                 if l.startswith("DOCKER_CERT_PATH=")][0]
    assert oct(os.stat(os.path.join(cert_path, "key.pem")).st_mode & 0o777) == "0o600"
    # the endpoint asks for the client certificate: without it, nothing but a refusal
    hostport = [l.split("=", 1)[1] for l in env.stdout.splitlines()
                if l.startswith("DOCKER_HOST=")][0][len("tcp://"):]
    ca = os.path.join(cert_path, "ca.pem")
    anon = requests.get("https://%s/info" % hostport, verify=ca, timeout=10)
    assert anon.status_code == 401 and "client certificate" in anon.json()["message"]
    ok = requests.get("https://%s/info" % hostport, verify=ca, timeout=10,
                      cert=(os.path.join(cert_path, "cert.pem"),
                            os.path.join(cert_path, "key.pem")))
    assert ok.status_code == 200 and ok.json()["Name"] == "vch1"

    if os.access(DOCKER, os.X_OK):
        info = docker(env.stdout, home, "info", "--format", "{{.Name}} {{.Containers}}")
        assert info.returncode == 0, info.stderr
        assert info.stdout.split() == ["vch1", "0"]
        # without the client certificate's CA the CLI refuses the server
        bad = docker("DOCKER_HOST=" + env.stdout.splitlines()[0].split("=", 1)[1] +
                     "\nDOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=/nonexistent", home, "info")
        assert bad.returncode != 0

    ls = json.loads(vic_machine(home, "ls", "--json").stdout)
    assert [(v["name"], v["state"], v["containers"]) for v in ls] == [("vch1", "running", 0)]
    model = json.loads(vic_machine(home, "inspect", "--name", "vch1").stdout)
    assert model["runtime"]["components"] == {"vic-init": "started", "port-layer": "started",
                                              "docker-personality": "started",
                                              "vicadmin": "started"}
    assert model["compute"]["memory"]["limit"] == {"value": 2048, "units": "MiB"}
    assert model["storage"]["volume_stores"] == [{"datastore": "datastore1/volumes/vch1",
                                                  "label": "default"}]
    assert (home / "datastore1" / "volumes" / "vch1").is_dir()

    c = vic_machine(home, "configure", "--name", "vch1", "--memory", "4096", "--json")
    assert c.returncode == 0, c.stderr
    assert json.loads(c.stdout)["compute"]["memory"]["limit"] == {"value": 4096, "units": "MiB"}

    log = vic_machine(home, "inspect", "--name", "vch1", "--log")
    assert "docker_api" in log.stdout and "succeeded" in log.stdout

    d = vic_machine(home, "delete", "--name", "vch1", "--volume-stores", "all")
    assert d.returncode == 0, d.stdout + d.stderr
    assert not (home / "datastore1" / "volumes" / "vch1").exists()
    assert not (home / "vch" / "vch1").exists()
    assert_nothing_left(home)


def test_delete_keeps_volume_stores_by_default(home):
    r = vic_machine(home, "create", "--name", "keep", "--volume-store", "datastore1/vk:default")
    assert r.returncode == 0, r.stdout + r.stderr
    assert vic_machine(home, "delete", "--name", "keep").returncode == 0
    assert (home / "datastore1" / "vk").is_dir()
    assert_nothing_left(home)


def test_validation_reports_every_problem_at_once(home):
    r = vic_machine(home, "create", "--name", "bad", "--image-store", "ds9",
                    "--public-network", "nonet", "--bridge-network-range", "10.0.0/8")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "3 problems" in r.stderr
    assert "storage.image_stores[0]: datastore ds9 does not exist on local " \
           "(available: datastore1)" in r.stderr
    assert "network.public.port_group: network nonet does not exist" in r.stderr
    assert "network.bridge.ip_range: 10.0.0/8 is not a CIDR range" in r.stderr
    assert vm_folders(home) == []


def test_bad_usage_and_help(home):
    for cmd in ("create", "ls", "inspect", "delete", "configure", "debug", "version"):
        r = vic_machine(home, cmd, "--help")
        assert r.returncode == 0 and "Usage: vic-machine" in r.stdout, cmd
    assert vic_machine(home, "create", "--bogus").returncode == 2
    assert vic_machine(home, "inspect").returncode == 2
    r = vic_machine(home, "inspect", "--name", "nosuch")
    assert r.returncode == 1 and "VCH nosuch not found" in r.stderr


def test_two_concurrent_creates_of_one_name(home):
    results = []

    def create():
        results.append(vic_machine(home, "create", "--name", "twin"))

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.returncode for r in results)
    assert codes[0] == 0 and codes[1] != 0, [r.stdout + r.stderr for r in results]
    loser = [r for r in results if r.returncode != 0][0]
    assert "twin" in loser.stderr
    ls = json.loads(vic_machine(home, "ls", "--json").stdout)
    assert [v["name"] for v in ls] == ["twin"]
    assert vic_machine(home, "delete", "--name", "twin").returncode == 0
    assert_nothing_left(home)


def host_networks():
    """The IPv4 networks of this host's interfaces that a VCH's bridge range must not overlap
    (vic-machine leaves out loopback and the local target's own vb* bridges)."""
    out = subprocess.run(["ip", "-j", "-4", "addr"], capture_output=True, text=True,
                         check=True, timeout=30).stdout
    return [ipaddress.ip_network("%s/%d" % (a["local"], a["prefixlen"]), strict=False)
            for link in json.loads(out) if not link["ifname"].startswith(("lo", "vb"))
            for a in link.get("addr_info", [])]


def free_range(*taken):
    """A /16 of 10.0.0.0/8 that overlaps none of taken (CIDR strings) nor this host."""
    busy = [ipaddress.ip_network(t) for t in taken] + host_networks()
    for n in range(254, 0, -1):
        cand = ipaddress.ip_network("10.%d.0.0/16" % n)
        if not any(cand.overlaps(b) for b in busy):
            return str(cand)
    pytest.fail("no free 10.N.0.0/16 on this host: %s" % busy)


def bridge_range(home, name):
    r = vic_machine(home, "inspect", "--name", name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["network"]["bridge"]["ip_range"]


def test_second_vch_gets_its_own_address_and_range_checks(home):
    assert vic_machine(home, "create", "--name", "a").returncode == 0
    # a's default range is 172.16.0.0/12 unless this host uses part of it: ask, then ask
    # for a range inside it
    a_range = bridge_range(home, "a")
    inside = ipaddress.ip_network(a_range)
    if inside.prefixlen < 16:
        inside = next(inside.subnets(new_prefix=16))
    r = vic_machine(home, "create", "--name", "b", "--bridge-network-range", str(inside))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "overlaps VCH a's bridge range %s" % a_range in r.stderr, r.stderr
    b_range = free_range(a_range)
    r = vic_machine(home, "create", "--name", "b", "--bridge-network-range", b_range)
    assert r.returncode == 0, r.stderr
    assert bridge_range(home, "b") == b_range
    ls = {v["name"]: v["docker_host"] for v in json.loads(vic_machine(home, "ls", "--json").stdout)}
    assert ls["a"] != ls["b"]
    r = vic_machine(home, "create", "--name", "a", "--bridge-network-range",
                    free_range(a_range, b_range))
    assert r.returncode == 3 and "a VCH named a already exists" in r.stderr
    for n in ("a", "b"):
        assert vic_machine(home, "delete", "--name", n).returncode == 0
    assert_nothing_left(home)


@pytest.mark.parametrize("step", CREATE_STEPS)
def test_kill_during_create_then_converge(home, step):
    """vic-machine dies (SIGKILL) right after a step; the next vic-machine rolls it back."""
    env = dict(os.environ, VIC_CRASH_AFTER_STEP=step)
    r = vic_machine(home, "create", "--name", "crash", env=env)
    assert r.returncode == -9, r.stdout + r.stderr
    ls = vic_machine(home, "ls", "--json")
    assert ls.returncode == 0, ls.stderr
    assert "finished 1 interrupted task" in ls.stderr
    if step == CREATE_STEPS[-1]:
        # every step was done: the VCH is whole, and the converge records it as created
        assert [v["name"] for v in json.loads(ls.stdout)] == ["crash"]
        log = vic_machine(home, "inspect", "--name", "crash", "--log")
        assert "stopped after its last step" in log.stdout, log.stdout
        assert vic_machine(home, "delete", "--name", "crash").returncode == 0
        assert_nothing_left(home)
        return
    assert json.loads(ls.stdout) == []
    assert_nothing_left(home)
    log = vic_machine(home, "inspect", "--name", "crash", "--log")
    assert "interrupted during step" in log.stdout or "rollback" in log.stdout
    # and the name is free again
    assert vic_machine(home, "create", "--name", "crash").returncode == 0
    assert vic_machine(home, "delete", "--name", "crash").returncode == 0


def test_kill_during_delete_then_converge(home):
    assert vic_machine(home, "create", "--name", "half").returncode == 0
    env = dict(os.environ, VIC_CRASH_AFTER_STEP="appliance_vm")
    r = vic_machine(home, "delete", "--name", "half", env=env)
    assert r.returncode == -9
    ls = vic_machine(home, "ls", "--json")
    assert "finished 1 interrupted task" in ls.stderr
    assert_nothing_left(home)


# ---- the REST API ----


def sse_events(resp):
    event, data = None, []
    for raw in resp.iter_lines(decode_unicode=True):
        if raw == "":
            if event:
                yield event, "\n".join(data)
            event, data = None, []
        elif raw.startswith("event:"):
            event = raw[6:].strip()
        elif raw.startswith("data:"):
            data.append(raw[5:].strip())


def test_rest_create_stream_inspect_and_delete(make_server):
    s = make_server()
    api = s.admin_session()
    base = s.url("/container/target/local/vch")
    r = api.post(base, json={"name": "rest1", "storage": {"volume_stores": [
        {"datastore": "datastore1/rv", "label": "default"}]}})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["id"] == "vm:rest1"
    assert r.headers["Location"] == "/container/target/local/vch/vm:rest1"
    # a delete while the create runs is refused with the reason, and takes nothing down
    busy = api.delete(base + "/vm:rest1", json={"containers": "all"})
    assert busy.status_code == 409, busy.text
    assert "is being created on local right now" in busy.json()["message"] or \
        "is being created or deleted on local right now" in busy.json()["message"], busy.text
    with api.get(s.url(body["events"]), stream=True, timeout=60) as ev:
        assert ev.headers["Content-Type"].startswith("text/event-stream")
        seen = list(sse_events(ev))
    steps = [json.loads(d)["step"] for e, d in seen if e == "progress"]
    for step in CREATE_STEPS:
        assert step in steps
    assert seen[-1][0] == "end" and json.loads(seen[-1][1])["state"] == "succeeded"
    # a late subscriber gets the whole story again
    with api.get(s.url(body["events"]), stream=True, timeout=60) as ev:
        again = list(sse_events(ev))
    assert [e for e, _ in again] == [e for e, _ in seen]
    # and Last-Event-ID resumes after what was seen
    with api.get(s.url(body["events"]), stream=True, timeout=60,
                 headers={"Last-Event-ID": "3"}) as ev:
        tail = [json.loads(d)["seq"] for e, d in sse_events(ev) if e == "progress"]
    assert tail and min(tail) == 4

    vch = api.get(base + "/vm:rest1").json()
    assert vch["runtime"]["state"] == "running"
    assert vch["runtime"]["docker_host"].startswith("tcp://127.77.")
    assert api.get(base).json()["vchs"][0]["name"] == "rest1"
    pem = api.get(base + "/rest1/certificate")
    assert pem.status_code == 200 and pem.text.startswith("-----BEGIN CERTIFICATE-----")
    assert "docker_api" in api.get(base + "/rest1/log").text
    task = api.get(s.url("/container/tasks/" + body["task_id"])).json()
    assert task["state"] == "succeeded" and task["kind"] == "create"

    put = api.put(base + "/rest1", json={"compute": {"cpu": {"limit": 1000}}, "debug": 1})
    assert put.status_code == 200, put.text
    assert put.json()["compute"]["cpu"]["limit"] == {"value": 1000, "units": "MHz"}
    refused = api.put(base + "/rest1", json={"network": {}})
    assert refused.status_code == 400
    assert "network: cannot be changed on a live VCH" in refused.json()["message"]

    # unauthenticated callers see nothing
    assert requests.get(base, verify=s.verify).status_code == 401
    d = api.delete(base + "/rest1?wait=1", json={"containers": "all", "volume_stores": "all"})
    assert d.status_code == 200, d.text
    assert api.get(base + "/rest1").status_code == 404
    assert_nothing_left(s.home)


def test_rest_create_wait_and_bad_input(make_server):
    s = make_server()
    api = s.admin_session()
    base = s.url("/container/target/local/vch")
    r = api.post(base, data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = api.post(base, json={"name": "x", "colour": "blue", "compute": {"cpu": {"limit": "lots"}},
                             "storage": {"image_stores": ["ds9"]}})
    assert r.status_code == 400
    problems = r.json()["problems"]
    assert any("colour" in p for p in problems), problems
    r = api.post(base, json={"name": "x", "compute": {"cpu": {"limit": "lots"}},
                             "storage": {"image_stores": ["ds9"]}})
    assert r.status_code == 400 and len(r.json()["problems"]) >= 2, r.text
    r = api.post(base, json={"name": "x" * 100})
    assert r.status_code == 400 and "name" in r.text
    assert api.post(s.url("/container/target/nowhere/vch"), json={}).status_code == 404
    assert vm_folders(s.home) == []
    r = api.post(base + "?wait=1", json={"name": "waited"})
    assert r.status_code == 201, r.text
    assert api.get(base + "/waited").json()["runtime"]["state"] == "running"
    bad = api.delete(base + "/waited", json={"containers": "some"})
    assert bad.status_code == 400
    d = api.delete(base + "/waited")
    assert d.status_code == 202
    task = d.json()["task"]
    for _ in range(200):
        if api.get(s.url(task)).json()["state"] != "running":
            break
        time.sleep(0.05)
    assert api.get(s.url(task)).json()["state"] == "succeeded"
    assert_nothing_left(s.home)


@pytest.mark.parametrize("step", CREATE_STEPS)
def test_web_service_killed_during_create_converges_on_restart(make_server, step):
    s = make_server()
    s.kill()
    env_home = s.home
    s2 = make_server(home=env_home, start=False)
    s2.extra_env = {"VIC_CRASH_AFTER_STEP": step}
    s2.start()
    api = s2.admin_session()
    r = api.post(s2.url("/container/target/local/vch"), json={"name": "crashy"})
    assert r.status_code == 202, r.text
    s2.wait_exit(30)
    assert not s2.running
    if CREATE_STEPS.index(step) >= CREATE_STEPS.index("appliance_vm"):
        assert vm_folders(env_home) == ["crashy"]  # left half-made by the crash
    s3 = make_server(home=env_home)
    api = s3.admin_session()
    for _ in range(100):
        if api.get(s3.url("/container/tasks/" + r.json()["task_id"])).json()["state"] != "running":
            break
        time.sleep(0.1)
    task = api.get(s3.url("/container/tasks/" + r.json()["task_id"])).json()
    if step == CREATE_STEPS[-1]:
        # every step was done: the converge records the VCH as created, not rolled back
        assert task["state"] == "succeeded", task
        vchs = api.get(s3.url("/container/target/local/vch")).json()["vchs"]
        assert [(v["name"], v["state"]) for v in vchs] == [("crashy", "running")], vchs
        d = api.delete(s3.url("/container/target/local/vch/crashy?wait=1"))
        assert d.status_code == 200, d.text
        assert_nothing_left(env_home)
        return
    assert task["state"] == "failed" and "rolled back" in task["error"], task
    assert api.get(s3.url("/container/target/local/vch")).json()["vchs"] == []
    assert_nothing_left(env_home)


# ---- per-container insight, with the real docker CLI and a registry ----

from test_docker import registry  # noqa: E402,F401  (a pytest fixture)


def test_insight_sees_docker_containers_and_stops_them(make_server, registry):  # noqa: F811
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    s = make_server()
    api = s.admin_session()
    base = s.url("/container/target/local/vch")
    r = api.post(base + "?wait=1", json={"name": "seen"})
    assert r.status_code == 201, r.text
    env = vic_machine(s.home, "inspect", "--name", "seen", "--env").stdout
    image = "%s/busybox" % registry
    pull = docker(env, s.home, "pull", image)
    assert pull.returncode == 0, pull.stderr
    # interactive through the VCH's TLS endpoint with client certificates
    fg = docker(env, s.home, "run", "--rm", image, "sh", "-c", "echo over tls; exit 5")
    assert fg.returncode == 5 and fg.stdout == "over tls\n", (fg.returncode, fg.stdout, fg.stderr)
    run = docker(env, s.home, "run", "-d", "--name", "sleeper", image, "sh", "-c",
                 "echo hello insight; sleep 600")
    assert run.returncode == 0, run.stderr
    cid = run.stdout.strip()
    ex = docker(env, s.home, "exec", "sleeper", "sh", "-c", "echo exec over tls; exit 4")
    assert (ex.returncode, ex.stdout) == (4, "exec over tls\n"), (ex.returncode, ex.stdout,
                                                                   ex.stderr)

    listed = api.get(base + "/seen/containers")
    assert listed.status_code == 200, listed.text
    mine = [c for c in listed.json()["containers"] if c["name"] == "sleeper"]
    assert len(mine) == 1 and mine[0]["image"] == image and mine[0]["state"] == "running"
    one = api.get(base + "/seen/containers/sleeper").json()
    assert one["config"]["cmd"] == ["sh", "-c", "echo hello insight; sleep 600"]
    for _ in range(50):
        logs = api.get(base + "/seen/containers/sleeper/logs?tail=10")
        if "hello insight" in logs.text:
            break
        time.sleep(0.1)
    assert logs.status_code == 200 and "hello insight" in logs.text
    st = api.get(base + "/seen/containers/sleeper/stats").json()
    assert st["running"] is True and st["cpu_ns"] > 0 and st["memory_bytes"] > 0, st
    assert api.get(base + "/seen/containers/..%2Fetc/logs").status_code in (400, 404)
    assert api.get(base + "/seen/containers/sleeper/logs?tail=x").status_code == 400

    # a delete that would stop running containers needs containers: all
    busy = api.delete(base + "/seen", json={"containers": "off"})
    assert busy.status_code == 409 and "running container" in busy.json()["message"]

    stop = api.post(base + "/seen/containers/sleeper/stop")
    assert stop.status_code == 204, stop.text
    ps = docker(env, s.home, "ps", "-a", "--format", "{{.ID}} {{.Status}}")
    assert ps.returncode == 0 and cid[:12] in ps.stdout and "Exited" in ps.stdout, ps.stdout
    assert api.delete(base + "/seen/containers/sleeper").status_code == 204
    assert docker(env, s.home, "ps", "-aq").stdout.strip() == ""
    d = api.delete(base + "/seen?wait=1", json={"containers": "all"})
    assert d.status_code == 200, d.text
    assert_nothing_left(s.home)


def test_volume_data_outlives_its_vch(home, registry):  # noqa: F811
    """A volume written through one VCH is kept by a default delete, and a new VCH on the
    same volume store finds it with its data."""
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    image = "%s/busybox" % registry
    for name in ("first", "second"):
        r = vic_machine(home, "create", "--name", name, "--volume-store",
                        "datastore1/shared-vols:default")
        assert r.returncode == 0, r.stdout + r.stderr
        env = vic_machine(home, "inspect", "--name", name, "--env").stdout
        assert docker(env, home, "pull", image).returncode == 0
        if name == "first":
            assert docker(env, home, "volume", "create", "keep").returncode == 0
            w = docker(env, home, "run", "--rm", "-v", "keep:/data", image, "sh", "-c",
                       "echo from first > /data/note")
            assert w.returncode == 0, w.stderr
        else:
            assert "keep" in docker(env, home, "volume", "ls", "-q").stdout.split()
            r = docker(env, home, "run", "--rm", "-v", "keep:/data", image, "cat", "/data/note")
            assert r.returncode == 0 and r.stdout == "from first\n", r.stdout + r.stderr
        assert vic_machine(home, "delete", "--name", name).returncode == 0
    assert (home / "datastore1" / "shared-vols" / "volumes" / "keep" / "data" / "note").is_file()
    assert_nothing_left(home)


def components(home, name):
    return json.loads((Path(home) / "datastore1" / name / "components.json").read_text())


def test_components_killed_mid_session_lose_no_container(home, registry):  # noqa: F811
    """SIGKILL of the Docker endpoint and of the port layer while containers run and wait:
    vic-init starts them again, and every container is there after, with its id, its state,
    its network address and its output; the one that ran on, still runs."""
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    image = "%s/busybox" % registry
    r = vic_machine(home, "create", "--name", "k1")
    assert r.returncode == 0, r.stdout + r.stderr
    env = vic_machine(home, "inspect", "--name", "k1", "--env").stdout
    try:
        assert docker(env, home, "pull", image).returncode == 0
        assert docker(env, home, "network", "create", "kn").returncode == 0
        r = docker(env, home, "run", "-d", "--name", "long", "--network", "kn", image, "sh", "-c",
                   "echo before; sleep 300")
        assert r.returncode == 0, r.stderr
        assert docker(env, home, "create", "--name", "later", image, "echo", "later ran")\
            .returncode == 0
        assert docker(env, home, "run", "--name", "done", image, "sh", "-c", "exit 4")\
            .returncode == 4
        before = docker(env, home, "ps", "-a", "--no-trunc", "--format",
                        "{{.ID}} {{.Names}} {{.State}}").stdout.split("\n")
        ip = docker(env, home, "inspect", "-f", "{{.NetworkSettings.Networks.kn.IPAddress}}",
                    "long").stdout.strip()
        assert ip, before
        for comp in ("docker-personality", "port-layer"):
            old = components(home, "k1")[comp]
            os.kill(old["pid"], 9)
            for _ in range(150):
                now = components(home, "k1")[comp]
                if now["pid"] not in (0, old["pid"]) and now["state"] == "started":
                    break
                time.sleep(0.1)
            assert now["pid"] not in (0, old["pid"]) and now["state"] == "started", now
            # the same containers, with the same ids and states, whoever died
            after = []
            for _ in range(50):
                p = docker(env, home, "ps", "-a", "--no-trunc", "--format",
                           "{{.ID}} {{.Names}} {{.State}}")
                after = p.stdout.split("\n")
                if p.returncode == 0 and sorted(after) == sorted(before):
                    break
                time.sleep(0.1)
            assert sorted(after) == sorted(before), (comp, before, after)
        assert "before" in docker(env, home, "logs", "long").stdout
        assert docker(env, home, "inspect", "-f",
                      "{{.NetworkSettings.Networks.kn.IPAddress}}", "long").stdout.strip() == ip
        assert docker(env, home, "inspect", "-f", "{{.State.ExitCode}}", "done").stdout.strip()\
            == "4"
        r = docker(env, home, "start", "-a", "later")
        assert r.returncode == 0 and r.stdout == "later ran\n", r.stdout + r.stderr
        r = docker(env, home, "run", "--rm", "--network", "kn", image, "ping", "-c", "1", "-W",
                   "3", "long")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        d = vic_machine(home, "delete", "--name", "k1", "--containers", "all")
        assert d.returncode == 0, d.stdout + d.stderr
    assert_nothing_left(home)
