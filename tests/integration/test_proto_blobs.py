"""OCI distribution protocol: blob GET / HEAD (with Range) and DELETE, sha256
and sha512, repository scoping, against a real `berth serve`."""
import os

import pytest

from ocitools import Client, assert_error, sha256, sha512


@pytest.fixture
def c(berth):
    return Client(berth)


def check_blob(c, name, digest, data):
    r = c.get("/v2/%s/blobs/%s" % (name, digest))
    assert r.status_code == 200, (r.status_code, r.content[:300])
    assert r.content == data
    assert int(r.headers["Content-Length"]) == len(data)
    assert r.headers["Docker-Content-Digest"] == digest
    assert r.headers["Content-Type"].split(";")[0] == "application/octet-stream"
    h = c.head("/v2/%s/blobs/%s" % (name, digest))
    assert h.status_code == 200
    assert h.content == b""
    assert int(h.headers["Content-Length"]) == len(data)
    assert h.headers["Docker-Content-Digest"] == digest


def test_monolithic_sha256(c):
    data = b"hello blob\n" * 100
    d = c.push_blob("repo", data)
    assert d == sha256(data)
    check_blob(c, "repo", d, data)


def test_monolithic_and_chunked_sha512(c):
    data = os.urandom(3000)
    d = c.push_blob("repo512", data, algo="sha512")
    assert d == sha512(data)
    check_blob(c, "repo512", d, data)
    data2 = os.urandom(5000)
    d2 = c.push_blob_chunked("repo512", data2, chunk=1024, algo="sha512")
    assert d2 == sha512(data2)
    check_blob(c, "repo512", d2, data2)
    # A sha512 blob is not addressable by its sha256.
    assert_error(c.get("/v2/repo512/blobs/" + sha256(data2)), 404, "BLOB_UNKNOWN")


def test_empty_blob(c):
    d = c.push_blob("repo", b"")
    check_blob(c, "repo", d, b"")


def test_large_blob_monolithic_and_chunked(c):
    data = os.urandom(5 * 1024 * 1024 + 17)
    d = c.push_blob("big", data)
    check_blob(c, "big", d, data)
    data2 = os.urandom(3 * 1024 * 1024 + 5)
    d2 = c.push_blob_chunked("big", data2, chunk=1024 * 1024)
    check_blob(c, "big", d2, data2)


def test_range_requests(c):
    data = bytes(range(256)) * 4  # 1024 bytes
    d = c.push_blob("repo", data)
    url = "/v2/repo/blobs/" + d
    cases = [("bytes=0-0", 0, 0), ("bytes=10-19", 10, 19), ("bytes=1000-1023", 1000, 1023),
             ("bytes=1000-5000", 1000, 1023),  # end clamped to the size
             ("bytes=512-", 512, 1023), ("bytes=-24", 1000, 1023)]
    for rng, a, b in cases:
        r = c.get(url, headers={"Range": rng})
        assert r.status_code == 206, (rng, r.status_code)
        assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (a, b, len(data)), rng
        assert r.content == data[a:b + 1], rng
        assert int(r.headers["Content-Length"]) == b - a + 1
        assert r.headers["Docker-Content-Digest"] == d
    for rng in ["bytes=1024-", "bytes=1024-2000", "bytes=5000-6000"]:
        r = c.get(url, headers={"Range": rng})
        assert r.status_code == 416, (rng, r.status_code)
    # A whole GET still works after the ranges.
    assert c.get(url).content == data


def test_unknown_blob(c):
    c.push_blob("repo", b"something")
    d = sha256(b"other")
    assert_error(c.get("/v2/repo/blobs/" + d), 404, "BLOB_UNKNOWN")
    assert_error(c.head("/v2/repo/blobs/" + d), 404, "BLOB_UNKNOWN")
    assert_error(c.delete("/v2/repo/blobs/" + d), 404, "BLOB_UNKNOWN")


def test_blobs_are_scoped_to_their_repository(c):
    data = b"only in a"
    d = c.push_blob("a", data)
    assert c.blob_exists("a", d)
    assert_error(c.get("/v2/b/blobs/" + d), 404, "BLOB_UNKNOWN")
    assert_error(c.head("/v2/b/blobs/" + d), 404, "BLOB_UNKNOWN")


def test_delete_blob(c):
    data = b"to be deleted" * 10
    d = c.push_blob("a", data)
    # Also present in b (mounted): deleting from a leaves b intact.
    r = c.post("/v2/b/blobs/uploads/", params={"mount": d, "from": "a"})
    assert r.status_code == 201
    r = c.delete("/v2/a/blobs/" + d)
    assert r.status_code == 202, (r.status_code, r.content)
    assert_error(c.get("/v2/a/blobs/" + d), 404, "BLOB_UNKNOWN")
    assert_error(c.head("/v2/a/blobs/" + d), 404, "BLOB_UNKNOWN")
    assert_error(c.delete("/v2/a/blobs/" + d), 404, "BLOB_UNKNOWN")
    check_blob(c, "b", d, data)
    # Re-pushing after a delete works.
    assert c.push_blob("a", data) == d
    check_blob(c, "a", d, data)


def test_blobs_survive_restart(c, berth):
    data = os.urandom(10000)
    d = c.push_blob("repo", data)
    d5 = c.push_blob("repo", data + b"!", algo="sha512")
    berth.restart()
    c2 = Client(berth)
    check_blob(c2, "repo", d, data)
    check_blob(c2, "repo", d5, data + b"!")
