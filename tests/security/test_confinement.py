"""Container confinement: what a container's root may do to the host and to other containers.

Each test replays an attack (or a check of the confinement it relies on) with the real docker
CLI against docker-engine-server over port-layer-server, whose containers are local VMs
(vic-vmx monitors running namespace sandboxes whose PID 1 is the tether).

- capabilities: Docker's default set, --cap-add / --cap-drop (ALL included) end to end, in
  the main session and in `docker exec`; unknown names and options are a precise 400;
- seccomp: Docker's default profile (`Seccomp: 2`), `unshare -U` refused with EPERM,
  `--security-opt seccomp=unconfined` turns it off;
- no-new-privileges: `NoNewPrivs: 1` only when asked;
- the cgroup namespace: the guest sees its cgroup as "/" (or the monitor says why not);
- per-container id ranges: two containers' roots are owned by disjoint host id ranges and
  no file of a root disk is owned by a host id outside its container's range; an image file
  owned by an id past the range loses its setuid bit.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from test_docker import DOCKER, docker, registry, start_vch, stop_vch  # noqa: F401

BRIDGE_RANGE = "10.247.0.0/16"

# Docker's default capability set (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP)
DOCKER_DEFAULT_CAPS = 0xa80425fb
CAP_SYS_ADMIN = 21
CAP_NET_RAW = 13


@pytest.fixture(scope="module")
def vch(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the port layer runs VMs: needs root")
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("no docker CLI at %s" % DOCKER)
    v = start_vch(tmp_path_factory.mktemp("confine"), "vch-sec", BRIDGE_RANGE)
    yield v
    stop_vch(v)


@pytest.fixture(scope="module")
def image(vch, registry):
    img = registry + "/busybox:latest"
    r = docker(vch, "pull", img)
    assert r.returncode == 0, r.stderr
    return img


def status_of(vch, image, *run_args, cmd="cat /proc/self/status"):
    """/proc/self/status of a container's process, as a dict."""
    r = docker(vch, "run", "--rm", *run_args, image, "sh", "-c", cmd)
    assert r.returncode == 0, (r.stdout, r.stderr)
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def caps(status, which="CapEff"):
    return int(status[which], 16)


# ---- capabilities ----

def test_default_capabilities_are_dockers(vch, image):
    """Before: a container's root held every capability of its user namespace (CapEff
    000001ffffffffff). Now: Docker's default set, bounding set included."""
    st = status_of(vch, image)
    assert caps(st, "CapEff") == DOCKER_DEFAULT_CAPS, st
    assert caps(st, "CapPrm") == DOCKER_DEFAULT_CAPS, st
    assert caps(st, "CapBnd") == DOCKER_DEFAULT_CAPS, st
    assert caps(st, "CapInh") == 0, st


def test_cap_drop_all_leaves_none(vch, image):
    st = status_of(vch, image, "--cap-drop", "ALL")
    assert caps(st, "CapEff") == 0 and caps(st, "CapBnd") == 0, st


def test_cap_add_and_cap_drop(vch, image):
    st = status_of(vch, image, "--cap-add", "SYS_ADMIN", "--cap-drop", "net_raw")
    want = (DOCKER_DEFAULT_CAPS | 1 << CAP_SYS_ADMIN) & ~(1 << CAP_NET_RAW)
    assert caps(st) == want, st
    st = status_of(vch, image, "--cap-drop", "ALL", "--cap-add", "CAP_KILL")
    assert caps(st) == 1 << 5, st


def test_a_non_root_user_holds_no_capability(vch, image):
    st = status_of(vch, image, "-u", "nobody")
    assert caps(st, "CapEff") == 0 and caps(st, "CapPrm") == 0, st
    assert caps(st, "CapBnd") == DOCKER_DEFAULT_CAPS, st


def test_unknown_capabilities_and_options_are_refused(vch, image):
    r = docker(vch, "run", "--rm", "--cap-add", "FLY", image, "true")
    assert r.returncode != 0 and 'unknown capability: "CAP_FLY"' in r.stderr, r.stderr
    r = docker(vch, "create", "--cap-drop", "CAP_NOPE", image, "true")
    assert r.returncode != 0 and "invalid CapDrop" in r.stderr, r.stderr
    r = docker(vch, "create", "--security-opt", "apparmor=docker-custom", image, "true")
    assert r.returncode != 0 and "invalid --security-opt" in r.stderr, r.stderr
    r = docker(vch, "create", "--security-opt", "frobnicate=1", image, "true")
    assert r.returncode != 0 and "invalid --security-opt" in r.stderr, r.stderr
    r = docker(vch, "create", "--privileged", image, "true")
    assert r.returncode != 0 and "--privileged is not supported" in r.stderr, r.stderr
    # nothing was created by a refused request
    r = docker(vch, "ps", "-aq")
    assert r.stdout.strip() == "", r.stdout


def test_exec_sessions_are_confined_like_the_container(vch, image):
    """Before: `docker exec` ran the guest's root with every capability and no filter."""
    r = docker(vch, "run", "-d", "--name", "conf-exec", "--cap-drop", "ALL",
               "--cap-add", "CHOWN", "--security-opt", "no-new-privileges", image,
               "sleep", "600")
    assert r.returncode == 0, r.stderr
    try:
        r = docker(vch, "exec", "conf-exec", "cat", "/proc/self/status")
        assert r.returncode == 0, r.stderr
        st = dict((k.strip(), v.strip()) for k, _, v in
                  (line.partition(":") for line in r.stdout.splitlines()))
        assert caps(st, "CapEff") == 1 and caps(st, "CapBnd") == 1, st
        assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
        r = docker(vch, "exec", "conf-exec", "unshare", "-U", "true")
        assert r.returncode != 0 and "Operation not permitted" in r.stderr, r
    finally:
        docker(vch, "rm", "-f", "conf-exec")


# ---- seccomp and no-new-privileges ----

def test_seccomp_filter_and_no_new_privs(vch, image):
    """Before: `Seccomp: 0` and `NoNewPrivs: 0` whatever was asked."""
    st = status_of(vch, image)
    assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "0", st
    st = status_of(vch, image, "--security-opt", "no-new-privileges")
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
    st = status_of(vch, image, "--security-opt", "no-new-privileges:false")
    assert st["NoNewPrivs"] == "0", st
    st = status_of(vch, image, "--security-opt", "seccomp=unconfined")
    assert st["Seccomp"] == "0", st


def test_user_namespaces_cannot_be_created(vch, image):
    """The attack: a container's root makes a user namespace of its own, where it holds every
    capability again (the way most container escapes start). Before: `unshare -U` succeeded.
    Now: EPERM from the seccomp filter (CAP_SYS_ADMIN is not granted)."""
    r = docker(vch, "run", "--rm", image, "unshare", "-U", "-r", "id", "-u")
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, (r.stdout, r.stderr)
    r = docker(vch, "run", "--rm", image, "unshare", "-m", "true")
    assert r.returncode != 0 and "Operation not permitted" in r.stderr, (r.stdout, r.stderr)
    # what the filter leaves alone still works: fork, exec, sockets, files
    r = docker(vch, "run", "--rm", image, "sh", "-c", "echo x > /tmp/f && wc -c < /tmp/f")
    assert (r.returncode, r.stdout.strip()) == (0, "2"), r


# ---- cgroup namespace ----

def test_the_guest_sees_its_own_cgroup_as_the_root(vch, image):
    """Before: /proc/self/cgroup showed the host's cgroup paths (the VCH's pool and the VM's
    cgroup names). Now: a cgroup namespace rooted at the VM's cgroup, or a log line saying
    the host refused one."""
    r = docker(vch, "run", "-d", "--name", "conf-cg", image, "sleep", "600")
    assert r.returncode == 0, r.stderr
    try:
        r = docker(vch, "exec", "conf-cg", "cat", "/proc/1/cgroup")
        assert r.returncode == 0, r.stderr
        lines = [line for line in r.stdout.splitlines() if line]
        logs = "".join(p.read_text() for p in
                       (vch["home"] / "datastore1").glob("conf-cg-*/monitor.log"))
        if "event=cgroupns_unavailable" not in logs:
            assert lines and all(line.endswith(":/") for line in lines), r.stdout
    finally:
        docker(vch, "rm", "-f", "conf-cg")


# ---- per-container id ranges ----

ID_BASE, ID_COUNT = 100000, 65536


def vm_dir_of(vch, name):
    dirs = list((vch["home"] / "datastore1").glob(name + "-*"))
    assert len(dirs) == 1, dirs
    return dirs[0]


def owners(root):
    """Every (uid, gid) owning a file of the tree, and the set-id files with their owners."""
    ids, setid = set(), []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in [dirpath] + [os.path.join(dirpath, f) for f in filenames + dirnames]:
            st = os.lstat(n)
            ids.add((st.st_uid, st.st_gid))
            if st.st_mode & 0o6000 and not os.path.islink(n):
                setid.append((n, st.st_uid, st.st_mode))
    return ids, setid


def range_of(vm_dir):
    vmx = (vm_dir / (vm_dir.name + ".vmx")).read_text()
    m = re.search(r'^vic\.idRange = "(\d+)"', vmx, re.M)
    assert m, vmx
    return ID_BASE + int(m.group(1)) * ID_COUNT


def test_containers_own_their_files_through_disjoint_id_ranges(vch, image):
    """The attack: root of container A writes a file; root of container B (same VCH, or
    another) owns it, since both were host uid 100000. Before: both roots' files were owned
    by 100000. Now: each container's files are owned by its own range, and no file of a root
    disk is owned by a host id outside it."""
    for n in ("range-a", "range-b"):
        r = docker(vch, "run", "--name", n, image, "sh", "-c", "echo mine > /root-file")
        assert r.returncode == 0, r.stderr
    try:
        bases = {}
        for n in ("range-a", "range-b"):
            d = vm_dir_of(vch, n)
            base = os.stat(d / "rootfs").st_uid  # the guest's root, on the host
            assert base >= ID_BASE + ID_COUNT, base  # never the range all VMs once shared
            assert base == range_of(d)
            ids, _ = owners(d / "rootfs")
            outside = [i for i in ids if not (base <= i[0] < base + ID_COUNT and
                                              base <= i[1] < base + ID_COUNT)]
            assert outside == [], (n, base, outside)
            st = os.stat(d / "rootfs" / "root-file")
            assert (st.st_uid, st.st_gid) == (base, base), (n, st.st_uid)
            bases[n] = base
        assert abs(bases["range-a"] - bases["range-b"]) >= ID_COUNT, bases
    finally:
        for n in ("range-a", "range-b"):
            docker(vch, "rm", "-f", n)


def test_a_removed_containers_range_is_freed(vch, image):
    r = docker(vch, "create", "--name", "range-free", image, "true")
    assert r.returncode == 0, r.stderr
    base = range_of(vm_dir_of(vch, "range-free"))
    n = (base - ID_BASE) // ID_COUNT
    registry = Path(os.environ.get("VIC_IDRANGE_DIR") or "/var/lib/vic-c/idranges")
    rec = (registry / str(n)).read_text()
    assert "range-free-" in rec, rec
    assert docker(vch, "rm", "range-free").returncode == 0
    left = registry / str(n)
    assert not left.exists() or "range-free-" not in left.read_text()


def layer_tar(entries):
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, uid, mode, data in entries:
            info = tarfile.TarInfo(name)
            info.uid, info.gid, info.mode, info.size = uid, uid, mode, len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_image_files_owned_past_the_range_lose_setuid(vch, registry, tmp_path):
    """The attack: an image ships a setuid file owned by uid 70000 (and one by 0). Before:
    the root disk kept host uid 70000 with the setuid bit (a setuid program of a host user
    outside any container's range). Now: owned by the range's overflow id, without setuid;
    the root-owned one stays setuid, inside the range."""
    import shutil
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.skip("skopeo builds the test image")
    # an OCI layout with busybox plus one layer holding the hostile files
    src = tmp_path / "oci"
    r = subprocess.run([skopeo, "copy", "--src-tls-verify=false",
                        "docker://%s/busybox:latest" % registry, "oci:%s:latest" % src],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import hashlib
    import json as js
    layer = layer_tar([("hostile-70000", 70000, 0o4755, b"#!/bin/sh\nid\n"),
                       ("setuid-root", 0, 0o4755, b"#!/bin/sh\nid\n")])
    ld = hashlib.sha256(layer).hexdigest()
    blobs = src / "blobs" / "sha256"
    (blobs / ld).write_bytes(layer)
    index = js.loads((src / "index.json").read_text())
    mdesc = index["manifests"][0]
    manifest = js.loads((blobs / mdesc["digest"].split(":")[1]).read_text())
    config = js.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    config["rootfs"]["diff_ids"].append("sha256:" + ld)
    cb = js.dumps(config).encode()
    cd = hashlib.sha256(cb).hexdigest()
    (blobs / cd).write_bytes(cb)
    manifest["config"] = dict(manifest["config"], digest="sha256:" + cd, size=len(cb))
    manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                               "digest": "sha256:" + ld, "size": len(layer)})
    mb = js.dumps(manifest).encode()
    md = hashlib.sha256(mb).hexdigest()
    (blobs / md).write_bytes(mb)
    index["manifests"] = [dict(mdesc, digest="sha256:" + md, size=len(mb))]
    (src / "index.json").write_text(js.dumps(index))
    r = subprocess.run([skopeo, "copy", "--dest-tls-verify=false", "oci:%s:latest" % src,
                        "docker://%s/hostile:latest" % registry],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    img = registry + "/hostile:latest"
    assert docker(vch, "pull", img).returncode == 0
    r = docker(vch, "create", "--name", "hostile", img, "true")
    assert r.returncode == 0, r.stderr
    try:
        d = vm_dir_of(vch, "hostile")
        base = os.stat(d / "rootfs").st_uid
        st = os.lstat(d / "rootfs" / "hostile-70000")
        assert st.st_uid == base + 65534 and not st.st_mode & 0o6000, (st.st_uid, oct(st.st_mode))
        st = os.lstat(d / "rootfs" / "setuid-root")
        assert st.st_uid == base and st.st_mode & 0o4000, (st.st_uid, oct(st.st_mode))
        ids, setid = owners(d / "rootfs")
        assert all(base <= u < base + ID_COUNT and base <= g < base + ID_COUNT
                   for u, g in ids), sorted(ids)[:5]
        assert all(base <= u < base + ID_COUNT for _, u, _ in setid), setid
    finally:
        docker(vch, "rm", "-f", "hostile")
