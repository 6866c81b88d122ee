"""Delegation tokens, token links and self-provisioning against the real vic-webservice.

A redemption is checked, consumes a use, records the VCH as "requested" and runs the same
create as the admin's (a real appliance on the local target), within the token's limits.
"""

import base64
import json
import time

from conftest import assert_json_error


def issue(admin, srv, **body):
    body.setdefault("sub", "alice")
    r = admin.post(srv.url("/container/tokens"), json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def bearer(srv, token):
    return srv.session(auth="Bearer " + token)


def test_issue_redeem_records_vch(srv, admin):
    t = issue(admin, srv, ttl=3600,
              restrictions={"memory_mb": 4096, "name_prefix": "it-", "max_vchs": 5})
    assert t["link"] == "https://127.0.0.1:%d/self-provision#token=%s" % (srv.port, t["token"])
    assert t["restrictions"]["memory_mb"] == 4096
    with bearer(srv, t["token"]) as s:
        r = s.get(srv.url("/container/self-provision/limits"))
        assert r.status_code == 200, r.text
        assert r.json()["uses"] == {"consumed": 0, "allowed": 1, "remaining": 1}
        r = s.post(srv.url("/container/self-provision"),
                   json={"name": "other", "compute": {"memory": {"limit": 8192}}})
        msg = assert_json_error(r, 403)
        assert "name: other does not start with the token's prefix \"it-\"" in msg
        assert "compute.memory.limit: 8192 MB exceeds the token's ceiling of 4096 MB" in msg
        assert len(r.json()["problems"]) == 2
        r = s.post(srv.url("/container/self-provision"), json={"name": "it-one"})
        assert r.status_code == 202, r.text
        vch = r.json()
        assert vch["state"] == "requested" and vch["name"] == "it-one"
        r = s.get(srv.url("/container/self-provision/vchs"))
        listed = r.json()["vchs"]
        assert [v["id"] for v in listed] == [vch["id"]]
        assert listed[0]["spec"]["compute"]["memory"]["limit"] == {"value": 4096, "units": "MiB"}
        # the single use is spent
        r = s.post(srv.url("/container/self-provision"), json={"name": "it-two"})
        assert_json_error(r, 403, "uses")
        # the VCH is real, made within the token's limits, and the holder sees it come up
        for _ in range(300):
            listed = s.get(srv.url("/container/self-provision/vchs")).json()["vchs"]
            if listed[0].get("runtime", {}).get("state") == "running":
                break
            time.sleep(0.1)
        assert listed[0]["runtime"]["state"] == "running", listed
        model = admin.get(srv.url("/container/target/local/vch/it-one")).json()
        assert model["compute"]["memory"]["limit"] == {"value": 4096, "units": "MiB"}
        assert model["runtime"]["created_by"] == t["jti"]
        # the holder can delete it; then it is gone for everyone
        r = s.delete(srv.url("/container/self-provision/vchs/%s" % vch["id"]))
        assert r.status_code == 204, r.text
        assert s.get(srv.url("/container/self-provision/vchs")).json()["vchs"] == []
        assert admin.get(srv.url("/container/target/local/vch/it-one")).status_code == 404
    r = admin.get(srv.url("/container/tokens"))
    assert t["token"] not in r.text
    mine = [x for x in r.json()["tokens"] if x["jti"] == t["jti"]][0]
    assert mine["uses"] == {"consumed": 1, "allowed": 1}
    assert mine["state"] == "active"
    r = admin.get(srv.url("/container/tokens/%s/audit" % t["jti"]))
    events = [e["event"] for e in r.json()["events"]]
    assert events[0] == "issue" and "redeem" in events and "deny" in events


def test_revoke_refuses_link_at_once(srv, admin):
    t = issue(admin, srv, restrictions={"uses": 3, "delegation_depth": 1})
    with bearer(srv, t["token"]) as s:
        assert s.get(srv.url("/container/self-provision/limits")).status_code == 200
        child = s.post(srv.url("/container/tokens/%s/delegate" % t["jti"]), json={}).json()
        r = admin.delete(srv.url("/container/tokens/%s" % t["jti"]))
        assert r.status_code == 204
        assert_json_error(s.get(srv.url("/container/self-provision/limits")), 401,
                          "token revoked at")
    with bearer(srv, child["token"]) as s:
        assert_json_error(s.post(srv.url("/container/self-provision"), json={}), 401,
                          "token revoked")
    assert_json_error(admin.delete(srv.url("/container/tokens/no-such-token")), 404)


def test_delegate_narrower_works_wider_refused(srv, admin):
    t = issue(admin, srv, restrictions={"memory_mb": 4096, "uses": 2, "max_vchs": 2,
                                        "delegation_depth": 1})
    path = srv.url("/container/tokens/%s/delegate" % t["jti"])
    with bearer(srv, t["token"]) as s:
        r = s.post(path, json={"restrictions": {"memory_mb": 8192}})
        assert_json_error(r, 403, "restrictions.memory_mb: 8192 exceeds the parent's 4096")
        r = s.post(path, json={"ttl": 10 * 86400})
        assert_json_error(r, 403, "would outlive the parent")
        r = s.post(path, json={"restrictions": {"memory_mb": 2048}})
        assert r.status_code == 201, r.text
        child = r.json()
        assert child["restrictions"]["memory_mb"] == 2048
        assert child["restrictions"]["delegation_depth"] == 0
    with bearer(srv, child["token"]) as s:
        r = s.post(srv.url("/container/self-provision"),
                   json={"compute": {"memory": {"limit": 3000}}})
        assert_json_error(r, 403, "3000 MB exceeds the token's ceiling of 2048 MB")
        r = s.post(srv.url("/container/self-provision"), json={})
        assert r.status_code == 202, r.text
        r = s.post(srv.url("/container/tokens/%s/delegate" % child["jti"]), json={})
        assert_json_error(r, 403, "may not be delegated")


def test_bearer_only_on_holder_routes(srv, admin):
    t = issue(admin, srv)
    with bearer(srv, t["token"]) as s:
        for method, path in [("GET", "/container/tokens"), ("GET", "/container/session"),
                             ("POST", "/container/tokens"), ("GET", "/container/token-keys"),
                             ("GET", "/container/openapi.json")]:
            r = s.request(method, srv.url(path), json={} if method == "POST" else None)
            assert_json_error(r, 403, "a delegation token may not call")
    assert_json_error(admin.get(srv.url("/container/self-provision/limits")), 401,
                      "is for delegation token holders")


def b64(obj):
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_bad_tokens_rejected_with_reason(srv, admin):
    t = issue(admin, srv)
    head, payload, sig = t["token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["restrictions"]["memory_mb"] = 1 << 20
    cases = {
        b64({"alg": "none", "typ": "JWT"}) + "." + payload + ".": "algorithm none",
        b64({"alg": "HS256", "typ": "JWT"}) + "." + payload + "." + sig: "algorithm HS256",
        head + "." + b64(claims) + "." + sig: "signature does not verify",
        t["token"][:-8]: "invalid token",
        t["token"] + ".x": "three segments",
        "A" * 9000: "longer than 8192 bytes",
        "not-a-jwt": "three segments",
    }
    with srv.session() as s:
        for token, reason in cases.items():
            r = s.get(srv.url("/container/self-provision/limits"),
                      headers={"Authorization": "Bearer " + token})
            assert_json_error(r, 401, reason)
    # none of it touched the token
    r = admin.get(srv.url("/container/tokens"))
    mine = [x for x in r.json()["tokens"] if x["jti"] == t["jti"]][0]
    assert mine["state"] == "active" and mine["uses"]["consumed"] == 0


def test_key_rotation_keeps_old_tokens(srv, admin):
    t = issue(admin, srv)
    before = admin.get(srv.url("/container/token-keys")).json()["keys"]
    r = admin.post(srv.url("/container/token-keys"), json={})
    assert r.status_code == 201, r.text
    kid = r.json()["kid"]
    keys = admin.get(srv.url("/container/token-keys")).json()["keys"]
    assert keys[0] == {"kid": kid, "active": True, "tokens_until": None}
    assert before[0]["kid"] in [k["kid"] for k in keys]
    with bearer(srv, t["token"]) as s:
        assert s.get(srv.url("/container/self-provision/limits")).status_code == 200
    t2 = issue(admin, srv)
    header = json.loads(base64.urlsafe_b64decode(t2["token"].split(".")[0] + "=="))
    assert header == {"alg": "ES256", "kid": kid, "typ": "JWT"}
