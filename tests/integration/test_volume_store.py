"""The default volume store: a VCH created with defaults on the local target has one,
labelled default, in its own folder ([datastore1] NAME/volumes/default), so that the real
docker CLI's `docker volume create` and `-v NAME:/path` work as on Docker Engine; a delete
removes that folder with the VCH, and nothing else. --no-volume-store asks for none.
"""

import json
import os

import pytest

from conftest import vic_machine
from test_docker import registry  # noqa: F401  (a pytest fixture)
from test_vch import DOCKER, assert_nothing_left, docker, home  # noqa: F401  (home: a fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")


def create(home, *args):
    r = vic_machine(home, "create", *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def inspect(home, name):
    r = vic_machine(home, "inspect", "--name", name)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_default_store_serves_docker_volumes_and_goes_with_its_vch(home, registry):  # noqa: F811
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    ds = home / "datastore1"
    # a folder of someone else's on the datastore, which no delete may touch
    (ds / "keep-me").mkdir(parents=True)
    (ds / "keep-me" / "note").write_text("mine\n")

    out = create(home, "--name", "vs1")
    assert "Volume stores" in out and "default      [datastore1] vs1/volumes/default" in out, out
    model = inspect(home, "vs1")
    assert model["storage"]["volume_stores"] == [
        {"datastore": "ds://datastore1/vs1/volumes/default", "label": "default"}]
    assert model["runtime"]["volume_stores"] == [
        {"label": "default", "path": "[datastore1] vs1/volumes/default"}]
    store = ds / "vs1" / "volumes" / "default"
    assert store.is_dir()
    # a second VCH with defaults gets a store of its own, in its own folder
    create(home, "--name", "vs2")
    assert inspect(home, "vs2")["runtime"]["volume_stores"] == [
        {"label": "default", "path": "[datastore1] vs2/volumes/default"}]

    env = vic_machine(home, "inspect", "--name", "vs1", "--env").stdout
    image = "%s/busybox" % registry
    assert docker(env, home, "pull", image).returncode == 0
    c = docker(env, home, "volume", "create", "v1")
    assert c.returncode == 0 and c.stdout.strip() == "v1", c.stdout + c.stderr
    w = docker(env, home, "run", "--rm", "-v", "v1:/data", image, "sh", "-c", "echo x > /data/f")
    assert w.returncode == 0, w.stderr
    rd = docker(env, home, "run", "--rm", "-v", "v1:/data", image, "cat", "/data/f")
    assert rd.returncode == 0 and rd.stdout == "x\n", rd.stdout + rd.stderr
    ls = docker(env, home, "volume", "ls", "--format", "{{.Name}}")
    assert ls.returncode == 0 and "v1" in ls.stdout.split(), ls.stdout + ls.stderr
    # a name docker has not seen makes a volume on first use, as on Docker Engine
    auto = docker(env, home, "run", "--rm", "-v", "auto1:/d", image, "sh", "-c", "echo y > /d/g")
    assert auto.returncode == 0, auto.stderr
    assert {"v1", "auto1"} <= set(docker(env, home, "volume", "ls", "-q").stdout.split())
    assert (store / "volumes" / "v1").is_dir()

    # a default delete (volume stores: none) still removes the store in the VCH's folder
    d = vic_machine(home, "delete", "--name", "vs1")
    assert d.returncode == 0, d.stdout + d.stderr
    assert "removed the volume store default ([datastore1] vs1/volumes/default)" in d.stdout
    assert not (ds / "vs1").exists()
    assert (ds / "keep-me" / "note").read_text() == "mine\n"
    assert (ds / "vs2" / "volumes" / "default").is_dir()
    assert vic_machine(home, "delete", "--name", "vs2").returncode == 0
    assert not (ds / "vs2").exists()
    assert (ds / "keep-me" / "note").read_text() == "mine\n"
    assert_nothing_left(home)


def test_no_volume_store_and_an_explicit_one(home):  # noqa: F811
    out = create(home, "--name", "bare", "--no-volume-store")
    assert "No volume store" in out, out
    model = inspect(home, "bare")
    assert model["storage"]["volume_stores"] == []
    assert model["runtime"]["volume_stores"] == []
    assert not (home / "datastore1" / "bare" / "volumes").exists()
    if os.access(DOCKER, os.X_OK):
        env = vic_machine(home, "inspect", "--name", "bare", "--env").stdout
        r = docker(env, home, "volume", "create", "v1")
        assert r.returncode != 0 and "No volume store named (default)" in r.stderr, r.stderr
    # --volume-store overrides the default: only the store given is made
    create(home, "--name", "given", "--volume-store", "datastore1/given-vols:default")
    assert inspect(home, "given")["runtime"]["volume_stores"] == [
        {"label": "default", "path": "[datastore1] given-vols"}]
    assert not (home / "datastore1" / "given" / "volumes").exists()
    bad = vic_machine(home, "create", "--name", "x", "--no-volume-store",
                      "--volume-store", "datastore1/v:default")
    assert bad.returncode == 2 and "contradict" in bad.stderr
    for name in ("bare", "given"):
        assert vic_machine(home, "delete", "--name", name).returncode == 0
    # the given store existed only through its create, but a default delete keeps volume data
    assert (home / "datastore1" / "given-vols").is_dir()
    assert_nothing_left(home)
