"""Throttling of failed logins (5 per account, 20 per client address, within 5
minutes: then 429 TOOMANYREQUESTS with Retry-After whatever the password) and
no user enumeration: an unknown user gets exactly the answer a wrong password
gets (status, headers that matter, body) on /v2/, GET /token, POST /token and
the admin API, in about the same time. Each test acts from its own client
addresses (127.0.0.x) so that the per-address limit of one never spills into
another."""
import statistics
import time

import pytest

import authutil as au
from authutil import auth_factory  # noqa: F401  (fixture)


@pytest.fixture
def srv(auth_factory):
    s = auth_factory()
    s.add_project("priv")
    return s


def basic_v2(s, user, pw, source):
    return s.req("GET", "/v2/", (user, pw), source=source)


def test_account_throttled_after_five_failures(srv):
    s = srv
    s.add_user("victim")
    other = s.add_user("bystander")
    pw = s.users["victim"]
    # different addresses: only the account's own limit can apply
    for i in range(5):
        r = basic_v2(s, "victim", "wrong-%d-%s" % (i, pw[:4]), "127.0.1.%d" % (i + 1))
        au.assert_status(r, 401, "failure %d" % (i + 1))
    r = basic_v2(s, "victim", "wrong-6", "127.0.1.6")
    au.assert_status(r, 429, "6th wrong password")
    assert int(r.headers["Retry-After"]) > 0, r.headers
    r = basic_v2(s, "victim", pw, "127.0.1.7")
    au.assert_status(r, 429, "right password after 6 failures")
    assert int(r.headers["Retry-After"]) > 0
    # the token service and the admin API are throttled the same way
    r = s.req("GET", "/token", ("victim", pw), params={"service": "berth"}, source="127.0.1.8")
    assert r.status_code == 429, (r.status_code, r.content)
    r = s.req("POST", "/token", data={"grant_type": "password", "username": "victim", "password": pw,
                                      "service": "berth", "client_id": "t"}, source="127.0.1.9")
    assert r.status_code == 429, (r.status_code, r.content)
    au.assert_status(s.api("GET", "/projects", cred=("victim", pw), source="127.0.1.10"), 429)
    # another account is not affected, from any address
    au.assert_status(basic_v2(s, *other, "127.0.1.1"), 200)
    au.assert_status(basic_v2(s, *other, "127.0.0.1"), 200)


def test_address_throttled_after_twenty_failures(srv):
    s = srv
    users = [s.add_user("u%d" % i) for i in range(11)]
    fresh = s.add_user("fresh")
    n = 0
    for name, pw in users[:10]:
        for k in range(2):
            n += 1
            au.assert_status(basic_v2(s, name, "nope-%d" % k, "127.0.2.1"), 401, "failure %d" % n)
    r = basic_v2(s, *fresh, "127.0.2.1")
    au.assert_status(r, 429, "21st attempt from the address, right password")
    assert int(r.headers["Retry-After"]) > 0
    # the same account from another address is fine
    au.assert_status(basic_v2(s, *fresh, "127.0.2.2"), 200)
    au.assert_status(basic_v2(s, *users[0], "127.0.2.3"), 200)


def test_throttle_kept_across_restart(srv):
    """The counts live in the database."""
    s = srv
    s.add_user("keep")
    for i in range(6):
        basic_v2(s, "keep", "bad-%d" % i, "127.0.3.%d" % (i + 1))
    s.restart()
    au.assert_status(basic_v2(s, "keep", s.users["keep"], "127.0.3.9"), 429)


def test_successful_logins_are_not_counted(srv):
    s = srv
    c = s.add_user("often")
    for _ in range(25):
        au.assert_status(basic_v2(s, *c, "127.0.4.1"), 200)
    for i in range(4):
        au.assert_status(basic_v2(s, "often", "bad-%d" % i, "127.0.4.2"), 401)
    au.assert_status(basic_v2(s, *c, "127.0.4.3"), 200)


# ---------------------------------------------------------------- enumeration

def _answers(s, user, pw, source):
    """The answers to the same wrong login through every entry point."""
    out = {}
    r = basic_v2(s, user, pw, source)
    out["v2"] = r
    r = s.req("GET", "/v2/priv/app/manifests/1", (user, pw), source=source)
    out["v2-repo"] = r
    out["token-get"] = s.req("GET", "/token", (user, pw), params={
        "service": "berth", "scope": "repository:priv/app:pull"}, source=source)
    out["token-post"] = s.req("POST", "/token", data={
        "grant_type": "password", "username": user, "password": pw, "service": "berth",
        "scope": "repository:priv/app:pull", "client_id": "t"}, source=source)
    out["api"] = s.api("GET", "/users", cred=(user, pw), source=source)
    return out


def _shape(r):
    # request ids and dates differ between any two answers
    h = {k.lower(): v for k, v in r.headers.items()
         if k.lower() in ("www-authenticate", "content-type", "content-length", "retry-after")}
    return r.status_code, h, r.content


def test_unknown_user_answers_like_a_wrong_password(srv):
    s = srv
    s.add_user("real")
    known = _answers(s, "real", "wrong-password-1", "127.0.5.1")
    unknown = _answers(s, "nobody-here", "wrong-password-1", "127.0.5.2")
    for k in known:
        assert known[k].status_code in (400, 401), (k, known[k].status_code, known[k].content)
        assert _shape(known[k]) == _shape(unknown[k]), "%s differs:\n known  %r\n unknown %r" % (
            k, _shape(known[k]), _shape(unknown[k]))
    # the admin API's 404 for a missing user is for a system administrator only
    other = s.add_user("other")
    au.assert_status(s.api("DELETE", "/users/nobody-here", cred=other, source="127.0.5.3"), 403)
    au.assert_status(s.api("DELETE", "/users/real", cred=other, source="127.0.5.3"), 403)


def test_unknown_user_costs_what_a_wrong_password_costs(srv):
    """bcrypt runs for unknown users too: the medians of the two kinds of
    failures are within a factor of two (and a wrong password costs time at all)."""
    s = srv
    names = [s.add_user("t%d" % i)[0] for i in range(9)]
    known, unknown = [], []
    for i, name in enumerate(names):
        for who, into in ((name, known), ("ghost%d" % i, unknown)):
            t = time.perf_counter()
            r = basic_v2(s, who, "wrong", "127.0.6.%d" % (i * 2 + (who == name) + 1))
            into.append(time.perf_counter() - t)
            assert r.status_code == 401
    k, u = statistics.median(known), statistics.median(unknown)
    base = statistics.median([_timed(lambda: s.req("GET", "/healthz")) for _ in range(9)])
    assert k - base > 0.005, "a wrong password costs %.1f ms over a trivial request: no bcrypt?" % (
        (k - base) * 1000)
    assert 0.5 < k / u < 2.0, "wrong password %.1f ms, unknown user %.1f ms" % (k * 1000, u * 1000)


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t
