"""OCI distribution protocol: blob upload sessions (POST, PATCH with
Content-Range, PUT to close, GET status, DELETE), monolithic uploads,
cross-repository and automatic mounts, and sessions surviving a restart."""
import os

import pytest

from ocitools import Client, assert_error, parse_range, sha256, sha512

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def c(berth):
    return Client(berth)


def patch(c, loc, data, start=None):
    h = dict(OCTET)
    if start is not None:
        h["Content-Range"] = "%d-%d" % (start, start + len(data) - 1)
    return c.patch(loc, data=data, headers=h)


def status(c, loc):
    r = c.get(loc)
    assert r.status_code == 204, (r.status_code, r.content)
    assert r.content == b""
    assert r.headers["Location"]
    return parse_range(r.headers["Range"]), r


def test_session_start_headers(c):
    r = c.post("/v2/team/app/blobs/uploads/")
    assert r.status_code == 202
    loc = r.headers["Location"]
    # Relative or absolute (RFC 7231 7.1.2); the path is the spec's.
    assert loc.startswith("/v2/team/app/blobs/uploads/") or \
        loc.startswith(c.base + "/v2/team/app/blobs/uploads/"), loc
    uuid = r.headers["Docker-Upload-UUID"]
    assert uuid and uuid in loc
    assert parse_range(r.headers["Range"]) == 0
    # A second session gets another id.
    r2 = c.post("/v2/team/app/blobs/uploads/")
    assert r2.headers["Docker-Upload-UUID"] != uuid
    end, st = status(c, loc)
    assert end == 0
    assert uuid in st.headers["Location"]


def test_chunked_upload_with_last_chunk_in_put(c):
    data = os.urandom(10000)
    d = c.push_blob_chunked("repo", data, chunk=3000, last_in_put=True)
    assert c.get("/v2/repo/blobs/" + d).content == data


def test_chunked_upload_then_empty_put(c):
    data = os.urandom(7001)
    d = c.push_blob_chunked("repo", data, chunk=1000, last_in_put=False)
    assert c.get("/v2/repo/blobs/" + d).content == data


def test_streamed_patch_without_content_range(c):
    # What `docker push` does: PATCH without Content-Range, then PUT ?digest=.
    data = os.urandom(4096)
    loc = c.start_upload("repo").headers["Location"]
    r = patch(c, loc, data[:1000])
    assert r.status_code == 202
    assert parse_range(r.headers["Range"]) == 999
    r = patch(c, r.headers["Location"], data[1000:])
    assert r.status_code == 202
    assert parse_range(r.headers["Range"]) == len(data) - 1
    r = c.put(c.with_digest(r.headers["Location"], sha256(data)), data=b"", headers=OCTET)
    assert r.status_code == 201
    assert c.get("/v2/repo/blobs/" + sha256(data)).content == data


def test_monolithic_put_to_session(c):
    data = os.urandom(2048)
    loc = c.start_upload("repo").headers["Location"]
    r = c.put(c.with_digest(loc, sha256(data)), data=data, headers=OCTET)
    assert r.status_code == 201
    assert r.headers["Location"] == "/v2/repo/blobs/" + sha256(data) or \
        r.headers["Location"].endswith("/v2/repo/blobs/" + sha256(data))
    assert r.headers["Docker-Content-Digest"] == sha256(data)
    assert c.get(r.headers["Location"]).content == data
    # The session is closed.
    assert_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch(c, loc, b"more", 0), 404, "BLOB_UPLOAD_UNKNOWN")


def test_monolithic_post_sha512(c):
    data = os.urandom(999)
    r = c.post("/v2/repo/blobs/uploads/", params={"digest": sha512(data)}, data=data, headers=OCTET)
    assert r.status_code == 201
    assert r.headers["Docker-Content-Digest"] == sha512(data)
    assert r.headers["Location"].endswith("/v2/repo/blobs/" + sha512(data))
    assert c.get("/v2/repo/blobs/" + sha512(data)).content == data


def test_out_of_order_and_overlapping_chunks(c):
    data = os.urandom(300)
    loc = c.start_upload("repo").headers["Location"]
    # First chunk must start at 0.
    r = patch(c, loc, data[5:10], 5)
    assert r.status_code == 416, r.status_code
    r = patch(c, loc, data[:100], 0)
    assert r.status_code == 202
    loc = r.headers["Location"]
    assert parse_range(r.headers["Range"]) == 99
    # Gap.
    r = patch(c, loc, data[150:200], 150)
    assert r.status_code == 416
    # Overlap.
    r = patch(c, loc, data[50:150], 50)
    assert r.status_code == 416
    # Repeat of the same chunk.
    r = patch(c, loc, data[:100], 0)
    assert r.status_code == 416
    # State unchanged by the refused chunks; the right next chunk continues.
    end, _ = status(c, loc)
    assert end == 99
    r = patch(c, loc, data[100:], 100)
    assert r.status_code == 202
    assert parse_range(r.headers["Range"]) == 299
    r = c.put(c.with_digest(r.headers["Location"], sha256(data)), data=b"", headers=OCTET)
    assert r.status_code == 201
    assert c.get("/v2/repo/blobs/" + sha256(data)).content == data


def test_final_put_chunk_out_of_order(c):
    data = os.urandom(200)
    loc = c.start_upload("repo").headers["Location"]
    r = patch(c, loc, data[:100], 0)
    assert r.status_code == 202
    h = dict(OCTET, **{"Content-Range": "150-199"})
    r = c.put(c.with_digest(r.headers["Location"], sha256(data)), data=data[150:], headers=h)
    assert r.status_code == 416
    assert not c.blob_exists("repo", sha256(data))


def test_upload_status(c):
    loc = c.start_upload("repo").headers["Location"]
    r = patch(c, loc, b"a" * 10, 0)
    end, st = status(c, r.headers["Location"])
    assert end == 9
    assert "/v2/repo/blobs/uploads/" in st.headers["Location"]
    r = patch(c, st.headers["Location"], b"b" * 5, 10)
    end, _ = status(c, r.headers["Location"])
    assert end == 14


def test_cancel_upload(c):
    loc = c.start_upload("repo").headers["Location"]
    r = patch(c, loc, b"partial", 0)
    assert r.status_code == 202
    r = c.delete(loc)
    assert r.status_code == 204, (r.status_code, r.content)
    assert_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch(c, loc, b"x", 7), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(c.put(c.with_digest(loc, sha256(b"partial")), data=b"", headers=OCTET),
                 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(c.delete(loc), 404, "BLOB_UPLOAD_UNKNOWN")
    assert not c.blob_exists("repo", sha256(b"partial"))


def test_unknown_upload_session(c):
    base = "/v2/repo/blobs/uploads/"
    for sid in ["00000000-0000-0000-0000-000000000000", "nope", "a" * 64]:
        loc = base + sid
        assert_error(c.get(loc), 404, "BLOB_UPLOAD_UNKNOWN")
        assert_error(patch(c, loc, b"x", 0), 404, "BLOB_UPLOAD_UNKNOWN")
        assert_error(c.put(c.with_digest(loc, sha256(b"x")), data=b"x", headers=OCTET),
                     404, "BLOB_UPLOAD_UNKNOWN")
        assert_error(c.delete(loc), 404, "BLOB_UPLOAD_UNKNOWN")


def test_session_is_bound_to_its_repository(c):
    r = c.start_upload("alpha")
    uuid = r.headers["Docker-Upload-UUID"]
    other = "/v2/beta/blobs/uploads/" + uuid
    assert_error(c.get(other), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch(c, other, b"x", 0), 404, "BLOB_UPLOAD_UNKNOWN")
    # Still usable in its own repository.
    end, _ = status(c, r.headers["Location"])
    assert end == 0


def test_put_without_digest(c):
    loc = c.start_upload("repo").headers["Location"]
    r = patch(c, loc, b"data", 0)
    assert_error(c.put(r.headers["Location"], data=b"", headers=OCTET), 400, "DIGEST_INVALID")
    assert not c.blob_exists("repo", sha256(b"data"))


def test_put_with_wrong_digest(c):
    data = b"the real content"
    loc = c.start_upload("repo").headers["Location"]
    r = c.put(c.with_digest(loc, sha256(b"something else")), data=data, headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not c.blob_exists("repo", sha256(data))
    assert not c.blob_exists("repo", sha256(b"something else"))
    # Monolithic POST with the wrong digest too.
    r = c.post("/v2/repo/blobs/uploads/", params={"digest": sha512(b"nope")}, data=data,
               headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    assert not c.blob_exists("repo", sha512(data))
    assert not c.blob_exists("repo", sha512(b"nope"))


def test_cross_repository_mount(c):
    data = os.urandom(1234)
    d = c.push_blob("src/repo", data)
    r = c.post("/v2/dst/repo/blobs/uploads/", params={"mount": d, "from": "src/repo"})
    assert r.status_code == 201, (r.status_code, r.content)
    assert r.headers["Location"].endswith("/v2/dst/repo/blobs/" + d)
    assert r.headers["Docker-Content-Digest"] == d
    assert c.get("/v2/dst/repo/blobs/" + d).content == data


def test_mount_from_repository_lacking_blob_starts_session(c):
    data = os.urandom(100)
    d = c.push_blob("has", data)
    c.push_blob("lacks", b"unrelated")
    r = c.post("/v2/dst/blobs/uploads/", params={"mount": d, "from": "lacks"})
    assert r.status_code == 202, (r.status_code, r.content)
    loc = r.headers["Location"]
    assert "/v2/dst/blobs/uploads/" in loc
    assert not c.blob_exists("dst", d)
    # The fallback session is a normal upload.
    r = c.put(c.with_digest(loc, d), data=data, headers=OCTET)
    assert r.status_code == 201
    assert c.get("/v2/dst/blobs/" + d).content == data


def test_mount_unknown_blob_starts_session(c):
    d = sha256(b"never pushed")
    r = c.post("/v2/dst/blobs/uploads/", params={"mount": d, "from": "nowhere"})
    assert r.status_code == 202
    r = c.post("/v2/dst/blobs/uploads/", params={"mount": d})
    assert r.status_code == 202
    assert "/v2/dst/blobs/uploads/" in r.headers["Location"]


def test_automatic_mount_without_from(c):
    data = os.urandom(4321)
    d = c.push_blob("somewhere/else", data)
    r = c.post("/v2/mine/blobs/uploads/", params={"mount": d})
    assert r.status_code == 201, (r.status_code, r.content)
    assert r.headers["Docker-Content-Digest"] == d
    assert r.headers["Location"].endswith("/v2/mine/blobs/" + d)
    assert c.get("/v2/mine/blobs/" + d).content == data


def test_upload_session_survives_restart(c, berth):
    data = os.urandom(20000)
    loc = c.start_upload("repo").headers["Location"]
    r = patch(c, loc, data[:8000], 0)
    assert r.status_code == 202
    loc = r.headers["Location"]
    berth.restart()
    c2 = Client(berth)
    end, st = status(c2, loc)
    assert end == 7999
    r = patch(c2, st.headers["Location"], data[8000:15000], 8000)
    assert r.status_code == 202
    assert parse_range(r.headers["Range"]) == 14999
    h = dict(OCTET, **{"Content-Range": "15000-%d" % (len(data) - 1)})
    r = c2.put(c2.with_digest(r.headers["Location"], sha256(data)), data=data[15000:], headers=h)
    assert r.status_code == 201
    assert c2.get("/v2/repo/blobs/" + sha256(data)).content == data


def test_concurrent_sessions_same_blob(c):
    data = os.urandom(3000)
    l1 = c.start_upload("repo").headers["Location"]
    l2 = c.start_upload("repo").headers["Location"]
    r1 = patch(c, l1, data[:1500], 0)
    r2 = patch(c, l2, data, 0)
    assert r1.status_code == r2.status_code == 202
    r = c.put(c.with_digest(r2.headers["Location"], sha256(data)), data=b"", headers=OCTET)
    assert r.status_code == 201
    r = c.put(c.with_digest(r1.headers["Location"], sha256(data)), data=data[1500:],
              headers=dict(OCTET, **{"Content-Range": "1500-2999"}))
    assert r.status_code == 201
    assert c.get("/v2/repo/blobs/" + sha256(data)).content == data


def test_parallel_pushes_of_one_blob_and_tag(berth):
    # Eight clients push the same blob, then race to tag different manifests.
    import threading
    data = os.urandom(300000)
    d = sha256(data)
    results, errs = [], []

    def push(i):
        try:
            cc = Client(berth)
            if i % 2:
                results.append(cc.push_blob("race", data))
            else:
                results.append(cc.push_blob_chunked("race", data, chunk=65536))
            results.append(cc.push_image("race", "latest", seed="race%d" % i)[1])
        except Exception as e:  # collected and asserted below
            errs.append(repr(e))

    threads = [threading.Thread(target=push, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errs, errs
    c = Client(berth)
    assert c.get("/v2/race/blobs/" + d).content == data
    r = c.get("/v2/race/manifests/latest")
    assert r.status_code == 200
    assert sha256(r.content) in results  # the tag points at one of the pushed manifests
    assert c.get("/v2/race/tags/list").json()["tags"] == ["latest"]
