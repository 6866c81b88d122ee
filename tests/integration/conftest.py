"""Fixtures for the vic-webservice integration tests.

The tests run the real binary (by default the sanitizer build in build-san/bin; set
VIC_BIN_DIR to use another) against a fresh home directory per server, talk to it over TLS
with the CA it generated, and stop it with SIGTERM. A server must exit 0 within 15 s when
stopped: the sanitizer build turns leaks and undefined behaviour into a failing exit code,
so a teardown failure there is a real finding, not noise.

Run with Debian's interpreter:  /usr/bin/python3 -m pytest -q tests/integration
"""

import base64
import http.cookiejar
import itertools
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("VIC_BIN_DIR") or REPO_ROOT / "build-san" / "bin")
if not BIN_DIR.is_absolute():
    BIN_DIR = REPO_ROOT / BIN_DIR
BINARY = BIN_DIR / "vic-webservice"

ADMIN_PASSWORD = "integration-Test-pw-1"
START_TIMEOUT = 60  # s: key generation and password hashing are slow under sanitizers
STOP_TIMEOUT = 15  # s
SERVING_RE = re.compile(r"^\s*serving\s+(https?)://([0-9.]+):(\d+)/")
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                     "runtime error:", "ThreadSanitizer")

# Every server ever started in this run, so that a failing test can show their stderr.
_SERVERS = []

# Failed logins are slowed down per user name and client address. Each client session gets
# its own loopback source address, so one test's failures never slow another test down.
_SOURCE_COUNTER = itertools.count(2)


def next_source_address():
    n = next(_SOURCE_COUNTER)
    return "127.0.%d.%d" % (n // 250 + 1, n % 250 + 2)


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode()
    return "Basic " + base64.b64encode(raw).decode()


class _SourceAdapter(HTTPAdapter):
    """An adapter whose connections come from a chosen local address."""

    def __init__(self, source, **kw):
        self._source = source
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self._source, 0)
        super().init_poolmanager(*args, **kw)


class ServerExited(Exception):
    pass


class Server:
    """One vic-webservice process on a fresh port.

    home:      its --home directory (created by the server if missing)
    args:      extra command-line arguments
    password:  VIC_ADMIN_PASSWORD for the first start, or None to leave it unset
    tls:       False adds --no-tls
    """

    def __init__(self, home, *, args=(), password=ADMIN_PASSWORD, tls=True, name="server"):
        self.home = Path(home)
        self.args = list(args)
        self.password = password
        self.tls = tls
        self.name = name
        self.proc = None
        self.port = None
        self.scheme = None
        self.stdout_lines = []
        self.starts = 0
        self.touched = False
        self._stdout_thread = None
        self._serving = threading.Event()
        self.stderr_path = None
        self.extra_env = {}
        _SERVERS.append(self)

    # ---- process control ----

    def command(self):
        cmd = [str(BINARY), "--home", str(self.home), "--listen", "127.0.0.1:0"]
        if not self.tls:
            cmd.append("--no-tls")
        return cmd + self.args

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("VIC_ADMIN_PASSWORD", "VIC_HOME")}
        if self.password is not None:
            env["VIC_ADMIN_PASSWORD"] = self.password
        env.update(self.extra_env)
        return env

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self.touched = True
        self.stdout_lines = []
        self._serving.clear()
        self.port = None
        self.stderr_path = self.home.parent / ("%s-%s.stderr.%d" % (self.home.name, self.name,
                                                                    self.starts))
        self.home.parent.mkdir(parents=True, exist_ok=True)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err, env=self.env())
        self._stdout_thread = threading.Thread(target=self._read_stdout, args=(self.proc,),
                                               daemon=True)
        self._stdout_thread.start()
        if wait:
            self.wait_ready()
        return self

    def _read_stdout(self, proc):
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            m = SERVING_RE.match(line)
            if m:
                self.scheme, self.port = m.group(1), int(m.group(3))
                self._serving.set()
        proc.stdout.close()

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not self._serving.wait(0.05):
            if self.proc.poll() is not None:
                self._stdout_thread.join(2)
                if self._serving.is_set():
                    break
                raise ServerExited("%s exited with %s before serving\nstdout:\n%s\nstderr:\n%s"
                                   % (self.name, self.proc.returncode, self.stdout,
                                      self.stderr_tail()))
            if time.monotonic() > deadline:
                raise AssertionError("%s printed no serving line within %d s\nstderr:\n%s"
                                     % (self.name, timeout, self.stderr_tail()))
        expected = "http" if not self.tls else "https"
        assert self.scheme == expected, "serving line says %s" % self.scheme
        # The serving line is printed once the socket listens; still, poll the version route
        # as a client would.
        last = None
        with self.session() as s:
            while time.monotonic() < deadline:
                try:
                    r = s.get(self.url("/container/version"), timeout=5)
                    if r.status_code == 200:
                        return self
                    last = "status %d" % r.status_code
                except requests.RequestException as e:
                    last = repr(e)
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        raise AssertionError("%s not ready: %s\nstderr:\n%s" % (self.name, last,
                                                                 self.stderr_tail()))

    def wait_serving_or_exit(self, timeout=START_TIMEOUT):
        """For a server expected to refuse to start: returns its exit code, or None if it
        printed its serving line instead (it is then left running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._serving.is_set():
                return None
            rc = self.proc.poll()
            if rc is not None:
                self._stdout_thread.join(5)
                return rc
            time.sleep(0.05)
        raise AssertionError("%s neither served nor exited within %d s\nstderr:\n%s"
                             % (self.name, timeout, self.stderr_tail()))

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for the process to end by itself; returns its exit code."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("%s did not exit within %d s\nstderr:\n%s"
                                 % (self.name, timeout, self.stderr_tail()))
        if self._stdout_thread:
            self._stdout_thread.join(5)
        return rc

    def signal(self, sig=signal.SIGTERM):
        self.touched = True
        self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT, check=True):
        """SIGTERM, then wait; with check, asserts a clean exit 0 and no sanitizer report."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        remove_vchs(self.home)
        if check:
            self.assert_clean_exit(rc)
        return rc

    def assert_clean_exit(self, rc):
        stderr = self.stderr()
        assert rc == 0, "%s exited with %s after SIGTERM\nstderr:\n%s" % (
            self.name, rc, self.stderr_tail())
        for marker in SANITIZER_MARKERS:
            assert marker not in stderr, "%s: sanitizer report in stderr\n%s" % (
                self.name, self.stderr_tail())

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- output ----

    @property
    def stdout(self):
        return "\n".join(self.stdout_lines)

    def stderr(self):
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text("utf-8", "replace")

    def stderr_tail(self, limit=6000):
        text = self.stderr()
        return text if len(text) <= limit else "...\n" + text[-limit:]

    # ---- clients ----

    @property
    def ca(self):
        return str(self.home / "tls" / "ca.pem")

    @property
    def verify(self):
        return self.ca if self.tls else True

    def url(self, path="/"):
        self.touched = True
        assert self.port, "server not started"
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def session(self, source=None, auth=None):
        """A requests session trusting this server's CA, from its own loopback address (so
        throttling of failed logins stays within the test), without a cookie jar (tests send
        cookies explicitly) and without proxies from the environment."""
        self.touched = True
        s = requests.Session()
        s.trust_env = False
        s.verify = self.verify
        s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = _SourceAdapter(source or next_source_address())
        s.mount("http://", adapter)
        s.mount("https://", adapter)
        if auth is not None:
            s.headers["Authorization"] = auth
        return s

    def admin_session(self, source=None):
        return self.session(source=source, auth=basic("admin", self.password or ""))

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca)

    def raw_connect(self, timeout=10):
        """A connected socket (TLS-wrapped unless --no-tls)."""
        self.touched = True
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.tls:
            sock = self.ssl_context().wrap_socket(sock, server_hostname="127.0.0.1")
        return sock


def vic_machine(home, *args, env=None, timeout=120):
    """Runs bin/vic-machine on the local target of home."""
    return subprocess.run([str(BIN_DIR / "vic-machine"), args[0], "--home", str(home),
                           "--bin-dir", str(BIN_DIR), *args[1:]], capture_output=True,
                          text=True, env=env, timeout=timeout)


def remove_vchs(home):
    """Deletes every VCH a test left in home (their appliances outlive the web service)."""
    import json
    if not (Path(home) / "vch-tasks.db").exists():
        return
    r = vic_machine(home, "ls", "--json")
    if r.returncode != 0:
        return
    for v in json.loads(r.stdout or "[]"):
        vic_machine(home, "delete", "--name", v["name"], "--force", "--volume-stores", "all")


def read_http_response(sock, timeout=10):
    """Reads one HTTP/1.1 response with a Content-Length body from sock.
    Returns (status, headers dict with lower-case names, body bytes)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed after %d bytes: %r" % (len(data), data[:200]))
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("body cut at %d of %d bytes" % (len(body), length))
        body += chunk
    return status, headers, body


def parse_set_cookie(value):
    """'a=b; Path=/; HttpOnly' -> ('a', 'b', {'path': '/', 'httponly': True})"""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name, val, attrs


def assert_json_error(r, status, contains=None):
    """The response is `status` with a JSON body {"message": "..."}; returns the message."""
    assert r.status_code == status, "expected %d, got %d: %r" % (status, r.status_code,
                                                                 r.text[:500])
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str), body
    assert body["message"], body
    if contains is not None:
        assert contains in body["message"], body["message"]
    return body["message"]


# ---- pytest plumbing ----

@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    if not BINARY.exists():
        pytest.exit("%s not found: build it with `make SAN=1 build` or set VIC_BIN_DIR"
                    % BINARY, returncode=2)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for s in _SERVERS:
        s.touched = False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for s in _SERVERS:
            if s.touched and s.stderr_path is not None:
                rep.sections.append(("%s stderr (%s)" % (s.name, s.stderr_path),
                                     s.stderr_tail(4000)))
                if s.stdout_lines:
                    rep.sections.append(("%s stdout" % s.name, s.stdout))


@pytest.fixture
def make_server(tmp_path):
    """Factory for servers in this test's tmp_path; every server still running at the end
    is stopped and must exit 0."""
    servers = []

    def make(home=None, start=True, **kw):
        kw.setdefault("name", "server%d" % (len(servers) + 1))
        s = Server(home or tmp_path / ("home%d" % (len(servers) + 1)), **kw)
        servers.append(s)
        if start:
            s.start()
        return s

    yield make
    errors = []
    for s in servers:
        if s.running:
            try:
                s.stop()
            except AssertionError as e:
                errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


def module_server(request, tmp_path_factory, name, **kw):
    """Starts a server shared by a module; stopping it at module end must exit 0."""
    home = tmp_path_factory.mktemp(name) / "home"
    s = Server(home, name=name, **kw)
    s.start()
    request.addfinalizer(s.stop)
    return s


@pytest.fixture(scope="session")
def srv(request, tmp_path_factory):
    """The shared server (TLS, VIC_ADMIN_PASSWORD set, default options). Tests keep out of
    each other's way by using their own client addresses; the server must survive them all
    and exit 0 at the end of the run."""
    return module_server(request, tmp_path_factory, "shared")


@pytest.fixture
def admin(srv):
    with srv.admin_session() as s:
        yield s
