"""docker-compose (Debian's, 1.29 over docker-py) against a VCH: a two-service project with a
user network, a named volume, a published port, depends_on with condition service_healthy
and environment values holding | and $; up -d, ps, logs -f, exec, restart and down -v.

Servers, registry and CLI as in test_docker.py (its fixtures and helpers are reused); needs
root and docker-compose (make deps-test installs it).
"""

import os
import shutil
import subprocess
import time

import pytest
import requests

from test_docker import docker, free_port, image_fixture, registry, vch_fixture  # noqa: F401

BRIDGE_RANGE = "10.226.0.0/16"
COMPOSE = shutil.which("docker-compose")

vch = vch_fixture("vch-compose", BRIDGE_RANGE,
                  pl_args=["--volume-store", "default=[datastore1] volumes-default"])

image = image_fixture()

# web serves a page made of its environment on the published port once its health check
# (a fetch of that page) passes; client starts only then, fetches it by the service's name
# over the user network and prints its own environment.
PROJECT = """\
version: "2.4"
services:
  web:
    image: ${IMAGE}
    command: ["sh", "-c", "echo \\"$$GREETING\\" > /data/index.html && httpd -f -p 8080 -h /data"]
    environment:
      GREETING: "a|b $$HOME c"
    ports:
      - "${PORT}:8080"
    networks: [backend]
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O - http://127.0.0.1:8080/ | grep -q 'a|b'"]
      interval: 1s
      timeout: 5s
      retries: 3
  client:
    image: ${IMAGE}
    command: ["sh", "-c", "until wget -q -O - http://web:8080/; do sleep 0.2; done && echo \\"pipe=$$PIPE\\" && sleep 300"]
    environment:
      - PIPE=x|y$$z
    depends_on:
      web:
        condition: service_healthy
    networks: [backend]
networks:
  backend: {}
volumes:
  data: {}
"""


@pytest.fixture(scope="module")
def project(vch, image, tmp_path_factory):
    if COMPOSE is None:
        pytest.skip("docker-compose is needed (make deps-test installs it)")
    d = tmp_path_factory.mktemp("compose")
    (d / "docker-compose.yml").write_text(PROJECT)
    port = free_port()
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"),
               IMAGE=image, PORT=str(port), COMPOSE_PROJECT_NAME="hc")
    env.pop("DOCKER_TLS_VERIFY", None)

    def compose(*args, timeout=120):
        return subprocess.run([COMPOSE, "--no-ansi", *args], cwd=str(d), capture_output=True,
                              text=True, env=env, timeout=timeout)
    yield compose, port
    compose("down", "-v", "--remove-orphans")


def test_compose_up_ps_logs_exec_restart_down(vch, project):
    compose, port = project
    r = compose("up", "-d")
    assert r.returncode == 0, r.stdout + r.stderr
    # up -d returned after client started, which waited for web's health check to pass
    r = docker(vch, "inspect", "-f", "{{.State.Health.Status}}", "hc_web_1")
    assert r.stdout.strip() == "healthy", r.stdout + r.stderr
    r = compose("ps")
    assert r.returncode == 0, r.stderr
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.startswith("hc_")}
    assert set(lines) == {"hc_web_1", "hc_client_1"}, r.stdout
    assert "Up (healthy)" in lines["hc_web_1"], r.stdout
    assert "->8080/tcp" in lines["hc_web_1"] and str(port) in lines["hc_web_1"], r.stdout
    # the published port answers on the VCH's address with the page made of the environment
    page = requests.get("http://127.0.0.1:%d/" % port, timeout=10).text
    assert page == "a|b $HOME c\n", page
    # logs: the client fetched web by its name over the user network; -f follows until
    # stopped (the containers still run), showing what is there
    r = compose("logs", "--no-color", "client")
    assert r.returncode == 0, r.stderr
    assert "client_1  | a|b $HOME c" in r.stdout and "client_1  | pipe=x|y$z" in r.stdout, r.stdout
    with pytest.raises(subprocess.TimeoutExpired) as follow:
        compose("logs", "-f", "--no-color", timeout=5)
    out = follow.value.stdout or b""
    out = out.decode() if isinstance(out, bytes) else out
    assert "pipe=x|y$z" in out, out
    # exec: the container's environment, and the named volume
    r = compose("exec", "-T", "web", "sh", "-c", 'echo "$GREETING"; cat /data/index.html')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "a|b $HOME c\na|b $HOME c\n", r.stdout
    # restart: both run again, the health check starts over
    t0 = time.time()
    r = compose("restart", "-t", "2")
    assert r.returncode == 0, r.stderr
    for name in ("hc_web_1", "hc_client_1"):
        r = docker(vch, "inspect", "-f", "{{.State.Running}} {{.State.StartedAt}}", name)
        running, started = r.stdout.split()
        assert running == "true", r.stdout
    end = time.monotonic() + 30
    while time.monotonic() < end:
        h = docker(vch, "inspect", "-f", "{{.State.Health.Status}}", "hc_web_1").stdout.strip()
        if h == "healthy":
            break
        time.sleep(0.2)
    assert h == "healthy", h
    assert requests.get("http://127.0.0.1:%d/" % port, timeout=10).text == "a|b $HOME c\n"
    assert time.time() - t0 < 60
    # down -v: containers, network and volume gone
    r = compose("down", "-v")
    assert r.returncode == 0, r.stdout + r.stderr
    assert docker(vch, "ps", "-aq").stdout.strip() == ""
    vols = docker(vch, "volume", "ls", "-q").stdout.split()
    assert "hc_data" not in vols, vols
    nets = docker(vch, "network", "ls", "--format", "{{.Name}}").stdout.split()
    assert "hc_backend" not in nets, nets
