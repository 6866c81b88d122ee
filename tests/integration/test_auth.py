"""Public routes, authentication, sessions, throttling and cross-site refusal."""

import concurrent.futures
import time

import pytest

from conftest import (ADMIN_PASSWORD, assert_json_error, basic, next_source_address,
                      parse_set_cookie)

AUTH_ROUTES = ["/container/openapi.json", "/container/session"]


def login(s, srv, username="admin", password=ADMIN_PASSWORD):
    return s.post(srv.url("/container/login"),
                  json={"username": username, "password": password}, timeout=30)


def session_cookie(r):
    """The vic_session value and attributes from a response's Set-Cookie."""
    raw = r.headers.get("Set-Cookie")
    assert raw, "no Set-Cookie header: %r" % dict(r.headers)
    name, value, attrs = parse_set_cookie(raw)
    assert name == "vic_session", raw
    return value, attrs


# ---- public routes ----

def test_version_is_public_text(srv):
    with srv.session() as s:
        r = s.get(srv.url("/container/version"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text.startswith("v"), r.text
    assert "WWW-Authenticate" not in r.headers


def test_hello_is_public_text(srv):
    with srv.session() as s:
        r = s.get(srv.url("/container/hello"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text.strip()


def test_head_version(srv):
    with srv.session() as s:
        r = s.head(srv.url("/container/version"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.content == b""


def test_security_headers_on_tls(srv):
    with srv.session() as s:
        r = s.get(srv.url("/container/version"))
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert "max-age=" in r.headers.get("Strict-Transport-Security", "")


# ---- authentication required ----

@pytest.mark.parametrize("path", AUTH_ROUTES)
def test_no_credentials_is_401_json_with_challenge(srv, path):
    with srv.session() as s:
        r = s.get(srv.url(path))
    assert_json_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), dict(r.headers)


@pytest.mark.parametrize("path", AUTH_ROUTES)
def test_basic_admin_is_200(srv, path):
    with srv.admin_session() as s:
        r = s.get(srv.url(path))
    assert r.status_code == 200, r.text
    r.json()


def test_session_with_basic_names_the_user(admin, srv):
    r = admin.get(srv.url("/container/session"))
    assert r.status_code == 200
    body = r.json()
    assert body["user"] == "admin"
    assert "csrf_token" not in body


def test_wrong_password_is_401(srv):
    with srv.session(auth=basic("admin", "not-the-password")) as s:
        r = s.get(srv.url("/container/session"))
    assert_json_error(r, 401)
    assert "WWW-Authenticate" in r.headers


def test_unknown_user_basic_is_401(srv):
    with srv.session(auth=basic("nobody", ADMIN_PASSWORD)) as s:
        r = s.get(srv.url("/container/session"))
    assert_json_error(r, 401)


@pytest.mark.parametrize("header", [
    "Basic !!!not-base64!!!",
    "Basic " + "YWRtaW4=",  # "admin": no colon
    "Basic",
    "Basic " + "A" * 5000,
    "Digest username=admin",
])
def test_malformed_authorization_is_401(srv, header):
    with srv.session(auth=header) as s:
        r = s.get(srv.url("/container/session"))
    assert_json_error(r, 401)


# ---- OpenAPI ----

def test_openapi_lists_the_routes(admin, srv):
    r = admin.get(srv.url("/container/openapi.json"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    doc = r.json()
    assert "openapi" in doc or "swagger" in doc, "no openapi/swagger key: %.300s" % r.text
    paths = doc.get("paths", {})
    for p in ["/container/version", "/container/hello", "/container/login",
              "/container/logout", "/container/session", "/container/openapi.json"]:
        assert p in paths, "%s missing from openapi paths %s" % (p, sorted(paths))


# ---- login, session, logout ----

def test_login_session_logout_cycle(srv):
    with srv.session() as s:
        r = login(s, srv)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["user"] == "admin"
        csrf = body["csrf_token"]
        assert isinstance(csrf, str) and len(csrf) >= 16
        assert isinstance(body["expires_at"], int) and body["expires_at"] > time.time()

        token, attrs = session_cookie(r)
        assert len(token) >= 16
        assert attrs.get("httponly") is True, attrs
        assert attrs.get("secure") is True, attrs
        assert str(attrs.get("samesite", "")).lower() == "strict", attrs
        assert attrs.get("path") == "/", attrs
        cookie = {"Cookie": "vic_session=" + token}

        r = s.get(srv.url("/container/session"), headers=cookie)
        assert r.status_code == 200, r.text
        assert r.json()["csrf_token"] == csrf
        assert r.json()["user"] == "admin"

        r = s.post(srv.url("/container/logout"), headers=cookie)
        assert_json_error(r, 403, "X-CSRF-Token")

        r = s.post(srv.url("/container/logout"),
                   headers=dict(cookie, **{"X-CSRF-Token": "wrong" + csrf[5:]}))
        assert_json_error(r, 403)

        # the refused logouts did not end the session
        assert s.get(srv.url("/container/session"), headers=cookie).status_code == 200

        r = s.post(srv.url("/container/logout"), headers=dict(cookie, **{"X-CSRF-Token": csrf}))
        assert r.status_code == 204, r.text
        name, value, attrs = parse_set_cookie(r.headers["Set-Cookie"])
        assert name == "vic_session" and value == ""
        assert attrs.get("max-age") == "0", attrs

        r = s.get(srv.url("/container/session"), headers=cookie)
        assert_json_error(r, 401)


def test_sessions_are_independent(srv):
    with srv.session() as s:
        a, b = login(s, srv), login(s, srv)
        assert a.status_code == b.status_code == 200
        ta, tb = session_cookie(a)[0], session_cookie(b)[0]
        assert ta != tb
        assert a.json()["csrf_token"] != b.json()["csrf_token"]
        r = s.post(srv.url("/container/logout"),
                   headers={"Cookie": "vic_session=" + ta, "X-CSRF-Token": a.json()["csrf_token"]})
        assert r.status_code == 204
        r = s.get(srv.url("/container/session"), headers={"Cookie": "vic_session=" + tb})
        assert r.status_code == 200
        assert r.json()["csrf_token"] == b.json()["csrf_token"]


def test_forged_session_cookie_is_401(srv):
    with srv.session() as s:
        r = s.get(srv.url("/container/session"), headers={"Cookie": "vic_session=" + "A" * 43})
    assert_json_error(r, 401)


def test_login_wrong_password_and_unknown_user_same_message(srv):
    with srv.session() as s:
        wrong = login(s, srv, password="definitely-wrong")
        unknown = login(s, srv, username="no-such-user")
    m1 = assert_json_error(wrong, 401, "invalid username or password")
    m2 = assert_json_error(unknown, 401)
    assert m1 == m2
    assert "Set-Cookie" not in wrong.headers


def test_login_unknown_field_is_400_naming_it(srv):
    with srv.session() as s:
        r = s.post(srv.url("/container/login"),
                   json={"username": "admin", "password": ADMIN_PASSWORD, "remember_me": True})
    assert_json_error(r, 400, "remember_me")
    assert "Set-Cookie" not in r.headers


def test_login_missing_password_is_400(srv):
    with srv.session() as s:
        r = s.post(srv.url("/container/login"), json={"username": "admin"})
    assert_json_error(r, 400, "password: is required")


def test_login_wrong_types_is_400(srv):
    with srv.session() as s:
        r = s.post(srv.url("/container/login"), json={"username": 1, "password": ["x"]})
        msg = assert_json_error(r, 400)
        assert "username" in msg and "password" in msg, msg
        r = s.post(srv.url("/container/login"), json=["admin", ADMIN_PASSWORD])
        assert_json_error(r, 400)


# ---- throttling ----

def test_failed_logins_are_throttled(srv):
    source = next_source_address()
    with srv.session() as other:   # the right password has worked before
        assert login(other, srv).status_code == 200
    with srv.session(source=source) as s:
        for i in range(5):
            r = login(s, srv, password="wrong-%d" % i)
            assert_json_error(r, 401)
        r = login(s, srv, password="wrong-5")  # the next guess waits
        assert_json_error(r, 429)
        retry = r.headers.get("Retry-After")
        assert retry is not None and retry.isdigit() and int(retry) > 0, dict(r.headers)
        assert "Set-Cookie" not in r.headers
    # HTTP Basic guesses from the same client are slowed as well ...
    with srv.session(source=source, auth=basic("admin", "wrong-6")) as s:
        assert_json_error(s.get(srv.url("/container/session")), 429)
    # ... but the right password is not, even from there, nor another client.
    with srv.session(source=source) as s:
        assert login(s, srv).status_code == 200
    with srv.session() as other:
        assert login(other, srv).status_code == 200


# ---- cross-site refusal ----

@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "https://127.0.0.1.evil.example"},
])
def test_cross_site_post_is_403(admin, srv, headers):
    r = admin.post(srv.url("/container/logout"), headers=headers)
    assert_json_error(r, 403)


def test_same_origin_post_is_allowed(admin, srv):
    r = admin.post(srv.url("/container/logout"),
                   headers={"Origin": "https://127.0.0.1:%d" % srv.port,
                            "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 204, r.text


def test_cross_site_logout_with_session_cookie_is_403(srv):
    """A logged-in browser session does not let another site log out the user."""
    with srv.session() as s:
        r = login(s, srv)
        token, csrf = session_cookie(r)[0], r.json()["csrf_token"]
        r = s.post(srv.url("/container/logout"),
                   headers={"Cookie": "vic_session=" + token, "X-CSRF-Token": csrf,
                            "Origin": "https://evil.example"})
        assert_json_error(r, 403)
        assert s.get(srv.url("/container/session"),
                     headers={"Cookie": "vic_session=" + token}).status_code == 200


# ---- concurrency ----

def test_concurrent_basic_requests(srv):
    with srv.admin_session() as warm:  # one password check fills the credential cache
        assert warm.get(srv.url("/container/session")).status_code == 200

    def worker(n):
        codes = []
        with srv.admin_session() as s:
            for _ in range(n):
                r = s.get(srv.url("/container/session"), timeout=60)
                codes.append(r.status_code)
                if r.status_code == 200:
                    assert r.json()["user"] == "admin"
        return codes

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(worker, 200 // 16 + (1 if i < 200 % 16 else 0))
                   for i in range(16)]
        codes = [c for f in futures for c in f.result()]
    assert len(codes) == 200
    assert codes == [200] * 200, {c: codes.count(c) for c in set(codes)}
    assert srv.running
