"""Commands, environments and names holding '|' (and other bytes VIC's guestinfo joins lists
with) go through a VCH as they go through Docker Engine, and env entries without '=' behave
as Docker's: the real docker CLI against docker-engine-server over a real port-layer-server,
with the tether reading the container's escaped guestinfo lists.

Reuses test_docker.py's servers and registry fixture; its own VCH on a bridge range of its
own. Needs root and the docker CLI (skipped with the reason otherwise).
"""

import json
import os
import subprocess

import requests

from test_docker import (DOCKER, docker, image_fixture, registry,  # noqa: F401  (a fixture)
                         vch_fixture)

BRIDGE_RANGE = "10.236.0.0/16"
UNSET = "VIC_PIPES_NEVER_SET"  # a variable the CLI's environment never holds


vch = vch_fixture("vch-pipes", BRIDGE_RANGE,
                  pl_args=["--volume-store", "default=[datastore1] volumes-default"])


image = image_fixture()


def inspect_json(vch, name, fmt):
    r = docker(vch, "inspect", "--format", "{{json %s}}" % fmt, name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def run_to_end(vch, name, *args):
    """docker run -d NAME ARGS, waited for: (exit code, stdout, stderr of its logs)."""
    r = docker(vch, "run", "-d", "--name", name, *args)
    assert r.returncode == 0, r.stderr
    w = docker(vch, "wait", name)
    assert w.returncode == 0, w.stderr
    logs = docker(vch, "logs", name)
    return int(w.stdout.strip()), logs.stdout, logs.stderr


def test_a_shell_pipeline_runs_and_inspect_shows_the_command(vch, image):
    r = docker(vch, "run", "--rm", image, "sh", "-c", "echo a | tr a b")
    assert (r.returncode, r.stdout) == (0, "b\n"), (r.returncode, r.stdout, r.stderr)
    cmd = ["sh", "-c", "echo a | tr a b; printf '%s|%s\\n' '%7C' '|'; echo 100%"]
    try:
        code, out, err = run_to_end(vch, "piped", image, *cmd)
        assert (code, out) == (0, "b\n%7C||\n100%\n"), (code, out, err)
        assert inspect_json(vch, "piped", ".Config.Cmd") == cmd
    finally:
        docker(vch, "rm", "-f", "piped")


def test_env_values_with_bars_and_dollars_reach_the_process(vch, image):
    value = "a|b $HOME ${X} %7C|"
    try:
        code, out, err = run_to_end(vch, "envbar", "-e", "V=" + value, "-e", "W=|", image,
                                    "sh", "-c", 'printf "[%s][%s]\\n" "$V" "$W"')
        assert (code, out) == (0, "[%s][|]\n" % value), (code, out, err)
        env = inspect_json(vch, "envbar", ".Config.Env")
        # the given entries (the CLI sends them in an order of its own), then the image's
        assert set(env[:2]) == {"V=" + value, "W=|"}, env
        assert [e for e in env[2:] if e.startswith("PATH=")] == env[2:3], env
    finally:
        docker(vch, "rm", "-f", "envbar")


def test_env_entries_without_a_value_behave_as_dockers(vch, image):
    """`-e NAME` passes the CLI's NAME=value when the CLI has NAME; otherwise the API gets
    "NAME" alone, which Docker keeps in Config.Env and leaves unset in the process."""
    env = dict(os.environ, DOCKER_HOST=vch["host"], DOCKER_CONFIG=str(vch["tmp"] / "cli"),
               VIC_PIPES_FROM_CLI="from|cli")
    env.pop("DOCKER_TLS_VERIFY", None)
    env.pop(UNSET, None)
    r = subprocess.run([DOCKER, "run", "-d", "--name", "envbare", "-e", UNSET, "-e",
                        "VIC_PIPES_FROM_CLI", image, "sh", "-c",
                        'echo "${%s-unset}"; echo "$VIC_PIPES_FROM_CLI"; env | grep -c %s; true'
                        % (UNSET, UNSET)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    try:
        assert docker(vch, "wait", "envbare").stdout.strip() == "0"
        logs = docker(vch, "logs", "envbare")
        assert logs.stdout == "unset\nfrom|cli\n0\n", (logs.stdout, logs.stderr)
        cfg = inspect_json(vch, "envbare", ".Config.Env")
        assert set(cfg[:2]) == {UNSET, "VIC_PIPES_FROM_CLI=from|cli"}, cfg
    finally:
        docker(vch, "rm", "-f", "envbare")


def test_create_keeps_cmd_and_env_as_given_and_merges_the_images_as_docker(vch, image):
    """Through the API, where the order is the caller's: Cmd and Env come back exactly as
    given, the image's entries after them unless a given one names them ("PATH" alone)."""
    cmd = ["sh", "-c", "echo a | tr a b", "|", "", "%7C"]
    for env, want in ((["Z=1", "A=x|y", "PATH", "E="], ["Z=1", "A=x|y", "PATH", "E="]),
                      (["Z=|", "NOPE"], None)):
        r = requests.post(vch["url"] + "/v1.41/containers/create",
                          json={"Image": image, "Cmd": cmd, "Env": env}, timeout=30)
        assert r.status_code == 201, r.text
        cid = r.json()["Id"]
        try:
            got = inspect_json(vch, cid, ".Config")
            assert got["Cmd"] == cmd, got
            if want is not None:
                assert got["Env"] == want, got
            else:
                assert got["Env"][:2] == env and got["Env"][2].startswith("PATH="), got
        finally:
            docker(vch, "rm", "-f", cid)


def test_an_env_entry_without_a_name_is_refused_and_nothing_is_made(vch, image):
    before = docker(vch, "ps", "-aq").stdout.split()
    for bad in ("=x", ""):
        r = requests.post(vch["url"] + "/v1.41/containers/create",
                          json={"Image": image, "Cmd": ["true"], "Env": ["A=1", bad]},
                          timeout=30)
        assert r.status_code == 400, r.text
        assert "env[1]" in r.json()["message"] and "no variable name" in r.json()["message"], \
            r.text
    assert docker(vch, "ps", "-aq").stdout.split() == before


def test_volumes_networks_and_aliases_with_the_characters_docker_allows(vch, image):
    vol, net = "my.vol-1_x", "pipes.net-1_x"
    assert docker(vch, "volume", "create", vol).returncode == 0
    assert docker(vch, "network", "create", net).returncode == 0
    try:
        r = docker(vch, "run", "--rm", "-v", vol + ":/data|in", image, "sh", "-c",
                   "echo kept > '/data|in/f'")
        assert r.returncode == 0, r.stderr
        code, out, err = run_to_end(vch, "named", "-v", vol + ":/d", "--network", net,
                                    "--network-alias", "db|a", "--network-alias", "db.b",
                                    image, "sh", "-c", "cat /d/f; ip -o -4 addr show eth0")
        assert code == 0 and out.startswith("kept\n") and "10.236." in out, (out, err)
        nets = inspect_json(vch, "named", ".NetworkSettings.Networks")
        assert list(nets) == [net], nets
        assert {"db|a", "db.b"} <= set(nets[net]["Aliases"]), nets
        mounts = inspect_json(vch, "named", ".Mounts")
        assert [(m["Name"], m["Destination"]) for m in mounts] == [(vol, "/d")], mounts
        # it starts again from its stored configuration
        r = docker(vch, "start", "-a", "named")
        assert r.returncode == 0 and r.stdout.startswith("kept\n"), r.stdout + r.stderr
    finally:
        docker(vch, "rm", "-f", "named")
        docker(vch, "network", "rm", net)
        docker(vch, "volume", "rm", vol)
