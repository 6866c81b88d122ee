"""Fixtures for the compatibility suite: one suite, run against any Docker endpoint.

The engine under test is the one DOCKER_HOST names (with DOCKER_TLS_VERIFY and
DOCKER_CERT_PATH when it speaks TLS), as for the docker CLI. Without DOCKER_HOST the suite
makes its own: a VCH created on the local target by the real vic-machine (VIC_BIN_DIR, the
sanitizer build by default, as tests/integration does), deleted at the end.

The image is busybox from a local docker-registry (tests/fixtures/registry-busybox.sh):
COMPAT_IMAGE names one already served (tests/compat/run.sh starts one registry for both
engines); otherwise the suite starts its own on a free loopback port (Docker Engine treats
loopback registries as insecure by itself).

Tests marked vch_differs("reason") are for what a VCH does not do yet: against a VCH they run
as xfail(strict=False) with that reason, so the run reports them as differences (and shows
XPASS once they work); against Docker Engine they are plain tests. The engine is a VCH when
COMPAT_ENGINE=vch, when the suite made it, or when its server version starts with "v" (VIC's
versions do, Docker Engine's never); COMPAT_ENGINE=docker says otherwise.

COMPAT_RESULTS=FILE writes {test name: outcome} as JSON for tests/compat/run.sh's table.

Run with Debian's interpreter:  /usr/bin/python3 -m pytest -q tests/compat
"""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
REGISTRY_FIXTURE = REPO / "tests" / "fixtures" / "registry-busybox.sh"
VCH_NAME = "compat"
# the variables through which a docker client finds its daemon
CLIENT_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def _integration():
    """tests/integration/conftest.py under a module name of its own (as tests/security loads
    it), for vic_machine and BIN_DIR; loaded only when the suite makes its own VCH."""
    name = "vic_integration_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, REPO / "tests" / "integration" / "conftest.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Engine:
    """One Docker endpoint: the environment the CLI needs, the image, a docker SDK client."""

    def __init__(self, kind, env, image, tmp):
        self.kind = kind
        self.env = env
        self.image = image
        self.tmp = tmp
        self._client = None

    def docker(self, *args, input=None, timeout=60):
        """The docker CLI with args; returns the CompletedProcess (text)."""
        return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=self.env,
                              input=input, timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def popen(self, *args, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen([DOCKER, *args], env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    @property
    def client(self):
        """python3-docker's client for the same endpoint (TLS settings from the same env)."""
        if self._client is None:
            import docker
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from this process's environment
            # replace the session's CA (the engine's ca.pem): the client reads its settings
            # from self.env only. The API version is given (1.41, both engines'), as asking
            # for it would be the client's first request, made before trust_env is off.
            self._client = docker.from_env(environment=self.env, timeout=60, version="1.41")
            self._client.api.trust_env = False
        return self._client

    def close(self):
        if self._client is not None:
            self._client.close()


def _engine_kind(env):
    kind = os.environ.get("COMPAT_ENGINE")
    if kind:
        return kind
    r = subprocess.run([DOCKER, "version", "--format", "{{.Server.Version}}"],
                       capture_output=True, text=True, env=env, timeout=60)
    if r.returncode != 0:
        pytest.exit("the engine at %s does not answer: %s" % (env.get("DOCKER_HOST"),
                                                               r.stderr.strip()), returncode=2)
    return "vch" if r.stdout.strip().startswith("v") else "docker"


@pytest.fixture(scope="session")
def registry_image(tmp_path_factory):
    """addr/busybox from COMPAT_IMAGE, or from a registry started here."""
    if os.environ.get("COMPAT_IMAGE"):
        yield os.environ["COMPAT_IMAGE"]
        return
    if not (shutil.which("docker-registry") and shutil.which("skopeo")):
        pytest.skip("docker-registry and skopeo are needed (make deps-test installs them)")
    work = tmp_path_factory.mktemp("registry")
    env = dict(os.environ, REGISTRY_ADDR="127.0.0.1:%d" % free_port())
    r = subprocess.run(["bash", str(REGISTRY_FIXTURE), str(work)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    yield env["REGISTRY_ADDR"] + "/busybox:latest"
    subprocess.run(["bash", str(REGISTRY_FIXTURE), str(work), "stop"], capture_output=True,
                   env=env, timeout=60)


def _own_vch(tmp):
    """Creates the VCH named VCH_NAME in tmp/home; returns (home, its client environment)."""
    if os.geteuid() != 0:
        pytest.skip("without DOCKER_HOST the suite creates a VCH, which runs VMs: needs root")
    it = _integration()
    if not (it.BIN_DIR / "vic-machine").exists():
        pytest.exit("%s not found: build it or set VIC_BIN_DIR" % (it.BIN_DIR / "vic-machine"),
                    returncode=2)
    home = tmp / "home"
    home.mkdir()
    r = it.vic_machine(home, "create", "--name", VCH_NAME, timeout=300)
    if r.returncode != 0:
        _delete_vch(home)
        pytest.exit("vic-machine create failed:\n%s%s" % (r.stdout, r.stderr), returncode=2)
    r = it.vic_machine(home, "inspect", "--name", VCH_NAME, "--env")
    assert r.returncode == 0, r.stderr
    env = {}
    for line in r.stdout.splitlines():
        k, sep, v = line.partition("=")
        if sep and k in CLIENT_VARS:
            env[k] = v
    assert "DOCKER_HOST" in env, r.stdout
    return home, env


def _delete_vch(home):
    r = _integration().vic_machine(home, "delete", "--name", VCH_NAME, "--force",
                                   "--containers", "all", "--volume-stores", "all",
                                   timeout=300)
    return r


@pytest.fixture(scope="session")
def engine(tmp_path_factory, registry_image):
    """The engine under test, with the image pulled."""
    tmp = tmp_path_factory.mktemp("compat")
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_VARS}
    env["DOCKER_CONFIG"] = str(tmp / "cli")
    home = None
    if os.environ.get("DOCKER_HOST"):
        env.update({k: os.environ[k] for k in CLIENT_VARS if k in os.environ})
        kind = _engine_kind(env)
    else:
        home, vch_env = _own_vch(tmp)
        env.update(vch_env)
        kind = "vch"
    e = Engine(kind, env, registry_image, tmp)
    try:
        r = e.docker("pull", registry_image, timeout=300)
        assert r.returncode == 0, "pull %s: %s" % (registry_image, r.stderr)
        yield e
    finally:
        e.close()
        if home is not None:
            r = _delete_vch(home)
            assert r.returncode == 0, "vic-machine delete: %s%s" % (r.stdout, r.stderr)


class Scope:
    """Names for one test's objects (unique in the run) and their removal at its end."""

    def __init__(self, engine, test_name):
        self.e = engine
        self.tag = "%s-%s" % (test_name.replace("test_", "")[:24].replace("_", "-"),
                              uuid.uuid4().hex[:6])
        self.containers, self.volumes, self.networks = [], [], []

    def name(self, what="c"):
        n = "%s-%s" % (self.tag, what)
        self.containers.append(n)
        return n

    def volume(self, what="v"):
        n = "%s-%s" % (self.tag, what)
        self.volumes.append(n)
        return n

    def network(self, what="n"):
        n = "%s-%s" % (self.tag, what)
        self.networks.append(n)
        return n

    def cleanup(self):
        if self.containers:
            self.e.docker("rm", "-f", "-v", *self.containers, timeout=120)
        for v in self.volumes:
            self.e.docker("volume", "rm", "-f", v)
        for n in self.networks:
            self.e.docker("network", "rm", n)


@pytest.fixture
def s(engine, request):
    """This test's scope: its names, removed at its end."""
    sc = Scope(engine, request.node.name)
    yield sc
    sc.cleanup()


# ---- the vch_differs marker ----

def pytest_configure(config):
    config.addinivalue_line(
        "markers", "vch_differs(reason): a VCH does not do this yet; xfail(strict=False) "
        "against a VCH, with the reason")


@pytest.fixture(autouse=True)
def _vch_differences(request):
    m = request.node.get_closest_marker("vch_differs")
    if m is None:
        return
    e = request.getfixturevalue("engine")
    if e.kind == "vch":
        request.applymarker(pytest.mark.xfail(strict=False, reason="VCH: " + m.args[0]))


# ---- results for the side-by-side table ----

_RESULTS = {}


def pytest_runtest_logreport(report):
    name = report.nodeid.split("::")[-1]
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            _RESULTS[name] = ("XPASS", report.wasxfail) if xfail else ("pass", "")
        elif report.skipped:
            _RESULTS[name] = ("xfail", report.wasxfail) if xfail else ("skip", _why(report))
        else:
            _RESULTS[name] = ("FAIL", _why(report))
    elif report.when == "setup" and not report.passed:
        if report.skipped:
            _RESULTS[name] = ("xfail", report.wasxfail) if xfail else ("skip", _why(report))
        else:
            _RESULTS[name] = ("error", _why(report))
    elif report.when == "teardown" and report.failed and _RESULTS.get(name, ("",))[0] == "pass":
        _RESULTS[name] = ("error", _why(report))


def _why(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.splitlines()[0][:200]
    return str(report.longrepr).strip().splitlines()[-1][:200] if report.longrepr else ""


def pytest_sessionfinish(session):
    out = os.environ.get("COMPAT_RESULTS")
    if out:
        Path(out).write_text(json.dumps(_RESULTS, indent=1, sort_keys=True) + "\n")
