"""docker save and docker load through the real docker CLI: a docker-archive tar written by
the VCH (checked here with Python's tarfile: every layer.tar hashes to its config's diff_id),
loaded back into an empty VCH and run; an archive skopeo writes loads too; missing images
and malformed archives are refused with the reason.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from test_docker import DOCKER, registry, start_vch, stop_vch  # noqa: F401  (registry: a fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="VCHs run VMs: needs root")


def cli(v, *args, **kw):
    env = dict(os.environ, DOCKER_HOST=v["host"], DOCKER_CONFIG=str(v["tmp"] / "docker-cli"))
    for k in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        env.pop(k, None)
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=180,
                          **kw)


def vch(tmp, name, rng):
    tmp.mkdir()
    return start_vch(tmp, name, rng)


def test_save_load_round_trip(tmp_path, registry):  # noqa: F811
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    busybox, layered = registry + "/busybox:latest", registry + "/layered:latest"
    archive = tmp_path / "images.tar"
    a = vch(tmp_path / "a", "save", "172.30.50.0/24")
    try:
        for image in (busybox, layered):
            assert cli(a, "pull", image).returncode == 0
        ids = {i: json.loads(cli(a, "image", "inspect", i).stdout)[0]["Id"]
               for i in (busybox, layered)}
        r = cli(a, "save", "-o", str(archive), busybox, layered)
        assert r.returncode == 0, r.stderr
        r = cli(a, "save", "-o", str(tmp_path / "x.tar"), registry + "/nosuch:1")
        assert r.returncode != 0 and "No such image: %s/nosuch:1" % registry in r.stderr, r.stderr
        # an id saves the image without a tag
        r = cli(a, "save", "-o", str(tmp_path / "byid.tar"), ids[busybox][7:19])
        assert r.returncode == 0, r.stderr
    finally:
        assert stop_vch(a) == []

    with tarfile.open(archive) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        assert sorted(m["RepoTags"][0] for m in manifest) == sorted([busybox, layered])
        for m in manifest:
            config = t.extractfile(m["Config"]).read()
            assert "sha256:" + hashlib.sha256(config).hexdigest() in ids.values()
            diff_ids = json.loads(config)["rootfs"]["diff_ids"]
            assert len(diff_ids) == len(m["Layers"])
            for d, path in zip(diff_ids, m["Layers"]):
                assert "sha256:" + hashlib.sha256(t.extractfile(path).read()).hexdigest() == d
        # the busybox layer, shared by both, is written once
        names = t.getnames()
        assert len(names) == len(set(names))
    with tarfile.open(tmp_path / "byid.tar") as t:
        assert json.load(t.extractfile("manifest.json"))[0]["RepoTags"] is None

    b = vch(tmp_path / "b", "load", "172.30.51.0/24")
    try:
        r = cli(b, "load", "-i", str(archive))
        assert r.returncode == 0, r.stderr
        assert "Loaded image: %s" % busybox in r.stdout, r.stdout
        assert "Loaded image: %s" % layered in r.stdout, r.stdout
        for image, image_id in ids.items():
            assert json.loads(cli(b, "image", "inspect", image).stdout)[0]["Id"] == image_id
        run = cli(b, "run", "--rm", layered, "sh", "-c", "cat /data/new; ls /etc/motd || true")
        assert run.returncode == 0 and run.stdout.startswith("new\n"), run.stdout + run.stderr
        assert "motd" not in run.stdout  # the whiteout of the third layer still applies
        # a loaded image has a manifest of its own (uncompressed layers): it can be pushed,
        # and what was pushed pulls back as the same image
        pushed = registry + "/loaded/layered:1"
        assert cli(b, "tag", layered, pushed).returncode == 0
        r = cli(b, "push", pushed)
        assert r.returncode == 0 and r.stdout.count("Pushed") == 4, r.stdout + r.stderr
        assert cli(b, "rmi", pushed).returncode == 0
        assert cli(b, "pull", pushed).returncode == 0
        assert json.loads(cli(b, "image", "inspect", pushed).stdout)[0]["Id"] == ids[layered]
        # loading again changes nothing; an untagged archive prints the id
        assert cli(b, "load", "-i", str(archive)).returncode == 0
        r = cli(b, "load", "-i", str(tmp_path / "byid.tar"))
        assert r.returncode == 0 and "Loaded image ID: %s" % ids[busybox] in r.stdout, r.stdout
        # malformed archives: the reason, and nothing loaded
        bad = tmp_path / "bad.tar"
        with tarfile.open(bad, "w") as t:
            data = b'[{"Config":"../etc/passwd","Layers":[]}]'
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        r = cli(b, "load", "-i", str(bad))
        assert r.returncode != 0 and "leaves the archive" in r.stderr, r.stderr
        r = cli(b, "load", input="not a tar at all\n" * 100)
        assert r.returncode != 0 and "tar" in r.stderr, r.stderr
    finally:
        assert stop_vch(b) == []


def test_load_an_archive_skopeo_wrote(tmp_path, registry):  # noqa: F811
    if not os.access(DOCKER, os.X_OK) or not shutil.which("skopeo"):
        pytest.skip("needs the docker CLI and skopeo")
    policy = tmp_path / "policy.json"
    policy.write_text('{"default":[{"type":"insecureAcceptAnything"}]}')
    archive = tmp_path / "skopeo.tar"
    r = subprocess.run(["skopeo", "--policy", str(policy), "copy", "--src-tls-verify=false",
                        "docker://%s/five:latest" % registry,
                        "docker-archive:%s:example/five:1" % archive],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    v = vch(tmp_path / "v", "skopeo", "172.30.52.0/24")
    try:
        r = cli(v, "load", "-i", str(archive))
        assert r.returncode == 0, r.stderr
        assert "Loaded image: example/five:1" in r.stdout, r.stdout
        run = cli(v, "run", "--rm", "example/five:1", "wc", "-c", "/opt/fill4")
        assert run.returncode == 0 and run.stdout.split()[0] == "4194304", run.stdout + run.stderr
    finally:
        assert stop_vch(v) == []
