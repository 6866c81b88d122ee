"""Hostile and malformed requests: each gets a clean error status and the server lives on.

The module's servers are stopped at the end and must exit 0 with no sanitizer report, which
is the real assertion behind every test here.
"""

import json
import re

import pytest
import requests

from conftest import ADMIN_PASSWORD, assert_json_error, module_server, read_http_response

LOGIN = "/container/login"
JSON_CT = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def small(request, tmp_path_factory):
    """A server that accepts bodies of at most 1024 bytes."""
    return module_server(request, tmp_path_factory, "maxbody", args=["--max-body", "1024"])


def post_login(srv, data, headers=JSON_CT, timeout=30):
    with srv.session() as s:
        return s.post(srv.url(LOGIN), data=data, headers=headers, timeout=timeout)


def assert_alive(srv):
    assert srv.running, "server died:\n" + srv.stderr_tail()
    with srv.session() as s:
        r = s.get(srv.url("/container/version"), timeout=10)
    assert r.status_code == 200


# ---- JSON bodies ----

def test_malformed_json_names_line_and_column(srv):
    body = b'{\n  "username": "admin",\n  "password": \n}'
    msg = assert_json_error(post_login(srv, body), 400)
    m = re.search(r"line (\d+),? column (\d+)", msg)
    assert m, "no line/column in %r" % msg
    assert int(m.group(1)) >= 3, msg  # the error is on line 3 or 4, not line 1
    assert int(m.group(2)) >= 1, msg


def test_truncated_json_is_400(srv):
    assert_json_error(post_login(srv, b'{"username": "admin", "pass'), 400)


def test_duplicate_keys_are_400(srv):
    body = b'{"username": "admin", "username": "root", "password": "x"}'
    assert_json_error(post_login(srv, body), 400)


def test_text_plain_login_is_415(srv):
    body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD})
    r = post_login(srv, body, headers={"Content-Type": "text/plain"})
    assert_json_error(r, 415, "application/json")
    assert "Set-Cookie" not in r.headers


def test_missing_content_type_is_415(srv):
    body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD}).encode()
    with srv.session() as s:
        req = requests.Request("POST", srv.url(LOGIN), data=body).prepare()
        req.headers.pop("Content-Type", None)
        r = s.send(req, timeout=30)
    assert_json_error(r, 415)


def test_json_lookalike_content_type_is_415(srv):
    body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD})
    r = post_login(srv, body, headers={"Content-Type": "application/jsonp"})
    assert_json_error(r, 415)


def test_empty_body_is_400(srv):
    assert_json_error(post_login(srv, b""), 400)


def test_deeply_nested_json_is_400(srv):
    body = b"[" * 100000
    assert_json_error(post_login(srv, body), 400)
    body = b"[" * 100000 + b"]" * 100000
    assert_json_error(post_login(srv, body), 400)


def test_deeply_nested_object_is_400(srv):
    body = b'{"a":' * 50000 + b"1" + b"}" * 50000
    assert_json_error(post_login(srv, body), 400)


@pytest.mark.parametrize("body", [
    b'{"username": "adm\xffin", "password": "x"}',
    b'{"username": "\xc3\x28", "password": "x"}',   # bad continuation byte
    b'{"username": "\xed\xa0\x80", "password": "x"}',  # encoded surrogate
    b'\xef\xbb\xbf{"username": "a", "password": "x"}',  # BOM
], ids=["ff", "bad-continuation", "surrogate", "bom"])
def test_invalid_utf8_json_is_400(srv, body):
    assert_json_error(post_login(srv, body), 400)


def test_nul_in_json_string_is_400(srv):
    body = b'{"username": "admin\\u0000x", "password": "x"}'
    assert_json_error(post_login(srv, body), 400)


def test_long_username_is_400(srv):
    body = json.dumps({"username": "u" * 2048, "password": "x"})
    assert_json_error(post_login(srv, body), 400, "username")


def test_long_password_is_400(srv):
    body = json.dumps({"username": "admin", "password": "p" * 4096})
    assert_json_error(post_login(srv, body), 400, "password")


def test_non_object_bodies_are_400(srv):
    for body in [b"null", b"42", b'"admin"', b"[]", b"true"]:
        assert_json_error(post_login(srv, body), 400)


# ---- routing ----

def test_unknown_route_is_404_json(srv):
    with srv.session() as s:
        for path in ["/container/nope", "/container/version/extra", "/container",
                     "/container//version", "/nope", "/ui/nope.js"]:
            r = s.get(srv.url(path))
            assert_json_error(r, 404)


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/container/version", "GET"),
    ("POST", "/container/version", "GET"),
    ("GET", LOGIN, "POST"),
    ("PUT", "/container/logout", "POST"),
])
def test_wrong_method_is_405_with_allow(srv, method, path, allow):
    with srv.session() as s:
        r = s.request(method, srv.url(path))
    assert_json_error(r, 405)
    assert allow in r.headers.get("Allow", ""), dict(r.headers)


def test_long_url_is_an_error(srv):
    with srv.session() as s:
        r = s.get(srv.url("/container/" + "a" * 8192))
        assert 400 <= r.status_code < 500, r.status_code
        r = s.get(srv.url("/container/version?" + "q=" + "b" * 8192))
        assert r.status_code < 500
    assert_alive(srv)


def test_huge_url_and_header_do_not_crash(srv):
    for kw in [dict(path="/container/" + "a" * 70000),
               dict(path="/container/version", headers={"X-Big": "h" * 70000})]:
        try:
            with srv.session() as s:
                r = s.get(srv.url(kw["path"]), headers=kw.get("headers"), timeout=30)
            assert 400 <= r.status_code < 500, r.status_code
        except requests.ConnectionError:
            pass  # closing the connection is an acceptable answer too
    assert_alive(srv)


def test_garbage_request_line_does_not_crash(srv):
    for junk in [b"\x00\x01\x02 / HTTP/1.1\r\n\r\n", b"GET\r\n\r\n",
                 b"GET /container/version HTTP/9.9\r\nHost: x\r\n\r\n",
                 b"GET /container/version HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"]:
        sock = srv.raw_connect()
        try:
            sock.sendall(junk)
            try:
                status, _, _ = read_http_response(sock, timeout=1)
                assert 400 <= status < 600, status
            except (EOFError, ConnectionError, OSError):
                pass  # closed, or waiting for more: neither is a crash
        finally:
            sock.close()
    assert_alive(srv)


# ---- body limits (--max-body 1024) ----

def test_body_over_limit_is_413(small):
    body = b'{"username": "admin", "password": "' + b"x" * 4096 + b'"}'
    try:
        r = post_login(small, body)
    except requests.ConnectionError as e:
        pytest.fail("connection dropped instead of a 413: %r" % e)
    assert_json_error(r, 413)
    assert_alive(small)


def test_body_over_limit_headers_only_is_413_at_once(small):
    """The limit is checked against Content-Length before the body is read."""
    sock = small.raw_connect()
    try:
        sock.sendall(b"POST /container/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n")
        status, headers, body = read_http_response(sock, timeout=10)
    finally:
        sock.close()
    assert status == 413, (status, body)
    assert json.loads(body)["message"]
    assert_alive(small)


def test_body_within_limit_is_processed(small):
    body = json.dumps({"username": "admin", "password": "x" * 900}).encode()
    assert len(body) <= 1024
    r = post_login(small, body)
    assert_json_error(r, 401)  # parsed, validated and checked: just the wrong password


def test_chunked_body_over_limit_is_refused(small):
    def chunks():
        for _ in range(16):
            yield b"[" + b" " * 510 + b"]"  # 8 KB in total, no Content-Length

    try:
        r = post_login(small, chunks())
        assert "Content-Length" not in r.request.headers
        assert_json_error(r, 413)
    except requests.ConnectionError:
        pass  # a closed connection is acceptable
    assert_alive(small)


def test_chunked_body_within_limit_is_processed(small):
    def chunks():
        yield b'{"username": '
        yield b'"admin", "password": "nope"}'

    r = post_login(small, chunks())
    assert_json_error(r, 401)


# ---- last: the server survived it all ----

def test_servers_still_answer_after_bad_input(srv, small):
    for s in (srv, small):
        assert_alive(s)
        with s.admin_session() as c:
            assert c.get(s.url("/container/session")).status_code == 200
