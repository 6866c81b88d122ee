"""Everyday docker commands, checked the same way against a VCH and against Docker Engine.

Each test drives the real docker CLI (and python3-docker, the SDK clients use) at the engine
conftest.py chose, and asserts what a user or a client would rely on: exit codes, output,
error messages, and the fields and types that clients read back from inspect. Every test
passes against Docker Engine; what a VCH does not do yet is marked vch_differs(reason) and is
reported as a difference, never skipped.
"""

import json
import os
import select
import pty
import re
import threading
import time
from datetime import datetime

import docker.errors as docker_errors
import pytest

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def wait_until(what, fn, timeout=30, interval=0.1):
    """Polls fn() until it returns something true, up to a deadline; returns that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s: not within %d s (last: %r)" % (what, timeout, last))


def ok(r):
    """Asserts a CLI call succeeded; returns its stdout."""
    assert r.returncode == 0, "exit %d\nstdout: %s\nstderr: %s" % (r.returncode, r.stdout,
                                                                   r.stderr)
    return r.stdout


def refused(r, *needles):
    """Asserts a CLI call failed with a message holding one of needles; returns stderr."""
    assert r.returncode != 0, "expected a refusal, got exit 0: %s" % r.stdout
    text = r.stderr.lower()
    assert any(n.lower() in text for n in needles), r.stderr
    assert "page not found" not in text, r.stderr
    return r.stderr


def inspect(e, name, kind="container"):
    return json.loads(ok(e.docker(kind, "inspect", name)))[0]


def sleeper(e, s, what="c", *opts):
    """A running container (sleep) named from the test's scope; returns its name."""
    name = s.name(what)
    ok(e.docker("run", "-d", "--name", name, *opts, e.image, "sleep", "600"))
    return name


def logs_hold(e, name, needle):
    return lambda: needle in ok(e.docker("logs", name))


def rfc3339(value):
    """Docker's timestamps: RFC 3339 with up to nanoseconds, Z or an offset."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    assert m, "not an RFC 3339 time: %r" % value
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")


# ---- the endpoint ----

def test_version_and_info(engine):
    v = engine.client.version()
    for key in ("Version", "ApiVersion", "MinAPIVersion", "Os", "Arch", "GoVersion",
                "KernelVersion"):
        assert isinstance(v.get(key), str), (key, v)
    assert v["Os"] == "linux"
    info = engine.client.info()
    for key in ("Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped",
                "Images", "NCPU", "MemTotal"):
        assert isinstance(info.get(key), int), (key, info)
    for key in ("Name", "ServerVersion", "OSType", "Driver", "KernelVersion"):
        assert isinstance(info.get(key), str), (key, info)
    assert info["OSType"] == "linux"
    assert info["Containers"] == (info["ContainersRunning"] + info["ContainersPaused"]
                                  + info["ContainersStopped"])


def test_unknown_objects_are_not_found(engine):
    import docker
    for args in (["logs", "nosuch-compat"], ["rm", "nosuch-compat"],
                 ["start", "nosuch-compat"], ["container", "inspect", "nosuch-compat"]):
        refused(engine.docker(*args), "No such container: nosuch-compat")
    refused(engine.docker("volume", "inspect", "nosuch-compat"), "no such volume")
    refused(engine.docker("network", "inspect", "nosuch-compat"), "no such network", "not found")
    with pytest.raises(docker.errors.NotFound):
        engine.client.containers.get("nosuch-compat")


# ---- run ----

def test_run_exit_code_and_output(engine):
    r = engine.docker("run", "--rm", engine.image, "sh", "-c", "echo out; echo err >&2; exit 7")
    assert r.returncode == 7, r.stderr
    assert r.stdout == "out\n"
    assert "err\n" in r.stderr


def test_run_env_workdir_user(engine):
    r = engine.docker("run", "--rm", "-e", "A=1", "-e", "B=x y", "-w", "/tmp", "-u", "nobody",
                      engine.image, "sh", "-c", 'echo "$A,$B"; pwd; id -u; id -g')
    assert ok(r) == "1,x y\n/tmp\n65534\n65534\n"


def test_run_numeric_uid_gid_and_new_workdir(engine):
    r = engine.docker("run", "--rm", "-u", "1234:5678", "-w", "/new/dir", engine.image,
                      "sh", "-c", "id -u; id -g; pwd")
    assert ok(r) == "1234\n5678\n/new/dir\n"


def test_run_unknown_user_is_refused(engine):
    r = engine.docker("run", "--rm", "-u", "nosuchuser", engine.image, "true")
    assert r.returncode != 0
    assert "nosuchuser" in r.stderr


def test_run_missing_command_exits_127(engine):
    r = engine.docker("run", "--rm", engine.image, "/no/such/binary")
    assert r.returncode == 127, (r.returncode, r.stderr)
    assert "/no/such/binary" in r.stderr


def test_run_name_and_detach(engine, s):
    name = s.name()
    cid = ok(engine.docker("run", "-d", "--name", name, engine.image, "sleep", "600")).strip()
    assert HEX64.match(cid), cid
    c = inspect(engine, name)
    assert c["Id"] == cid and c["Name"] == "/" + name
    assert c["State"]["Running"] is True
    # a name is one container's
    refused(engine.docker("run", "-d", "--name", name, engine.image, "true"),
            "is already in use")
    # the id's prefix finds it too
    assert inspect(engine, cid[:12])["Id"] == cid


def test_run_stdin_pipe(engine):
    r = engine.docker("run", "-i", "--rm", engine.image, "sh", "-c", "tr a-z A-Z; echo end",
                      input="piped in\n", timeout=20)
    assert ok(r) == "PIPED IN\nend\n"


def test_run_shell_pipeline(engine):
    r = engine.docker("run", "--rm", "-e", "V=a|b", engine.image, "sh", "-c",
                      'echo abc | tr a x; echo "$V"')
    assert ok(r) == "xbc\na|b\n"


def test_run_writer_to_a_closed_pipe_ends(engine):
    # the command starts with SIGPIPE at its default: 'yes' dies when 'head' has read enough
    r = engine.docker("run", "--rm", engine.image, "sh", "-c", "yes | head -n 2; echo done",
                      timeout=30)
    assert ok(r) == "y\ny\ndone\n"


def test_run_rm_detached_removes_the_container(engine, s):
    name = s.name()
    ok(engine.docker("run", "-d", "--rm", "--name", name, engine.image, "true"))
    wait_until("the container removed after its exit",
               lambda: engine.docker("container", "inspect", name).returncode != 0)


def test_create_start_attach(engine, s):
    name = s.name()
    ok(engine.docker("create", "--name", name, engine.image, "sh", "-c", "echo started; exit 4"))
    assert inspect(engine, name)["State"]["Status"] == "created"
    r = engine.docker("start", "-a", name)
    assert r.returncode == 4 and r.stdout == "started\n", (r.returncode, r.stdout, r.stderr)
    assert inspect(engine, name)["State"]["Status"] == "exited"


# ---- exec and attach ----

def _on_a_terminal(engine, args, steps, timeout=30):
    """Runs the docker CLI on a new pseudo-terminal: for each (send, expect) writes send and
    reads until expect shows; returns (everything read, the CLI's exit status)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(conftest_docker(), [conftest_docker(), *args], engine.env)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        for send, expect in steps:
            if send:
                os.write(fd, send)
            while expect and expect not in seen:
                assert time.monotonic() < deadline, (expect, seen)
                r, _, _ = select.select([fd], [], [], 0.5)
                if r:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:
                        chunk = b""
                    assert chunk, (expect, seen)
                    seen += chunk
        while True:  # the CLI ends; its terminal says no more
            assert time.monotonic() < deadline, ("the CLI did not end", seen)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return seen, os.waitstatus_to_exitcode(status)
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    seen += os.read(fd, 4096)
                except OSError:
                    pass
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.close(fd)


def conftest_docker():
    import shutil
    return shutil.which("docker") or "/usr/local/bin/docker"


def test_detach_keys_leave_the_container_running(engine, s):
    name = s.name()
    out, code = _on_a_terminal(engine, ["run", "-it", "--name", name, "--detach-keys",
                                        "ctrl-x,x", engine.image, "sh"],
                               [(None, b"# "), (b"echo mark$((40+2))\r", b"mark42"),
                                (b"\x18x", None)])
    assert code == 0, out
    st = inspect(engine, name)["State"]
    assert st["Running"] is True, st
    # its shell kept its input: it still answers
    assert ok(engine.docker("exec", name, "echo", "alive")) == "alive\n"
    out, code = _on_a_terminal(engine, ["attach", name],
                               [(b"echo again$((1+1))\r", b"again2"), (b"\x10\x11", None)])
    # the CLI reports the detach itself ("read escape sequence")
    assert code == 0 or b"escape sequence" in out, out
    assert inspect(engine, name)["State"]["Running"] is True


def test_exec(engine, s):
    name = sleeper(engine, s)
    r = engine.docker("exec", name, "sh", "-c", "echo in; echo err >&2; exit 3")
    assert (r.returncode, r.stdout) == (3, "in\n") and "err" in r.stderr, r
    r = engine.docker("exec", "-e", "X=y", "-w", "/tmp", "-u", "nobody", name, "sh", "-c",
                      'echo "$X"; pwd; id -u')
    assert ok(r) == "y\n/tmp\n65534\n"
    # an exec sees the container's files
    ok(engine.docker("exec", name, "sh", "-c", "echo shared > /tmp/f"))
    assert ok(engine.docker("exec", name, "cat", "/tmp/f")) == "shared\n"


def test_exec_inherits_the_containers_environment_user_and_workdir(engine, s):
    name = sleeper(engine, s, "c", "-e", "A=from-run", "-e", "B=kept", "-w", "/tmp", "-u",
                   "nobody")
    r = engine.docker("exec", "-e", "A=from-exec", name, "sh", "-c", 'echo "$A $B"; pwd; id -u')
    assert ok(r) == "from-exec kept\n/tmp\n65534\n"


def test_exec_missing_binary(engine, s):
    name = sleeper(engine, s)
    r = engine.docker("exec", name, "/no/such/binary")
    assert r.returncode in (126, 127), (r.returncode, r.stderr)
    assert "/no/such/binary" in r.stdout + r.stderr


def test_exec_stdin_pipe(engine, s):
    name = sleeper(engine, s)
    r = engine.docker("exec", "-i", name, "sh", "-c", "cat; echo end", input="through exec\n",
                      timeout=20)
    assert ok(r) == "through exec\nend\n"


def test_exec_refused_when_not_running(engine, s):
    name = s.name()
    ok(engine.docker("create", "--name", name, engine.image, "true"))
    refused(engine.docker("exec", name, "true"), "is not running")


def test_attach(engine, s):
    name = s.name()
    ok(engine.docker("run", "-d", "--name", name, engine.image, "sh", "-c",
                     "while [ ! -e /tmp/stop ]; do echo tick; sleep 0.2; done; echo bye; exit 3"))
    p = engine.popen("attach", name)
    try:
        got = []
        t = threading.Thread(target=lambda: got.append(p.stdout.readline()), daemon=True)
        t.start()
        t.join(30)
        assert got == ["tick\n"], got
        ok(engine.docker("exec", name, "touch", "/tmp/stop"))
        out, err = p.communicate(timeout=30)
        assert p.returncode == 3, (p.returncode, err)
        assert out.endswith("bye\n"), out
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


# ---- cp ----

def test_cp_both_directions(engine, s, tmp_path):
    name = sleeper(engine, s)
    src = tmp_path / "in.txt"
    src.write_text("from the host\n")
    ok(engine.docker("cp", str(src), name + ":/tmp/in.txt"))
    assert ok(engine.docker("exec", name, "cat", "/tmp/in.txt")) == "from the host\n"
    d = tmp_path / "dir"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "f").write_text("nested\n")
    ok(engine.docker("cp", str(d), name + ":/tmp/"))
    assert ok(engine.docker("exec", name, "cat", "/tmp/dir/sub/f")) == "nested\n"

    ok(engine.docker("exec", name, "sh", "-c", "mkdir -p /out/a && echo back > /out/a/b"))
    ok(engine.docker("cp", name + ":/out", str(tmp_path / "got")))
    assert (tmp_path / "got" / "a" / "b").read_text() == "back\n"
    ok(engine.docker("cp", name + ":/etc/passwd", str(tmp_path / "passwd")))
    assert (tmp_path / "passwd").read_text().startswith("root:x:0:0:")
    # to stdout: a tar stream
    r = engine.docker("cp", name + ":/tmp/in.txt", "-")
    assert r.returncode == 0 and "in.txt" in r.stdout and "from the host" in r.stdout
    refused(engine.docker("cp", name + ":/no/such/file", str(tmp_path / "x")),
            "could not find the file", "no such container:path")


def test_cp_into_a_stopped_container(engine, s, tmp_path):
    name = s.name()
    ok(engine.docker("create", "--name", name, engine.image, "cat", "/tmp/note"))
    (tmp_path / "note").write_text("before start\n")
    ok(engine.docker("cp", str(tmp_path / "note"), name + ":/tmp/note"))
    r = engine.docker("start", "-a", name)
    assert (r.returncode, r.stdout) == (0, "before start\n"), (r.returncode, r.stdout, r.stderr)


# ---- diff, export, commit ----

def diff_of(engine, name):
    """docker diff as {path: kind letter}."""
    return dict(reversed(line.split(" ", 1)) for line in ok(engine.docker("diff", name)).split("\n")
                if line)


def test_diff_kinds(engine, s):
    fresh = s.name("fresh")
    ok(engine.docker("create", "--name", fresh, engine.image, "true"))
    assert diff_of(engine, fresh) == {}
    name = s.name()
    ok(engine.docker("run", "--name", name, engine.image, "sh", "-c",
                     "mkdir /new && echo x > /new/f && echo y >> /etc/passwd && rm /bin/true"))
    got = diff_of(engine, name)
    assert got.get("/new") == "A" and got.get("/new/f") == "A", got
    assert got.get("/etc") == "C" and got.get("/etc/passwd") == "C", got
    assert got.get("/bin") == "C" and got.get("/bin/true") == "D", got
    refused(engine.docker("diff", s.tag + "-nosuch"), "no such container")


def test_export_tar_of_the_filesystem(engine, s, tmp_path):
    import tarfile
    name = s.name()
    ok(engine.docker("run", "--name", name, engine.image, "sh", "-c",
                     "echo exported > /data.txt && chown 12:34 /data.txt"))
    out = tmp_path / "fs.tar"
    ok(engine.docker("export", "-o", str(out), name))
    with tarfile.open(out) as t:
        names = t.getnames()
        assert "data.txt" in names and "etc/passwd" in names, names[:20]
        assert not [n for n in names if n.startswith("/")]
        m = t.getmember("data.txt")
        assert (m.uid, m.gid) == (12, 34)
        assert t.extractfile(m).read() == b"exported\n"
    refused(engine.docker("export", s.tag + "-nosuch"), "no such container")


def test_commit_then_run(engine, s):
    name = s.name()
    ok(engine.docker("run", "--name", name, engine.image, "sh", "-c",
                     "echo committed > /hello && rm /bin/true"))
    ref = "compat-commit/%s:v1" % s.tag
    try:
        new_id = ok(engine.docker("commit", "-m", "the message", "-a", "someone",
                                  "--change", 'CMD ["cat", "/hello"]', "--change", "ENV K=v",
                                  name, ref)).strip()
        assert new_id.startswith("sha256:")
        img = inspect(engine, ref, "image")
        assert img["Id"] == new_id
        assert img["Config"]["Cmd"] == ["cat", "/hello"] and "K=v" in img["Config"]["Env"]
        assert img["Comment"] == "the message" and img["Author"] == "someone"
        assert img["Parent"] == "" or img["Parent"].startswith("sha256:")
        base = inspect(engine, engine.image, "image")
        assert img["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
        hist = ok(engine.docker("history", "--format", "{{.Comment}}", ref)).splitlines()
        assert hist[0] == "the message"
        assert ok(engine.docker("run", "--rm", ref)) == "committed\n"
        r = engine.docker("run", "--rm", ref, "sh", "-c", "echo $K; test -e /bin/true")
        assert (r.returncode, r.stdout) == (1, "v\n"), (r.returncode, r.stdout, r.stderr)
        refused(engine.docker("commit", "--change", "RUN true", name),
                "run is not a valid change command")
        refused(engine.docker("commit", s.tag + "-nosuch"), "no such container")
    finally:
        engine.docker("rmi", ref)


# ---- volumes ----

def test_volume_create_ls_inspect_rm(engine, s):
    name = s.volume()
    assert ok(engine.docker("volume", "create", "--label", "k=v", name)).strip() == name
    assert name in ok(engine.docker("volume", "ls", "-q")).split()
    assert ok(engine.docker("volume", "ls", "-q", "--filter", "label=k=v")).split() == [name]
    v = inspect(engine, name, "volume")
    assert v["Name"] == name
    assert isinstance(v["Driver"], str) and v["Driver"]
    assert isinstance(v["Mountpoint"], str)
    assert v["Labels"] == {"k": "v"}
    assert v["Scope"] == "local"
    rfc3339(v["CreatedAt"])
    sdk = engine.client.volumes.get(name)
    assert sdk.name == name and sdk.attrs["Labels"] == {"k": "v"}
    assert ok(engine.docker("volume", "rm", name)).strip() == name
    assert name not in ok(engine.docker("volume", "ls", "-q")).split()
    refused(engine.docker("volume", "rm", name), "no such volume")


def test_volume_mount_keeps_data(engine, s):
    vol = s.volume()
    ok(engine.docker("volume", "create", vol))
    r = engine.docker("run", "--rm", "-v", vol + ":/data", engine.image, "sh", "-c",
                      "echo kept > /data/note")
    ok(r)
    name = s.name()
    ok(engine.docker("run", "-d", "--name", name, "-v", vol + ":/data", engine.image,
                     "sleep", "600"))
    assert ok(engine.docker("exec", name, "cat", "/data/note")) == "kept\n"
    mounts = inspect(engine, name)["Mounts"]
    assert len(mounts) == 1, mounts
    m = mounts[0]
    assert m["Type"] == "volume" and m["Name"] == vol and m["Destination"] == "/data"
    assert m["RW"] is True and isinstance(m["Driver"], str) and isinstance(m["Source"], str)
    # in use: refused
    refused(engine.docker("volume", "rm", vol), "in use")
    # an anonymous volume, from -v /path
    anon = s.name("anon")
    ok(engine.docker("run", "--name", anon, "-v", "/scratch", engine.image, "touch",
                     "/scratch/x"))
    am = inspect(engine, anon)["Mounts"]
    assert len(am) == 1 and am[0]["Type"] == "volume" and am[0]["Destination"] == "/scratch"
    assert len(am[0]["Name"]) == 64


# ---- networks ----

def test_network_create_ls_inspect_connect_rm(engine, s):
    net = s.network()
    nid = ok(engine.docker("network", "create", "--label", "k=v", net)).strip()
    assert HEX64.match(nid), nid
    assert net in ok(engine.docker("network", "ls", "--format", "{{.Name}}")).split()
    n = inspect(engine, net, "network")
    assert n["Name"] == net and n["Id"] == nid
    assert n["Driver"] == "bridge" and n["Scope"] == "local"
    assert n["Labels"] == {"k": "v"}
    cfg = n["IPAM"]["Config"]
    assert isinstance(cfg, list) and cfg and "/" in cfg[0]["Subnet"], n["IPAM"]
    refused(engine.docker("network", "create", net), "already exists")

    c = sleeper(engine, s, "c", "--network", net)
    nets = inspect(engine, c)["NetworkSettings"]["Networks"]
    assert list(nets) == [net], nets
    ep = nets[net]
    assert ep["NetworkID"] == nid
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", ep["IPAddress"]), ep
    assert isinstance(ep["IPPrefixLen"], int) and ep["IPPrefixLen"] > 0
    assert isinstance(ep["Gateway"], str) and isinstance(ep["MacAddress"], str)
    containers = inspect(engine, net, "network")["Containers"]
    assert any(v["Name"] == c for v in containers.values()), containers

    refused(engine.docker("network", "rm", net), "active endpoints", "in use")
    ok(engine.docker("rm", "-f", c))
    ok(engine.docker("network", "rm", net))
    assert net not in ok(engine.docker("network", "ls", "--format", "{{.Name}}")).split()


def test_network_containers_reach_each_other_by_name(engine, s):
    net = s.network()
    ok(engine.docker("network", "create", net))
    server = sleeper(engine, s, "srv", "--network", net)
    r = engine.docker("run", "--rm", "--network", net, engine.image, "ping", "-c", "1", "-W", "5",
                      server, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 packets received" in r.stdout


def ipv4_addrs(e, name):
    """The running container's IPv4 addresses, loopback aside."""
    out = ok(e.docker("exec", name, "ip", "-o", "-4", "addr"))
    return [line.split()[3].split("/")[0] for line in out.splitlines()
            if line.split()[1] != "lo"]


def test_network_connect_disconnect_a_running_container(engine, s):
    net = s.network()
    ok(engine.docker("network", "create", net))
    peer = sleeper(engine, s, "peer", "--network", net)
    peer_ip = inspect(engine, peer)["NetworkSettings"]["Networks"][net]["IPAddress"]
    c = sleeper(engine, s, "c")
    ok(engine.docker("network", "connect", "--alias", "hot-alias", net, c))
    nets = inspect(engine, c)["NetworkSettings"]["Networks"]
    assert sorted(nets) == sorted(["bridge", net]), nets
    ip = nets[net]["IPAddress"]
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", ip) and "hot-alias" in nets[net]["Aliases"], nets
    assert inspect(engine, c)["State"]["Running"] is True
    # the running container has the new address at once, and both ends reach each other
    assert ip in ipv4_addrs(engine, c)
    ok(engine.docker("exec", c, "ping", "-c", "1", "-W", "5", peer_ip))
    r = engine.docker("exec", peer, "ping", "-c", "1", "-W", "5", "hot-alias")
    assert r.returncode == 0 and ip in r.stdout, r.stdout + r.stderr
    refused(engine.docker("network", "connect", net, c), "already exists")

    ok(engine.docker("network", "disconnect", net, c))
    assert list(inspect(engine, c)["NetworkSettings"]["Networks"]) == ["bridge"]
    assert ip not in ipv4_addrs(engine, c)
    assert engine.docker("exec", c, "ping", "-c", "1", "-W", "1", peer_ip).returncode != 0
    refused(engine.docker("network", "disconnect", net, c), "is not connected")

    # connected again while running, it stays connected across a restart
    ok(engine.docker("network", "connect", net, c))
    ok(engine.docker("restart", "-t", "1", c))
    assert sorted(inspect(engine, c)["NetworkSettings"]["Networks"]) == sorted(["bridge", net])
    ok(engine.docker("exec", c, "ping", "-c", "1", "-W", "5", peer_ip))


def test_default_networks_are_listed(engine):
    names = ok(engine.docker("network", "ls", "--format", "{{.Name}} {{.Driver}}")).splitlines()
    assert "bridge bridge" in names
    for n in engine.client.networks.list():
        assert isinstance(n.id, str) and isinstance(n.name, str)


# ---- published ports ----

def engine_address(e):
    """The address the engine's clients reach it at (DOCKER_HOST's host), or 127.0.0.1 for a
    local socket: published ports may be bound there on either engine."""
    m = re.match(r"^tcp://(\d+\.\d+\.\d+\.\d+):\d+$", e.env.get("DOCKER_HOST", ""))
    return m.group(1) if m else "127.0.0.1"


def published_at(e, name, port):
    """(host, port) where `docker port NAME PORT` says port is published; an unspecified host
    address (Docker Engine's 0.0.0.0 and ::) is reached at 127.0.0.1."""
    first = ok(e.docker("port", name, port)).splitlines()[0].strip()
    host, _, hp = first.rpartition(":")
    if host in ("0.0.0.0", "[::]", "::"):
        host = "127.0.0.1"
    return host, int(hp)


def free_udp_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def udp_ask(addr, payload, timeout=30):
    """Sends payload to addr over UDP until an answer comes (the server may still be
    starting); returns (data, sender)."""
    import socket
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            sock.sendto(payload, addr)
            try:
                return sock.recvfrom(65536)
            except OSError:
                continue
    raise AssertionError("no UDP answer from %s:%d" % addr)


def udpecho(tmp_path):
    """tests/fixtures/udpecho.c built statically: the image's busybox has no UDP server."""
    import subprocess
    from pathlib import Path
    out = tmp_path / "udpecho"
    src = Path(__file__).resolve().parents[1] / "fixtures" / "udpecho.c"
    r = subprocess.run(["cc", "-static", "-O2", "-o", str(out), str(src)], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip("cannot build a static udpecho: " + r.stderr[-300:])
    return out


def test_publish_udp_ports(engine, s, tmp_path):
    name = s.name()
    port = free_udp_port()
    ok(engine.docker("create", "--name", name, "-p", "%d:53/udp" % port, "-p", "54/udp",
                     engine.image, "/udpecho", "53"))
    ok(engine.docker("cp", str(udpecho(tmp_path)), name + ":/udpecho"))
    ok(engine.docker("start", name))
    host, hp = published_at(engine, name, "53/udp")
    assert hp == port
    data, sender = udp_ask((host, hp), b"over udp")
    assert data == b"over udp" and sender == (host, hp), (data, sender)
    ports = inspect(engine, name)["NetworkSettings"]["Ports"]
    assert ports["53/udp"][0]["HostPort"] == str(port), ports
    chosen = int(ports["54/udp"][0]["HostPort"])
    assert 0 < chosen < 65536, ports
    assert "53/udp" in inspect(engine, name)["HostConfig"]["PortBindings"]
    assert published_at(engine, name, "54/udp")[1] == chosen
    listed = ok(engine.docker("port", name))
    assert re.search(r"^53/udp -> \S+:%d$" % port, listed, re.M), listed
    row = ok(engine.docker("ps", "--filter", "name=" + name, "--format", "{{.Ports}}"))
    assert ":%d->53/udp" % port in row, row


def test_publish_on_the_engines_own_address(engine, s):
    import urllib.request
    name = s.name()
    addr = engine_address(engine)
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok(engine.docker("run", "-d", "--name", name, "-p", "%s:%d:80" % (addr, port), "-p",
                     "%s::81" % addr, engine.image, "sh", "-c",
                     "mkdir /www && echo here > /www/i && httpd -f -p 80 -h /www"))
    ports = inspect(engine, name)["NetworkSettings"]["Ports"]
    assert ports["80/tcp"] == [{"HostIp": addr, "HostPort": str(port)}], ports
    assert ports["81/tcp"][0]["HostIp"] == addr and int(ports["81/tcp"][0]["HostPort"]) > 0
    assert ok(engine.docker("port", name, "80")).strip() == "%s:%d" % (addr, port)

    def get():
        try:
            return urllib.request.urlopen("http://%s:%d/i" % (addr, port), timeout=5).read()
        except OSError:
            return None
    assert wait_until("the published port answers", get) == b"here\n"


# ---- ps ----

def ps_trio(engine, s):
    """A running, a created and an exited (3) container, labelled; returns their names."""
    label = "compat.ps=" + s.tag
    running, created, exited = s.name("run"), s.name("new"), s.name("done")
    ok(engine.docker("run", "-d", "--name", running, "--label", label, "--label", "role=a",
                     engine.image, "sleep", "600"))
    ok(engine.docker("create", "--name", created, "--label", label, "--label", "role=b",
                     engine.image, "true"))
    assert engine.docker("run", "--name", exited, "--label", label, "--label", "role=a",
                         engine.image, "sh", "-c", "exit 3").returncode == 3
    return label, running, created, exited


def test_ps_filters_and_format(engine, s):
    _, running, created, exited = ps_trio(engine, s)
    mine = "name=" + s.tag  # every name of this test holds its tag

    def names(*args):
        out = ok(engine.docker("ps", "--filter", mine, "--format", "{{.Names}}", *args))
        return sorted(out.split())

    assert names() == [running]
    assert names("-a") == sorted([running, created, exited])
    assert names("-a", "--filter", "status=exited") == [exited]
    assert names("-a", "--filter", "status=created") == [created]
    assert names("-a", "--filter", "status=running") == [running]
    # values of one filter key are or'ed: name alone
    assert ok(engine.docker("ps", "-a", "--filter", "name=" + created, "--format",
                            "{{.Names}}")).split() == [created]
    cid = inspect(engine, exited)["Id"]
    assert names("-a", "--filter", "id=" + cid[:12]) == [exited]

    rows = ok(engine.docker("ps", "-a", "--filter", mine, "--format",
                            "{{json .}}")).splitlines()
    assert len(rows) == 3
    by_name = {}
    for row in rows:
        d = json.loads(row)
        for key in ("ID", "Names", "Image", "Command", "CreatedAt", "Status", "State",
                    "Labels", "Mounts", "Networks", "Ports", "RunningFor"):
            assert key in d, (key, d)
        by_name[d["Names"]] = d
    assert by_name[running]["State"] == "running"
    assert by_name[running]["Status"].startswith("Up")
    assert by_name[created]["State"] == "created"
    assert by_name[exited]["State"] == "exited"
    assert by_name[exited]["Status"].startswith("Exited (3)")
    assert by_name[exited]["Image"] == engine.image
    assert by_name[exited]["ID"] == cid[:12]

    table = ok(engine.docker("ps", "-a", "--filter", mine, "--format",
                             "table {{.Names}}\t{{.State}}")).splitlines()
    assert re.match(r"^NAMES\s+STATE$", table[0]), table
    assert len(table) == 4
    ids = ok(engine.docker("ps", "-aq", "--no-trunc", "--filter", mine)).split()
    assert len(ids) == 3 and all(HEX64.match(i) for i in ids)
    sdk = engine.client.containers.list(all=True, filters={"name": s.tag})
    assert sorted(c.name for c in sdk) == sorted([running, created, exited])


def test_ps_filters_label_exited_ancestor(engine, s):
    label, running, created, exited = ps_trio(engine, s)

    def names(*args):
        out = ok(engine.docker("ps", "--filter", "label=" + label, "--format", "{{.Names}}",
                               *args))
        return sorted(out.split())

    assert names() == [running]
    assert names("-a") == sorted([running, created, exited])
    assert names("-a", "--filter", "exited=3") == [exited]
    assert names("-a", "--filter", "label=role=a") == sorted([running, exited])
    assert names("-a", "--filter", "ancestor=" + engine.image) == \
        sorted([running, created, exited])
    sdk = engine.client.containers.list(all=True, filters={"label": label})
    assert sorted(c.name for c in sdk) == sorted([running, created, exited])
    assert ok(engine.docker("ps", "-a", "-n", "1", "--format", "{{.Names}}")).split() == \
        [exited]


# ---- inspect ----

def test_inspect_fields_clients_read(engine, s):
    name = s.name()
    ok(engine.docker("run", "-d", "--name", name, "-e", "X=1", "-w", "/tmp", "--label", "k=v",
                     "--hostname", "box", engine.image, "sleep", "600"))
    c = engine.client.api.inspect_container(name)
    assert HEX64.match(c["Id"]) and c["Name"] == "/" + name
    rfc3339(c["Created"])
    assert c["Path"] == "sleep" and c["Args"] == ["600"]
    assert c["Image"].startswith("sha256:") and HEX64.match(c["Image"][7:])
    assert isinstance(c["RestartCount"], int)
    for key in ("Driver", "Platform", "ResolvConfPath", "HostnamePath", "HostsPath", "LogPath"):
        assert isinstance(c[key], str), (key, c.get(key))

    st = c["State"]
    assert st["Status"] == "running"
    for key, value in (("Running", True), ("Paused", False), ("Restarting", False),
                       ("OOMKilled", False), ("Dead", False), ("ExitCode", 0), ("Error", "")):
        assert st[key] == value and type(st[key]) is type(value), (key, st)
    assert isinstance(st["Pid"], int) and st["Pid"] > 0
    started = rfc3339(st["StartedAt"])
    assert st["FinishedAt"].startswith("0001-01-01T00:00:00")

    cfg = c["Config"]
    assert cfg["Hostname"] == "box"
    assert "X=1" in cfg["Env"] and any(e.startswith("PATH=") for e in cfg["Env"])
    assert cfg["Cmd"] == ["sleep", "600"]
    assert cfg["Image"] == engine.image
    assert cfg["WorkingDir"] == "/tmp"
    assert cfg["Labels"]["k"] == "v"
    assert cfg["User"] == "" and cfg["Tty"] is False and cfg["OpenStdin"] is False
    for key in ("AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce"):
        assert isinstance(cfg[key], bool), (key, cfg)
    assert cfg["Entrypoint"] is None or isinstance(cfg["Entrypoint"], list)
    assert isinstance(cfg["ExposedPorts"], dict) and "80/tcp" in cfg["ExposedPorts"]

    hc = c["HostConfig"]
    assert hc["NetworkMode"] in ("default", "bridge")
    assert hc["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert hc["AutoRemove"] is False and hc["Privileged"] is False
    assert hc["Binds"] is None or hc["Binds"] == []
    for key in ("Memory", "MemorySwap", "NanoCpus", "CpuShares", "ShmSize"):
        assert isinstance(hc[key], int), (key, hc)
    assert isinstance(hc["LogConfig"]["Type"], str) and isinstance(hc["LogConfig"]["Config"],
                                                                   dict)
    assert hc["PortBindings"] in ({}, None)
    assert isinstance(hc["ReadonlyRootfs"], bool)

    ns = c["NetworkSettings"]
    assert isinstance(ns["Ports"], dict)
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", ns["IPAddress"]), ns
    assert list(ns["Networks"]) == ["bridge"]
    br = ns["Networks"]["bridge"]
    assert br["IPAddress"] == ns["IPAddress"]
    for key in ("Gateway", "MacAddress", "NetworkID", "EndpointID"):
        assert isinstance(br[key], str) and br[key], (key, br)
    assert isinstance(br["IPPrefixLen"], int)
    assert c["Mounts"] == []

    # -f templates reach the same fields
    assert ok(engine.docker("inspect", "-f", "{{.State.Status}} {{.Config.WorkingDir}}",
                            name)) == "running /tmp\n"
    # stopped: the exit is recorded
    ok(engine.docker("stop", "-t", "1", name))
    st = inspect(engine, name)["State"]
    assert st["Status"] == "exited" and st["Running"] is False and st["Pid"] == 0
    assert st["ExitCode"] in (137, 143), st
    assert rfc3339(st["FinishedAt"]) >= started


def test_inspect_image(engine):
    img = json.loads(ok(engine.docker("image", "inspect", engine.image)))[0]
    assert img["Id"].startswith("sha256:")
    assert engine.image in img["RepoTags"]
    assert img["Config"]["Cmd"] == ["sh"]
    assert img["Os"] == "linux" and isinstance(img["Size"], int)
    assert img["RootFS"]["Type"] == "layers" and len(img["RootFS"]["Layers"]) == 1


# ---- events, top, stats ----

def test_events(engine, s):
    since = int(time.time()) - 1
    name = s.name()
    assert engine.docker("run", "--name", name, engine.image, "sh", "-c",
                         "exit 2").returncode == 2
    ok(engine.docker("rm", name))
    until = int(time.time()) + 1
    out = ok(engine.docker("events", "--since", str(since), "--until", str(until), "--filter",
                           "container=" + name, "--format", "{{json .}}", timeout=30))
    events = [json.loads(line) for line in out.splitlines()]
    actions = [ev["Action"] for ev in events if ev["Type"] == "container"]
    for a in ("create", "start", "die", "destroy"):
        assert a in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < \
        actions.index("destroy")
    die = [ev for ev in events if ev["Action"] == "die"][0]
    assert die["Actor"]["Attributes"]["exitCode"] == "2"
    assert die["Actor"]["Attributes"]["name"] == name
    assert isinstance(die["time"], int) and isinstance(die["timeNano"], int)
    # the SDK reads the same stream
    sdk = list(engine.client.events(since=since, until=until, decode=True,
                                    filters={"container": name}))
    assert [ev["Action"] for ev in sdk if ev["Type"] == "container"] == actions


def test_top(engine, s):
    name = sleeper(engine, s)
    out = ok(engine.docker("top", name)).splitlines()
    assert "PID" in out[0].split() and ("CMD" in out[0] or "COMMAND" in out[0]), out
    assert any("sleep 600" in line for line in out[1:]), out
    t = engine.client.api.top(name)
    assert isinstance(t["Titles"], list) and "PID" in t["Titles"]
    assert any("sleep 600" in " ".join(p) for p in t["Processes"]), t
    stopped = s.name("stopped")
    ok(engine.docker("create", "--name", stopped, engine.image, "true"))
    refused(engine.docker("top", stopped), "is not running")


def test_stats_no_stream(engine, s):
    name = sleeper(engine, s)
    out = ok(engine.docker("stats", "--no-stream", "--format",
                           "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}", name))
    n, cpu, mem, _ = out.strip().split("|")
    assert n == name
    assert cpu.endswith("%") and "/" in mem, out


@pytest.mark.timeout(30)
def test_stats_sdk_one_shot(engine, s):
    name = sleeper(engine, s)
    st = engine.client.api.stats(name, stream=False)
    rfc3339(st["read"])
    assert isinstance(st["memory_stats"]["usage"], int) and st["memory_stats"]["usage"] > 0
    assert isinstance(st["memory_stats"]["limit"], int) and st["memory_stats"]["limit"] > 0
    assert isinstance(st["cpu_stats"]["cpu_usage"]["total_usage"], int)


def test_stats_pids_and_network(engine, s):
    name = sleeper(engine, s)
    out = ok(engine.docker("stats", "--no-stream", "--format", "{{.PIDs}}|{{.NetIO}}", name))
    pids, net = out.strip().split("|")
    assert int(pids) >= 1, out
    assert re.match(r"^[0-9.]+[kMG]?B / [0-9.]+[kMG]?B$", net), out


# ---- kill, wait, stop, rename, pause, rm ----

def test_kill_with_signals(engine, s):
    name = s.name()
    ok(engine.docker("run", "-d", "--name", name, engine.image, "sh", "-c",
                     'trap "echo got USR1" USR1; trap "echo got TERM; exit 42" TERM; '
                     'echo ready; while :; do sleep 0.1; done'))
    wait_until("ready", logs_hold(engine, name, "ready"))
    ok(engine.docker("kill", "-s", "USR1", name))
    wait_until("USR1 trapped", logs_hold(engine, name, "got USR1"))
    assert inspect(engine, name)["State"]["Running"] is True
    ok(engine.docker("kill", "--signal", "SIGTERM", name))
    assert ok(engine.docker("wait", name)).strip() == "42"
    assert "got TERM" in ok(engine.docker("logs", name))
    refused(engine.docker("kill", name), "is not running")

    plain = sleeper(engine, s, "plain")
    ok(engine.docker("kill", plain))
    assert ok(engine.docker("wait", plain)).strip() == "137"
    assert inspect(engine, plain)["State"]["ExitCode"] == 137
    bad = sleeper(engine, s, "bad")
    refused(engine.docker("kill", "-s", "NOSUCHSIG", bad), "invalid signal", "not a signal")
    assert inspect(engine, bad)["State"]["Running"] is True


def test_wait(engine, s):
    a, b = s.name("a"), s.name("b")
    ok(engine.docker("run", "-d", "--name", a, engine.image, "sh", "-c", "sleep 1; exit 5"))
    ok(engine.docker("run", "-d", "--name", b, engine.image, "sh", "-c", "exit 6"))
    assert ok(engine.docker("wait", a, b)).split() == ["5", "6"]
    assert engine.client.containers.get(a).wait()["StatusCode"] == 5


def test_stop_start_restart(engine, s):
    name = sleeper(engine, s)
    first = inspect(engine, name)["State"]["StartedAt"]
    ok(engine.docker("stop", "-t", "1", name))
    assert inspect(engine, name)["State"]["Running"] is False
    ok(engine.docker("start", name))
    st = inspect(engine, name)["State"]
    assert st["Running"] is True and st["StartedAt"] != first
    ok(engine.docker("restart", "-t", "1", name))
    assert inspect(engine, name)["State"]["Running"] is True
    assert ok(engine.docker("exec", name, "echo", "alive")) == "alive\n"


def test_restart_policy_on_failure(engine, s):
    name = s.name()
    ok(engine.docker("run", "-d", "--name", name, "--restart", "on-failure:2", engine.image,
                     "sh", "-c", "exit 3"))

    def given_up():
        c = inspect(engine, name)
        return c if (c["RestartCount"], c["State"]["Status"]) == (2, "exited") else None
    c = wait_until("two restarts, then exited", given_up)
    st = c["State"]
    assert (st["ExitCode"], st["Running"], st["Restarting"]) == (3, False, False), st
    assert c["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}


# ---- health checks ----

def health_of(e, name, want):
    """A poller: the container's State.Health once its Status is want."""
    def check():
        h = inspect(e, name)["State"].get("Health")
        return h if h and h["Status"] == want else None
    return check


def ps_status(e, name):
    return ok(e.docker("ps", "-a", "--filter", "name=" + name, "--format", "{{.Status}}")).strip()


def test_health_cmd_healthy(engine, s):
    since = time.time()
    name = sleeper(engine, s, "c", "--health-cmd", "echo checked", "--health-interval", "1s",
                   "--health-timeout", "10s", "--health-retries", "2")
    c = inspect(engine, name)
    assert c["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "echo checked"],
                                          "Interval": 1000000000, "Timeout": 10000000000,
                                          "Retries": 2}
    h = wait_until("healthy", health_of(engine, name, "healthy"))
    assert h["FailingStreak"] == 0
    last = h["Log"][-1]
    assert last["ExitCode"] == 0 and last["Output"] == "checked\n", h["Log"]
    rfc3339(last["Start"]), rfc3339(last["End"])
    status = ps_status(engine, name)
    assert re.match(r"^Up .* \(healthy\)$", status), status
    assert name in ok(engine.docker("ps", "--filter", "health=healthy", "--format",
                                    "{{.Names}}")).split()
    assert name not in ok(engine.docker("ps", "--filter", "health=none", "--format",
                                        "{{.Names}}")).split()
    out = ok(engine.docker("events", "--since", "%.3f" % since, "--until",
                           "%.3f" % (time.time() + 1.5), "--filter", "container=" + name,
                           "--filter", "event=health_status", "--format", "{{.Action}}",
                           timeout=30))
    assert out.splitlines() == ["health_status: healthy"], out


def test_health_cmd_unhealthy_after_retries(engine, s):
    name = sleeper(engine, s, "c", "--health-cmd", "echo failing >&2; exit 2",
                   "--health-interval", "1s", "--health-retries", "2")
    h = wait_until("unhealthy", health_of(engine, name, "unhealthy"))
    assert h["FailingStreak"] >= 2
    assert [e["ExitCode"] for e in h["Log"]][-2:] == [2, 2]
    assert h["Log"][-1]["Output"] == "failing\n"
    assert ps_status(engine, name).endswith("(unhealthy)")
    assert ok(engine.docker("ps", "--filter", "health=unhealthy", "--filter", "name=" + name,
                            "--format", "{{.Names}}")).split() == [name]


def test_health_starting_within_start_period(engine, s):
    name = sleeper(engine, s, "c", "--health-cmd", "test -e /tmp/up", "--health-interval",
                   "1s", "--health-retries", "1", "--health-start-period", "120s")

    def two_failed():
        h = inspect(engine, name)["State"].get("Health")
        return h if h and len(h["Log"]) >= 2 else None
    h = wait_until("two checks", two_failed)
    assert h["Status"] == "starting" and h["FailingStreak"] == 0, h
    assert ps_status(engine, name).endswith("(health: starting)")
    ok(engine.docker("exec", name, "touch", "/tmp/up"))
    wait_until("healthy", health_of(engine, name, "healthy"))


def test_health_timeout(engine, s):
    name = sleeper(engine, s, "c", "--health-cmd", "sleep 30", "--health-interval", "1s",
                   "--health-timeout", "1s", "--health-retries", "1")
    h = wait_until("unhealthy", health_of(engine, name, "unhealthy"))
    e = h["Log"][-1]
    assert e["ExitCode"] == -1 and e["Output"].startswith("Health check exceeded timeout (1s)"), e


def test_no_healthcheck(engine, s):
    name = sleeper(engine, s, "c", "--no-healthcheck")
    c = inspect(engine, name)
    assert c["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert c["State"].get("Health") is None
    assert "(" not in ps_status(engine, name)
    assert name in ok(engine.docker("ps", "--filter", "health=none", "--format",
                                    "{{.Names}}")).split()


def test_health_bad_values_are_refused(engine, s):
    refused(engine.docker("create", "--name", s.name(), "--health-cmd", "true",
                          "--health-interval", "100us", engine.image),
            "Interval in Healthcheck cannot be less than 1ms")
    # what the CLI lets through, the daemon checks
    for hc, msg in (({"Test": ["CMD", "true"], "Retries": -1},
                     "Retries in Healthcheck cannot be negative"),
                    ({"Test": ["CMD", "true"], "Timeout": 10},
                     "Timeout in Healthcheck cannot be less than 1ms")):
        with pytest.raises(docker_errors.APIError) as exc:
            engine.client.api.create_container(engine.image, "true", name=s.name("api"),
                                               healthcheck=hc)
        assert exc.value.status_code == 400 and msg in str(exc.value), str(exc.value)


def test_rename(engine, s):
    old, new, other = s.name("old"), s.name("new"), s.name("other")
    ok(engine.docker("create", "--name", old, engine.image, "true"))
    ok(engine.docker("create", "--name", other, engine.image, "true"))
    ok(engine.docker("rename", old, new))
    assert inspect(engine, new)["Name"] == "/" + new
    refused(engine.docker("container", "inspect", old), "No such container")
    refused(engine.docker("rename", new, other), "already in use")
    assert inspect(engine, new)["Name"] == "/" + new


def test_pause_unpause(engine, s):
    name = sleeper(engine, s)
    ok(engine.docker("pause", name))
    st = inspect(engine, name)["State"]
    assert st["Status"] == "paused" and st["Paused"] is True and st["Running"] is True
    assert ok(engine.docker("ps", "--filter", "status=paused", "--format", "{{.Names}}")
              ).split() == [name]
    assert "(Paused)" in ok(engine.docker("ps", "--filter", "name=" + name, "--format",
                                          "{{.Status}}"))
    refused(engine.docker("pause", name), "already paused")
    refused(engine.docker("exec", name, "true"), "is paused")
    ok(engine.docker("unpause", name))
    assert inspect(engine, name)["State"]["Paused"] is False
    refused(engine.docker("unpause", name), "not paused")
    assert ok(engine.docker("exec", name, "echo", "thawed")) == "thawed\n"
    stopped = s.name("stopped")
    ok(engine.docker("create", "--name", stopped, engine.image, "true"))
    refused(engine.docker("pause", stopped), "is not running")


def test_restart_keeps_an_auto_remove_container(engine, s):
    name = sleeper(engine, s, "c", "--rm")
    first = inspect(engine, name)["State"]["StartedAt"]
    ok(engine.docker("restart", "-t", "1", name))
    st = inspect(engine, name)["State"]
    assert st["Running"] is True and st["StartedAt"] != first, st
    ok(engine.docker("stop", "-t", "1", name))
    wait_until("the container removed once it stopped",
               lambda: engine.docker("container", "inspect", name).returncode != 0)


def test_stop_a_paused_container(engine, s):
    name = sleeper(engine, s)
    ok(engine.docker("pause", name))
    ok(engine.docker("stop", "-t", "1", name))
    st = inspect(engine, name)["State"]
    assert st["Status"] == "exited" and st["Paused"] is False and st["Running"] is False


def test_pause_events(engine, s):
    since = int(time.time()) - 1
    name = sleeper(engine, s)
    ok(engine.docker("pause", name))
    ok(engine.docker("unpause", name))
    until = int(time.time()) + 1
    out = ok(engine.docker("events", "--since", str(since), "--until", str(until), "--filter",
                           "container=" + name, "--format", "{{.Action}}", timeout=30))
    actions = out.split()
    assert "pause" in actions and "unpause" in actions, out
    assert actions.index("pause") < actions.index("unpause"), out


# ---- resource limits ----

MiB = 1024 * 1024


def test_limits_recorded_and_shown(engine, s):
    name = sleeper(engine, s, "c", "-m", "64m", "--cpus", "0.5", "--cpu-shares", "512",
                   "--pids-limit", "50")
    hc = inspect(engine, name)["HostConfig"]
    assert hc["Memory"] == 64 * MiB and hc["NanoCpus"] == 500000000, hc
    assert hc["CpuShares"] == 512 and hc["PidsLimit"] == 50, hc
    mem = ok(engine.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name))
    assert mem.strip().endswith("/ 64MiB"), mem
    st = engine.client.api.stats(name, stream=False)
    assert st["memory_stats"]["limit"] == 64 * MiB, st["memory_stats"]
    assert st["pids_stats"].get("limit") == 50, st["pids_stats"]


def test_memory_limit_kills_out_of_memory(engine, s):
    name = s.name()
    # dd's 64 MiB buffer cannot fit in 16 MiB
    r = engine.docker("run", "--name", name, "-m", "16m", engine.image, "dd", "if=/dev/zero",
                      "of=/dev/null", "bs=64M", "count=1")
    assert r.returncode == 137, (r.returncode, r.stderr)
    st = inspect(engine, name)["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137, st


def test_within_its_memory_a_container_runs(engine, s):
    name = s.name()
    r = engine.docker("run", "--name", name, "-m", "64m", engine.image, "dd", "if=/dev/zero",
                      "of=/dev/null", "bs=4M", "count=4")
    assert r.returncode == 0, r.stderr
    assert inspect(engine, name)["State"]["OOMKilled"] is False


def test_pids_limit_is_enforced(engine, s):
    r = engine.docker("run", "--rm", "--pids-limit", "6", engine.image, "sh", "-c",
                      "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; wait")
    assert "fork" in (r.stdout + r.stderr).lower(), (r.returncode, r.stdout, r.stderr)


def test_cpu_options_checked(engine, s):
    refused(engine.docker("create", "--cpus", "0.5", "--cpu-period", "50000", engine.image,
                          "true"), "Conflicting options")
    refused(engine.docker("create", "--cpu-quota", "500", engine.image, "true"),
            "can not be less than 1ms")
    name = s.name()
    ok(engine.docker("create", "--name", name, "--cpu-period", "100000", "--cpu-quota", "25000",
                     engine.image, "true"))
    hc = inspect(engine, name)["HostConfig"]
    assert hc["CpuPeriod"] == 100000 and hc["CpuQuota"] == 25000, hc


def test_update_changes_a_running_container(engine, s):
    name = sleeper(engine, s, "c", "-m", "64m")
    ok(engine.docker("update", "-m", "48m", "--cpus", "0.5", "--cpu-shares", "256",
                     "--pids-limit", "40", "--restart", "on-failure:3", name))
    hc = inspect(engine, name)["HostConfig"]
    assert hc["Memory"] == 48 * MiB and hc["NanoCpus"] == 500000000, hc
    assert hc["CpuShares"] == 256 and hc["PidsLimit"] == 40, hc
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}, hc
    mem = ok(engine.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", name))
    assert mem.strip().endswith("/ 48MiB"), mem
    assert ok(engine.docker("exec", name, "echo", "still")) == "still\n"
    refused(engine.docker("update", "--cpus", "-1", name), "invalid", "range")
    refused(engine.docker("update", "-m", "64m", "nonesuch-" + name), "No such container")


def test_stats_block_io(engine, s):
    name = sleeper(engine, s)
    out = ok(engine.docker("stats", "--no-stream", "--format", "{{.BlockIO}}", name))
    assert re.match(r"^[0-9.]+[kMG]?B / [0-9.]+[kMG]?B$", out.strip()), out


def test_rm(engine, s):
    name = sleeper(engine, s)
    refused(engine.docker("rm", name), "stop the container", "cannot remove a running")
    ok(engine.docker("rm", "-f", name))
    refused(engine.docker("container", "inspect", name), "No such container")


# ---- logs ----

def test_logs_stdout_and_stderr(engine, s):
    name = s.name()
    ok(engine.docker("run", "--name", name, engine.image, "sh", "-c",
                     "echo one; echo two >&2; echo three"))
    r = engine.docker("logs", name)
    assert ok(r) == "one\nthree\n" and r.stderr == "two\n", (r.stdout, r.stderr)
    sdk = engine.client.containers.get(name)
    assert sdk.logs(stdout=True, stderr=False) == b"one\nthree\n"
    assert sdk.logs(stdout=False, stderr=True) == b"two\n"


def test_logs_tail_and_timestamps(engine, s):
    name = s.name()
    ok(engine.docker("run", "--name", name, engine.image, "sh", "-c",
                     "for i in 1 2 3 4 5; do echo line$i; done"))
    assert ok(engine.docker("logs", "--tail", "2", name)) == "line4\nline5\n"
    lines = ok(engine.docker("logs", "-t", name)).splitlines()
    assert len(lines) == 5
    for i, line in enumerate(lines, 1):
        stamp, _, text = line.partition(" ")
        rfc3339(stamp)
        assert text == "line%d" % i


def test_logs_follow(engine, s):
    name = s.name()
    ok(engine.docker("run", "-d", "--name", name, engine.image, "sh", "-c",
                     "echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo last"))
    p = engine.popen("logs", "-f", name)
    try:
        got = []
        t = threading.Thread(target=lambda: got.append(p.stdout.readline()), daemon=True)
        t.start()
        t.join(30)
        assert got == ["first\n"], got
        ok(engine.docker("exec", name, "touch", "/tmp/go"))
        out, _ = p.communicate(timeout=30)
        assert out == "last\n" and p.returncode == 0, (out, p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_logs_since_and_until(engine, s):
    name = s.name()
    ok(engine.docker("run", "--name", name, engine.image, "echo", "old"))
    assert ok(engine.docker("logs", "--since", str(int(time.time()) + 5), name)) == ""
    assert ok(engine.docker("logs", "--until", "2000-01-01T00:00:00Z", name)) == ""
    assert ok(engine.docker("logs", "--since", "2000-01-01T00:00:00Z", name)) == "old\n"


# ---- the SDK, as a client program uses it ----

def test_sdk_run_and_remove(engine, s):
    name = s.name()
    out = engine.client.containers.run(engine.image, ["sh", "-c", "echo sdk $K"],
                                       environment={"K": "v"}, name=name)
    assert out == b"sdk v\n"
    c = engine.client.containers.get(name)
    assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 0
    assert c.image.tags and engine.image in c.image.tags
    c.remove()
    assert name not in [x.name for x in engine.client.containers.list(all=True)]


def test_host_environment_reaches_no_container(engine):
    # the client's environment is the client's: nothing leaks into the container
    r = engine.docker("run", "--rm", engine.image, "env")
    env = dict(line.split("=", 1) for line in ok(r).splitlines() if "=" in line)
    assert "DOCKER_HOST" not in env and "DOCKER_CONFIG" not in env
    assert env["HOME"] == "/root" and env["PATH"].startswith("/usr/local")


def test_hostname_in_environment(engine):
    # env(1), not $HOSTNAME: busybox sh sets that shell variable by itself
    r = engine.docker("run", "--rm", "--hostname", "h1", engine.image, "env")
    assert "HOSTNAME=h1" in ok(r).splitlines(), r.stdout
    r = engine.docker("run", "--rm", engine.image, "sh", "-c", "env; echo hostname=$(hostname)")
    lines = ok(r).splitlines()
    actual = [x for x in lines if x.startswith("hostname=")][0].split("=", 1)[1]
    assert actual and "HOSTNAME=" + actual in lines, r.stdout


# ---- registries ----

def test_login_and_logout(engine):
    # the suite's registry asks for no credentials: Docker's login answers "Login Succeeded"
    # for any, and the CLI keeps them (in its own config) until logout
    reg = engine.image.split("/")[0]
    r = engine.docker("login", reg, "-u", "compat-user", "--password-stdin", input="pw\n")
    assert "Login Succeeded" in ok(r)
    assert reg in json.loads((engine.tmp / "cli" / "config.json").read_text())["auths"]
    ok(engine.docker("pull", engine.image, timeout=120))
    ok(engine.docker("logout", reg))
    assert reg not in json.loads((engine.tmp / "cli" / "config.json").read_text()).get("auths", {})
    # the API's answer, as SDKs read it
    out = engine.client.login("compat-user", "pw", registry=reg, reauth=True)
    assert out["Status"] == "Login Succeeded"
    # a malformed body is the client's error
    r = engine.client.api.post(engine.client.api._url("/auth"), data="{not json",
                               headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 500) and r.status_code != 404, r.text


def test_rmi_of_an_image_a_container_uses(engine, s):
    # layered:latest (the suite's registry seeds it) has one tag: its last reference
    image = engine.image.split("/")[0] + "/layered:latest"
    ok(engine.docker("pull", image, timeout=120))
    img_id = inspect(engine, image, "image")["Id"]
    try:
        stopped = s.name("stopped")
        cid = ok(engine.docker("create", "--name", stopped, image, "true")).strip()
        err = refused(engine.docker("rmi", image), "conflict")
        assert ('conflict: unable to remove repository reference "%s" (must force) - container '
                '%s is using its referenced image %s' % (image, cid[:12], img_id[7:19])) in err, err
        err = refused(engine.docker("rmi", img_id[7:19]), "conflict")
        assert "conflict: unable to delete %s (must be forced) - image is being used by " \
            "stopped container %s" % (img_id[7:19], cid[:12]) in err, err
        running = s.name("running")
        rid = ok(engine.docker("run", "-d", "--name", running, image, "sleep", "600")).strip()
        err = refused(engine.docker("rmi", "-f", img_id), "conflict")
        assert "conflict: unable to delete %s (cannot be forced) - image is being used by " \
            "running container %s" % (img_id[7:19], rid[:12]) in err, err
        # nothing changed: the image is still there, tag and all
        assert image in inspect(engine, image, "image")["RepoTags"]
        ok(engine.docker("rm", "-f", stopped, running, timeout=120))
        out = ok(engine.docker("rmi", image))
        assert "Untagged: %s" % image in out and "Deleted: %s" % img_id in out, out
    finally:
        engine.docker("rm", "-f", *s.containers, timeout=120)
        engine.docker("rmi", "-f", image)


# ---- prune and disk usage ----

def test_container_prune(engine, s):
    label = "prune-" + s.tag
    stopped = s.name("stopped")
    sid = ok(engine.docker("create", "--name", stopped, "--label", label + "=1", engine.image,
                           "true")).strip()
    other = s.name("other")
    oid = ok(engine.docker("create", "--name", other, engine.image, "true")).strip()
    running = sleeper(engine, s, "running", "--label", label + "=1")
    # nothing is older than 2000, and a bad until or an unknown filter is refused
    out = ok(engine.docker("container", "prune", "-f", "--filter", "label=" + label,
                           "--filter", "until=2000-01-01T00:00:00Z"))
    assert sid not in out
    refused(engine.docker("container", "prune", "-f", "--filter", "until=bogus"),
            'failed to parse value as time or duration: "bogus"')
    refused(engine.docker("container", "prune", "-f", "--filter", "colour=red"),
            "invalid filter 'colour'")
    out = ok(engine.docker("container", "prune", "-f", "--filter", "label=%s=1" % label))
    assert "Deleted Containers:" in out and sid in out, out
    assert oid not in out
    names = ok(engine.docker("ps", "-a", "--format", "{{.Names}}")).split()
    assert stopped not in names and other in names and running in names
    # the API's shape, as SDKs read it
    r = engine.client.containers.prune(filters={"label": label + "=nothing"})
    assert r["ContainersDeleted"] is None and r["SpaceReclaimed"] == 0


def test_image_prune(engine, s):
    reg = engine.image.split("/")[0]
    five = reg + "/five:latest"
    ok(engine.docker("pull", five, timeout=300))
    five_id = inspect(engine, five, "image")["Id"]
    user = s.name("user")
    ok(engine.docker("create", "--name", user, five, "true"))
    try:
        # dangling only by default: tagged images stay
        out = ok(engine.docker("image", "prune", "-f"))
        assert "Total reclaimed space" in out
        assert five in ok(engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}"))
        # -a: unused ones, but a container's image stays
        sel = ("--filter", "label=org.vic-c.fixture=five")
        out = ok(engine.docker("image", "prune", "-a", "-f", *sel))
        assert five_id not in out
        ok(engine.docker("rm", user))
        out = ok(engine.docker("image", "prune", "-a", "-f", *sel))
        assert "untagged: %s" % five in out and "deleted: %s" % five_id in out, out
        assert engine.docker("image", "inspect", five).returncode != 0
        # the suite's own image had another label: still there
        inspect(engine, engine.image, "image")
        refused(engine.docker("image", "prune", "-f", "--filter", "dangling=maybe"),
                "invalid filter 'dangling=maybe'")
    finally:
        engine.docker("rm", "-f", user)
        engine.docker("rmi", "-f", five)


def test_system_df_and_prune(engine, s):
    label = "sysprune-" + s.tag
    c = s.name()
    cid = ok(engine.docker("create", "--name", c, "--label", label, engine.image, "true")).strip()
    rows = [json.loads(x) for x in
            ok(engine.docker("system", "df", "--format", "{{json .}}")).splitlines()]
    types = [r["Type"] for r in rows]
    assert types == ["Images", "Containers", "Local Volumes", "Build Cache"], types
    assert int(rows[0]["TotalCount"]) >= 1 and int(rows[1]["TotalCount"]) >= 1
    verbose = ok(engine.docker("system", "df", "-v"))
    assert c in verbose and engine.image.rsplit(":", 1)[0] in verbose, verbose
    df = engine.client.df()
    assert isinstance(df["LayersSize"], int) and df["LayersSize"] > 0
    mine = [x for x in df["Images"] if engine.image in (x["RepoTags"] or [])]
    assert mine and mine[0]["Containers"] >= 1, df["Images"]
    assert any(x["Id"] == cid for x in df["Containers"])
    out = ok(engine.docker("system", "prune", "-f", "--filter", "label=" + label, timeout=120))
    assert cid in out, out
    assert c not in ok(engine.docker("ps", "-a", "--format", "{{.Names}}")).split()
    inspect(engine, engine.image, "image")


# ---- save and load ----

def test_save_and_load(engine, s):
    import tarfile
    reg = engine.image.split("/")[0]
    image = reg + "/layered:latest"
    ok(engine.docker("pull", image, timeout=120))
    img_id = inspect(engine, image, "image")["Id"]
    archive = engine.tmp / ("%s.tar" % s.tag)
    try:
        ok(engine.docker("save", "-o", str(archive), image, timeout=120))
        with tarfile.open(archive) as t:
            manifest = json.load(t.extractfile("manifest.json"))
            assert manifest[0]["RepoTags"] == [image]
            assert len(manifest[0]["Layers"]) == 4
        refused(engine.docker("save", "-o", str(archive) + ".x", reg + "/nosuch:1"),
                "no such image", "reference does not exist")
        ok(engine.docker("rmi", image))
        out = ok(engine.docker("load", "-i", str(archive), timeout=120))
        assert "Loaded image: %s" % image in out, out
        assert inspect(engine, image, "image")["Id"] == img_id
        r = engine.docker("run", "--rm", image, "cat", "/data/new")
        assert ok(r) == "new\n"
        refused(engine.docker("load", input="not a tar\n" * 50), "tar", "invalid", "unexpected EOF")
    finally:
        engine.docker("rmi", "-f", image)
        if archive.exists():
            archive.unlink()


def test_push(engine, s):
    reg = engine.image.split("/")[0]
    target = "%s/compat-%s/busybox:1" % (reg, s.tag)
    ok(engine.docker("tag", engine.image, target))
    try:
        out = ok(engine.docker("push", target, timeout=120))
        assert "The push refers to repository [%s]" % target.rsplit(":", 1)[0] in out, out
        m = re.search(r"1: digest: (sha256:[0-9a-f]{64}) size: \d+", out)
        assert m, out
        # pushed again: the registry has the layer
        out = ok(engine.docker("push", target, timeout=120))
        assert "Layer already exists" in out and m.group(1) in out, out
        image_id = inspect(engine, engine.image, "image")["Id"]
        ok(engine.docker("rmi", target))
        ok(engine.docker("pull", target, timeout=120))
        assert inspect(engine, target, "image")["Id"] == image_id
        refused(engine.docker("push", "%s/compat-%s/nosuch:1" % (reg, s.tag)),
                "does not exist locally")
    finally:
        engine.docker("rmi", target)
