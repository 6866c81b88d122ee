"""The host and its logs against another local user and a hostile client (review findings
4, 9 and 10).
"""

import os
import re
import stat
import subprocess
import time

from vic_integration_conftest import basic, vic_machine


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def as_nobody(*argv):
    """Runs argv as another local user (nobody), as the review did."""
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           *argv], capture_output=True, text=True, timeout=30)


def test_state_is_private_to_the_service(make_server, tmp_path):
    """Finding 4: `make run` left the home at 0755 and the databases at 0644: any local
    user read vic.db (password hashes, session CSRF tokens)."""
    home = tmp_path / "var"
    home.mkdir(mode=0o755)           # as `mkdir -p var` in make run leaves it
    os.chmod(home, 0o755)
    s = make_server(home=home)
    assert mode(home) == 0o700
    assert "event=home_tightened" in s.stderr()
    db = home / "vic.db"
    assert mode(db) == 0o600
    for j in ("vic.db-wal", "vic.db-shm"):
        if (home / j).exists():
            assert mode(home / j) == 0o600, j
    r = as_nobody("cat", str(db))
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    s.stop()
    # a home and a database an earlier version left open are closed at every start
    os.chmod(home, 0o755)
    os.chmod(db, 0o644)
    s.start()
    assert mode(home) == 0o700 and mode(db) == 0o600
    assert as_nobody("ls", str(home)).returncode != 0


def test_vic_machine_home_is_private(tmp_path):
    home = tmp_path / "vm-home"
    home.mkdir()
    os.chmod(home, 0o755)
    r = vic_machine(home, "ls", "--json")
    assert r.returncode == 0, r.stderr
    assert mode(home) == 0o700
    assert mode(home / "vch-tasks.db") == 0o600
    assert as_nobody("ls", str(home / "datastore1")).returncode != 0


def parse_logfmt(line):
    """key=value pairs of one logfmt line, values unquoted and unescaped."""
    fields = {}
    for m in re.finditer(r'(\w+)=("((?:[^"\\]|\\.)*)"|\S*)', line):
        if m.group(3) is not None:
            v = re.sub(r'\\u([0-9a-f]{4})', lambda x: chr(int(x.group(1), 16)), m.group(3))
            v = re.sub(r'\\(.)', lambda x: {"n": "\n", "r": "\r", "t": "\t"}.get(x.group(1),
                                                                               x.group(1)), v)
        else:
            v = m.group(2)
        fields.setdefault(m.group(1), []).append(v)
    return fields


def test_login_user_name_cannot_forge_log_fields(srv):
    """Finding 9: a user name with a quote and ESC forged fields in the log line and
    reached the operator's terminal as an escape sequence."""
    forged = 'x" event=login_ok user="admin\x1b[2J\\'
    with srv.session() as s:
        r = s.post(srv.url("/container/login"), json={"username": forged, "password": "nope"})
        assert r.status_code == 401
    text = srv.stderr()
    assert "\x1b" not in text
    lines = [ln for ln in text.splitlines() if "event=login_failed" in ln and "login_ok" in ln]
    assert len(lines) == 1, lines
    fields = parse_logfmt(lines[0])
    assert fields["event"] == ["login_failed"], fields
    assert fields["user"] == [forged], fields


def test_opaque_origin_cannot_post(srv, admin):
    """Finding 10: `Origin: null` passed the cross-site check on Basic-authenticated POSTs
    (a sandboxed frame or a data: page sends it, with the browser's cached credentials)."""
    body = {"sub": "frame", "ttl": 60}
    r = admin.post(srv.url("/container/tokens"), json=body, headers={"Origin": "null"})
    assert r.status_code == 403, r.text
    assert "opaque origin" in r.json()["message"]
    with srv.session(auth=basic("admin", srv.password)) as s:
        r = s.delete(srv.url("/container/tokens/nosuch"), headers={"Origin": "null"})
        assert r.status_code == 403, r.text
    # the same request from the service's own origin, or a client that sends none, works
    r = admin.post(srv.url("/container/tokens"), json=body,
                   headers={"Origin": "https://127.0.0.1:%d" % srv.port})
    assert r.status_code == 201, r.text


def test_first_request_after_first_start_is_served(make_server, tmp_path):
    """Finding 12: on a new home the port answered before the admin account existed, so
    the first authenticated request got 401 "invalid username or password"."""
    import socket
    import requests
    for n in range(3):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        s = make_server(home=tmp_path / ("first%d" % n), start=False,
                        args=["--listen", "127.0.0.1:%d" % port])
        s.start(wait=False)
        s.port, s.scheme = port, "https"   # polled as a client would, not from stdout
        with s.admin_session() as api:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if api.get(s.url("/container/version"), timeout=5).status_code == 200:
                        break
                except (requests.ConnectionError, OSError):
                    assert s.running, s.stderr_tail()
            r = api.get(s.url("/container/tokens"), timeout=30)
            assert r.status_code == 200, r.text
        s.stop()
