"""docker diff, export and commit through the real docker CLI against a VCH: a container's root
disk against its image's layers (Docker's kinds), the disk as a tar, and the changes as a new
layer and image that docker run, images, history and inspect then use.

Servers, registry and CLI as in test_docker.py (its fixtures and helpers are reused); needs
root.
"""

import io
import json
import subprocess
import tarfile
import time

import pytest
import requests

from test_docker import (DOCKER, docker, image_fixture,  # noqa: F401  (registry: a fixture)
                         registry, vch_fixture)

BRIDGE_RANGE = "10.224.0.0/16"

vch = vch_fixture("vch-commit", BRIDGE_RANGE,
                  pl_args=["--volume-store", "default=[datastore1] volumes-default"])

image = image_fixture()


def ok(r):
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def changes(vch, name):
    """docker diff's lines as {path: kind letter}."""
    out = ok(docker(vch, "diff", name))
    got = {}
    for line in out.splitlines():
        kind, path = line.split(" ", 1)
        got[path] = kind
    return got


def test_diff_of_a_fresh_container_is_empty(vch, image):
    ok(docker(vch, "create", "--name", "fresh", image, "true"))
    try:
        assert changes(vch, "fresh") == {}
        # and after a run: what VIC puts on the disk to start it is no change
        ok(docker(vch, "start", "-a", "fresh"))
        assert changes(vch, "fresh") == {}
    finally:
        docker(vch, "rm", "-f", "fresh")


def test_diff_shows_added_modified_and_deleted(vch, image):
    script = ("mkdir -p /new/sub && echo hi > /new/sub/f && echo x >> /etc/passwd && "
              "rm /bin/true && mkdir /root/sub && rm -r /root && chmod 600 /etc/group")
    ok(docker(vch, "run", "--name", "changed", image, "sh", "-c", script))
    try:
        got = changes(vch, "changed")
        assert got.get("/new") == "A" and got.get("/new/sub") == "A"
        assert got.get("/new/sub/f") == "A"
        assert got.get("/etc") == "C" and got.get("/etc/passwd") == "C"
        assert got.get("/bin") == "C" and got.get("/bin/true") == "D"
        assert got.get("/root") == "D"
        assert not [p for p in got if p.startswith("/root/")], got  # only the top of a tree
        assert got.get("/etc/group") == "C"
        assert set(got) == {"/new", "/new/sub", "/new/sub/f", "/etc", "/etc/passwd",
                            "/etc/group", "/bin", "/bin/true", "/root"}, got
        # the API's Kind numbers
        r = requests.get(vch["url"] + "/v1.41/containers/changed/changes", timeout=30)
        assert r.status_code == 200
        kinds = {c["Path"]: c["Kind"] for c in r.json()}
        assert kinds["/new"] == 1 and kinds["/etc/passwd"] == 0 and kinds["/root"] == 2
    finally:
        docker(vch, "rm", "-f", "changed")


def test_diff_of_a_running_container(vch, image):
    ok(docker(vch, "run", "-d", "--name", "live", image, "sh", "-c",
              "touch /made-while-running && exec sleep 60"))
    try:
        for _ in range(100):
            if changes(vch, "live").get("/made-while-running") == "A":
                break
        assert changes(vch, "live") == {"/made-while-running": "A"}
    finally:
        docker(vch, "rm", "-f", "live")


def test_diff_of_an_unknown_container_is_a_404(vch):
    r = docker(vch, "diff", "nosuch")
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr


def test_export_streams_the_root_disk(vch, image, tmp_path):
    ok(docker(vch, "run", "--name", "exp", image, "sh", "-c",
              "echo payload > /data.txt && ln -s data.txt /link && chown 12:34 /data.txt"))
    try:
        out = tmp_path / "exp.tar"
        ok(docker(vch, "export", "-o", str(out), "exp"))
        with tarfile.open(out) as t:
            names = set(t.getnames())
            assert "data.txt" in names and "bin/busybox" in names or "bin/sh" in names
            assert not [n for n in names if n.startswith((".tether", ".vic", "/", "./"))], names
            m = t.getmember("data.txt")
            assert (m.uid, m.gid) == (12, 34)
            assert t.extractfile(m).read() == b"payload\n"
            assert t.getmember("link").issym() and t.getmember("link").linkname == "data.txt"
        # to stdout too
        env_host = vch["host"]
        p = subprocess.run([DOCKER, "-H", env_host, "export", "exp"], capture_output=True,
                           timeout=60)
        assert p.returncode == 0, p.stderr
        with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
            assert "data.txt" in t.getnames()
    finally:
        docker(vch, "rm", "-f", "exp")


def test_export_of_an_unknown_container_is_a_404(vch):
    r = docker(vch, "export", "nosuch")
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr


def test_commit_makes_an_image_run_can_use(vch, image):
    ok(docker(vch, "run", "--name", "base", image, "sh", "-c",
              "echo committed > /hello && rm /bin/true && mkdir /w"))
    try:
        out = ok(docker(vch, "commit", "-a", "Ann Author", "-m", "a message",
                        "--change", 'ENV GREETING="hi there"', "--change", "WORKDIR /w",
                        "--change", 'CMD ["cat", "/hello"]', "--change", "LABEL made=by-commit",
                        "--change", "EXPOSE 8080/tcp",
                        "base", "committed/img:v1"))
        new_id = out.strip()
        assert new_id.startswith("sha256:")
        # images, inspect, history
        assert "committed/img" in ok(docker(vch, "images", "--format", "{{.Repository}}:{{.Tag}}"))
        info = json.loads(ok(docker(vch, "image", "inspect", "committed/img:v1")))[0]
        assert info["Id"] == new_id
        assert info["Author"] == "Ann Author" and info["Comment"] == "a message"
        assert info["Config"]["Cmd"] == ["cat", "/hello"]
        assert "GREETING=hi there" in info["Config"]["Env"]
        assert info["Config"]["WorkingDir"] == "/w"
        assert info["Config"]["Labels"]["made"] == "by-commit"
        assert "8080/tcp" in info["Config"]["ExposedPorts"]
        base = json.loads(ok(docker(vch, "image", "inspect", image)))[0]
        assert info["RootFS"]["Layers"][:-1] == base["RootFS"]["Layers"]
        assert len(info["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1
        hist = ok(docker(vch, "history", "--no-trunc", "--format", "{{.Comment}}|{{.CreatedBy}}",
                         "committed/img:v1")).splitlines()
        assert hist[0].startswith("a message|sh -c echo committed"), hist
        # run: the command, environment and working directory of the new config, the files
        # of the new layer, the deletion kept
        run = ok(docker(vch, "run", "--rm", "committed/img:v1"))
        assert run == "committed\n"
        run = ok(docker(vch, "run", "--rm", "committed/img:v1", "sh", "-c",
                        'echo "$GREETING" $(pwd); test -e /bin/true && echo has-true || echo no'))
        assert run == "hi there /w\nno\n"
        # the container's own changes against its new image: none
        ok(docker(vch, "create", "--name", "child", "committed/img:v1"))
        assert changes(vch, "child") == {}
    finally:
        docker(vch, "rm", "-f", "base", "child")
        docker(vch, "rmi", "committed/img:v1")


def test_commit_without_changes_adds_an_empty_layer_entry(vch, image):
    ok(docker(vch, "create", "--name", "same", image, "true"))
    new_id = "none"
    try:
        new_id = ok(docker(vch, "commit", "same")).strip()
        info = json.loads(ok(docker(vch, "image", "inspect", new_id)))[0]
        base = json.loads(ok(docker(vch, "image", "inspect", image)))[0]
        assert info["RootFS"]["Layers"] == base["RootFS"]["Layers"]
        assert info["RepoTags"] == []
        assert info["Parent"] == base["Id"]
        assert info["Container"] == json.loads(ok(docker(vch, "inspect", "same")))[0]["Id"]
    finally:
        docker(vch, "rm", "-f", "same")
        docker(vch, "rmi", new_id)


def test_commit_refusals(vch, image):
    ok(docker(vch, "create", "--name", "refuse", image, "true"))
    before = ok(docker(vch, "images", "-a", "-q", "--no-trunc"))
    try:
        r = docker(vch, "commit", "--change", "RUN echo no", "refuse")
        assert r.returncode != 0 and "run is not a valid change command" in r.stderr, r.stderr
        r = docker(vch, "commit", "--change", "ENV", "refuse")
        assert r.returncode != 0 and "ENV requires at least one argument" in r.stderr, r.stderr
        r = docker(vch, "commit", "nosuch")
        assert r.returncode != 0 and "No such container: nosuch" in r.stderr, r.stderr
        r = docker(vch, "commit", "refuse", "Bad:Name:x")
        assert r.returncode != 0, r.stdout
        # nothing was stored by the refusals
        assert ok(docker(vch, "images", "-a", "-q", "--no-trunc")) == before
    finally:
        docker(vch, "rm", "-f", "refuse")


def test_build_is_refused_with_the_reason(vch):
    r = requests.post(vch["url"] + "/v1.41/build", timeout=10)
    assert r.status_code == 501
    assert "docker build is not supported by a VCH" in r.json()["message"]


def test_commit_pauses_a_running_container_for_the_read(vch, image):
    since = int(time.time()) - 1
    ok(docker(vch, "run", "-d", "--name", "busy", image, "sh", "-c",
              "echo one > /f && exec sleep 60"))
    try:
        ok(docker(vch, "commit", "busy", "committed/paused:1"))
        ok(docker(vch, "commit", "--pause=false", "busy", "committed/paused:2"))
        st = json.loads(ok(docker(vch, "inspect", "busy")))[0]["State"]
        assert st["Running"] is True and st["Paused"] is False, st
        r = docker(vch, "events", "--since", str(since), "--until", str(int(time.time()) + 1),
                   "--filter", "container=busy", "--format", "{{.Action}}", timeout=30)
        actions = r.stdout.split()
        # one pause and one unpause: the first commit's, none for --pause=false
        assert actions.count("pause") == 1 and actions.count("unpause") == 1, r.stdout + r.stderr
        assert actions.index("pause") < actions.index("unpause")
        out = ok(docker(vch, "run", "--rm", "committed/paused:1", "cat", "/f"))
        assert out == "one\n"
    finally:
        docker(vch, "rm", "-f", "busy")
