"""The token service (Docker registry token authentication): the JSON answer
of GET /token and POST /token (OAuth2 password grant), the JWT itself (ES256,
libtrust kid, iss/sub/aud/exp/nbf/iat/jti, access narrowed to what the
caller may do), and every way a token must be refused: expired, not yet
valid, wrong audience or issuer, wrong or flipped signature, alg none, HS256
with the public key, unknown kid, scope widened or subject changed by hand,
token of a deleted user or robot. Forgeries signed with the server's own key
are checked against a control forgery that must be accepted, so a refusal
means the claim was checked, not that the forging was wrong."""
import datetime
import hashlib
import hmac
import secrets
import time

import pytest

import authutil as au
from authutil import auth_factory  # noqa: F401  (fixture)
import ocitools as oci

ACCEPT = {"Accept": oci.OCI_MANIFEST}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    gen = au.module_server(tmp_path_factory)
    s = next(gen)
    s.add_project("priv", public=False)
    s.add_project("pub", public=True)
    for name, role in (("dev", "developer"), ("guest", "guest")):
        s.add_user(name)
        s.set_member("priv", name, role)
    s.seed("priv/app", "1")
    s.seed("priv/other", "1")
    s.seed("pub/app", "1")
    s.key = au.find_signing_key(s.data)
    yield s
    try:
        next(gen)
    except StopIteration:
        pass


def cred(s, name):
    return (name, s.users[name])


def pull(s, tok, repo="priv/app"):
    return s.req("GET", "/v2/%s/manifests/1" % repo, tok, headers=ACCEPT)


def assert_refused(s, r, what):
    au.assert_status(r, 401, what)
    au.assert_challenge(s, r)


def test_get_token_answer_and_claims(srv):
    s = srv
    before = int(time.time())
    body = s.token(cred(s, "dev"), ["repository:priv/app:pull,push,delete"])
    after = int(time.time())
    tok = body["token"]
    assert body.get("access_token", tok) == tok
    assert body["expires_in"] == 300, body
    issued = datetime.datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00"))
    assert before - 2 <= issued.timestamp() <= after + 2, body["issued_at"]

    h, p, sig = au.jwt_decode(tok)
    assert h["alg"] == "ES256" and h.get("typ", "JWT") == "JWT", h
    assert h["kid"] == au.libtrust_kid(s.key.public_key()), h
    assert len(sig) == 64
    assert au.jwt_verify_es256(s.key.public_key(), tok), "not signed by the server's key"
    assert p["iss"] == "berth" and p["aud"] == "berth" and p["sub"] == "dev", p
    assert before - 2 <= p["iat"] <= after + 2 and p["nbf"] <= p["iat"] + 1, p
    assert p["exp"] - p["iat"] == 300, p
    assert isinstance(p["jti"], str) and len(p["jti"]) >= 8, p
    assert au.access_of(tok, "priv/app") == {"pull", "push"}   # narrowed: no delete
    # every token has its own id
    again = s.token(cred(s, "dev"), ["repository:priv/app:pull"])["token"]
    assert au.jwt_decode(again)[1]["jti"] != p["jti"]
    au.assert_status(pull(s, tok), 200)


def test_post_token_password_grant(srv):
    s = srv
    body = s.token(cred(s, "guest"), ["repository:priv/app:pull,push"], post=True)
    tok = body.get("access_token") or body["token"]
    assert au.access_of(tok, "priv/app") == {"pull"}
    assert au.jwt_decode(tok)[1]["sub"] == "guest"
    au.assert_status(pull(s, tok), 200)
    resps, _ = s.push("priv/app", "g", tok)
    au.assert_status(resps[-1], (401, 403))

    r = s.req("POST", "/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 40,
                                      "service": "berth", "client_id": "t"})
    assert r.status_code == 400 and b"unsupported_grant_type" in r.content, (r.status_code, r.content)


def test_several_scopes_are_narrowed_each(srv):
    s = srv
    tok = s.bearer(cred(s, "guest"), "repository:priv/app:pull,push,delete",
                   "repository:pub/app:pull,push", "repository:priv/other:pull")
    assert au.access_of(tok, "priv/app") == {"pull"}
    assert au.access_of(tok, "pub/app") == {"pull"}
    assert au.access_of(tok, "priv/other") == {"pull"}
    tok = s.bearer(None, "repository:priv/app:pull", "repository:pub/app:pull,push")
    assert au.access_of(tok, "priv/app") == set()
    assert au.access_of(tok, "pub/app") == {"pull"}
    assert au.jwt_decode(tok)[1]["aud"] == "berth"


def test_token_is_bound_to_its_scope(srv):
    s = srv
    tok = s.bearer(cred(s, "dev"), "repository:priv/app:pull")
    au.assert_status(pull(s, tok), 200)
    r = pull(s, tok, "priv/other")
    au.assert_status(r, (401, 403))
    if r.status_code == 401:
        assert au.assert_challenge(s, r, "priv/other", "pull").get("error") == "insufficient_scope"
    resps, _ = s.push("priv/app", "bound", tok)
    au.assert_status(resps[0], (401, 403))


@pytest.mark.parametrize("post", [False, True])
def test_wrong_credentials_get_no_token(srv, post):
    s = srv
    bad = ("dev", "wrong-" + secrets.token_hex(8))
    if post:
        r = s.req("POST", "/token", data={"grant_type": "password", "username": bad[0],
                                          "password": bad[1], "service": "berth",
                                          "scope": "repository:priv/app:pull", "client_id": "t"},
                  source="127.0.0.31")
        assert r.status_code in (400, 401), (r.status_code, r.content)
    else:
        r = s.req("GET", "/token", bad, params={"service": "berth", "scope": "repository:priv/app:pull"},
                  source="127.0.0.32")
        assert r.status_code == 401, (r.status_code, r.content)
    try:
        body = r.json()
    except ValueError:
        body = None
    assert not (isinstance(body, dict) and ("token" in body or "access_token" in body)), body


# ---------------------------------------------------------------- forgeries

def base_token(s, name="dev", scope="repository:priv/app:pull,push"):
    return s.bearer(cred(s, name), scope)


def forge(s, tok, header=None, **claims):
    """The token's claims with `claims` changed, re-signed with the server's key."""
    h, p, _ = au.jwt_decode(tok)
    h.update(header or {})
    p.update(claims)
    t = au.jwt_sign_es256(s.key, h, p)
    s.remember_token(t)
    return t


def test_control_forgery_is_accepted(srv):
    """Re-signing unchanged claims with the server's key gives a working
    token: the forgeries below differ from it in one thing only."""
    s = srv
    t = forge(s, base_token(s), jti=secrets.token_hex(8))
    au.assert_status(pull(s, t), 200)


def _now():
    return int(time.time())


FORGERIES = {
    "expired": lambda s, t: forge(s, t, iat=_now() - 900, nbf=_now() - 900, exp=_now() - 60),
    "not_yet_valid": lambda s, t: forge(s, t, iat=_now() + 600, nbf=_now() + 600, exp=_now() + 900),
    "wrong_audience": lambda s, t: forge(s, t, aud="other-registry"),
    "wrong_issuer": lambda s, t: forge(s, t, iss="evil"),
    "foreign_key_same_kid": lambda s, t: au.jwt_sign_es256(au.new_ec_key(), *au.jwt_decode(t)[:2]),
    "foreign_key_own_kid": lambda s, t: _own_kid(t),
    "flipped_signature": lambda s, t: _flip(t),
    "alg_none_empty_sig": lambda s, t: au.jwt_encode(dict(au.jwt_decode(t)[0], alg="none"),
                                                    au.jwt_decode(t)[1]),
    "alg_none_old_sig": lambda s, t: au.jwt_resign(t, header=dict(au.jwt_decode(t)[0], alg="none")),
    "alg_hs256_public_key": lambda s, t: _hs256(s, t),
    "scope_widened": lambda s, t: _widen(t),
    "other_repository_added": lambda s, t: au.jwt_resign(t, payload=dict(
        au.jwt_decode(t)[1], access=au.jwt_decode(t)[1]["access"] +
        [{"type": "repository", "name": "priv/other", "actions": ["pull"]}])),
    "subject_changed": lambda s, t: au.jwt_resign(t, payload=dict(au.jwt_decode(t)[1], sub="admin")),
    "exp_extended": lambda s, t: au.jwt_resign(t, payload=dict(au.jwt_decode(t)[1],
                                                               exp=au.jwt_decode(t)[1]["exp"] + 86400)),
    "two_parts": lambda s, t: t.rsplit(".", 1)[0],
    "four_parts": lambda s, t: t + ".x",
    "garbage_payload": lambda s, t: "%s.%s.%s" % (t.split(".")[0], "!!not-base64!!", t.split(".")[2]),
}


def _own_kid(t):
    k = au.new_ec_key()
    h, p, _ = au.jwt_decode(t)
    h["kid"] = au.libtrust_kid(k.public_key())
    return au.jwt_sign_es256(k, h, p)


def _flip(t):
    h, p, sig = t.split(".")
    raw = bytearray(au.unb64url(sig))
    raw[10] ^= 0x01
    return "%s.%s.%s" % (h, p, au.b64url(bytes(raw)))


def _hs256(s, t):
    from cryptography.hazmat.primitives import serialization
    pem = s.key.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    h, p, _ = au.jwt_decode(t)
    h["alg"] = "HS256"
    unsigned = au.jwt_encode(h, p).rsplit(".", 1)[0]
    return unsigned + "." + au.b64url(hmac.new(pem, unsigned.encode(), hashlib.sha256).digest())


def _widen(t):
    h, p, _ = au.jwt_decode(t)
    for a in p["access"]:
        a["actions"] = ["pull", "push", "delete"]
    return au.jwt_resign(t, payload=p)


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_forged_token_refused(srv, kind):
    s = srv
    tok = base_token(s, "guest", "repository:priv/app:pull")
    au.assert_status(pull(s, tok), 200)   # the original works
    bad = FORGERIES[kind](s, tok)
    s.remember_token(bad)
    assert bad != tok
    assert_refused(s, pull(s, bad), "%s token, pull" % kind)
    r = s.req("GET", "/v2/", bad)
    assert_refused(s, r, "%s token on /v2/" % kind)
    if kind in ("scope_widened", "subject_changed"):
        resps, _ = s.push("priv/app", "widened", bad)
        assert_refused(s, resps[0], "%s token, push" % kind)
        vdigest, _ = s.seed("priv/app", "victim-" + kind)
        assert_refused(s, s.req("DELETE", "/v2/priv/app/manifests/%s" % vdigest, bad), "delete")
        au.assert_status(s.req("GET", "/v2/priv/app/manifests/%s" % vdigest, s.admin,
                               headers=ACCEPT), 200)
    # a refused token is no key to the admin API either
    assert s.api("GET", "/users", cred=bad).status_code == 401


# ---------------------------------------------------------------- deleted principals

def test_token_of_deleted_user(srv):
    s = srv
    name = "gone%s" % secrets.token_hex(3)
    c = s.add_user(name)
    s.set_member("priv", name, "developer")
    tok = s.bearer(c, "repository:priv/app:pull,push")
    au.assert_status(pull(s, tok), 200)
    s.api("DELETE", "/users/%s" % name, expect=204)
    assert_refused(s, pull(s, tok), "token of a deleted user")
    resps, _ = s.push("priv/app", "ghost", tok)
    assert_refused(s, resps[0], "push with a deleted user's token")
    au.assert_status(s.req("GET", "/v2/priv/app/manifests/1", c, headers=ACCEPT, source="127.0.0.33"),
                     401, "Basic of a deleted user")
    # a new user of the same name does not revive the old token
    s.add_user(name)
    assert_refused(s, pull(s, tok), "old token, user re-created")


def test_token_of_deleted_robot(srv):
    s = srv
    name = "tmp%s" % secrets.token_hex(3)
    c = s.add_robot(name, [{"project": "priv", "actions": ["pull", "push"]}], expires_in_days=1)
    tok = s.bearer(c, "repository:priv/app:pull,push")
    assert au.access_of(tok, "priv/app") == {"pull", "push"}
    au.assert_status(pull(s, tok), 200)
    au.assert_status(s.req("GET", "/v2/priv/app/manifests/1", c, headers=ACCEPT), 200)
    r = s.api("DELETE", "/robots/%s" % c[0])
    if r.status_code == 404:   # the contract's {name}: with or without the robot$ prefix
        r = s.api("DELETE", "/robots/%s" % name)
    au.assert_status(r, 204)
    assert_refused(s, pull(s, tok), "token of a deleted robot")
    au.assert_status(s.req("GET", "/v2/priv/app/manifests/1", c, headers=ACCEPT, source="127.0.0.34"),
                     401, "Basic of a deleted robot")


def test_robot_token_is_narrowed_to_its_permissions(srv):
    s = srv
    c = s.add_robot("narrow%s" % secrets.token_hex(3),
                    [{"project": "priv", "repository": "priv/app", "actions": ["pull"]}],
                    expires_in_days=1)
    tok = s.bearer(c, "repository:priv/app:pull,push,delete", "repository:priv/other:pull")
    assert au.access_of(tok, "priv/app") == {"pull"}
    assert au.access_of(tok, "priv/other") == set()
    assert au.jwt_decode(tok)[1]["sub"] == c[0]


def test_tokens_survive_a_restart(auth_factory):
    """The signing key is kept: a token issued before a restart still works,
    and the key file is private to the server."""
    import os
    s = auth_factory()
    s.add_project("priv")
    s.seed("priv/app")
    tok = s.bearer(s.admin, "repository:priv/app:pull")
    kid = au.jwt_decode(tok)[0]["kid"]
    s.restart()
    au.assert_status(pull(s, tok), 200)
    assert au.jwt_decode(s.bearer(s.admin, "repository:priv/app:pull"))[0]["kid"] == kid
    key = au.find_signing_key(s.data)
    assert au.libtrust_kid(key.public_key()) == kid
    for root, _, files in os.walk(s.data):
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                if b"PRIVATE KEY-----" in fh.read(4096):
                    assert os.stat(path).st_mode & 0o077 == 0, "%s is readable by others" % path
