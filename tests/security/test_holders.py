"""Token holders are confined to their own VCH (review findings 1-3).

Each test replays an attack a hostile token holder (or a careless admin) made against the
real web service on the local target, and checks that it is refused or harmless now.
"""

import shutil
import time
from pathlib import Path

import pytest

from test_tokens import bearer, issue
from vic_integration_conftest import assert_json_error


def create(api, srv, spec):
    r = api.post(srv.url("/container/target/local/vch?wait=1"), json=spec, timeout=120)
    assert r.status_code == 201, r.text
    return api.get(srv.url("/container/target/local/vch/" + spec["name"])).json()


def delete(api, srv, name):
    r = api.delete(srv.url("/container/target/local/vch/%s?wait=1" % name),
                   json={"containers": "all", "volume_stores": "all"}, timeout=120)
    assert r.status_code == 200, r.text


def wait_running(s, srv, vch_id):
    for _ in range(600):
        listed = s.get(srv.url("/container/self-provision/vchs")).json()["vchs"]
        mine = [v for v in listed if v["id"] == vch_id]
        if mine and mine[0].get("runtime", {}).get("state") == "running":
            return mine[0]
        time.sleep(0.1)
    raise AssertionError("holder's VCH %s never ran: %r" % (vch_id, listed))


def ds(srv):
    return Path(srv.home) / "datastore1"


@pytest.fixture
def victim(srv, admin):
    """An admin's VCH with an image of its own in its image store."""
    model = create(admin, srv, {"name": "victim-%d" % time.monotonic_ns()})
    yield model
    delete(admin, srv, model["name"])


def test_holder_names_only_a_datastore(srv, admin, victim):
    """Finding 1, part 1: the holder pointed its stores at the shared image store and at
    another VCH's folder, then deleted its VCH, which removed them."""
    t = issue(admin, srv, restrictions={"max_vchs": 3, "uses": 3})
    attacks = [
        ({"storage": {"image_stores": ["datastore1/vic-images"]}}, "storage.image_stores[0]"),
        ({"storage": {"image_stores": ["ds://datastore1/%s" % victim["name"]]}},
         "storage.image_stores[0]"),
        ({"storage": {"image_stores": ["[datastore1] vic-images"]}}, "storage.image_stores[0]"),
        ({"storage": {"volume_stores": [{"datastore": "ds://datastore1/%s" % victim["name"],
                                         "label": "x"}]}},
         "storage.volume_stores[0].datastore"),
    ]
    with bearer(srv, t["token"]) as s:
        for spec, field in attacks:
            spec["name"] = "thief"
            r = s.post(srv.url("/container/self-provision"), json=spec)
            msg = assert_json_error(r, 403, field)
            assert "names only a datastore" in msg
        # nothing was consumed or made by the refusals
        assert s.get(srv.url("/container/self-provision/limits")).json()["uses"]["consumed"] == 0
        # a datastore alone is fine: the server gives the VCH folders named by its id
        r = s.post(srv.url("/container/self-provision"),
                   json={"name": "own", "storage": {"image_stores": ["datastore1"],
                                                    "volume_stores": [{"datastore": "datastore1"}]}})
        assert r.status_code == 202, r.text
        rec = r.json()
        listed = wait_running(s, srv, rec["id"])
        assert listed["runtime"]["uid"] == rec["id"]
        model = admin.get(srv.url("/container/target/local/vch/own")).json()
        assert model["storage"]["image_stores"] == ["ds://datastore1/vic-images/" + rec["id"]]
        assert model["storage"]["volume_stores"][0]["datastore"] == \
            "ds://datastore1/vic-volumes/%s/default" % rec["id"]
        assert (ds(srv) / "vic-images" / rec["id"]).is_dir()
        r = s.delete(srv.url("/container/self-provision/vchs/" + rec["id"]))
        assert r.status_code == 204, r.text
    assert not (ds(srv) / "vic-images" / rec["id"]).exists()
    assert not (ds(srv) / "vic-volumes" / rec["id"]).exists()
    # the victim kept its folder and store
    vname = victim["name"]
    assert (ds(srv) / vname).is_dir()
    assert Path(victim["storage"]["image_stores"][0].replace("ds://datastore1", str(ds(srv)))).is_dir()
    assert admin.get(srv.url("/container/target/local/vch/" + vname)).json()["runtime"]["state"] \
        == "running"


def test_no_store_may_meet_another_vchs(srv, admin, victim):
    """Finding 1, part 2: for everyone, the admin included, a store that equals, contains
    or lies inside another VCH's folder or stores is refused, naming the owner."""
    vname = victim["name"]
    vstore = victim["storage"]["image_stores"][0].replace("ds://", "")
    cases = [
        ("datastore1/vic-images", "contains VCH %s's image store" % vname),
        (vstore, "is VCH %s's image store" % vname),
        (vstore + "/sub", "lies inside VCH %s's image store" % vname),
        ("datastore1/%s" % vname, "is VCH %s's VM folder" % vname),
        ("datastore1/%s/images" % vname, "lies inside VCH %s's VM folder" % vname),
        ("datastore1/x/../vic-images", "may not hold"),
    ]
    for store, words in cases:
        r = admin.post(srv.url("/container/target/local/vch"),
                       json={"name": "squatter", "storage": {"image_stores": [store]}})
        msg = assert_json_error(r, 400, "storage.image_stores[0]")
        assert words in msg, (store, msg)
        r = admin.post(srv.url("/container/target/local/vch"),
                       json={"name": "squatter", "storage": {
                           "volume_stores": [{"datastore": store, "label": "v"}]}})
        msg = assert_json_error(r, 400, "storage.volume_stores[0].datastore")
        assert words in msg, (store, msg)
    # a VCH may not take a shared folder's name as its own VM folder
    r = admin.post(srv.url("/container/target/local/vch"), json={"name": "vic-images"})
    assert_json_error(r, 400, "name: vic-images is the name of a folder that every VCH")
    assert admin.get(srv.url("/container/target/local/vch/squatter")).status_code == 404


def test_delete_removes_only_what_the_vch_made(srv, admin):
    """Finding 1, part 3: an admin's VCH used an existing folder as its image and volume
    store; its delete removed the folder and everything in it."""
    keep = ds(srv) / "team-data"
    keep.mkdir(parents=True, exist_ok=True)
    (keep / "precious.txt").write_text("not the VCH's")
    name = "borrower-%d" % time.monotonic_ns()
    create(admin, srv, {"name": name, "storage": {
        "image_stores": ["ds://datastore1/team-data"],
        "volume_stores": [{"datastore": "ds://datastore1/team-data/vols", "label": "default"}]}})
    delete(admin, srv, name)
    assert (keep / "precious.txt").read_text() == "not the VCH's"
    # the volume store's folder did not exist: the VCH made it, and its delete removed it
    assert not (keep / "vols").exists()
    shutil.rmtree(keep)


def test_holder_sees_and_deletes_only_the_vch_it_made(srv, admin):
    """Finding 2: after the admin deleted the holder's VCH and made one of the same name,
    the holder listed it (docker host, password file) and deleted it."""
    t = issue(admin, srv, restrictions={"max_vchs": 1})
    name = "bar-%d" % time.monotonic_ns()
    with bearer(srv, t["token"]) as s:
        r = s.post(srv.url("/container/self-provision"), json={"name": name})
        assert r.status_code == 202, r.text
        rec = r.json()
        wait_running(s, srv, rec["id"])
        delete(admin, srv, name)
        theirs = create(admin, srv, {"name": name})
        listed = s.get(srv.url("/container/self-provision/vchs")).json()["vchs"]
        assert [v["id"] for v in listed] == [rec["id"]]
        assert "runtime" not in listed[0], listed
        assert theirs["runtime"]["admin_password_file"] not in \
            s.get(srv.url("/container/self-provision/vchs")).text
        r = s.delete(srv.url("/container/self-provision/vchs/" + rec["id"]))
        assert r.status_code == 204, r.text
        assert s.get(srv.url("/container/self-provision/vchs")).json()["vchs"] == []
    model = admin.get(srv.url("/container/target/local/vch/" + name))
    assert model.status_code == 200, model.text
    assert model.json()["runtime"]["state"] == "running"
    assert model.json()["runtime"]["uid"] == theirs["runtime"]["uid"]
    delete(admin, srv, name)


def test_tls_required_covers_every_security_field(srv, admin):
    """Finding 3: a token with tls_required still accepted auth.client.no_tls_verify (an
    endpoint any local user could use) and insecure registries."""
    t = issue(admin, srv, restrictions={"tls_required": True})
    with bearer(srv, t["token"]) as s:
        cases = [
            ({"auth": {"no_tls": True}}, "auth.no_tls: the token requires TLS"),
            ({"auth": {"client": {"no_tls_verify": True}}},
             "auth.client.no_tls_verify: the token requires TLS with client certificates"),
            ({"registry": {"insecure": ["198.51.100.7:5000"]}},
             "registry.insecure[0]: the token requires TLS"),
        ]
        for spec, words in cases:
            spec["name"] = "loose"
            r = s.post(srv.url("/container/self-provision"), json=spec)
            assert_json_error(r, 403, words)
        assert s.get(srv.url("/container/self-provision/limits")).json()["uses"]["consumed"] == 0
    r = admin.get(srv.url("/container/target/local/vch/loose"))
    assert r.status_code == 404
