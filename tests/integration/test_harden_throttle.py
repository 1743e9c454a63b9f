"""Hardening (issue PS, item 4): nobody can lock a user out. Failed logins
are throttled per (account, address) pair and per address, with a back-off
that grows with each further failure; a correct password from an address
that has not failed is never refused; every failure, throttled ones
included, is audited. The failures live in the database: the test moves
their times back (as a clock would) instead of sleeping."""
import os
import sqlite3

import pytest

import authutil as au
from authutil import auth_factory  # noqa: F401  (fixture)


@pytest.fixture
def srv(auth_factory):
    return auth_factory()


def v2(s, cred, source):
    return s.req("GET", "/v2/", cred, source=source)


def age_failures(s, seconds):
    con = sqlite3.connect(os.path.join(s.data, "berth.db"), timeout=30)
    try:
        cur = con.execute("update login_failures set time = time - ?", (seconds,))
        con.commit()
        assert cur.rowcount > 0
    finally:
        con.close()


def test_wrong_passwords_from_elsewhere_never_lock_out_the_admin(srv):
    s = srv
    # an attacker on many addresses guesses the admin's password
    for a in range(1, 6):
        for i in range(8):
            r = v2(s, ("admin", "guess-%d-%d" % (a, i)), "127.0.50.%d" % a)
            assert r.status_code in (401, 429), r.status_code
    # the admin from an address that has not failed is let in at once
    au.assert_status(v2(s, s.admin, "127.0.51.1"), 200)
    au.assert_status(s.api("GET", "/users", source="127.0.51.1"), 200)
    # the attacker's addresses are throttled, even with the right password
    r = v2(s, s.admin, "127.0.50.1")
    au.assert_status(r, 429)
    # every failure is audited, throttled attempts included (40 guesses and
    # the right password refused from a throttled address just above)
    rows = s.api("GET", "/audit", params={"limit": "1000"}, source="127.0.51.1",
                 expect=200).json()
    fails = [x for x in rows if x["action"] == "login_failure" and x["who"] == "admin"]
    assert len(fails) == 41, len(fails)
    assert {x["result"] for x in fails} >= {"failure", "throttled"}, fails
    assert {x["address"] for x in fails} == {"127.0.50.%d" % a for a in range(1, 6)}


def test_backoff_grows_with_each_failure(srv):
    s = srv
    c = s.add_user("slowpoke")
    src = "127.0.52.1"
    for i in range(5):
        au.assert_status(v2(s, ("slowpoke", "bad-%d" % i), src), 401)
    r = v2(s, c, src)
    au.assert_status(r, 429)
    first = int(r.headers["Retry-After"])
    assert first > 0
    # once the wait is over, one more guess is allowed, then a longer wait
    age_failures(s, first + 1)
    au.assert_status(v2(s, ("slowpoke", "bad-5"), src), 401)
    r = v2(s, c, src)
    au.assert_status(r, 429)
    second = int(r.headers["Retry-After"])
    assert second > first, (first, second)
    age_failures(s, second + 1)
    au.assert_status(v2(s, ("slowpoke", "bad-6"), src), 401)
    r = v2(s, c, src)
    au.assert_status(r, 429)
    third = int(r.headers["Retry-After"])
    assert third > second, (first, second, third)
    # the right password after the wait clears the pair's count
    age_failures(s, third + 1)
    au.assert_status(v2(s, c, src), 200)
    for i in range(4):
        au.assert_status(v2(s, ("slowpoke", "again-%d" % i), src), 401)
    au.assert_status(v2(s, c, src), 200)


def test_address_backoff_spares_other_addresses(srv):
    s = srv
    users = [s.add_user("w%d" % i) for i in range(12)]
    src = "127.0.53.1"
    for name, _ in users[:10]:
        for k in range(2):
            au.assert_status(v2(s, (name, "nope-%d" % k), src), 401)
    r = v2(s, users[11], src)
    au.assert_status(r, 429)
    assert int(r.headers["Retry-After"]) > 0
    for name, pw in users:
        au.assert_status(v2(s, (name, pw), "127.0.53.2"), 200)
