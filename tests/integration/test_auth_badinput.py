"""Bad input to a server with access control on: malformed Authorization
headers (no credentials, bad base64, no colon, truncated or huge tokens,
unknown schemes) get 400/401 with an OCI error body and never open anything;
bad JSON and bad fields on the admin API get 400 INVALID and change nothing;
unknown users and projects get 404; a duplicate gets 409 and changes nothing."""
import base64
import json

import pytest

import authutil as au
from authutil import auth_factory  # noqa: F401  (fixture)

B64 = lambda s: base64.b64encode(s.encode("latin-1")).decode()  # noqa: E731


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    gen = au.module_server(tmp_path_factory)
    s = next(gen)
    s.add_project("priv")
    s.add_user("target")
    s.set_member("priv", "target", "developer")
    s.seed("priv/app", "1")
    yield s
    try:
        next(gen)
    except StopIteration:
        pass


def headers_to_try():
    three = "%s.%s.%s" % (au.b64url(b'{"alg":"ES256","typ":"JWT"}'), "A" * (20 * 1024), "A" * 86)
    return {
        "basic-alone": "Basic",
        "basic-space": "Basic ",
        "basic-bad-b64": "Basic !!!",
        "basic-no-colon": "Basic " + B64("ghostnocolon"),
        "basic-empty-user": "Basic " + B64(":x"),
        "basic-empty-both": "Basic " + B64(":"),
        "basic-trailing-junk": "Basic " + B64("ghost:x") + " junk",
        "basic-latin1": "Basic " + B64("t\xe9rget:p\xe4ss"),
        "basic-huge-user": "Basic " + B64("u" * 5000 + ":x"),
        "basic-huge-password": "Basic " + B64("ghost:" + "p" * 20000),
        "bearer-alone": "Bearer",
        "bearer-space": "Bearer ",
        "bearer-two-parts": "Bearer a.b",
        "bearer-three-junk": "Bearer a.b.c",
        "bearer-20k-three-parts": "Bearer " + three,
        "bearer-100k": "Bearer " + "A" * (100 * 1024),
        "unknown-scheme": "Digest username=\"ghost\", realm=\"x\"",
        "negotiate": "Negotiate YIIB",
        "no-scheme": B64("ghost:x"),
        "two-spaces": "Basic  " + B64("ghost:x"),
    }


HEADERS = headers_to_try()
PATHS = ["/v2/", "/v2/priv/app/manifests/1", "/v2/_catalog", "/token?service=berth&scope=repository:priv/app:pull",
         "/api/v1/users"]


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_malformed_authorization(srv, name):
    s = srv
    value = HEADERS[name]
    # each kind from its own address: failures may count per address
    source = "127.0.8.%d" % (sorted(HEADERS).index(name) + 1)
    for path in PATHS:
        r = s.req("GET", path, headers={"Authorization": value}, source=source)
        what = "%s on %s" % (name, path)
        ok = (400, 401, 431) if name == "bearer-100k" else (400, 401)
        if r.status_code == 200 and path.startswith("/token"):
            # treated as anonymous: a token that opens nothing private
            tok = r.json()["token"]
            s.remember_token(tok)
            assert au.access_of(tok, "priv/app") == set(), what
            continue
        if r.status_code == 200 and path == "/v2/_catalog":
            assert "priv/" not in r.text, what   # treated as anonymous
            continue
        assert r.status_code in ok + (429,), "%s: %d %r" % (what, r.status_code, r.content[:300])
        if path.startswith("/v2") or path.startswith("/api"):
            if r.status_code in (400, 401):
                au.assert_status(r, r.status_code, what)
        assert len(r.content) < 4096, "%s: a %d-byte answer" % (what, len(r.content))
        assert value[7:][:64] not in r.text or len(value) < 16, "%s: the header echoed" % what
    au.assert_status(s.req("GET", "/healthz"), 200)


def test_basic_scheme_is_case_insensitive(srv):
    s = srv
    pw = s.users["target"]
    for scheme in ("basic", "BASIC", "bAsIc"):
        r = s.req("GET", "/v2/", headers={"Authorization": "%s %s" % (scheme, B64("target:" + pw))})
        au.assert_status(r, 200, scheme)


def test_oversized_token_refused_unparsed(srv):
    """A real token padded past the token size cap (8 KiB) is refused."""
    s = srv
    tok = s.bearer(("target", s.users["target"]), "repository:priv/app:pull")
    au.assert_status(s.req("GET", "/v2/priv/app/manifests/1", tok), 200)
    h, p, _ = au.jwt_decode(tok)
    p["pad"] = "x" * 9000
    big = au.jwt_resign(tok, payload=p)
    s.remember_token(big)
    r = s.req("GET", "/v2/priv/app/manifests/1", big)
    au.assert_status(r, 401)


# ---------------------------------------------------------------- admin API

def snapshot(s):
    return {
        "users": sorted(json.dumps(u, sort_keys=True) for u in s.api("GET", "/users", expect=200).json()),
        "projects": sorted(json.dumps(p, sort_keys=True) for p in s.api("GET", "/projects", expect=200).json()),
        "robots": sorted(json.dumps(r, sort_keys=True) for r in s.api("GET", "/robots", expect=200).json()),
        "members": sorted(json.dumps(m, sort_keys=True)
                          for m in s.api("GET", "/projects/priv/members", expect=200).json()),
    }


BAD_BODIES = [
    ("POST", "/users", "{"),
    ("POST", "/users", "[]"),
    ("POST", "/users", "null"),
    ("POST", "/users", ""),
    ("POST", "/users", '{"name": 1, "password": "long-enough-password"}'),
    ("POST", "/users", '{"name": "nopass"}'),
    ("POST", "/users", '{"password": "long-enough-password"}'),
    ("POST", "/users", '{"name": "", "password": "long-enough-password"}'),
    ("POST", "/users", '{"name": "a/b", "password": "long-enough-password"}'),
    ("POST", "/users", '{"name": "robot$x", "password": "long-enough-password"}'),
    ("POST", "/users", '{"name": "x", "password": "long-enough-password", "sysadmin": "yes"}'),
    ("POST", "/users", '{"name": "' + "n" * 10000 + '", "password": "long-enough-password"}'),
    ("POST", "/users", '{"name": "x\\u0000y", "password": "long-enough-password"}'),
    ("POST", "/projects", '{"name": "Bad Name!"}'),
    ("POST", "/projects", '{"name": ""}'),
    ("POST", "/projects", '{"name": "UPPER"}'),
    ("POST", "/projects", '{"name": "a/b"}'),
    ("POST", "/projects", '{"name": "okname", "public": "yes"}'),
    ("POST", "/projects", '{"public": true}'),
    ("PUT", "/projects/priv", '{"public": "no"}'),
    ("PUT", "/projects/priv", '{'),
    ("PUT", "/projects/priv/members/target", '{"role": "owner"}'),
    ("PUT", "/projects/priv/members/target", '{"role": 3}'),
    ("PUT", "/projects/priv/members/target", '{}'),
    ("PUT", "/users/target/password", '{}'),
    ("PUT", "/users/target/password", '{"password": 5}'),
    ("PUT", "/users/target/password", '{"password": ""}'),
    ("POST", "/robots", '{"name": "rb"}'),
    ("POST", "/robots", '{"name": "rb", "permissions": [{"project": "priv", "actions": ["fly"]}]}'),
    ("POST", "/robots", '{"name": "rb", "permissions": [{"project": "priv", "actions": []}]}'),
    ("POST", "/robots", '{"name": "rb", "permissions": [{"actions": ["pull"]}]}'),
    ("POST", "/robots", '{"name": "rb", "permissions": "all"}'),
    ("POST", "/robots", '{"name": "rb", "expires_in_days": "x", "permissions": [{"project": "priv", "actions": ["pull"]}]}'),
    ("POST", "/robots", '{"name": "bad name", "permissions": [{"project": "priv", "actions": ["pull"]}]}'),
    ("POST", "/robots", '{"name": "rb", "permissions": [{"project": "priv", "repository": "other/app", "actions": ["pull"]}]}'),
]


@pytest.mark.parametrize("i", range(len(BAD_BODIES)))
def test_bad_json_changes_nothing(srv, i):
    s = srv
    method, path, body = BAD_BODIES[i]
    before = snapshot(s)
    r = s.api(method, path, body)
    au.assert_status(r, 400, "%s %s %r" % (method, path, body[:80]))
    assert "INVALID" in au.oci_codes(r)
    assert snapshot(s) == before, "%s %s %r changed something" % (method, path, body[:80])
    # the user's password is still the one it was
    au.assert_status(s.req("GET", "/v2/", ("target", s.users["target"])), 200)


def test_huge_body_refused(srv):
    s = srv
    before = snapshot(s)
    body = '{"name": "big", "password": "%s"}' % ("p" * (4 << 20))
    r = s.api("POST", "/users", body)
    assert r.status_code in (400, 413), (r.status_code, r.content[:300])
    au.oci_codes(r)
    assert snapshot(s) == before


@pytest.mark.parametrize("method,path,body", [
    ("DELETE", "/users/nobody", None),
    ("PUT", "/users/nobody/password", {"password": "long-enough-password"}),
    ("GET", "/projects/nothere", None),
    ("PUT", "/projects/nothere", {"public": True}),
    ("DELETE", "/projects/nothere", None),
    ("GET", "/projects/nothere/members", None),
    ("PUT", "/projects/nothere/members/target", {"role": "guest"}),
    ("PUT", "/projects/priv/members/nobody", {"role": "guest"}),
    ("DELETE", "/projects/priv/members/nobody", None),
    ("DELETE", "/robots/robot$nobody", None),
    ("GET", "/no-such-endpoint", None),
])
def test_unknown_things_are_404(srv, method, path, body):
    s = srv
    before = snapshot(s)
    r = s.api(method, path, body)
    au.assert_status(r, 404, "%s %s" % (method, path))
    assert snapshot(s) == before


def test_duplicates_are_409_and_change_nothing(srv):
    s = srv
    before = snapshot(s)
    r = s.api("POST", "/users", {"name": "target", "password": s.remember("other-password-123456")})
    au.assert_status(r, 409)
    r = s.api("POST", "/projects", {"name": "priv", "public": True})
    au.assert_status(r, 409)
    r = s.api("POST", "/projects", {"name": "library"})
    au.assert_status(r, 409)
    assert snapshot(s) == before
    au.assert_status(s.req("GET", "/v2/", ("target", s.users["target"])), 200)
    au.assert_status(s.req("GET", "/v2/priv/app/tags/list"), 401)   # still private


def test_wrong_method_on_admin_api(srv):
    r = srv.api("PATCH", "/users", {"name": "x"})
    assert r.status_code in (404, 405), r.status_code
