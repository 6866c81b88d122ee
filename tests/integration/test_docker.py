"""The real docker CLI against docker-engine-server over a real port-layer-server.

Both servers run from the sanitizer build (VIC_BIN_DIR) on free loopback ports with a temp
$VIC_HOME, and must exit 0 on SIGTERM. Needs root (the port layer runs VMs) and a docker
CLI (/usr/local/bin/docker, or Debian's docker.io client); skipped with the reason otherwise.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import BIN_DIR, SANITIZER_MARKERS

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, log):
    for _ in range(200):
        if proc.poll() is not None:
            raise AssertionError("server exited early:\n" + log.read_text())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not listen:\n" + log.read_text())


def readline_within(proc, timeout=30):
    """proc.stdout's next line, waited for at most timeout seconds; past that proc is killed
    (which ends the read) and the test fails."""
    got = []
    t = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        proc.kill()
        t.join(10)
        raise AssertionError("no line from %s within %d s" % (proc.args, timeout))
    return got[0]


def wait_log_count(log, needle, above, timeout=30):
    """Waits until log holds needle more than above times; returns the count."""
    deadline = time.monotonic() + timeout
    while True:
        n = log.read_text().count(needle)
        if n > above:
            return n
        if time.monotonic() > deadline:
            raise AssertionError("%r seen %d times in %s within %d s, wanted more than %d"
                                 % (needle, n, log, timeout, above))
        time.sleep(0.05)


def stop(proc, log):
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=15)
    text = log.read_text()
    assert code == 0, "exit %d:\n%s" % (code, text)
    assert not any(m in text for m in SANITIZER_MARKERS), text


REPO_ROOT = BIN_DIR.parents[1] if BIN_DIR.name == "bin" else BIN_DIR
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                       "registry-busybox.sh")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A docker-registry on a free loopback port, seeded with busybox (tests/fixtures)."""
    if not (shutil.which("docker-registry") and shutil.which("skopeo")):
        pytest.skip("docker-registry and skopeo are needed (make deps-test installs them)")
    work = tmp_path_factory.mktemp("registry")
    addr = "127.0.0.1:%d" % free_port()
    env = dict(os.environ, REGISTRY_ADDR=addr)
    r = subprocess.run(["bash", FIXTURE, str(work)], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    yield addr
    subprocess.run(["bash", FIXTURE, str(work), "stop"], capture_output=True, env=env,
                   timeout=60)


def start_vch(tmp, name, bridge_range, endpoint_addr="127.0.0.1", pl_args=()):
    """A port layer and a Docker endpoint (from BIN_DIR) on a home of their own, as a VCH's
    vic-init runs them; the endpoint listens on endpoint_addr. Stop it with stop_vch."""
    token = tmp / "token"
    token.write_text("port-layer-token-%s-0123456789\n" % name)
    token.chmod(0o600)
    pl_port, de_port = free_port(), free_port()
    pl_log, de_log = tmp / "pl.log", tmp / "de.log"
    pl = subprocess.Popen(
        [str(BIN_DIR / "port-layer-server"), "--home", str(tmp / "home"), "--bin-dir",
         str(BIN_DIR), "--token-file", str(token), "--listen", "127.0.0.1:%d" % pl_port,
         "--bridge-range", bridge_range, *pl_args],
        stdout=pl_log.open("w"), stderr=subprocess.STDOUT)
    wait_port(pl_port, pl, pl_log)
    de = subprocess.Popen(
        [str(BIN_DIR / "docker-engine-server"), "--port-layer", "http://127.0.0.1:%d" % pl_port,
         "--token-file", str(token), "--listen", "%s:%d" % (endpoint_addr, de_port), "--name",
         name],
        stdout=de_log.open("w"), stderr=subprocess.STDOUT)
    wait_port(de_port, de, de_log)
    return {"name": name, "home": tmp / "home", "tmp": tmp, "pl": pl, "de": de,
            "pl_log": pl_log, "de_log": de_log, "pl_port": pl_port, "de_port": de_port,
            "token": token.read_text().strip(), "host": "tcp://127.0.0.1:%d" % de_port,
            "url": "http://127.0.0.1:%d" % de_port, "pl_url": "http://127.0.0.1:%d" % pl_port}


def stop_vch(v):
    """Stops a start_vch pair (each must exit 0 with no sanitizer report) and lets its
    networks' segments leave the host (a connection to the local host sweeps those nothing
    uses; veths go in the background). Returns the segments still recorded."""
    stop(v["de"], v["de_log"])
    stop(v["pl"], v["pl_log"])
    for _ in range(50):
        if not bridges_of(v["home"]):
            break
        subprocess.run([str(BIN_DIR / "vic-machine"), "ls", "--home", str(v["home"])],
                       capture_output=True, timeout=60)
        time.sleep(0.1)
    return bridges_of(v["home"])


def vch_fixture(name, bridge_range, pl_args=()):
    """A module-scoped fixture: a VCH of the module's own (start_vch) on bridge_range, skipped
    without root or the docker CLI, and stopped at the module's end with no bridge left."""
    @pytest.fixture(scope="module")
    def vch(tmp_path_factory):
        if os.geteuid() != 0:
            pytest.skip("the port layer runs VMs: needs root")
        if not os.access(DOCKER, os.X_OK):
            pytest.skip("no docker CLI at %s" % DOCKER)
        v = start_vch(tmp_path_factory.mktemp("vch"), name, bridge_range, pl_args=pl_args)
        yield v
        left = stop_vch(v)
        assert left == [], "bridges left on the host: %s" % left
    return vch


def image_fixture():
    """A module-scoped fixture: busybox from the test registry, pulled into the module's vch."""
    @pytest.fixture(scope="module")
    def image(vch, registry):  # noqa: F811  (the registry fixture of this module)
        ref = registry + "/busybox:latest"
        r = docker(vch, "pull", ref)
        assert r.returncode == 0, r.stderr
        return ref
    return image


vch = vch_fixture("vch-it", "10.251.0.0/16",
                  pl_args=["--volume-store", "default=[datastore1] volumes-default",
                           "--volume-store", "fast=[datastore1] volumes-fast"])


BRIDGE_RANGE = "10.251.0.0/16"


def docker(vch, *args, timeout=60):
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_version_negotiates_and_names_the_server(vch):
    r = docker(vch, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
    assert r.returncode == 0, r.stderr
    version, api = r.stdout.split()
    assert version.startswith("v0.1.0")
    assert api == "1.41"


def test_info_shows_the_vch(vch):
    r = docker(vch, "info", "--format", "{{.Name}} {{.Containers}} {{.OSType}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["vch-it", "0", "linux"]


def test_ps_on_an_empty_vch(vch):
    r = docker(vch, "ps", "-a", "--format", "{{.ID}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_unknown_container_errors_are_dockers(vch):
    for args in (["logs", "nosuch"], ["rm", "nosuch"], ["start", "nosuch"], ["inspect", "nosuch"]):
        r = docker(vch, *args)
        assert r.returncode != 0
        assert "No such container: nosuch" in r.stderr or "No such object: nosuch" in r.stderr, r.stderr


def test_hostile_container_names_never_reach_the_port_layer(vch):
    for name in ("..%2f..%2fetc", "a b", "x;y"):
        r = requests.get(vch["url"] + "/v1.41/containers/%s/json" % name, timeout=10)
        assert r.status_code == 404, r.text


def test_unsupported_commands_say_why(vch):
    r = requests.post(vch["url"] + "/v1.41/build", timeout=10)
    assert r.status_code == 501
    assert "docker build is not supported by a VCH" in r.json()["message"]
    # through the CLI: the daemon's reason, never "page not found"
    for args, why in ((["pause", "nosuch"], "No such container"),):
        r = docker(vch, *args)
        assert r.returncode != 0 and why in r.stderr, (args, r.stderr)
        assert "page not found" not in r.stderr


def test_api_versions_out_of_range(vch):
    r = requests.get(vch["url"] + "/v1.99/version", timeout=10)
    assert r.status_code == 400
    assert r.json()["message"] == "client version 1.99 is too new. Maximum supported API version is 1.41"
    r = requests.get(vch["url"] + "/v1.12/version", timeout=10)
    assert r.status_code == 400
    assert "too old" in r.json()["message"]
    r = requests.head(vch["url"] + "/_ping", timeout=10)
    assert r.status_code == 200
    assert r.headers["Api-Version"] == "1.41"


def test_port_layer_refuses_callers_without_its_token(vch):
    r = requests.get(vch["pl_url"] + "/containers", timeout=10)
    assert r.status_code == 401
    r = requests.get(vch["pl_url"] + "/containers",
                     headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert r.status_code == 401
    assert requests.get(vch["pl_url"] + "/version", timeout=10).status_code == 200


def test_pull_run_logs_and_remove(vch, registry):
    image = registry + "/busybox:latest"
    r = docker(vch, "pull", image)
    assert r.returncode == 0, r.stderr
    assert "Pull complete" in r.stdout and "Downloaded newer image" in r.stdout, r.stdout
    r = docker(vch, "pull", image)
    assert "Image is up to date" in r.stdout, r.stdout
    r = docker(vch, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert r.returncode == 0, r.stderr
    assert image in r.stdout.split()

    r = docker(vch, "run", "-d", "--name", "hello", "-e", "WHO=vm", image,
               "sh", "-c", "echo hello $WHO; echo oops >&2; exit 3")
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    assert len(cid) == 64
    r = docker(vch, "wait", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"
    r = docker(vch, "logs", "hello")
    assert r.stdout == "hello vm\n" and r.stderr == "oops\n", (r.stdout, r.stderr)
    r = docker(vch, "ps", "-a", "--format", "{{.Names}} {{.Status}}")
    assert r.stdout.startswith("hello Exited (3)"), r.stdout
    r = docker(vch, "inspect", "--format", "{{.State.ExitCode}} {{.Config.Image}}", cid[:12])
    assert r.stdout.split() == ["3", image], r.stdout

    # the image's own command when none is given; a running container cannot be removed
    r = docker(vch, "run", "-d", "--name", "sleeper", image, "sleep", "60")
    assert r.returncode == 0, r.stderr
    r = docker(vch, "rm", "sleeper")
    assert r.returncode != 0 and "running container" in r.stderr
    # its VM's CPU and memory, in docker's own table
    r = docker(vch, "stats", "--no-stream", "--format",
               "{{.Name}} {{.CPUPerc}} {{.MemUsage}}", "sleeper")
    assert r.returncode == 0, r.stderr
    name, cpu, mem = r.stdout.split()[:3]
    assert name == "sleeper" and cpu.endswith("%") and mem[0].isdigit(), r.stdout
    r = docker(vch, "exec", "sleeper", "true")
    assert r.returncode == 0, r.stderr
    # restart powers the VM off and on; rename keeps the container
    r = docker(vch, "restart", "-t", "1", "sleeper")
    assert r.returncode == 0, r.stderr
    r = docker(vch, "rename", "sleeper", "sleepy")
    assert r.returncode == 0, r.stderr
    r = docker(vch, "ps", "--format", "{{.Names}} {{.Status}}")
    assert r.stdout.startswith("sleepy Up"), r.stdout
    r = docker(vch, "rename", "sleepy", "sleeper")
    assert r.returncode == 0, r.stderr
    r = docker(vch, "stop", "-t", "1", "sleeper")
    assert r.returncode == 0, r.stderr
    for name in ("sleeper", "hello"):
        r = docker(vch, "rm", name)
        assert r.returncode == 0, r.stderr
    r = docker(vch, "ps", "-a", "--format", "{{.Names}}")
    assert r.stdout.strip() == ""
    r = docker(vch, "rmi", image)
    assert r.returncode == 0, r.stderr
    r = docker(vch, "images", "-q")
    assert r.stdout.strip() == ""


def test_run_without_a_command_uses_the_images(vch, registry):
    image = registry + "/busybox:latest"
    r = docker(vch, "run", "-d", "--name", "defaults", image)
    assert r.returncode == 0, r.stderr
    r = docker(vch, "inspect", "--format", "{{json .Config.Cmd}}", "defaults")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() not in ("", "null", "[]"), r.stdout  # the image's command
    r = docker(vch, "wait", "defaults")
    assert r.returncode == 0, r.stderr
    docker(vch, "rm", "-f", "defaults")


def test_run_with_a_missing_command_says_so(vch, registry):
    r = docker(vch, "run", "-d", registry + "/busybox:latest", "nosuchcommand")
    assert r.returncode != 0
    assert 'exec: "nosuchcommand": executable file not found in $PATH' in r.stderr, r.stderr


def test_pull_of_an_unknown_image_fails_cleanly(vch, registry):
    r = docker(vch, "pull", registry + "/nosuch:latest")
    assert r.returncode != 0
    assert "nosuch" in r.stderr, r.stderr


# ---- attach: docker run without -d, -i, -t, start -a ----

def docker_in(vch, *args, stdin=None, timeout=60):
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    return subprocess.run([DOCKER, *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_run_attached_prints_and_exits_with_the_status(vch, registry):
    image = registry + "/busybox:latest"
    r = docker(vch, "pull", image)
    assert r.returncode == 0, r.stderr
    r = docker(vch, "run", "--rm", "--name", "hi", image, "echo", "hi")
    assert (r.returncode, r.stdout) == (0, "hi\n"), (r.returncode, r.stdout, r.stderr)
    r = docker(vch, "ps", "-a", "--format", "{{.Names}}")
    assert "hi" not in r.stdout.split(), r.stdout  # --rm removed it
    r = docker(vch, "run", "--name", "three", image, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == "out\n" and r.stderr == "err\n", (r.stdout, r.stderr)
    docker(vch, "rm", "-f", "three")


def test_run_interactive_reads_stdin_to_its_end(vch, registry):
    image = registry + "/busybox:latest"
    r = docker_in(vch, "run", "--rm", "-i", image, "cat", stdin="abc\n")
    assert (r.returncode, r.stdout) == (0, "abc\n"), (r.returncode, r.stdout, r.stderr)
    big = "".join("line %d\n" % i for i in range(20000))
    r = docker_in(vch, "run", "--rm", "-i", image, "wc", "-l", stdin=big)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "20000", r.stdout


def test_run_with_a_terminal(vch, registry):
    image = registry + "/busybox:latest"
    r = docker(vch, "run", "--rm", "-t", image, "tty")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout.strip().startswith("/dev/pts/"), r.stdout


def test_run_interactive_with_a_terminal_under_a_pty(vch, registry):
    """docker run -it needs a terminal on its side: python's pty gives it one."""
    import pty
    import select
    image = registry + "/busybox:latest"
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER, [DOCKER, "run", "--rm", "-it", image, "sh", "-c",
                           "stty size; read x; echo got:$x; exit 4"], env)
    out = b""
    deadline = time.time() + 60
    sent = False
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not sent and b"\n" in out:  # stty size answered: the session runs
            os.write(fd, b"hello\r")
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = out.decode(errors="replace")
    assert "got:hello" in text, text
    assert os.waitstatus_to_exitcode(status) == 4, text


def test_start_attached_prints_the_output(vch, registry):
    image = registry + "/busybox:latest"
    r = docker(vch, "create", "--name", "later", image, "sh", "-c", "echo from start; exit 2")
    assert r.returncode == 0, r.stderr
    r = docker(vch, "start", "-a", "later")
    assert (r.returncode, r.stdout) == (2, "from start\n"), (r.returncode, r.stdout, r.stderr)
    # a start without -a does not wait for anyone
    r = docker(vch, "start", "later")
    assert r.returncode == 0, r.stderr
    r = docker(vch, "wait", "later")
    assert r.stdout.strip() == "2", r.stdout
    docker(vch, "rm", "-f", "later")


def test_attach_to_a_running_container_and_kill(vch, registry):
    image = registry + "/busybox:latest"
    r = docker(vch, "run", "-d", "--name", "ticker", image, "sh", "-c",
               "while true; do echo tick; sleep 0.2; done")
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    p = subprocess.Popen([DOCKER, "attach", "--no-stdin", "ticker"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    line = readline_within(p)
    assert line == b"tick\n", line
    r = docker(vch, "kill", "ticker")
    assert r.returncode == 0, r.stderr
    out, err = p.communicate(timeout=30)
    assert p.returncode == 137, (p.returncode, out, err)
    docker(vch, "rm", "-f", "ticker")


def test_servers_stop_with_a_client_attached(tmp_path, registry):
    """SIGTERM ends both servers cleanly while a docker client is attached."""
    if os.geteuid() != 0 or not os.access(DOCKER, os.X_OK):
        pytest.skip("needs root and a docker CLI")
    vch = start_vch(tmp_path, "vch-stop", "10.253.0.0/16")
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(tmp_path / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    p = subprocess.Popen([DOCKER, "run", "--name", "sleepy", image, "sh", "-c",
                          "echo up; sleep 60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    try:
        assert readline_within(p) == b"up\n"
        stop(vch["de"], vch["de_log"])
        p.wait(timeout=30)  # the client's stream ended with the server
    finally:
        if p.poll() is None:
            p.kill()
        if vch["de"].poll() is None:
            vch["de"].kill()
        # power the VM off through the port layer, then stop it
        requests.delete(vch["pl_url"] + "/containers/sleepy?force=1",
                        headers={"Authorization": "Bearer " + vch["token"]},
                        timeout=30)
        stop(vch["pl"], vch["pl_log"])


# ---- volumes ----

def mounts_of(vch, container):
    r = docker(vch, "inspect", "-f",
               "{{range .Mounts}}{{.Name}} {{.Destination}} {{.RW}} {{.Driver}};{{end}}", container)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def volume_names(vch):
    r = docker(vch, "volume", "ls", "-q")
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_named_volume_keeps_data_across_containers(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "volume", "create", "--label", "team=a", "data1")
    assert r.returncode == 0 and r.stdout.strip() == "data1", r.stderr
    # creating it again hands back the same volume, as Docker does
    assert docker(vch, "volume", "create", "data1").returncode == 0
    ls = docker(vch, "volume", "ls", "--format", "{{.Name}} {{.Driver}}", "--filter", "label=team=a")
    assert ls.stdout.split("\n")[0] == "data1 vsphere", ls.stdout + ls.stderr
    w = docker(vch, "run", "--name", "writer", "-v", "data1:/data/deep", image, "sh", "-c",
               "echo kept > /data/deep/f && mkdir /data/deep/d && touch /data/deep/d/g")
    assert w.returncode == 0, w.stderr
    assert mounts_of(vch, "writer") == "data1 /data/deep true vsphere;"
    r = docker(vch, "run", "--rm", "-v", "data1:/in:ro", image, "cat", "/in/f")
    assert r.returncode == 0 and r.stdout == "kept\n", r.stdout + r.stderr
    ro = docker(vch, "run", "--rm", "-v", "data1:/in:ro", image, "sh", "-c", "echo x > /in/g")
    assert ro.returncode != 0 and "Read-only file system" in ro.stderr, ro.stderr
    # a volume that a container uses stays, and the refusal names the container
    cid = docker(vch, "inspect", "-f", "{{.Id}}", "writer").stdout.strip()
    busy = docker(vch, "volume", "rm", "data1")
    assert busy.returncode != 0 and "volume is in use" in busy.stderr and cid in busy.stderr
    insp = docker(vch, "volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.team}}",
                  "data1")
    assert insp.stdout.strip() == "data1 vsphere a", insp.stdout + insp.stderr
    assert docker(vch, "rm", "writer").returncode == 0
    assert docker(vch, "volume", "rm", "data1").returncode == 0
    assert "data1" not in volume_names(vch)
    missing = docker(vch, "volume", "inspect", "data1")
    assert missing.returncode != 0 and "no such volume" in missing.stderr.lower()


def test_anonymous_volumes_go_with_rm_v_and_named_ones_stay(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "create", "--name", "anon", "-v", "/scratch", "-v", "auto1:/auto", image,
               "true")
    assert r.returncode == 0, r.stderr
    mounts = mounts_of(vch, "anon").rstrip(";").split(";")
    assert len(mounts) == 2 and mounts[0] == "auto1 /auto true vsphere", mounts
    anon = mounts[1].split()[0]
    assert len(anon) == 64 and mounts[1].endswith("/scratch true vsphere")
    assert {anon, "auto1"} <= set(volume_names(vch))
    assert docker(vch, "rm", "-v", "anon").returncode == 0
    names = volume_names(vch)
    assert anon not in names and "auto1" in names
    # prune takes unused anonymous volumes only; the named one needs --all
    r = docker(vch, "create", "--name", "anon2", "-v", "/scratch", image, "true")
    assert r.returncode == 0, r.stderr
    anon2 = mounts_of(vch, "anon2").split()[0]
    assert docker(vch, "rm", "anon2").returncode == 0
    assert anon2 in volume_names(vch)
    p = docker(vch, "volume", "prune", "-f")
    assert p.returncode == 0, p.stderr
    names = volume_names(vch)
    assert anon2 not in names and "auto1" in names
    assert docker(vch, "volume", "rm", "auto1").returncode == 0


def test_volume_stores_and_refusals(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "volume", "create", "--opt", "VolumeStore=fast", "quick")
    assert r.returncode == 0, r.stderr
    r = requests.get(vch["pl_url"] + "/volumes/quick", timeout=10,
                     headers={"Authorization": "Bearer " + vch["token"]})
    assert r.json()["store"] == "fast" and r.json()["mountpoint"].startswith(
        "[datastore1] volumes-fast/volumes/quick"), r.text
    assert docker(vch, "volume", "rm", "quick").returncode == 0
    r = docker(vch, "volume", "create", "--opt", "VolumeStore=nosuch", "v2")
    assert r.returncode != 0 and "No volume store named (nosuch) exists" in r.stderr, r.stderr
    r = docker(vch, "volume", "create", "--driver", "nfs", "v3")
    assert r.returncode != 0 and "vsphere driver" in r.stderr, r.stderr
    r = requests.post(vch["url"] + "/v1.41/volumes/create", json={"Name": "../../etc"}, timeout=10)
    assert r.status_code == 400 and "invalid characters" in r.json()["message"], r.text
    assert requests.get(vch["url"] + "/v1.41/volumes/..%2F..%2Fetc", timeout=10).status_code == 404
    # a container cannot see its host's files
    r = docker(vch, "run", "--rm", "-v", "/etc:/host-etc", image, "true")
    assert r.returncode != 0 and "cannot mount a path of its host" in r.stderr, r.stderr
    r = docker(vch, "run", "--rm", "--mount", "type=bind,source=/etc,target=/x", image, "true")
    assert r.returncode != 0 and "cannot mount a path of its host" in r.stderr, r.stderr
    r = docker(vch, "run", "--rm", "-v", "good:relative", image, "true")
    assert r.returncode != 0
    assert "v2" not in volume_names(vch) and "good" not in volume_names(vch)
    assert "v3" not in volume_names(vch)


# ---- published ports ----

def http_get(url, tries=100):
    last = None
    for _ in range(tries):
        try:
            return requests.get(url, timeout=5)
        except requests.RequestException as e:
            last = e
            time.sleep(0.1)
    raise AssertionError("no answer from %s: %s" % (url, last))


def test_published_port_answers_on_the_vch_address(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    port = free_port()
    r = docker(vch, "run", "-d", "--name", "web", "-p", "%d:80" % port, "-p", "81", image, "sh",
               "-c", "mkdir /www && echo hello from a containerVM > /www/index.html && "
               "head -c 8388608 /dev/zero > /www/big && httpd -f -p 80 -h /www")
    assert r.returncode == 0, r.stderr
    try:
        got = http_get("http://127.0.0.1:%d/index.html" % port)
        assert got.status_code == 200 and got.text == "hello from a containerVM\n", got.text
        # 8 MiB cross the relay whole, several at once
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            bodies = list(pool.map(lambda _: requests.get(
                "http://127.0.0.1:%d/big" % port, timeout=60).content, range(4)))
        assert all(b == bytes(8388608) for b in bodies), [len(b) for b in bodies]
        insp = docker(vch, "inspect", "-f", "{{json .NetworkSettings.Ports}}", "web")
        ports = json.loads(insp.stdout)
        assert ports["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}], ports
        random_port = int(ports["81/tcp"][0]["HostPort"])
        assert 0 < random_port < 65536 and random_port != port
        p = docker(vch, "port", "web", "80")
        assert p.returncode == 0 and p.stdout.strip() == "127.0.0.1:%d" % port, p.stdout + p.stderr
        ps = docker(vch, "ps", "--format", "{{.Names}} {{.Ports}}")
        assert "web 127.0.0.1:%d->80/tcp" % port in ps.stdout, ps.stdout
        # nothing listens on 81 in the guest: the client's connection ends, the VM runs on
        with pytest.raises(requests.RequestException):
            requests.get("http://127.0.0.1:%d/" % random_port, timeout=5)
        # a second container on the same host port cannot start, and says why
        r = docker(vch, "run", "-d", "--name", "web2", "-p", "%d:80" % port, image, "sleep", "5")
        assert r.returncode != 0 and "port is already allocated" in r.stderr, r.stderr
        assert http_get("http://127.0.0.1:%d/index.html" % port).status_code == 200
    finally:
        docker(vch, "rm", "-f", "web", "web2")
    # removed: the port is free again (connections it served may linger in TIME_WAIT)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)


def udp_ask(addr, payload, tries=100):
    """Sends payload to addr (host, port) over UDP until an answer comes; returns it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        for _ in range(tries):
            s.sendto(payload, addr)
            try:
                return s.recvfrom(65536)
            except OSError:  # nothing yet (the server starting), or its port unreachable
                continue
    raise AssertionError("no UDP answer from %s:%d" % addr)


def udpecho(tmp_path):
    """tests/fixtures/udpecho.c built statically (the image's busybox has no UDP server)."""
    out = tmp_path / "udpecho"
    src = os.path.join(os.path.dirname(FIXTURE), "udpecho.c")
    r = subprocess.run(["cc", "-static", "-O2", "-o", str(out), src], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        pytest.skip("cannot build a static udpecho: " + r.stderr[-300:])
    return out


def test_published_udp_port_relays_datagrams_both_ways(vch, registry, tmp_path):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    port = free_port()
    # a UDP echo server on 53, published on a host port chosen and on one the kernel picks
    r = docker(vch, "create", "--name", "dns", "-p", "%d:53/udp" % port, "-p", "54/udp",
               "-p", "%d:53" % port, image, "/udpecho", "53")
    assert r.returncode == 0, r.stderr
    try:
        r = docker(vch, "cp", str(udpecho(tmp_path)), "dns:/udpecho")
        assert r.returncode == 0, r.stderr
        assert docker(vch, "start", "dns").returncode == 0
        data, frm = udp_ask(("127.0.0.1", port), b"hello over udp\n")
        assert data == b"hello over udp\n" and frm == ("127.0.0.1", port), (data, frm)
        # a datagram as large as UDP carries over loopback crosses whole
        big = bytes(range(256)) * 200
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(10)
            s.sendto(big, ("127.0.0.1", port))
            assert s.recv(65536) == big
        insp = docker(vch, "inspect", "-f", "{{json .NetworkSettings.Ports}}", "dns")
        ports = json.loads(insp.stdout)
        assert ports["53/udp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}], ports
        assert ports["53/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}], ports
        other = int(ports["54/udp"][0]["HostPort"])
        assert 0 < other < 65536, ports
        p = docker(vch, "port", "dns", "53/udp")
        assert p.stdout.strip() == "127.0.0.1:%d" % port, p.stdout + p.stderr
        p = docker(vch, "port", "dns")
        assert "53/udp -> 127.0.0.1:%d" % port in p.stdout, p.stdout
        assert "53/tcp -> 127.0.0.1:%d" % port in p.stdout, p.stdout
        ps = docker(vch, "ps", "--format", "{{.Names}} {{.Ports}}", "--filter", "publish=53/udp")
        assert "dns" in ps.stdout and "127.0.0.1:%d->53/udp" % port in ps.stdout, ps.stdout
        # the udp port is held while the VM runs: a second container cannot have it
        r = docker(vch, "run", "-d", "--name", "dns2", "-p", "%d:53/udp" % port, image,
                   "sleep", "5")
        assert r.returncode != 0 and "port is already allocated" in r.stderr, r.stderr
        # and the forward survives a restart of the container
        assert docker(vch, "restart", "-t", "1", "dns").returncode == 0
        data, _ = udp_ask(("127.0.0.1", port), b"again\n")
        assert data == b"again\n"
    finally:
        docker(vch, "rm", "-f", "dns", "dns2")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))  # free again once the container is gone


def test_port_refusals(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    before = docker(vch, "ps", "-aq").stdout
    r = docker(vch, "create", "-p", "5353:53/sctp", image, "true")
    assert r.returncode != 0 and "carry TCP and UDP" in r.stderr, r.stderr
    r = docker(vch, "create", "-p", "10.1.2.3:8080:80", image, "true")
    assert r.returncode != 0 and "publishes ports on its own address" in r.stderr, r.stderr
    r = docker(vch, "create", "-p", "10.1.2.3::53/udp", image, "true")
    assert r.returncode != 0 and "publishes ports on its own address" in r.stderr, r.stderr
    # the API's answer: 400 and the reason, for an address that is not the VCH's
    for ip in ("10.1.2.3", "::1", "not-an-ip"):
        got = requests.post(vch["url"] + "/v1.41/containers/create", timeout=30, json={
            "Image": image, "HostConfig": {"PortBindings": {"80/tcp": [
                {"HostIp": ip, "HostPort": "8080"}]}}})
        assert got.status_code == 400, (ip, got.status_code, got.text)
        assert "publishes ports on its own address 127.0.0.1" in got.json()["message"], got.text
    r = docker(vch, "create", "-p", "8000-8010:80", image, "true")
    assert r.returncode != 0
    assert docker(vch, "ps", "-aq").stdout == before


# ---- exec ----

def test_exec_runs_in_the_running_container(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "run", "-d", "--name", "host1", "-v", "execvol:/data", image, "sh", "-c",
               "echo from-main > /tmp/mark; sleep 600")
    assert r.returncode == 0, r.stderr
    try:
        for _ in range(50):  # the main session writes its mark first
            r = docker(vch, "exec", "host1", "cat", "/tmp/mark")
            if r.returncode == 0:
                break
            time.sleep(0.1)
        # the same guest: its files, its hostname, its pid namespace, its volumes
        assert (r.returncode, r.stdout) == (0, "from-main\n"), (r.returncode, r.stdout, r.stderr)
        hn = docker(vch, "exec", "host1", "hostname").stdout.strip()
        cid = docker(vch, "inspect", "-f", "{{.Id}}", "host1").stdout.strip()
        assert hn == cid[:12]
        # Docker's HOSTNAME, in the exec's environment as in the container's
        assert "HOSTNAME=" + hn in docker(vch, "exec", "host1", "env").stdout.splitlines()
        ps = docker(vch, "exec", "host1", "ps", "-o", "pid,comm")
        assert ps.returncode == 0 and "sleep" in ps.stdout and "tether" in ps.stdout, ps.stdout
        r = docker(vch, "exec", "host1", "sh", "-c", "echo shared > /data/f; id -u; exit 7")
        assert (r.returncode, r.stdout) == (7, "0\n"), (r.returncode, r.stdout, r.stderr)
        r = docker(vch, "exec", "host1", "sh", "-c", "echo to-err >&2")
        assert r.returncode == 0 and r.stderr == "to-err\n" and r.stdout == "", r
        # stdin to its end, user, workdir, env
        r = docker_in(vch, "exec", "-i", "host1", "wc", "-c", stdin="x" * 100000)
        assert (r.returncode, r.stdout.strip()) == (0, "100000"), (r.returncode, r.stdout, r.stderr)
        r = docker(vch, "exec", "-u", "nobody", "-w", "/tmp", "-e", "GREETING=hi", "host1", "sh",
                   "-c", "id -un; pwd; echo $GREETING")
        assert r.stdout.split() == ["nobody", "/tmp", "hi"], (r.stdout, r.stderr)
        r = docker(vch, "exec", "-t", "host1", "tty")
        assert r.returncode == 0 and r.stdout.strip().startswith("/dev/pts/"), r
        # refusals: Docker's messages and exit codes
        r = docker(vch, "exec", "host1", "nosuchcmd")
        assert r.returncode == 127 and "executable file not found" in (r.stdout + r.stderr), r
        r = docker(vch, "exec", "-u", "ghost", "host1", "true")
        assert r.returncode == 126 and "unable to find user ghost" in (r.stdout + r.stderr), r
        # detached: runs on its own
        assert docker(vch, "exec", "-d", "host1", "sh", "-c", "echo later > /tmp/d").returncode == 0
        for _ in range(50):
            if docker(vch, "exec", "host1", "cat", "/tmp/d").stdout == "later\n":
                break
            time.sleep(0.1)
        assert docker(vch, "exec", "host1", "cat", "/tmp/d").stdout == "later\n"
        # the main session never noticed
        assert docker(vch, "inspect", "-f", "{{.State.Running}}", "host1").stdout.strip() == "true"
    finally:
        docker(vch, "rm", "-f", "host1")
    r = docker(vch, "run", "--rm", "-v", "execvol:/data", image, "cat", "/data/f")
    assert r.stdout == "shared\n", r
    docker(vch, "volume", "rm", "execvol")


def test_exec_in_a_stopped_container_is_refused(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    assert docker(vch, "create", "--name", "idle", image, "true").returncode == 0
    try:
        r = docker(vch, "exec", "idle", "true")
        assert r.returncode != 0 and "is not running" in r.stderr, r.stderr
        r = requests.get(vch["url"] + "/v1.41/exec/%s/json" % ("0" * 64), timeout=10)
        assert r.status_code == 404 and "No such exec instance" in r.json()["message"]
        r = requests.post(vch["url"] + "/v1.41/containers/idle/exec", json={"Cmd": []},
                          timeout=10)
        assert r.status_code == 400 and "No exec command" in r.json()["message"]
    finally:
        docker(vch, "rm", "-f", "idle")


def test_detached_runs_leave_no_waiter_polling(vch, registry):
    """docker run -d asks to wait, then hangs up once the container started: the endpoint must
    notice the hang-up and stop asking the port layer about the container."""
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    names = ["quiet%d" % i for i in range(3)]
    log = vch["tmp"] / "pl.log"
    try:
        for n in names:
            assert docker(vch, "run", "-d", "--name", n, image, "sleep", "600").returncode == 0
        ids = [docker(vch, "inspect", "-f", "{{.Id}}", n).stdout.strip() for n in names]
        assert all(ids), ids
        # the port layer's requests about these containers (a waiter asks GET /containers/ID)
        about = re.compile(r"event=request method=GET path=/containers/(%s)[ ?]"
                           % "|".join(re.escape(x) for x in ids + names))

        def asked():
            return len(about.findall(log.read_text()))

        tag = "/window-marker-%d-" % time.monotonic_ns()

        def marker(end):  # a request the port layer logs: a bound of the window
            requests.get(vch["pl_url"] + tag + end, timeout=10)
            wait_log_count(log, "path=" + tag + end, 0)

        # Every waiter noticed its client leave: no new request about the containers for
        # half a second (a waiter asks at least ten times a second), within 10 s.
        deadline = time.monotonic() + 10
        seen = asked()
        assert seen >= len(names), "the port layer's log shows no waiter asking (%d)" % seen
        while True:
            time.sleep(0.5)
            now = asked()
            if now == seen:
                break
            assert time.monotonic() < deadline, (
                "the endpoint still asks the port layer about the detached containers "
                "10 s after the runs (%d requests)" % now)
            seen = now
        # then a window of a second, bounded by two requests the port layer logs, holds no
        # request about them
        marker("start")
        time.sleep(1)
        marker("end")
        text = log.read_text()
        found = about.findall(text[text.index(tag + "start"):text.index(tag + "end")])
        assert found == [], "%d port layer requests about %s in a 1 s window" % (
            len(found), found)
    finally:
        docker(vch, "rm", "-f", *names)


# ---- events ----

def test_events_since_until_with_filters(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    t0 = time.time()
    r = docker(vch, "run", "--rm", "--name", "evt", image, "sh", "-c", "exit 3")
    assert r.returncode == 3, r.stderr
    r = docker(vch, "run", "--rm", "--name", "other", image, "true")
    assert r.returncode == 0, r.stderr
    t1 = time.time() + 0.5
    r = docker(vch, "events", "--since", "%.3f" % t0, "--until", "%.3f" % t1, "--filter",
               "container=evt", "--format", "{{json .}}")
    assert r.returncode == 0, r.stderr
    evs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["Action"] for e in evs] == ["create", "start", "die", "destroy"], r.stdout
    assert all(e["Type"] == "container" and e["Actor"]["Attributes"]["name"] == "evt"
               for e in evs), evs
    assert evs[2]["Actor"]["Attributes"]["exitCode"] == "3"
    assert all(t0 <= e["timeNano"] / 1e9 <= t1 for e in evs)
    # the event filter, and a type with no events here
    r = docker(vch, "events", "--since", "%.3f" % t0, "--until", "%.3f" % t1, "--filter",
               "event=die", "--filter", "container=evt", "--filter", "container=other",
               "--format", "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}")
    assert r.stdout.splitlines() == ["evt 3", "other 0"], r.stdout
    r = docker(vch, "events", "--since", "%.3f" % t0, "--until", "%.3f" % t1, "--filter",
               "type=network")
    assert r.returncode == 0 and r.stdout == "", r.stdout


def test_events_follow_live_and_stop_with_the_client(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"))
    env.pop("DOCKER_TLS_VERIFY", None)
    log = vch["tmp"] / "pl.log"
    ended_before = log.read_text().count("event=events_end")
    followed_before = log.read_text().count("method=GET path=/events")
    follower = subprocess.Popen([DOCKER, "events", "--filter", "event=start", "--format",
                                 "{{.Actor.Attributes.name}}"], stdout=subprocess.PIPE,
                                text=True, env=env)
    try:
        # the endpoint asked the port layer for its event stream: the follower is subscribed
        wait_log_count(log, "method=GET path=/events", followed_before)
        assert docker(vch, "run", "--rm", "--name", "live1", image, "true").returncode == 0
        line = readline_within(follower)
        assert line.strip() == "live1", line
    finally:
        follower.terminate()
        follower.wait(timeout=10)
    # the endpoint noticed the follower leave and ended its port layer stream
    for _ in range(50):
        if log.read_text().count("event=events_end") > ended_before:
            break
        time.sleep(0.1)
    assert log.read_text().count("event=events_end") == ended_before + 1


def test_concurrent_creates_of_one_name_make_one_container(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    codes = []

    def create():
        r = requests.post(vch["url"] + "/v1.41/containers/create?name=twin",
                          json={"Image": image, "Cmd": ["true"]}, timeout=60)
        codes.append((r.status_code, r.text))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert sorted(c for c, _ in codes) == [201, 409, 409, 409, 409, 409], codes
        assert all("already in use" in t for c, t in codes if c == 409), codes
        ps = docker(vch, "ps", "-a", "--format", "{{.Names}}")
        assert ps.stdout.split().count("twin") == 1, ps.stdout
    finally:
        docker(vch, "rm", "-f", "twin")


def test_ps_filters(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    assert docker(vch, "create", "--name", "flt-created", image, "true").returncode == 0
    assert docker(vch, "run", "-d", "--name", "flt-running", image, "sleep", "600").returncode == 0
    try:
        names = lambda *a: sorted(docker(vch, "ps", *a, "--format", "{{.Names}}").stdout.split())
        assert names("-a", "--filter", "name=flt-") == ["flt-created", "flt-running"]
        assert names("-a", "--filter", "name=flt-", "--filter", "status=created") == ["flt-created"]
        assert names("--filter", "name=flt-") == ["flt-running"]
        cid = docker(vch, "inspect", "-f", "{{.Id}}", "flt-running").stdout.strip()
        assert names("-a", "--filter", "id=" + cid[:10]) == ["flt-running"]
        # Docker's other filters: an unknown one is Docker's 400
        r = docker(vch, "ps", "--filter", "colour=red")
        assert r.returncode != 0 and "invalid filter 'colour'" in r.stderr, r.stderr
        r = docker(vch, "ps", "--filter", "status=sleeping")
        assert r.returncode != 0 and "invalid filter 'status=sleeping'" in r.stderr, r.stderr
        assert names("-a", "--filter", "name=flt-", "--filter", "network=bridge") == \
            ["flt-created", "flt-running"]
        assert names("-a", "--filter", "name=flt-", "--filter", "before=flt-running") == \
            ["flt-created"]
        assert names("-a", "--filter", "name=flt-", "--filter", "since=flt-created") == \
            ["flt-running"]
        assert names("-a", "--filter", "name=flt-", "--filter", "ancestor=" + image) == \
            ["flt-created", "flt-running"]
        r = docker(vch, "ps", "-a", "--filter", "before=flt-nosuch")
        assert r.returncode != 0 and "No such container: flt-nosuch" in r.stderr, r.stderr
        # newest first; -n keeps the newest
        assert docker(vch, "ps", "-a", "-n", "1", "--filter", "name=flt-", "--format",
                      "{{.Names}}").stdout.split() == ["flt-running"]
        for path, key in (("/v1.41/containers/json", "name"), ("/v1.41/events", "event")):
            for bad in ('{"%s":"x"}' % key, '[1]', '{"name"'):
                r = requests.get(vch["url"] + path, params={"filters": bad}, timeout=10)
                assert r.status_code == 400, (path, bad, r.status_code, r.text)
        r = requests.get(vch["url"] + "/v1.41/events", params={"filters": '{"network":["n"]}'},
                         timeout=10)
        assert r.status_code == 501 and "not supported by this VCH yet" in r.text, r.text
    finally:
        docker(vch, "rm", "-f", "flt-created", "flt-running")


def test_create_options_are_recorded_and_honoured(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    names = ["opt-src", "opt-user", "opt-mac", "opt-auto", "opt-stop"]
    try:
        # --volumes-from: the source's volumes at the same paths, read-only with :ro
        r = docker(vch, "run", "--name", "opt-src", "-v", "optvol:/data", image, "sh", "-c",
                   "echo shared > /data/f")
        assert r.returncode == 0, r.stderr
        r = docker(vch, "run", "--name", "opt-user", "--volumes-from", "opt-src:ro", "--init",
                   "--label", "a=b", "--stop-timeout", "3", image, "sh", "-c",
                   "cat /data/f; touch /data/g 2>/dev/null || echo read-only")
        assert (r.returncode, r.stdout) == (0, "shared\nread-only\n"), (r.stdout, r.stderr)
        c = json.loads(docker(vch, "inspect", "opt-user").stdout)[0]
        assert c["HostConfig"]["VolumesFrom"] == ["opt-src:ro"], c["HostConfig"]
        assert c["HostConfig"]["Init"] is True
        assert c["Config"]["StopTimeout"] == 3 and c["Config"]["Labels"]["a"] == "b"
        assert c["Mounts"][0]["Name"] == "optvol" and c["Mounts"][0]["RW"] is False
        r = docker(vch, "run", "--rm", "--volumes-from", "opt-nosuch", image, "true")
        assert r.returncode != 0 and "No such container: opt-nosuch" in r.stderr, r.stderr
        # the NIC's MAC address: the one given, else one made from its IP address as Docker
        # makes them; inspect shows the guest's
        # (through the API: a docker CLI of API 1.44 and later sends it per network, which it
        # refuses to do with an engine of 1.41)
        r = requests.post(vch["url"] + "/v1.41/containers/create", params={"name": "opt-mac"},
                          json={"Image": image, "Cmd": ["cat", "/sys/class/net/eth0/address"],
                                "MacAddress": "02:42:0a:fb:ff:01"}, timeout=60)
        assert r.status_code == 201, r.text
        r = docker(vch, "start", "-a", "opt-mac")
        assert (r.returncode, r.stdout) == (0, "02:42:0a:fb:ff:01\n"), (r.stdout, r.stderr)
        ns = json.loads(docker(vch, "inspect", "opt-mac").stdout)[0]["NetworkSettings"]
        assert ns["MacAddress"] == "02:42:0a:fb:ff:01"
        assert ns["Networks"]["bridge"]["MacAddress"] == "02:42:0a:fb:ff:01"
        r = docker(vch, "run", "--name", "opt-auto", image, "cat", "/sys/class/net/eth0/address")
        assert r.returncode == 0, r.stderr
        mac = r.stdout.strip()
        ip = json.loads(docker(vch, "inspect", "opt-auto").stdout)[0]["NetworkSettings"]
        assert mac == ip["MacAddress"], (mac, ip)
        assert mac == "02:42:" + ":".join("%02x" % int(b) for b in ip["IPAddress"].split("."))
        # --stop-timeout: docker stop without -t waits that long, not the default 10 s
        r = docker(vch, "run", "-d", "--name", "opt-stop", "--stop-timeout", "1", image, "sh",
                   "-c", "trap '' TERM; while :; do sleep 0.1; done")
        assert r.returncode == 0, r.stderr
        t0 = time.monotonic()
        assert docker(vch, "stop", "opt-stop").returncode == 0
        assert time.monotonic() - t0 < 6, "stop waited the default grace"
    finally:
        docker(vch, "rm", "-f", "-v", *names)
        docker(vch, "volume", "rm", "optvol")


def test_stats_without_stream_is_one_object(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    assert docker(vch, "run", "-d", "--name", "st-one", image, "sleep", "600").returncode == 0
    try:
        url = vch["url"] + "/v1.41/containers/st-one/stats"
        # the docker SDK's stream=False: one object, then the end of the answer
        r = requests.get(url, params={"stream": "False"}, timeout=30)
        st = r.json()
        assert st["pids_stats"]["current"] >= 1, st["pids_stats"]
        assert st["precpu_stats"]["cpu_usage"]["total_usage"] > 0  # a second sample's
        eth0 = st["networks"]["eth0"]
        for key in ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes",
                    "tx_packets", "tx_errors", "tx_dropped"):
            assert isinstance(eth0[key], int), (key, eth0)
        assert "lo" not in st["networks"]
        # one-shot: the first sample at once
        t0 = time.monotonic()
        r = requests.get(url, params={"stream": "0", "one-shot": "1"}, timeout=30)
        assert r.json()["precpu_stats"]["cpu_usage"]["total_usage"] == 0
        assert time.monotonic() - t0 < 0.9  # no second sample a second later
    finally:
        docker(vch, "rm", "-f", "st-one")


# ---- networks ----

def bridges_of(home):
    """The local host's segments recorded for a $VIC_HOME (hypervisor/local/netdev.h), without
    their side records (NAME.users)."""
    d = os.path.join(str(home), "netdevs")
    return sorted(n for n in os.listdir(d) if n.startswith("vb") and "." not in n) \
        if os.path.isdir(d) else []


def test_network_create_ls_inspect_rm(vch):
    r = docker(vch, "network", "ls", "--format", "{{.Name}} {{.Driver}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["bridge bridge", "none null"], r.stdout
    r = docker(vch, "network", "create", "--label", "team=a", "n-one")
    assert r.returncode == 0, r.stderr
    nid = r.stdout.strip()
    r = docker(vch, "network", "create", "--subnet", "10.251.200.0/24", "--gateway",
               "10.251.200.254", "n-two")
    assert r.returncode == 0, r.stderr
    try:
        insp = json.loads(docker(vch, "network", "inspect", "n-one").stdout)[0]
        assert insp["Id"] == nid and insp["Driver"] == "bridge" and insp["Labels"] == {"team": "a"}
        sub = insp["IPAM"]["Config"][0]
        assert sub["Subnet"] == "10.251.16.0/20" and sub["Gateway"] == "10.251.16.1", sub
        two = json.loads(docker(vch, "network", "inspect", "n-two").stdout)[0]
        assert two["IPAM"]["Config"] == [{"Subnet": "10.251.200.0/24",
                                          "Gateway": "10.251.200.254"}]
        r = docker(vch, "network", "ls", "--filter", "label=team=a", "--format", "{{.Name}}")
        assert r.stdout.split() == ["n-one"], r.stdout
        # refusals, each with its reason, and nothing made
        for args, why in ((["network", "create", "n-one"], "already exists"),
                          (["network", "create", "--subnet", "192.168.9.0/24", "n-out"],
                           "outside the VCH's bridge range"),
                          (["network", "create", "--subnet", "10.251.16.0/24", "n-ovl"],
                           "overlaps"),
                          (["network", "create", "-d", "overlay", "n-ovr"],
                           "driver overlay is not supported"),
                          (["network", "create", "bad name"], "invalid network name"),
                          (["network", "rm", "bridge"], "pre-defined network"),
                          (["network", "rm", "nosuch"], "not found")):
            r = docker(vch, *args)
            assert r.returncode != 0 and why in r.stderr, (args, r.stderr)
        r = docker(vch, "network", "ls", "--format", "{{.Name}}")
        assert sorted(r.stdout.split()) == ["bridge", "n-one", "n-two", "none"], r.stdout
    finally:
        assert docker(vch, "network", "rm", "n-one", "n-two").returncode == 0
    r = docker(vch, "network", "ls", "--format", "{{.Name}}")
    assert sorted(r.stdout.split()) == ["bridge", "none"], r.stdout


def test_containers_reach_each_other_by_name(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    assert docker(vch, "network", "create", "app").returncode == 0
    assert docker(vch, "network", "create", "other").returncode == 0
    try:
        r = docker(vch, "run", "-d", "--name", "srv", "--network", "app", "--network-alias",
                   "api", image, "sh", "-c",
                   "mkdir /www && echo served by srv > /www/index.html && httpd -f -p 80 -h /www")
        assert r.returncode == 0, r.stderr
        ip = docker(vch, "inspect", "-f", "{{.NetworkSettings.Networks.app.IPAddress}}",
                    "srv").stdout.strip()
        assert ip.startswith("10.251.16."), ip
        # by name and by alias, over the network; the answer comes from the VCH's DNS
        r = docker(vch, "run", "--rm", "--network", "app", image, "sh", "-c",
                   "wget -qO- http://srv/ && wget -qO- http://api/ && nslookup srv && "
                   "cat /etc/resolv.conf")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.count("served by srv") == 2, r.stdout
        assert "Address: " + ip in r.stdout and "nameserver 10.251.16.1" in r.stdout, r.stdout
        # a name nobody holds is NXDOMAIN; another network does not see srv at all
        r = docker(vch, "run", "--rm", "--network", "app", image, "nslookup", "nosuch")
        assert r.returncode != 0 and "NXDOMAIN" in r.stdout + r.stderr, r.stdout + r.stderr
        r = docker(vch, "run", "--rm", "--network", "other", image, "wget", "-T", "3", "-qO-",
                   "http://srv/")
        assert r.returncode != 0 and "served by srv" not in r.stdout, r.stdout
        r = docker(vch, "run", "--rm", "--network", "other", image, "ping", "-c", "1", "-W",
                   "2", ip)
        assert r.returncode != 0, r.stdout  # another segment: no path to app's addresses
        # an address asked for, and a taken one refused
        r = docker(vch, "run", "--rm", "--network", "app", "--ip", "10.251.17.7", image, "ip",
                   "-o", "-4", "addr", "show", "eth0")
        assert r.returncode == 0 and "10.251.17.7/20" in r.stdout, r.stdout + r.stderr
        r = docker(vch, "run", "--rm", "--network", "app", "--ip", ip, image, "true")
        assert r.returncode != 0 and "Address already in use" in r.stderr, r.stderr
        r = docker(vch, "network", "rm", "app")
        assert r.returncode != 0 and "has active endpoints" in r.stderr, r.stderr
        nets = json.loads(docker(vch, "network", "inspect", "app").stdout)[0]["Containers"]
        assert [c["Name"] for c in nets.values()] == ["srv"], nets
        ps = docker(vch, "ps", "--format", "{{.Names}} {{.Networks}}")
        assert "srv app" in ps.stdout, ps.stdout
    finally:
        docker(vch, "rm", "-f", "srv")
        docker(vch, "network", "rm", "app", "other")


def test_default_bridge_none_and_refused_modes(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "run", "-d", "--name", "b1", image, "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        insp = json.loads(docker(vch, "inspect", "b1").stdout)[0]
        assert insp["HostConfig"]["NetworkMode"] == "default"
        ip = insp["NetworkSettings"]["IPAddress"]
        assert ip.startswith("10.251.0.") and insp["NetworkSettings"]["Gateway"] == "10.251.0.1"
        assert list(insp["NetworkSettings"]["Networks"]) == ["bridge"]
        r = docker(vch, "run", "--rm", image, "ping", "-c", "1", "-W", "3", "b1")
        assert r.returncode == 0 and "1 packets received" in r.stdout, r.stdout + r.stderr
        # none: loopback only
        r = docker(vch, "run", "--rm", "--network", "none", image, "cat", "/proc/net/dev")
        assert r.returncode == 0 and "eth0" not in r.stdout and "lo:" in r.stdout, r.stdout
        r = docker(vch, "run", "--rm", "--network", "none", "-p", "8080:80", image, "true")
        assert r.returncode != 0 and "conflicting options" in r.stderr, r.stderr
        for mode in ("host", "container:b1"):
            r = docker(vch, "run", "--rm", "--network", mode, image, "true")
            assert r.returncode != 0 and "own VM" in r.stderr, (mode, r.stderr)
        r = docker(vch, "run", "--rm", "--network", "nosuch", image, "true")
        assert r.returncode != 0 and "network nosuch not found" in r.stderr, r.stderr
    finally:
        docker(vch, "rm", "-f", "b1")
    # the address goes back with the container: the next one gets it
    r = docker(vch, "run", "--rm", image, "ip", "-o", "-4", "addr", "show", "eth0")
    assert ip + "/20" in r.stdout, (ip, r.stdout)


def test_connect_and_disconnect_a_stopped_container(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    assert docker(vch, "network", "create", "side").returncode == 0
    try:
        r = docker(vch, "create", "--name", "multi", image, "ip", "-o", "-4", "addr")
        assert r.returncode == 0, r.stderr
        r = docker(vch, "network", "connect", "--alias", "m2", "side", "multi")
        assert r.returncode == 0, r.stderr
        r = docker(vch, "start", "-a", "multi")
        assert "eth0    inet 10.251.0." in r.stdout and "eth1    inet 10.251.16." in r.stdout, \
            r.stdout + r.stderr
        nets = json.loads(docker(vch, "inspect", "multi").stdout)[0]["NetworkSettings"]["Networks"]
        assert sorted(nets) == ["bridge", "side"] and nets["side"]["Aliases"] == ["m2"], nets
        r = docker(vch, "network", "connect", "side", "multi")
        assert r.returncode != 0 and "already exists in network side" in r.stderr, r.stderr
        # off the default bridge: side's NIC becomes eth0 and carries the default route
        assert docker(vch, "network", "disconnect", "bridge", "multi").returncode == 0
        r = docker(vch, "start", "-a", "multi")
        assert "eth0    inet 10.251.16." in r.stdout and "eth1" not in r.stdout, r.stdout
        r = docker(vch, "network", "disconnect", "bridge", "multi")
        assert r.returncode != 0 and "not connected to network bridge" in r.stderr, r.stderr
    finally:
        docker(vch, "rm", "-f", "multi")
        docker(vch, "network", "rm", "side")


def guest_addrs(vch, name):
    """{ifname: "addr/prefix"} of the running container's IPv4 addresses (ip -o -4 addr)."""
    r = docker(vch, "exec", name, "ip", "-o", "-4", "addr")
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if f[1] != "lo":
            out[f[1]] = f[3]
    return out


def test_connect_and_disconnect_a_running_container(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    # named to sort before bridge: NICs follow the order they were added in, not the names.
    # Subnets no other test here uses: a removed network's host adapter may keep its gateway
    # address until its segment is swept
    assert docker(vch, "network", "create", "--subnet", "10.251.240.0/24", "aaa-hot").returncode == 0
    assert docker(vch, "network", "create", "--subnet", "10.251.241.0/24", "zzz-side").returncode == 0
    try:
        r = docker(vch, "run", "-d", "--name", "peer", "--network", "aaa-hot", image, "sleep", "600")
        assert r.returncode == 0, r.stderr
        r = docker(vch, "run", "-d", "--name", "live", image, "sleep", "600")
        assert r.returncode == 0, r.stderr
        peer_ip = json.loads(docker(vch, "inspect", "peer").stdout)[0][
            "NetworkSettings"]["Networks"]["aaa-hot"]["IPAddress"]
        assert list(guest_addrs(vch, "live")) == ["eth0"]

        # connect: a NIC appears in the running guest, configured, and reachable by alias
        # (the name server answered a moment ago: it must not answer from what it saw then)
        docker(vch, "exec", "peer", "nslookup", "lv")
        r = docker(vch, "network", "connect", "--alias", "lv", "aaa-hot", "live")
        assert r.returncode == 0, r.stderr
        nets = json.loads(docker(vch, "inspect", "live").stdout)[0]["NetworkSettings"]["Networks"]
        assert sorted(nets) == ["aaa-hot", "bridge"] and nets["aaa-hot"]["Aliases"] == ["lv"], nets
        hot_ip = nets["aaa-hot"]["IPAddress"]
        assert hot_ip.startswith("10.251.240."), nets
        addrs = guest_addrs(vch, "live")
        assert addrs["eth1"] == hot_ip + "/24", addrs
        r = docker(vch, "exec", "live", "ping", "-c", "1", "-W", "5", peer_ip)
        assert r.returncode == 0, r.stdout + r.stderr
        r = docker(vch, "exec", "peer", "ping", "-c", "1", "-W", "5", "lv")
        assert r.returncode == 0 and hot_ip in r.stdout, r.stdout + r.stderr
        r = docker(vch, "network", "connect", "aaa-hot", "live")
        assert r.returncode != 0 and "already exists in network aaa-hot" in r.stderr, r.stderr
        # a third, and away again: every NIC keeps its network and place (the configuration
        # lists networks by name; bridge stays eth0 with the default route)
        bridge_ip = nets["bridge"]["IPAddress"]
        assert docker(vch, "network", "connect", "zzz-side", "live").returncode == 0
        addrs = guest_addrs(vch, "live")
        assert addrs["eth0"].startswith(bridge_ip + "/") and addrs["eth1"] == hot_ip + "/24" \
            and addrs["eth2"].startswith("10.251.241."), addrs
        assert docker(vch, "exec", "live", "ping", "-c", "1", "-W", "5", peer_ip).returncode == 0
        assert docker(vch, "network", "disconnect", "zzz-side", "live").returncode == 0
        addrs = guest_addrs(vch, "live")
        assert sorted(addrs) == ["eth0", "eth1"] and addrs["eth0"].startswith(bridge_ip + "/"), \
            addrs
        r = docker(vch, "exec", "live", "ip", "route")
        assert "default via %s dev eth0" % nets["bridge"]["Gateway"] in r.stdout, r.stdout
        assert docker(vch, "exec", "live", "ping", "-c", "1", "-W", "5", peer_ip).returncode == 0
        # the session never noticed; a signal of the same number still reaches it
        assert docker(vch, "inspect", "-f", "{{.State.Running}}", "live").stdout.strip() == "true"

        # disconnect: the NIC leaves the running guest
        r = docker(vch, "network", "disconnect", "aaa-hot", "live")
        assert r.returncode == 0, r.stderr
        nets = json.loads(docker(vch, "inspect", "live").stdout)[0]["NetworkSettings"]["Networks"]
        assert list(nets) == ["bridge"], nets
        assert list(guest_addrs(vch, "live")) == ["eth0"]
        r = docker(vch, "exec", "live", "ping", "-c", "1", "-W", "1", peer_ip)
        assert r.returncode != 0, r.stdout

        # off the default network while running: aaa-hot's NIC becomes eth0 with the default route
        assert docker(vch, "network", "connect", "aaa-hot", "live").returncode == 0
        assert docker(vch, "network", "disconnect", "bridge", "live").returncode == 0
        addrs = guest_addrs(vch, "live")
        assert list(addrs) == ["eth0"] and addrs["eth0"].startswith("10.251.240."), addrs
        r = docker(vch, "exec", "live", "ip", "route")
        assert "default via 10.251.240.1 dev eth0" in r.stdout, r.stdout
        assert docker(vch, "exec", "live", "ping", "-c", "1", "-W", "5", peer_ip).returncode == 0

        # the change survives a restart
        hot_ip = json.loads(docker(vch, "inspect", "live").stdout)[0][
            "NetworkSettings"]["Networks"]["aaa-hot"]["IPAddress"]
        assert docker(vch, "restart", "-t", "1", "live").returncode == 0
        nets = json.loads(docker(vch, "inspect", "live").stdout)[0]["NetworkSettings"]["Networks"]
        assert list(nets) == ["aaa-hot"] and nets["aaa-hot"]["IPAddress"] == hot_ip, nets
        assert guest_addrs(vch, "live") == {"eth0": hot_ip + "/24"}
        assert docker(vch, "exec", "live", "ping", "-c", "1", "-W", "5", peer_ip).returncode == 0
        r = docker(vch, "network", "disconnect", "bridge", "live")
        assert r.returncode != 0 and "not connected to network bridge" in r.stderr, r.stderr
        # each change returned once the guest had configured it, never on the wait's deadline
        assert "nics_not_applied" not in vch["pl_log"].read_text()
    finally:
        docker(vch, "rm", "-f", "live", "peer")
        docker(vch, "network", "rm", "aaa-hot", "zzz-side")


def test_top_lists_the_guests_processes(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "run", "-d", "--name", "topped", "-u", "1000", image, "sh", "-c",
               "sleep 633 & sleep 634")
    assert r.returncode == 0, r.stderr
    try:
        r = docker(vch, "top", "topped")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        rows = [l.split(None, 7) for l in lines[1:]]
        cmds = {row[7]: row for row in rows}
        # the guest's own view: PID 1 is the tether, the session's processes are its
        # descendants, and they run as the guest's uid 1000, not the host's shifted one
        assert any(row[1] == "1" for row in rows), rows
        assert "sleep 633" in cmds and "sleep 634" in cmds, rows
        assert cmds["sleep 633"][0] == "1000", cmds["sleep 633"]
        assert int(cmds["sleep 633"][1]) < 1000, cmds["sleep 633"]
        r = docker(vch, "top", "topped", "aux")
        assert r.returncode != 0 and "ps options (aux) are not supported" in r.stderr, r.stderr
        assert docker(vch, "stop", "-t", "1", "topped").returncode == 0
        r = docker(vch, "top", "topped")
        assert r.returncode != 0 and "is not running" in r.stderr, r.stderr
    finally:
        docker(vch, "rm", "-f", "topped")


def test_kill_with_a_signal_reaches_the_process(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "run", "-d", "--name", "sig", image, "sh", "-c",
               "trap 'echo got HUP; exit 3' HUP; echo ready; while true; do sleep 1; done")
    assert r.returncode == 0, r.stderr
    try:
        for _ in range(50):
            if "ready" in docker(vch, "logs", "sig").stdout:
                break
            time.sleep(0.1)
        r = docker(vch, "kill", "-s", "HUP", "sig")
        assert r.returncode == 0, r.stderr
        w = docker(vch, "wait", "sig")
        assert w.stdout.strip() == "3", w.stdout + w.stderr
        assert "got HUP" in docker(vch, "logs", "sig").stdout
        r = docker(vch, "kill", "-s", "HUP", "sig")
        assert r.returncode != 0 and "is not running" in r.stderr, r.stderr
        assert docker(vch, "start", "sig").returncode == 0
        r = docker(vch, "kill", "-s", "STOP", "sig")
        assert r.returncode != 0 and "use docker pause" in r.stderr, r.stderr
        r = docker(vch, "kill", "-s", "NOSUCH", "sig")
        assert r.returncode != 0 and "is not a signal" in r.stderr, r.stderr
    finally:
        docker(vch, "rm", "-f", "sig")


def test_dns_answers_only_well_formed_queries(vch, registry):
    """Bad datagrams to the name server (from a container) get FORMERR or nothing, and it
    still answers afterwards."""
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "run", "-d", "--name", "named", image, "sleep", "60")
    assert r.returncode == 0, r.stderr
    try:
        # busybox nc sends junk to the gateway's port 53; then a real lookup still works
        r = docker(vch, "run", "--rm", image, "sh", "-c",
                   "head -c 600 /dev/urandom > /tmp/j && nc -u -w 1 10.251.0.1 53 < /tmp/j; "
                   "printf abc > /tmp/k && nc -u -w 1 10.251.0.1 53 < /tmp/k; nslookup named")
        answer = r.stdout.split("Name:")[-1]
        assert r.returncode == 0 and "named" in answer and "Address: 10.251.0." in answer, \
            r.stdout + r.stderr
    finally:
        docker(vch, "rm", "-f", "named")


# ---- docker cp ----

def test_cp_host_file_into_a_created_container(vch, registry, tmp_path):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    src = tmp_path / "greeting"
    src.write_text("hello from the host\n")
    r = docker(vch, "create", "--name", "cp-new", image, "sh", "-c",
               "cat /greeting /etc/more/greeting && stat -c '%u:%g %a' /greeting")
    assert r.returncode == 0, r.stderr
    try:
        r = docker(vch, "cp", str(src), "cp-new:/greeting")
        assert r.returncode == 0, r.stderr
        # into a directory, by its name with a trailing slash
        assert docker(vch, "cp", str(src), "cp-new:/etc/").returncode == 0
        r = docker(vch, "cp", str(src), "cp-new:/etc/more/")
        assert r.returncode != 0 and "no such directory" in r.stderr, r.stderr
        more = tmp_path / "more"
        more.mkdir()
        shutil.copy(src, more / "greeting")
        assert docker(vch, "cp", str(more), "cp-new:/etc/").returncode == 0
        r = docker(vch, "start", "-a", "cp-new")
        assert r.returncode == 0, r.stderr
        assert r.stdout == "hello from the host\nhello from the host\n0:0 644\n", r.stdout
        # and back out of the exited container
        out = tmp_path / "back"
        assert docker(vch, "cp", "cp-new:/greeting", str(out)).returncode == 0
        assert out.read_text() == "hello from the host\n"
    finally:
        docker(vch, "rm", "-f", "cp-new")


def wait_for_path(vch, container, path, tries=100):
    for _ in range(tries):
        r = requests.head(vch["url"] + "/v1.41/containers/%s/archive" % container,
                          params={"path": path}, timeout=10)
        if r.status_code == 200:
            return r
        time.sleep(0.1)
    raise AssertionError("%s never appeared in %s" % (path, container))


def test_cp_from_and_into_a_running_container(vch, registry, tmp_path):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    r = docker(vch, "run", "-d", "--name", "cp-live", image, "sh", "-c",
               "mkdir -p /d/sub && echo deep > /d/sub/y && ln -s sub/y /d/link && "
               "echo live > /tmp/out && sleep 600")
    assert r.returncode == 0, r.stderr
    try:
        head = wait_for_path(vch, "cp-live", "/tmp/out")
        import base64
        st = json.loads(base64.b64decode(head.headers["X-Docker-Container-Path-Stat"]))
        assert (st["name"], st["size"], st["mode"], st["linkTarget"]) == ("out", 5, 0o644, "")
        wait_for_path(vch, "cp-live", "/d/link")
        r = docker(vch, "cp", "cp-live:/tmp/out", str(tmp_path / "out"))
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "out").read_text() == "live\n"
        # a directory out, symlinks kept as symlinks
        r = docker(vch, "cp", "cp-live:/d", str(tmp_path / "d"))
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "d" / "sub" / "y").read_text() == "deep\n"
        assert os.readlink(tmp_path / "d" / "link") == "sub/y"
        # a directory in: the running container sees it at once
        src = tmp_path / "tree"
        (src / "a" / "b").mkdir(parents=True)
        (src / "a" / "b" / "c").write_text("in\n")
        r = docker(vch, "cp", str(src), "cp-live:/newdir")
        assert r.returncode == 0, r.stderr
        r = docker(vch, "exec", "cp-live", "cat", "/newdir/a/b/c")
        assert (r.returncode, r.stdout) == (0, "in\n"), r.stdout + r.stderr
        # the contents of a directory with /.
        r = docker(vch, "cp", str(src) + "/.", "cp-live:/d")
        assert r.returncode == 0, r.stderr
        r = docker(vch, "exec", "cp-live", "cat", "/d/a/b/c", "/d/sub/y")
        assert (r.returncode, r.stdout) == (0, "in\ndeep\n"), r.stdout + r.stderr
    finally:
        docker(vch, "rm", "-f", "cp-live")


def test_cp_into_a_volume_mount(vch, registry, tmp_path):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    src = tmp_path / "f"
    src.write_text("on the volume\n")
    r = docker(vch, "create", "--name", "cp-vol", "-v", "cpvol:/data", "-v", "cpvol:/ro:ro",
               image, "cat", "/data/f")
    assert r.returncode == 0, r.stderr
    try:
        r = docker(vch, "cp", str(src), "cp-vol:/data/f")
        assert r.returncode == 0, r.stderr
        r = docker(vch, "cp", str(src), "cp-vol:/ro/g")
        assert r.returncode != 0 and "read-only" in r.stderr, r.stderr
        r = docker(vch, "start", "-a", "cp-vol")
        assert (r.returncode, r.stdout) == (0, "on the volume\n"), r.stdout + r.stderr
        # another container finds it on the volume, not on the first one's root disk
        r = docker(vch, "run", "--rm", "-v", "cpvol:/elsewhere", image, "cat", "/elsewhere/f")
        assert (r.returncode, r.stdout) == (0, "on the volume\n"), r.stdout + r.stderr
        r = docker(vch, "cp", "cp-vol:/data/f", str(tmp_path / "back"))
        assert r.returncode == 0 and (tmp_path / "back").read_text() == "on the volume\n"
    finally:
        docker(vch, "rm", "-f", "cp-vol")
        docker(vch, "volume", "rm", "cpvol")


def test_cp_of_a_missing_path_says_so(vch, registry, tmp_path):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    assert docker(vch, "create", "--name", "cp-miss", image, "true").returncode == 0
    try:
        r = docker(vch, "cp", "cp-miss:/no/such/file", str(tmp_path / "x"))
        assert r.returncode != 0
        assert "Could not find the file /no/such/file in container cp-miss" in r.stderr, r.stderr
        r = requests.get(vch["url"] + "/v1.41/containers/cp-miss/archive",
                         params={"path": "/nope"}, timeout=10)
        assert r.status_code == 404 and "Could not find the file /nope" in r.json()["message"]
        r = docker(vch, "cp", "nosuchcontainer:/etc/passwd", str(tmp_path / "x"))
        assert r.returncode != 0 and "No such container" in r.stderr, r.stderr
    finally:
        docker(vch, "rm", "-f", "cp-miss")


def test_cp_through_symlinks_to_outside_lands_inside_the_container(vch, registry, tmp_path):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    outside = tmp_path / "outside"  # a host directory the symlinks name
    outside.mkdir()
    r = docker(vch, "run", "--name", "cp-sym", image, "sh", "-c",
               "mkdir -p %s && ln -s %s /abs && ln -s ../../../../../../..%s /rel && "
               "ln -s /etc /etclink" % (outside, outside, outside))
    assert r.returncode == 0, r.stderr
    src = tmp_path / "planted"
    src.write_text("stays in the container\n")
    try:
        for dest in ("/abs/", "/rel/", "/abs", "/etclink/"):
            r = docker(vch, "cp", str(src), "cp-sym:" + dest)
            assert r.returncode == 0, (dest, r.stderr)
        assert list(outside.iterdir()) == []
        assert not os.path.exists("/etc/planted")
        for path in ("%s/planted" % outside, "/etc/planted"):
            back = tmp_path / "back"
            r = docker(vch, "cp", "cp-sym:" + path, str(back))
            assert r.returncode == 0, r.stderr
            assert back.read_text() == "stays in the container\n"
            back.unlink()
        # the stat of a symlink names its target inside the container
        r = requests.head(vch["url"] + "/v1.41/containers/cp-sym/archive",
                          params={"path": "/rel"}, timeout=10)
        import base64
        st = json.loads(base64.b64decode(r.headers["X-Docker-Container-Path-Stat"]))
        assert st["linkTarget"] == str(outside) and st["mode"] & (1 << 27), st
    finally:
        docker(vch, "rm", "-f", "cp-sym")


def tar_of(entries):
    """A tar from (name, kind, data-or-target) tuples; kind: file, dir, sym, hard."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
                         "hard": tarfile.LNKTYPE}[kind]
            if kind in ("sym", "hard"):
                info.linkname = data
            t.addfile(info)
    return buf.getvalue()


def test_cp_refuses_hostile_archives_and_writes_nothing(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    assert docker(vch, "create", "--name", "cp-bad", image, "true").returncode == 0
    url = vch["url"] + "/v1.41/containers/cp-bad/archive"
    hdr = {"Content-Type": "application/x-tar"}
    try:
        for entries, why in (
                ([("first", "file", b"x"), ("../../escape", "file", b"x")], "leaves"),
                ([("first", "file", b"x"), ("/abs", "file", b"x")], "absolute"),
                ([("first", "file", b"x"), ("pw", "hard", "../../etc/passwd")], "leaves"),
                ([("first", "file", b"x"), ("pw", "hard", "nothere")], "missing")):
            r = requests.put(url, params={"path": "/tmp"}, data=tar_of(entries), headers=hdr,
                             timeout=30)
            assert r.status_code == 400 and why in r.json()["message"], (entries, r.text)
            # checked whole before anything is written
            r = requests.head(url, params={"path": "/tmp/first"}, timeout=10)
            assert r.status_code == 404, entries
        r = requests.put(url, params={"path": "/tmp"}, data=b"not a tar" * 100, headers=hdr,
                         timeout=30)
        assert r.status_code == 400, r.text
        # a symlink entry then a file through it: resolved inside the container
        r = requests.put(url, params={"path": "/"}, headers=hdr, timeout=30, data=tar_of(
            [("out", "sym", "/../../../../tmp"), ("out/through", "file", b"inside\n")]))
        assert r.status_code == 200, r.text
        assert not os.path.exists("/tmp/through")
        r = requests.get(url, params={"path": "/tmp/through"}, timeout=10)
        assert r.status_code == 200 and b"inside\n" in r.content
        r = requests.put(url, params={"path": "/etc/passwd"}, data=tar_of([]), headers=hdr,
                         timeout=30)
        assert r.status_code == 400 and "not a directory" in r.json()["message"], r.text
    finally:
        docker(vch, "rm", "-f", "cp-bad")


# ---- images: tag, history, inspect ----

def registry_digest(registry, repo, tag):
    """The manifest digest the registry serves for repo:tag, and the image's config."""
    accept = "application/vnd.docker.distribution.manifest.v2+json"
    r = requests.get("http://%s/v2/%s/manifests/%s" % (registry, repo, tag),
                     headers={"Accept": accept}, timeout=10)
    r.raise_for_status()
    config_digest = r.json()["config"]["digest"]
    c = requests.get("http://%s/v2/%s/blobs/%s" % (registry, repo, config_digest), timeout=10)
    c.raise_for_status()
    return r.headers["Docker-Content-Digest"], config_digest, c.json()


def test_tag_then_run_by_the_new_name_and_rmi_one_tag(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    other = registry + "/other/box:2"
    for new in ("mybox:v1", other):
        r = docker(vch, "tag", image, new)
        assert r.returncode == 0, r.stderr
    r = docker(vch, "run", "--rm", "mybox:v1", "echo", "tagged")
    assert r.returncode == 0 and r.stdout == "tagged\n", r.stdout + r.stderr
    r = docker(vch, "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
    rows = dict(line.split() for line in r.stdout.splitlines())
    assert rows["mybox:v1"] == rows[image] == rows[other], r.stdout
    # the CLI checks a reference itself; the API says what is wrong the same way
    r = docker(vch, "tag", image, "Bad:x")
    assert r.returncode != 0 and "lowercase" in r.stderr, r.stderr
    url = vch["url"] + "/v1.41/images/%s/tag" % image
    r = requests.post(url, params={"repo": "Bad", "tag": "x"}, timeout=10)
    assert r.status_code == 400 and "lowercase" in r.json()["message"], r.text
    r = requests.post(url, params={"repo": "mybox", "tag": "-x"}, timeout=10)
    assert r.status_code == 400 and "tag" in r.json()["message"], r.text
    r = requests.post(url, params={"repo": "mybox@sha256:" + "0" * 64}, timeout=10)
    assert r.status_code == 400 and "digest" in r.json()["message"], r.text
    r = requests.post(url, params={"repo": "0123456789abcdef" * 4}, timeout=10)
    assert r.status_code == 400 and "64-byte hexadecimal" in r.json()["message"], r.text
    r = requests.post(vch["url"] + "/v1.41/images/nope:1/tag", params={"repo": "x"}, timeout=10)
    assert r.status_code == 404 and "No such image: nope:1" in r.json()["message"], r.text
    # rmi of one tag: only that tag goes, the image stays for the others
    r = docker(vch, "rmi", "mybox:v1")
    assert r.returncode == 0 and "Untagged: mybox:v1" in r.stdout, r.stdout + r.stderr
    assert "Deleted" not in r.stdout, r.stdout
    r = docker(vch, "image", "inspect", "mybox:v1")
    assert r.returncode != 0 and "No such image" in r.stderr, r.stderr
    r = docker(vch, "image", "inspect", "--format", "{{.RepoTags}}", other)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.strip("[]\n").split()) == sorted([image, other]), r.stdout
    r = docker(vch, "rmi", other)
    assert r.returncode == 0 and "Deleted" not in r.stdout, r.stdout + r.stderr


def test_image_inspect_fields(vch, registry):
    image = registry + "/busybox:latest"
    assert docker(vch, "pull", image).returncode == 0
    digest, config_digest, config = registry_digest(registry, "busybox", "latest")
    r = docker(vch, "image", "inspect", image)
    assert r.returncode == 0, r.stderr
    (img,) = json.loads(r.stdout)
    assert img["Id"] == config_digest
    assert img["RepoTags"] == [image]
    assert img["RepoDigests"] == [registry + "/busybox@" + digest]
    assert img["Config"]["Cmd"] == ["sh"]
    assert img["Config"]["WorkingDir"] == "/"
    assert img["Config"]["ExposedPorts"] == {"80/tcp": {}}
    assert img["Config"]["Labels"] == {"org.vic-c.fixture": "busybox"}
    assert img["RootFS"] == {"Type": "layers", "Layers": config["rootfs"]["diff_ids"]}
    assert img["Architecture"] == config["architecture"] and img["Os"] == "linux"
    assert img["Created"] == "2000-01-01T00:00:00Z" and img["Size"] > 0
    # by id prefix, and through plain docker inspect (no container of that name)
    r = docker(vch, "inspect", "--format", "{{.Id}} {{index .RepoTags 0}}", config_digest[7:19])
    assert r.returncode == 0 and r.stdout.split() == [config_digest, image], r.stdout + r.stderr
    r = docker(vch, "image", "inspect", registry + "/busybox:nope")
    assert r.returncode != 0 and "No such image" in r.stderr, r.stderr


def test_history_lists_the_layers(vch, registry):
    image = registry + "/five:latest"
    r = docker(vch, "pull", image)
    assert r.returncode == 0, r.stdout + r.stderr
    _, config_digest, config = registry_digest(registry, "five", "latest")
    r = docker(vch, "history", "--no-trunc", "--format",
               "{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}", image)
    assert r.returncode == 0, r.stderr
    rows = [line.split("|") for line in r.stdout.splitlines()]
    assert len(rows) == 6, r.stdout
    assert rows[0] == [config_digest, '/bin/sh -c #(nop)  CMD ["sh"]', "0B", ""], rows[0]
    for i, row in enumerate(rows[1:5]):
        n = 4 - i
        assert row == ["<missing>", "/bin/sh -c #(nop) ADD fill%d /opt/fill%d" % (n, n),
                       "4.19MB", ""], row
    assert rows[5][0] == "<missing>" and rows[5][3] == "busybox-static", rows[5]
    assert rows[5][1] == "/bin/sh -c #(nop) ADD file:busybox in /", rows[5]
    # the API's own figures: newest first, unpacked sizes, times as Unix seconds
    h = requests.get(vch["url"] + "/v1.41/images/%s/history" % image, timeout=10).json()
    assert [e["Size"] for e in h[:5]] == [0] + [4194304] * 4, h
    assert h[0]["Tags"] == [image] and h[1]["Tags"] is None, h
    assert h[0]["Created"] == 946684800 + 4 * 86400 and h[5]["Created"] == 946684800, h
    assert [e["CreatedBy"] for e in h[::-1]] == [x["created_by"] for x in config["history"]]
    r = docker(vch, "history", registry + "/five:nope")
    assert r.returncode != 0 and "No such image" in r.stderr, r.stderr


def test_tags_survive_a_port_layer_restart(tmp_path, registry):
    if os.geteuid() != 0 or not os.access(DOCKER, os.X_OK):
        pytest.skip("needs root and a docker CLI")
    token = tmp_path / "token"
    token.write_text("integration-port-layer-token-0123\n")
    token.chmod(0o600)

    def start():
        pl_port, de_port = free_port(), free_port()
        pl_log, de_log = tmp_path / "pl.log", tmp_path / "de.log"
        pl = subprocess.Popen(
            [str(BIN_DIR / "port-layer-server"), "--home", str(tmp_path / "home"), "--bin-dir",
             str(BIN_DIR), "--token-file", str(token), "--listen", "127.0.0.1:%d" % pl_port],
            stdout=pl_log.open("a"), stderr=subprocess.STDOUT)
        wait_port(pl_port, pl, pl_log)
        de = subprocess.Popen(
            [str(BIN_DIR / "docker-engine-server"), "--port-layer",
             "http://127.0.0.1:%d" % pl_port, "--token-file", str(token), "--listen",
             "127.0.0.1:%d" % de_port],
            stdout=de_log.open("a"), stderr=subprocess.STDOUT)
        wait_port(de_port, de, de_log)
        return (pl, pl_log, de, de_log), {"host": "tcp://127.0.0.1:%d" % de_port,
                                          "tmp": tmp_path}

    def halt(procs):
        pl, pl_log, de, de_log = procs
        stop(de, de_log)
        stop(pl, pl_log)

    procs, vch = start()
    try:
        image = registry + "/busybox:latest"
        assert docker(vch, "pull", image).returncode == 0
        assert docker(vch, "tag", image, "kept:1").returncode == 0
    finally:
        halt(procs)
    procs, vch = start()
    try:
        r = docker(vch, "images", "--format", "{{.Repository}}:{{.Tag}}")
        assert sorted(r.stdout.split()) == sorted([image, "kept:1"]), r.stdout
        r = docker(vch, "run", "--rm", "kept:1", "echo", "still here")
        assert r.stdout == "still here\n", r.stdout + r.stderr
    finally:
        halt(procs)
