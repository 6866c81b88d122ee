"""Process lifecycle: plain HTTP mode, first start and restart, the home lock, refusing bad
databases, command-line errors and draining on SIGTERM."""

import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import stat
import subprocess
import time

import pytest
import requests

from conftest import (BINARY, Server, basic, module_server, parse_set_cookie,
                      read_http_response)

GENERATED_PW_RE = re.compile(r"user admin, password (\S+)")
TLS_FILES = ["ca.pem", "ca-key.pem", "server-cert.pem", "server-key.pem"]


def run_binary(*args, env_extra=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if k not in ("VIC_ADMIN_PASSWORD", "VIC_HOME")}
    env.update(env_extra or {})
    return subprocess.run([str(BINARY)] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, env=env)


def start_failing(server):
    """Starts a server that is expected to refuse to run; returns (exit code, stderr)."""
    server.start(wait=False)
    rc = server.wait_serving_or_exit()
    if rc is None:
        server.stop(check=False)
        pytest.fail("%s started although it should have refused:\n%s"
                    % (server.name, server.stdout))
    return rc, server.stderr()


def login(s, srv, password):
    return s.post(srv.url("/container/login"), json={"username": "admin", "password": password},
                  timeout=30)


# ---- plain HTTP ----

@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_no_tls_serves_plain_http(make_server):
    srv = make_server(tls=False)
    assert srv.url("/").startswith("http://")
    with srv.session() as s:
        r = s.get(srv.url("/container/version"))
        assert r.status_code == 200 and r.text.startswith("v")
        assert "Strict-Transport-Security" not in r.headers
        r = login(s, srv, srv.password)
        assert r.status_code == 200, r.text
        name, token, attrs = parse_set_cookie(r.headers["Set-Cookie"])
        assert name == "vic_session" and token
        assert "secure" not in attrs, r.headers["Set-Cookie"]
        assert attrs.get("httponly") is True and str(attrs.get("samesite")).lower() == "strict"
        r = s.get(srv.url("/container/session"), headers={"Cookie": "vic_session=" + token})
        assert r.status_code == 200
    # Speaking TLS to it fails rather than being served.
    with srv.session() as s, pytest.raises(requests.exceptions.SSLError):
        s.get("https://127.0.0.1:%d/container/version" % srv.port, verify=False, timeout=10)


# ---- first start, restart ----

def test_generated_password_and_restart(make_server, tmp_path):
    home = tmp_path / "home"
    srv = make_server(home=home, password=None)
    m = GENERATED_PW_RE.search(srv.stdout)
    assert m, "no generated password on stdout:\n" + srv.stdout
    password = m.group(1)
    assert len(password) >= 12, password
    with srv.session(auth=basic("admin", password)) as s:
        assert s.get(srv.url("/container/session")).status_code == 200
    srv.stop()

    tls = {f: (home / "tls" / f).read_bytes() for f in TLS_FILES}
    for f in ["server-key.pem", "ca-key.pem"]:
        mode = stat.S_IMODE((home / "tls" / f).stat().st_mode)
        assert mode == 0o600, "%s has mode %o" % (f, mode)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    db_files = sorted(home.glob("vic.db*"))
    assert home / "vic.db" in db_files
    for f in db_files:
        assert password.encode() not in f.read_bytes(), "%s holds the password" % f.name

    # Restart on the same home: no new password, the old one works, same certificates.
    srv.start()
    assert not GENERATED_PW_RE.search(srv.stdout), srv.stdout
    assert password not in srv.stdout
    with srv.session(auth=basic("admin", password)) as s:
        assert s.get(srv.url("/container/session")).status_code == 200
    with srv.session() as s:
        r = login(s, srv, password)
        assert r.status_code == 200, r.text
    srv.stop()
    for f in TLS_FILES:
        assert (home / "tls" / f).read_bytes() == tls[f], "%s changed on restart" % f
    for f in sorted(home.glob("vic.db*")):
        assert password.encode() not in f.read_bytes(), "%s holds the password" % f.name


def test_short_admin_password_env_is_refused(tmp_path):
    srv = Server(tmp_path / "home", password="short", name="shortpw")
    rc, stderr = start_failing(srv)
    assert rc != 0
    assert "VIC_ADMIN_PASSWORD" in stderr, stderr


def test_failed_first_start_does_not_lose_the_generated_password(make_server, tmp_path):
    """If the first start fails after the admin account was created (here: the port is
    taken), the password it generated must not be lost: the next start has to show one."""
    home = tmp_path / "home"
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    try:
        port = blocker.getsockname()[1]
        srv = Server(home, password=None, name="blocked",
                     args=["--listen", "127.0.0.1:%d" % port])
        rc, stderr = start_failing(srv)
    finally:
        blocker.close()
    assert rc != 0, "started although port %d was taken:\n%s" % (port, srv.stdout)
    assert "listen" in stderr, stderr

    srv = make_server(home=home, password=None)
    m = GENERATED_PW_RE.search(srv.stdout)
    assert m, ("first successful start shows no password, and the failed start never "
               "showed one: the admin account is unusable\nstdout:\n%s" % srv.stdout)
    with srv.session(auth=basic("admin", m.group(1))) as s:
        assert s.get(srv.url("/container/session")).status_code == 200


# ---- one home, one port ----

@pytest.fixture(scope="module")
def first(request, tmp_path_factory):
    return module_server(request, tmp_path_factory, "first")


def test_second_server_on_same_home_is_refused(first):
    second = Server(first.home, name="second")
    rc, stderr = start_failing(second)
    assert rc != 0
    assert "in use" in stderr, stderr
    assert str(first.proc.pid) in stderr, stderr
    with first.session() as s:
        assert s.get(first.url("/container/version")).status_code == 200


def test_second_server_on_same_port_is_refused(first, tmp_path):
    second = Server(tmp_path / "other-home", name="same-port",
                    args=["--listen", "127.0.0.1:%d" % first.port])
    second.start(wait=False)
    rc = second.wait_serving_or_exit()
    if rc is None:
        second.stop(check=False)
        pytest.fail("a second vic-webservice (other home) also listens on port %d; the kernel "
                    "now splits connections between the two\nstdout:\n%s"
                    % (first.port, second.stdout))
    assert rc != 0
    assert "listen" in second.stderr(), second.stderr()
    with first.session() as s:
        assert s.get(first.url("/container/version")).status_code == 200


# ---- databases it must refuse, untouched ----

def test_corrupt_database_is_refused_and_left_alone(tmp_path):
    import random
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "vic.db"
    data = random.Random(1234).randbytes(4096)
    db.write_bytes(data)
    rc, stderr = start_failing(Server(home, name="corrupt"))
    assert rc != 0
    assert re.search(r"refused|corrupt|not a", stderr), stderr
    assert db.read_bytes() == data, "the corrupt database was modified"
    assert not (home / "vic.db-wal").exists() or (home / "vic.db-wal").stat().st_size == 0


def test_newer_schema_is_refused_and_left_alone(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "vic.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = %d" % 0x56494343)
    con.execute("PRAGMA user_version = 99")
    con.execute("CREATE TABLE future_things (id INTEGER PRIMARY KEY, what TEXT)")
    con.execute("INSERT INTO future_things(what) VALUES ('from the future')")
    con.commit()
    con.close()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x56494343
    con.close()
    data = db.read_bytes()
    rc, stderr = start_failing(Server(home, name="newer"))
    assert rc != 0
    assert "newer" in stderr, stderr
    assert db.read_bytes() == data, "the newer database was modified"


def test_foreign_sqlite_database_is_refused(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "vic.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 3")
    con.execute("CREATE TABLE users (x)")
    con.commit()
    con.close()
    data = db.read_bytes()
    rc, stderr = start_failing(Server(home, name="foreign"))
    assert rc != 0
    assert "not a VIC-C database" in stderr, stderr
    assert db.read_bytes() == data


# ---- command line ----

@pytest.mark.parametrize("args,needle", [
    (["--max-body", "abc"], "--max-body"),
    (["--max-body", "0"], "--max-body"),
    (["--max-body", "-1"], "--max-body"),
    (["--threads", "100000"], "--threads"),
    (["--log-level", "loud"], "--log-level"),
    (["--no-such-option"], "Usage"),
    (["stray-argument"], "stray-argument"),
])
def test_bad_command_line_exits_2(tmp_path, args, needle):
    r = run_binary("--home", str(tmp_path / "home"), *args, timeout=30)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert needle in r.stderr, r.stderr
    assert not (tmp_path / "home").exists(), "state created despite a usage error"


def test_bad_listen_address_is_refused(tmp_path):
    r = run_binary("--home", str(tmp_path / "home"), "--listen", "nonsense",
                   env_extra={"VIC_ADMIN_PASSWORD": "whatever-password"})
    assert r.returncode != 0
    assert "nonsense" in r.stderr, r.stderr
    assert "serving" not in r.stdout


def test_help(tmp_path):
    r = run_binary("--help", timeout=30)
    assert r.returncode == 0, r.stderr
    assert "--listen" in r.stdout and "--home" in r.stdout
    r = run_binary("--version", timeout=30)
    assert r.returncode == 0 and re.search(r"\bv\d", r.stdout), r.stdout


# ---- SIGTERM ----

def half_sent_login(srv, password):
    """Opens a TLS connection and sends a login request with a 60-byte body, of which only
    the first 30 bytes; returns (socket, rest of the body)."""
    body = json.dumps({"username": "admin", "password": password}).encode()
    body = body[:-1] + b" " * (60 - len(body)) + b"}"
    assert len(body) == 60
    sock = srv.raw_connect()
    sock.sendall(b"POST /container/login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 60\r\n\r\n"
                 % srv.port + body[:30])
    wait_bytes_read(sock, srv)
    return sock, body[30:]


def _proc_tcp():
    """{(local, remote): (state, tx_queue, rx_queue)} of this network namespace's IPv4 TCP
    sockets, addresses as /proc/net/tcp writes them."""
    rows = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            p = line.split()
            tx, rx = (int(x, 16) for x in p[4].split(":"))
            rows[(p[1], p[2])] = (p[3], tx, rx)
    return rows


def _tcp_addr(addr):
    """("127.0.0.1", 443) as /proc/net/tcp writes it: "0100007F:01BB"."""
    return "%08X:%04X" % (int.from_bytes(socket.inet_aton(addr[0]), "little"), addr[1])


def wait_bytes_read(sock, srv, timeout=10):
    """Waits until the server has read everything sent on sock: the kernel holds nothing
    unacknowledged on the client's side and nothing unread on the server's, and no thread
    of the server is running (the bytes read are dealt with)."""
    me, peer = _tcp_addr(sock.getsockname()), _tcp_addr(sock.getpeername())
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        rows = _proc_tcp()
        client, server = rows.get((me, peer)), rows.get((peer, me))
        busy = [t for t in os.listdir("/proc/%d/task" % srv.proc.pid)
                if _thread_state(srv.proc.pid, t) == "R"]
        last = (client, server, busy)
        if client and server and client[1] == 0 and server[2] == 0 and not busy:
            return
        time.sleep(0.01)
    raise AssertionError("the server did not read the request within %d s "
                         "(client, server socket, running threads): %r" % (timeout, last))


def _thread_state(pid, tid):
    try:
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            return f.read().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return None


def wait_not_listening(port, timeout=5):
    """Waits until nothing listens on 127.0.0.1:port (a draining server stops listening)."""
    addr = _tcp_addr(("127.0.0.1", port))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(local == addr and state == "0A"
                   for (local, _), (state, _, _) in _proc_tcp().items()):
            return True
        time.sleep(0.01)
    return False


def try_new_connection(srv):
    """None if a new connection is refused or closed at once (or told 503); otherwise what
    happened to it."""
    t0 = time.monotonic()
    try:
        c = srv.raw_connect(timeout=2)
        try:
            c.sendall(b"GET /container/version HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, _ = read_http_response(c, timeout=2)
            return None if status >= 500 else "served (status %d)" % status
        finally:
            c.close()
    except (ConnectionRefusedError, ConnectionResetError, EOFError, ssl.SSLEOFError):
        return None
    except (socket.timeout, TimeoutError) as e:
        return ("accepted by the kernel and left hanging for %.1f s (%r)"
                % (time.monotonic() - t0, e))


@pytest.fixture(scope="module")
def drained(request, tmp_path_factory):
    """One SIGTERM scenario, asserted on by the tests below: a login request is half sent,
    SIGTERM arrives, once the server stopped listening (within 5 s) a new client tries to
    connect, then the rest of the body is sent and the response read; finally the server's
    exit."""
    srv = Server(tmp_path_factory.mktemp("drain") / "home", name="drain")
    srv.start()
    request.addfinalizer(srv.kill)
    out = {"server": srv}
    sock, rest = half_sent_login(srv, srv.password)
    try:
        srv.signal(signal.SIGTERM)
        out["stopped_listening"] = wait_not_listening(srv.port)
        out["running_after_signal"] = srv.running
        out["new_connection"] = try_new_connection(srv)
        try:
            sock.sendall(rest)
            out["response"] = read_http_response(sock, timeout=15)
        except (OSError, EOFError) as e:
            out["response"] = e
    finally:
        sock.close()
    out["exit_code"] = srv.wait_exit()
    try:
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
        out["after_exit"] = "connected"
    except ConnectionRefusedError:
        out["after_exit"] = "refused"
    return out


def test_sigterm_drains_in_flight_request(drained):
    srv = drained["server"]
    srv.touched = True
    assert drained["running_after_signal"], "exited with a request in flight"
    resp = drained["response"]
    assert isinstance(resp, tuple), "no response to the in-flight request: %r" % (resp,)
    status, headers, body = resp
    assert status == 200, (status, body)
    assert json.loads(body)["user"] == "admin"
    srv.assert_clean_exit(drained["exit_code"])


def test_new_connection_during_drain_is_refused(drained):
    drained["server"].touched = True
    assert drained["stopped_listening"], "still listening 5 s into the drain"
    assert drained["new_connection"] is None, (
        "a new connection made during the drain was " + drained["new_connection"])


def test_connection_after_exit_is_refused(drained):
    drained["server"].touched = True
    assert drained["after_exit"] == "refused"


def test_sigint_stops_cleanly_and_keeps_no_clear_password(make_server):
    srv = make_server()
    assert not GENERATED_PW_RE.search(srv.stdout), "a password was generated despite the env"
    assert srv.password not in srv.stdout
    with srv.admin_session() as s:
        assert s.get(srv.url("/container/session")).status_code == 200
    srv.signal(signal.SIGINT)
    srv.assert_clean_exit(srv.wait_exit())
    for f in sorted(srv.home.glob("vic.db*")):
        assert srv.password.encode() not in f.read_bytes(), "%s holds the password" % f.name
    assert srv.password not in srv.stderr()
