"""The token audit log stays bounded under unauthenticated failures (review finding 8).

Every failed Bearer check wrote an audit row, without authentication, so anyone who could
reach the service could grow its database without bound. Repeated denials now count in one
row, and rows past the retention limits are pruned.
"""

import sqlite3

from vic_integration_conftest import assert_json_error


def audit_rows(srv):
    db = sqlite3.connect("file:%s?mode=ro" % (srv.home / "vic.db"), uri=True, timeout=30)
    try:
        return db.execute("SELECT event, repeats FROM token_audit ORDER BY id").fetchall()
    finally:
        db.close()


def test_forged_bearer_flood_adds_one_counted_row(make_server):
    s = make_server(args=["--audit-max-rows", "40"])
    before = len(audit_rows(s))
    with s.session(auth="Bearer not.a.token") as forger:
        for _ in range(200):
            r = forger.get(s.url("/container/self-provision/limits"))
            assert_json_error(r, 401)
    rows = audit_rows(s)
    denials = [n for event, n in rows if event == "deny"]
    assert len(rows) - before <= 1, rows[before:]
    assert denials and max(denials) == 200, rows


def test_retention_limit_holds(make_server):
    s = make_server(args=["--audit-max-rows", "40"])
    with s.admin_session() as admin:
        for i in range(60):
            r = admin.post(s.url("/container/tokens"), json={"sub": "u%d" % i, "ttl": 60})
            assert r.status_code == 201, r.text
    # each source address's denial is a row of its own; the limit still holds
    for i in range(5):
        with s.session(auth="Bearer forged-%d" % i) as forger:
            forger.get(s.url("/container/self-provision/limits"))
    assert len(audit_rows(s)) <= 40
    s.stop()
    s.start()   # and at every start
    assert len(audit_rows(s)) <= 40
