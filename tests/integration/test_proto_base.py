"""OCI distribution protocol: the /v2/ base endpoint, routing, methods, and the
name / tag / digest grammars, against a real `berth serve`."""
import hashlib

import pytest

from ocitools import (API_VERSION, Client, assert_error, errors, image_config, manifest,
                      sha256, sha512)


@pytest.fixture
def c(berth):
    return Client(berth)


def test_v2_base(c):
    r = c.get("/v2/")
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-API-Version"] == API_VERSION
    h = c.head("/v2/")
    assert h.status_code == 200
    assert h.headers["Docker-Distribution-API-Version"] == API_VERSION
    assert h.content == b""


def test_unknown_route_is_404_with_api_version(c):
    for path in ["/v2/foo/bar/unknown", "/v2/foo/blobs", "/v2/foo/manifests/"]:
        r = c.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.headers["Docker-Distribution-API-Version"] == API_VERSION


@pytest.mark.parametrize("method,path", [
    ("POST", "/v2/repo/manifests/latest"),
    ("PATCH", "/v2/repo/manifests/latest"),
    ("PUT", "/v2/repo/blobs/" + sha256(b"x")),
    ("POST", "/v2/repo/blobs/" + sha256(b"x")),
    ("POST", "/v2/repo/tags/list"),
    ("DELETE", "/v2/repo/tags/list"),
    ("PUT", "/v2/repo/referrers/" + sha256(b"x")),
    ("DELETE", "/v2/_catalog"),
])
def test_wrong_method_is_unsupported(c, method, path):
    r = c.req(method, path, data=b"")
    assert_error(r, 405, "UNSUPPORTED")
    # The server keeps working afterwards.
    assert c.get("/v2/").status_code == 200


def test_error_body_shape(c):
    r = c.get("/v2/repo/blobs/" + sha256(b"nothing"))
    errs = errors(r)
    assert errs[0]["code"] == "BLOB_UNKNOWN"
    assert isinstance(errs[0]["message"], str) and errs[0]["message"]


VALID_NAMES = ["a", "repo", "library/ubuntu", "a.b", "a_b", "a__b", "a-b", "a---b",
               "a0/b1/c2/d3", "x" * 200, "team/sub.team/app_name-2"]
INVALID_NAMES = ["Foo", "repo/Upper", "foo-", "-foo", "_foo", "foo..bar", "foo___bar",
                 "foo._bar", "foo//bar", "foo bar", "foo/.bar", "foo:bar", "foo@bar"]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names_are_accepted(c, name):
    # Unknown but valid: NAME_UNKNOWN, not NAME_INVALID.
    assert_error(c.get("/v2/%s/tags/list" % name), 404, "NAME_UNKNOWN")
    r = c.post("/v2/%s/blobs/uploads/" % name)
    assert r.status_code == 202, (name, r.status_code, r.content)


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names_are_refused(c, name):
    path = name.replace(" ", "%20")
    assert_error(c.get("/v2/%s/tags/list" % path), 400, "NAME_INVALID")
    assert_error(c.post("/v2/%s/blobs/uploads/" % path), 400, "NAME_INVALID")
    assert_error(c.get("/v2/%s/manifests/latest" % path), 400, "NAME_INVALID")
    assert_error(c.get("/v2/%s/blobs/%s" % (path, sha256(b"x"))), 400, "NAME_INVALID")
    # Nothing was created by the refused POST.
    cat = c.get("/v2/_catalog")
    assert cat.status_code == 200
    assert cat.json()["repositories"] == []


GOOD_256 = sha256(b"grammar")
GOOD_512 = sha512(b"grammar")
BAD_DIGESTS = [
    "sha256:" + "z" * 64,                        # not hex
    "sha256:" + hashlib.sha256(b"g").hexdigest()[:63],   # too short
    "sha256:" + hashlib.sha256(b"g").hexdigest() + "0",  # too long
    "sha256:" + hashlib.sha256(b"g").hexdigest().upper(),  # uppercase hex
    "sha512:" + hashlib.sha256(b"g").hexdigest(),          # sha512 with 64 hex
    "sha256",
    "sha256:",
    ":" + hashlib.sha256(b"g").hexdigest(),
]


@pytest.mark.parametrize("digest", [GOOD_256, GOOD_512])
def test_valid_unknown_digests(c, digest):
    assert_error(c.get("/v2/repo/blobs/" + digest), 404, ("BLOB_UNKNOWN", "NAME_UNKNOWN"))
    assert_error(c.head("/v2/repo/blobs/" + digest), 404, ("BLOB_UNKNOWN", "NAME_UNKNOWN"))
    # "repo" does not exist: NAME_UNKNOWN is as valid as MANIFEST_UNKNOWN.
    assert_error(c.get("/v2/repo/manifests/" + digest), 404, ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"))
    c.push_image("repo", "t", seed="now the repository exists")
    assert_error(c.get("/v2/repo/blobs/" + digest), 404, "BLOB_UNKNOWN")
    assert_error(c.get("/v2/repo/manifests/" + digest), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("digest", BAD_DIGESTS)
def test_invalid_digests_are_refused(c, digest):
    assert_error(c.get("/v2/repo/blobs/" + digest), 400, "DIGEST_INVALID")
    assert_error(c.delete("/v2/repo/blobs/" + digest), 400, "DIGEST_INVALID")
    # Monolithic upload with a malformed digest: refused, nothing stored.
    r = c.post("/v2/repo/blobs/uploads/", params={"digest": digest}, data=b"grammar",
               headers={"Content-Type": "application/octet-stream"})
    assert_error(r, 400, "DIGEST_INVALID")
    assert not c.blob_exists("repo", sha256(b"grammar"))


def test_invalid_manifest_digest_reference(c):
    assert_error(c.get("/v2/repo/manifests/sha256:" + "z" * 64), 400, "DIGEST_INVALID")
    assert_error(c.get("/v2/repo/referrers/sha256:" + "z" * 64), 400, "DIGEST_INVALID")


VALID_TAGS = ["latest", "v1.2.3", "A_b.c-1", "_under", "x" * 128, "1"]
INVALID_TAGS = [".dot", "-dash", "x" * 129, "tag+plus", "tag%20space"]


def _image(c, name):
    cfg = image_config("tag-grammar")
    c.push_blob(name, cfg)
    return manifest(cfg, [])


def test_tag_grammar_on_put(c):
    body = _image(c, "repo")
    for tag in VALID_TAGS:
        r = c.put_manifest("repo", tag, body, expect=None)
        assert r.status_code == 201, (tag, r.status_code, r.content)
    for tag in INVALID_TAGS:
        assert_error(c.put_manifest("repo", tag, body, expect=None), 400, "TAG_INVALID")
    tags = c.get("/v2/repo/tags/list").json()["tags"]
    assert sorted(tags) == sorted(VALID_TAGS)
