"""Hardening (issue PS, item 7): the smaller holes, one test each.
Passwords past bcrypt's 72 bytes, high-S ECDSA signatures, `aud` lists and
future `iat` in tokens, user names differing in case only, descriptor sizes
that do not match the blob, file modes under umask 0, the digest-mismatch
error, and the Host header in challenges and Location."""
import json
import os
import time

import pytest
import requests

import authutil as au
import ocitools as oci
from authutil import auth_factory  # noqa: F401  (fixture)
from conftest import berth_factory  # noqa: F401  (fixture)

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.fixture
def srv(auth_factory):
    s = auth_factory()
    s.add_project("team")
    return s


def test_password_longer_than_72_bytes_is_refused_at_verification(srv):
    s = srv
    pw = "p" * 40 + os.urandom(8).hex() + "q" * 16   # 72 bytes
    assert len(pw) == 72
    s.add_user("long", pw)
    au.assert_status(s.req("GET", "/v2/", ("long", pw)), 200)
    for extra in ("x", "xyz" * 30):
        longer = pw + extra
        s.remember_basic("long", longer)
        au.assert_status(s.req("GET", "/v2/", ("long", longer), source="127.0.60.1"), 401)
        r = s.req("POST", "/token", data={"grant_type": "password", "username": "long",
                                          "password": longer, "service": "berth", "client_id": "t"},
                  source="127.0.60.2")
        assert r.status_code == 401, (r.status_code, r.content)


def _resigned(s, tok, **changes):
    h, p, _ = au.jwt_decode(tok)
    p.update(changes)
    return au.jwt_sign_es256(au.find_signing_key(s.data), h, p)


def test_high_s_signature_is_refused(srv):
    s = srv
    tok = s.bearer(s.admin, "repository:team/app:pull")
    au.assert_status(s.req("GET", "/v2/team/app/tags/list", tok), 404)
    h, p, sig = tok.split(".")
    raw = au.unb64url(sig)
    r_, s_ = raw[:32], int.from_bytes(raw[32:], "big")
    if s_ > P256_N // 2:   # the server signed high-S itself: make it low to test the other way
        pytest.fail("the server issued a high-S signature")
    high = "%s.%s.%s" % (h, p, au.b64url(r_ + (P256_N - s_).to_bytes(32, "big")))
    pub = au.find_signing_key(s.data).public_key()
    assert au.jwt_verify_es256(pub, high), "the high-S twin must be a valid ECDSA signature"
    au.assert_status(s.req("GET", "/v2/team/app/tags/list", high), 401)


def test_audience_must_be_exactly_ours(srv):
    s = srv
    tok = s.bearer(s.admin, "repository:team/app:pull")
    au.assert_status(s.req("GET", "/v2/team/app/tags/list", _resigned(s, tok)), 404)
    au.assert_status(s.req("GET", "/v2/team/app/tags/list", _resigned(s, tok, aud=["berth"])), 404)
    for aud in (["berth", "other"], ["other", "berth"], [], ["berth", "berth"]):
        au.assert_status(s.req("GET", "/v2/team/app/tags/list", _resigned(s, tok, aud=aud)), 401,
                         "aud %r" % aud)


def test_iat_in_the_future_is_refused(srv):
    s = srv
    tok = s.bearer(s.admin, "repository:team/app:pull")
    now = int(time.time())
    au.assert_status(s.req("GET", "/v2/team/app/tags/list", _resigned(s, tok, iat=now + 2)), 404)
    for ahead in (120, 3600):
        bad = _resigned(s, tok, iat=now + ahead)
        au.assert_status(s.req("GET", "/v2/team/app/tags/list", bad), 401, "iat +%d" % ahead)


def test_user_names_are_unique_ignoring_case(srv):
    s = srv
    for name in ("Admin", "ADMIN", "aDmIn"):
        r = s.api("POST", "/users", {"name": name, "password": au.rand_secret()})
        au.assert_status(r, 409, name)
    s.add_user("Carol")
    au.assert_status(s.api("POST", "/users", {"name": "carol", "password": au.rand_secret()}), 409)
    names = [x["name"] for x in s.api("GET", "/users", expect=200).json()]
    assert sorted(n.lower() for n in names) == sorted({n.lower() for n in names}), names


def test_descriptor_size_must_match_the_blob(berth_factory):
    s = berth_factory()
    config = oci.image_config("sizes")
    layer = b"layer-bytes-" + os.urandom(100)
    for blob in (config, layer):
        r = requests.post(s.url + "/v2/sz/app/blobs/uploads/", params={"digest": oci.sha256(blob)},
                          data=blob, timeout=30)
        assert r.status_code == 201
    good = json.loads(oci.manifest(config, [layer]))
    for where in ("config", "layer"):
        m = json.loads(json.dumps(good))
        if where == "config":
            m["config"]["size"] += 1
        else:
            m["layers"][0]["size"] -= 1
        r = requests.put(s.url + "/v2/sz/app/manifests/bad-" + where, data=json.dumps(m).encode(),
                         headers={"Content-Type": oci.OCI_MANIFEST}, timeout=30)
        assert r.status_code == 400, (where, r.status_code, r.content)
        codes = [e["code"] for e in r.json()["errors"]]
        assert set(codes) & {"MANIFEST_INVALID", "SIZE_INVALID"}, codes
        assert "size" in r.text
    r = requests.put(s.url + "/v2/sz/app/manifests/good", data=json.dumps(good).encode(),
                     headers={"Content-Type": oci.OCI_MANIFEST}, timeout=30)
    assert r.status_code == 201, r.content


def test_secret_files_are_0600_whatever_the_umask(auth_factory):
    old = os.umask(0)
    try:
        s = auth_factory()
    finally:
        os.umask(old)
    s.add_user("u1")
    seen = []
    for root, _, files in os.walk(s.data):
        for f in files:
            if f.startswith("berth.db") or f.endswith(".pem"):
                mode = os.stat(os.path.join(root, f)).st_mode & 0o777
                seen.append((f, oct(mode)))
                assert mode & 0o077 == 0, (f, oct(mode))
    names = [f for f, _ in seen]
    assert "berth.db" in names and "token-key.pem" in names, seen


def test_digest_mismatch_says_so(berth_factory):
    s = berth_factory()
    data = b"some bytes"
    wrong = "sha256:" + "ab" * 32
    r = requests.post(s.url + "/v2/dg/app/blobs/uploads/", params={"digest": wrong}, data=data,
                      timeout=30)
    assert r.status_code == 400, r.content
    err = r.json()["errors"][0]
    assert err["code"] == "DIGEST_INVALID", err
    assert "digest" in err["message"] and "not found" not in err["message"], err
    # the two-step form too
    r = requests.post(s.url + "/v2/dg/app/blobs/uploads/", timeout=30)
    loc = r.headers["Location"]
    r = requests.put((s.url + loc) if loc.startswith("/") else loc, params={"digest": wrong},
                     data=data, timeout=30)
    err = r.json()["errors"][0]
    assert r.status_code == 400 and err["code"] == "DIGEST_INVALID", (r.status_code, err)
    assert "digest" in err["message"] and "not found" not in err["message"], err


def test_host_header_is_not_echoed(auth_factory, tmp_path):
    s = auth_factory()
    evil = {"Host": "evil.example:%d" % s.port}
    r = s.req("GET", "/v2/", headers=evil)
    au.assert_status(r, 401)
    assert "evil" not in r.headers["WWW-Authenticate"], r.headers["WWW-Authenticate"]
    assert "127.0.0.1:%d/token" % s.port in r.headers["WWW-Authenticate"]
    s.add_project("h")
    r = s.req("POST", "/v2/h/app/blobs/uploads/", s.admin, headers=evil)
    au.assert_status(r, 202)
    assert "evil" not in r.headers["Location"], r.headers["Location"]
    # the client's own name for this server is fine
    r = s.req("GET", "/v2/", headers={"Host": "localhost:%d" % s.port})
    assert 'realm="http://localhost:%d/token"' % s.port in r.headers["WWW-Authenticate"]
    # a configured external URL is what is used
    cfg = tmp_path / "c.yml"
    cfg.write_text("http:\n  host: https://registry.example.com\n")
    s2 = auth_factory(extra_args=["--config", str(cfg)])
    for h in (evil, {"Host": "registry.example.com"}, {}):
        r = s2.req("GET", "/v2/", headers=h)
        assert 'realm="https://registry.example.com/token"' in r.headers["WWW-Authenticate"], (
            h, r.headers["WWW-Authenticate"])
    s2.add_project("h")
    r = s2.req("POST", "/v2/h/app/blobs/uploads/", s2.admin, headers=evil)
    au.assert_status(r, 202)
    assert r.headers["Location"].startswith("https://registry.example.com/v2/h/app/blobs/uploads/") \
        or r.headers["Location"].startswith("/v2/h/app/blobs/uploads/"), r.headers["Location"]
