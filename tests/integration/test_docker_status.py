"""HTTP statuses of the Docker endpoint, through the real docker CLI and raw HTTP, against a
port layer and docker-engine-server from VIC_BIN_DIR: Docker Engine's status for each error
(404 only for a missing container, image, network or volume, with Docker's messages; 409 for
conflicts; 400 for bad parameters), and the routes of features a VCH does not serve (swarm,
plugins, build) answered as an Engine without them answers.

The VCH has a volume store "fast" but none named "default", so that a volume without a store
fails as a VCH without volume stores does.
"""

import uuid

import requests

from test_docker import (BRIDGE_RANGE, docker, image_fixture, registry,  # noqa: F401  (a fixture)
                         vch_fixture)

NO_SWARM = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
            'to connect this node to swarm and try again.')


vch = vch_fixture("vch-status", BRIDGE_RANGE,
                  pl_args=["--volume-store", "fast=[datastore1] volumes-fast"])


image = image_fixture()


def api(vch, method, path, **kw):
    return requests.request(method, vch["url"] + "/v1.41" + path, timeout=60, **kw)


def message(r):
    return r.json()["message"]


def test_missing_volume_store_is_a_bad_parameter_not_a_missing_image(vch, image):
    # the CLI pulls again on a 404 from create ("Unable to find image"): it must not here
    r = docker(vch, "run", "--rm", "-v", "st-vol:/data", image, "true")
    assert r.returncode != 0
    assert "Unable to find image" not in r.stderr, r.stderr
    assert "No volume store named (default) exists" in r.stderr, r.stderr
    body = {"Image": image, "Cmd": ["true"], "HostConfig": {"Binds": ["st-vol2:/data"]}}
    r = api(vch, "POST", "/containers/create", json=body)
    assert r.status_code == 400, r.text
    assert "No volume store named (default) exists" in message(r)
    # nothing was made
    assert docker(vch, "ps", "-a", "-q").stdout.strip() == ""
    r = api(vch, "GET", "/volumes/st-vol2")
    assert r.status_code == 404, r.text
    # a volume in a store that does not exist: the same
    r = docker(vch, "volume", "create", "--opt", "VolumeStore=nope", "st-vol3")
    assert r.returncode != 0 and "No volume store named (nope) exists" in r.stderr, r.stderr
    r = api(vch, "POST", "/volumes/create",
            json={"Name": "st-vol3", "DriverOpts": {"VolumeStore": "nope"}})
    assert r.status_code == 400, r.text
    # a volume driver a VCH does not have
    r = api(vch, "POST", "/volumes/create", json={"Name": "st-vol4", "Driver": "nope"})
    assert r.status_code == 400 and "volume driver nope is not available" in message(r), r.text


def test_missing_image_at_create_is_dockers_404(vch, image):
    missing = image.rsplit(":", 1)[0] + ":st-nosuch"
    r = api(vch, "POST", "/containers/create", json={"Image": missing})
    assert r.status_code == 404, r.text
    assert message(r) == "No such image: " + missing


def test_missing_objects_are_404_with_dockers_messages(vch):
    for path, want in (("/containers/st-nosuch/json", "No such container: st-nosuch"),
                       ("/images/st-nosuch:1/json", "No such image: st-nosuch:1"),
                       ("/networks/st-nosuch", "network st-nosuch not found"),
                       ("/volumes/st-nosuch", "get st-nosuch: no such volume")):
        r = api(vch, "GET", path)
        assert (r.status_code, message(r)) == (404, want), (path, r.text)
    for args, want in ((["container", "inspect", "st-nosuch"], "No such container: st-nosuch"),
                       (["image", "inspect", "st-nosuch:1"], "No such image: st-nosuch:1"),
                       (["network", "inspect", "st-nosuch"], "network st-nosuch not found"),
                       (["volume", "inspect", "st-nosuch"], "no such volume")):
        r = docker(vch, *args)
        assert r.returncode != 0 and want.lower() in r.stderr.lower(), (args, r.stderr)
    for path, want in (("/containers/st-nosuch", "No such container: st-nosuch"),
                       ("/networks/st-nosuch", "network st-nosuch not found"),
                       ("/volumes/st-nosuch", "get st-nosuch: no such volume")):
        r = api(vch, "DELETE", path)
        assert (r.status_code, message(r)) == (404, want), (path, r.text)


def test_conflicts_are_409(vch, image):
    name = "st-dup-%s" % uuid.uuid4().hex[:6]
    try:
        r = docker(vch, "run", "-d", "--name", name, image, "sleep", "300")
        assert r.returncode == 0, r.stderr
        r = api(vch, "POST", "/containers/create", params={"name": name},
                json={"Image": image, "Cmd": ["true"]})
        assert r.status_code == 409 and "already in use" in message(r), r.text
        r = docker(vch, "create", "--name", name, image, "true")
        assert r.returncode != 0 and "already in use" in r.stderr, r.stderr
        assert "Unable to find image" not in r.stderr, r.stderr
        # removing a running container without force
        r = api(vch, "DELETE", "/containers/" + name)
        assert r.status_code == 409, r.text
        assert "You cannot remove a running container" in message(r)
        r = docker(vch, "rm", name)
        assert r.returncode != 0 and "You cannot remove a running container" in r.stderr
        assert docker(vch, "inspect", "-f", "{{.State.Running}}", name).stdout.strip() == "true"
    finally:
        docker(vch, "rm", "-f", name)


def test_bad_parameters_are_400(vch, image):
    before = docker(vch, "ps", "-a", "-q").stdout
    for host, want in (({"RestartPolicy": {"Name": "bogus"}}, "invalid restart policy 'bogus'"),
                       ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}},
                        "maximum retry count cannot be used with restart policy 'always'"),
                       ({"Memory": -1}, "Minimum memory limit allowed is 6MB"),
                       ({"PortBindings": {"abc/tcp": [{"HostPort": "80"}]}},
                        'invalid port specification: "abc/tcp"'),
                       ({"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}},
                        "invalid host port 99999")):
        r = api(vch, "POST", "/containers/create",
                json={"Image": image, "Cmd": ["true"], "HostConfig": host})
        assert r.status_code == 400, (host, r.text)
        assert want in message(r), (host, r.text)
    # through the CLI: the daemon's refusal, no pull
    r = docker(vch, "run", "--rm", "-m", "1m", image, "true")
    assert r.returncode != 0 and "Minimum memory limit allowed is 6MB" in r.stderr, r.stderr
    assert "Unable to find image" not in r.stderr
    r = api(vch, "POST", "/containers/create", data=b"{not json",
            headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert docker(vch, "ps", "-a", "-q").stdout == before  # nothing was made


def test_options_a_vch_cannot_honour_are_refused_with_the_reason(vch, image):
    before = docker(vch, "ps", "-a", "-q").stdout
    for args, want in ((["--cpuset-cpus", "0"], "--cpuset-cpus is not supported"),
                       (["--dns", "192.0.2.1"], "--dns is not supported"),
                       (["--add-host", "a:192.0.2.1"], "--add-host is not supported"),
                       (["--tmpfs", "/run"], "--tmpfs is not supported"),
                       (["--read-only"], "--read-only is not supported"),
                       (["--pid", "host"], "--pid is not supported"),
                       (["--ulimit", "nofile=10:10"], "--ulimit is not supported"),
                       (["--log-driver", "syslog"], "log driver syslog is not supported"),
                       (["--log-opt", "max-size=10m"], "log option max-size is not supported")):
        r = docker(vch, "create", *args, image, "true")
        assert r.returncode != 0 and want in r.stderr, (args, r.stderr)
        assert "Unable to find image" not in r.stderr, r.stderr
    r = api(vch, "POST", "/containers/create",
            json={"Image": image, "HostConfig": {"Sysctls": {"net.ipv4.ip_forward": "1"}}})
    assert r.status_code == 400 and "--sysctl is not supported" in message(r), r.text
    r = api(vch, "POST", "/containers/create",
            json={"Image": image, "MacAddress": "01:00:5e:00:00:01"})  # a multicast address
    assert r.status_code == 400, r.text
    assert message(r) == "01:00:5e:00:00:01 is not a valid mac address", r.text
    # what the CLI sends by default, and what a VCH honours, goes through
    name = "opt-ok-" + uuid.uuid4().hex[:6]
    r = docker(vch, "create", "--name", name, "--log-driver", "json-file", "--init", "--cpus", "2",
               "-m", "64m", "--memory-swap", "64m", image, "true")
    try:
        assert r.returncode == 0, r.stderr
        h = api(vch, "GET", "/containers/%s/json" % name).json()["HostConfig"]
        assert h["NanoCpus"] == 2000000000 and h["Memory"] == 64 << 20, h
        assert h["LogConfig"] == {"Type": "json-file", "Config": {}}, h
    finally:
        docker(vch, "rm", "-f", name)
    assert docker(vch, "ps", "-a", "-q").stdout == before  # nothing else was made


def test_swarm_routes_answer_as_an_engine_outside_a_swarm(vch):
    for args in (["service", "ls"], ["node", "ls"], ["secret", "ls"], ["config", "ls"],
                 ["service", "ps", "x"], ["stack", "ls"]):
        r = docker(vch, *args)
        assert r.returncode != 0, (args, r.stdout)
        assert NO_SWARM in r.stderr, (args, r.stderr)
    for method, path in (("GET", "/swarm"), ("GET", "/nodes"), ("GET", "/services"),
                         ("GET", "/tasks"), ("GET", "/secrets"), ("GET", "/configs"),
                         ("POST", "/services/create"), ("GET", "/services/x/logs")):
        r = api(vch, method, path)
        assert (r.status_code, message(r)) == (503, NO_SWARM), (path, r.text)
    r = docker(vch, "swarm", "leave")
    assert r.returncode != 0 and "This node is not part of a swarm" in r.stderr, r.stderr
    r = api(vch, "POST", "/swarm/init", json={})
    assert r.status_code == 501 and "swarm mode is not supported by a VCH" in message(r)
    r = docker(vch, "info", "--format", "{{.Swarm.LocalNodeState}}")
    assert (r.returncode, r.stdout.strip()) == (0, "inactive"), r.stderr
    assert requests.get(vch["url"] + "/_ping", timeout=10).headers.get("Swarm") == "inactive"


def test_plugins_build_and_unknown_routes(vch):
    r = docker(vch, "plugin", "ls")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ID", "NAME", "DESCRIPTION", "ENABLED"], r.stdout
    r = docker(vch, "plugin", "inspect", "vieux/sshfs")
    assert r.returncode != 0 and "vieux/sshfs" in r.stderr and "not found" in r.stderr, r.stderr
    r = api(vch, "GET", "/plugins/vieux/sshfs:latest/json")
    assert r.status_code == 404, r.text
    r = api(vch, "POST", "/plugins/pull", params={"remote": "vieux/sshfs"})
    assert r.status_code == 501 and "plugins are not supported by a VCH" in message(r)
    for path in ("/build", "/session"):
        r = api(vch, "POST", path)
        assert r.status_code == 501 and "docker build is not supported by a VCH" in message(r)
    # a VCH builds nothing, so its build cache is empty: docker system prune prunes it as well
    r = api(vch, "POST", "/build/prune")
    assert r.status_code == 200 and r.json() == {"CachesDeleted": None, "SpaceReclaimed": 0}, \
        r.text
    r = docker(vch, "builder", "prune", "-f")
    assert r.returncode == 0 and "Total reclaimed space: 0B" in r.stdout, r.stdout + r.stderr
    # Docker's own answer for what it does not route, a wrong method included
    for method, path in (("GET", "/st-nosuch"), ("GET", "/containers/x/st-nosuch"),
                         ("PUT", "/containers/x/start"), ("POST", "/swarm")):
        r = api(vch, method, path)
        assert (r.status_code, message(r)) == (404, "page not found"), (method, path, r.text)
        r = requests.request(method, vch["url"] + path, timeout=10)
        assert (r.status_code, message(r)) == (404, "page not found"), (method, path, r.text)
