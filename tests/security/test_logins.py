"""Failed logins slow the guesser down, not the administrator (review finding 6).

The throttle was keyed on the client address, and every client of this service is
127.0.0.1: five wrong guesses by anyone made the right password fail with 429 for up to
15 minutes, in the web service and in vicadmin. And 2 of 20 concurrent bad logins got past
it. Now failures count per user name and address, each attempt takes its place before its
check, and credentials that worked before are always checked.
"""

import threading

import requests

from vic_integration_conftest import assert_json_error, next_source_address


def login(s, srv, username="admin", password=None):
    return s.post(srv.url("/container/login"),
                  json={"username": username, "password": password or srv.password},
                  timeout=60)


def test_guesses_from_the_admins_address_do_not_lock_the_admin_out(srv):
    here = next_source_address()   # attacker and administrator share it, as on loopback
    with srv.session(source=here) as s:
        assert login(s, srv).status_code == 200
        for i in range(8):
            login(s, srv, password="guess-%d" % i)
        assert_json_error(login(s, srv, password="guess-9"), 429)
        # the administrator, same name and address, right password: served at once
        r = login(s, srv)
        assert r.status_code == 200, r.text
    with srv.admin_session(source=here) as s:
        assert s.get(srv.url("/container/session")).status_code == 200
    # guesses at another name do not touch the admin's, from the same address
    with srv.session(source=here) as s:
        for i in range(6):
            login(s, srv, username="mallory", password="x%d" % i)
        assert login(s, srv).status_code == 200


def test_concurrent_guesses_are_counted_before_their_check(srv):
    here = next_source_address()
    start = threading.Barrier(20)
    codes = []
    lock = threading.Lock()

    def guess(i):
        with srv.session(source=here) as s:
            start.wait()
            try:
                r = login(s, srv, username="eve", password="guess-%d" % i)
                code = r.status_code
            except requests.RequestException as e:
                code = repr(e)
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # five checked (401), as if one after another; the rest wait unchecked (429)
    assert sorted(codes, key=str) == [401] * 5 + [429] * 15, codes
