"""OCI distribution protocol under bad input: malformed manifests, wrong
digests, size mismatches, huge headers, truncated uploads and idle
connections. Each gets a spec-conforming error (or a closed connection),
nothing is stored, and the server keeps serving everyone else."""
import json
import os
import socket
import threading
import time

import pytest

from ocitools import (OCI_INDEX, OCI_MANIFEST, Client, assert_error, connect, descriptor,
                      image_config, manifest, odd_json, parse_range, raw_request, read_response,
                      send_head, sha256)

OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def c(berth):
    return Client(berth)


def assert_healthy(c):
    """The server still serves a full push and pull."""
    data = os.urandom(2000)
    d = c.push_blob("health", data)
    assert c.get("/v2/health/blobs/" + d).content == data
    body, md = c.push_image("health", "ok", seed=str(time.time()))
    assert c.get("/v2/health/manifests/ok").content == body


def nothing_tagged(c, name):
    r = c.get("/v2/%s/tags/list" % name)
    if r.status_code == 404:
        assert_error(r, 404, "NAME_UNKNOWN")
        return
    assert r.status_code == 200
    assert not r.json().get("tags")


def good_manifest(c, name="repo"):
    cfg = image_config("bad")
    c.push_blob(name, cfg)
    return cfg, json.loads(manifest(cfg, []))


def test_malformed_manifests(c):
    cfg, good = good_manifest(c)
    cd = descriptor("application/vnd.oci.image.config.v1+json", cfg)
    cases = [
        b"",
        b"{",
        b"not json at all",
        b"[]",
        b"null",
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"',
        b"\xff\xfe\x00garbage",
        json.dumps({"schemaVersion": 1, "config": cd, "layers": []}).encode(),
        json.dumps({"schemaVersion": "2", "config": cd, "layers": []}).encode(),
        json.dumps({"schemaVersion": 2, "layers": []}).encode(),                    # no config
        json.dumps({"schemaVersion": 2, "config": "sha256:abc", "layers": []}).encode(),
        json.dumps({"schemaVersion": 2, "config": cd, "layers": {}}).encode(),
        json.dumps({"schemaVersion": 2, "config": dict(cd, digest="sha256:xyz"), "layers": []}).encode(),
        json.dumps({"schemaVersion": 2, "config": dict(cd, size=-1), "layers": []}).encode(),
        json.dumps({"schemaVersion": 2, "config": dict(cd, size="12"), "layers": []}).encode(),
        json.dumps({"schemaVersion": 2, "config": {"mediaType": cd["mediaType"], "size": 3},
                    "layers": []}).encode(),                                           # no digest
        json.dumps({"schemaVersion": 2, "config": cd, "layers": [{"size": 1}]}).encode(),
        json.dumps(dict(good, mediaType=OCI_INDEX)).encode(),  # body says index, header manifest
    ]
    for i, body in enumerate(cases):
        r = c.put_manifest("repo", "bad%d" % i, body, expect=None)
        assert_error(r, 400, "MANIFEST_INVALID")
        assert_error(c.get("/v2/repo/manifests/" + sha256(body)), 404, "MANIFEST_UNKNOWN")
    # An index whose manifests is not a list.
    r = c.put_manifest("repo", "badidx", json.dumps({"schemaVersion": 2, "manifests": {}}).encode(),
                       OCI_INDEX, expect=None)
    assert_error(r, 400, "MANIFEST_INVALID")
    nothing_tagged(c, "repo")
    assert_healthy(c)


def test_unsupported_manifest_content_type(c):
    cfg, good = good_manifest(c)
    body = json.dumps(good).encode()
    r = c.put_manifest("repo", "x", body, "application/x-not-a-manifest", expect=None)
    if r.status_code == 201:
        # Accepted: then it must be served with the body's own media type, never
        # the bogus header (CVE-2021-41190: type confusion between pulls).
        g = c.get("/v2/repo/manifests/x")
        assert g.content == body
        assert g.headers["Content-Type"] == good["mediaType"]
    else:
        assert r.status_code in (400, 415), r.status_code
        if r.status_code == 400:
            assert_error(r, 400, "MANIFEST_INVALID")
        nothing_tagged(c, "repo")


def test_wrong_digests(c):
    data = b"some blob content"
    wrong = sha256(b"different")
    r = c.post("/v2/repo/blobs/uploads/", params={"digest": wrong}, data=data, headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    # Chunked: digest mismatch only detected at PUT.
    loc = c.start_upload("repo").headers["Location"]
    r = c.patch(loc, data=data, headers=dict(OCTET, **{"Content-Range": "0-%d" % (len(data) - 1)}))
    assert r.status_code == 202
    r = c.put(c.with_digest(r.headers["Location"], wrong), data=b"", headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    for d in (wrong, sha256(data)):
        assert not c.blob_exists("repo", d)
    # Unsupported algorithm.
    r = c.post("/v2/repo/blobs/uploads/", params={"digest": "md5:" + "0" * 32}, data=data,
               headers=OCTET)
    assert_error(r, 400, "DIGEST_INVALID")
    # Manifest PUT by a digest that is not the body's.
    cfg, good = good_manifest(c)
    body = odd_json(good)
    assert_error(c.put_manifest("repo", sha256(body + b" "), body, expect=None), 400, "DIGEST_INVALID")
    assert_error(c.get("/v2/repo/manifests/" + sha256(body)), 404, "MANIFEST_UNKNOWN")
    assert_healthy(c)


def test_chunk_size_mismatches(c):
    data = os.urandom(100)
    loc = c.start_upload("repo").headers["Location"]
    # Content-Range announces 50 bytes, the body has 10.
    r = c.patch(loc, data=data[:10], headers=dict(OCTET, **{"Content-Range": "0-49"}))
    assert r.status_code in (400, 416), r.status_code
    if r.status_code == 400:
        assert r.json()["errors"]
    # Inverted range.
    r = c.patch(loc, data=data[:10], headers=dict(OCTET, **{"Content-Range": "9-0"}))
    assert r.status_code in (400, 416), r.status_code
    # Garbage range.
    r = c.patch(loc, data=data[:10], headers=dict(OCTET, **{"Content-Range": "bananas"}))
    assert r.status_code in (400, 416), r.status_code
    assert not c.blob_exists("repo", sha256(data))
    assert not c.blob_exists("repo", sha256(data[:10]))
    # The session is either still consistent or gone; if alive it can finish.
    st = c.get(loc)
    if st.status_code == 204:
        off = parse_range(st.headers["Range"])
        off = 0 if off == 0 else off + 1
        assert off in (0, 10)
        r = c.patch(st.headers["Location"], data=data[off:],
                    headers=dict(OCTET, **{"Content-Range": "%d-%d" % (off, len(data) - 1)}))
        assert r.status_code == 202
        r = c.put(c.with_digest(r.headers["Location"], sha256(data)), data=b"", headers=OCTET)
        assert r.status_code == 201
        assert c.get("/v2/repo/blobs/" + sha256(data)).content == data
    else:
        assert_error(st, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_healthy(c)


def test_huge_headers(c, berth):
    # One enormous header.
    with connect(berth) as s:
        try:
            send_head(s, berth, "GET", "/v2/", {"X-Big": "a" * (1 << 20)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        st, _, _ = read_response(s)
        assert st in (0, 400, 413, 414, 431), st
    # Thousands of small headers.
    with connect(berth) as s:
        try:
            send_head(s, berth, "GET", "/v2/", {"X-H%d" % i: "v" * 50 for i in range(20000)})
        except (BrokenPipeError, ConnectionResetError):
            pass
        st, _, _ = read_response(s)
        assert st in (0, 400, 413, 414, 431), st
    # An enormous URL.
    with connect(berth) as s:
        try:
            send_head(s, berth, "GET", "/v2/" + "a" * (1 << 20) + "/tags/list")
        except (BrokenPipeError, ConnectionResetError):
            pass
        st, _, _ = read_response(s)
        assert st in (0, 400, 404, 413, 414, 431), st
    assert_healthy(c)


def test_long_but_sane_name_is_refused_or_unknown(c):
    # A 4000-character, grammatical name: a clean 4xx, not a crash.
    name = "/".join(["abcdefghij"] * 364)
    r = c.get("/v2/%s/tags/list" % name)
    assert r.status_code in (400, 404, 414), r.status_code
    assert_healthy(c)


def _truncated(berth, method, path, headers, total, send):
    """Announce `total` bytes, send `send` bytes, then close."""
    s = connect(berth)
    h = dict(headers)
    h["Content-Length"] = str(total)
    send_head(s, berth, method, path, h)
    s.sendall(os.urandom(send))
    time.sleep(0.2)
    s.close()
    time.sleep(0.3)


def test_truncated_monolithic_uploads(c, berth):
    data = os.urandom(200000)
    d = sha256(data)
    # POST ?digest= monolithic, truncated.
    _truncated(berth, "POST", "/v2/repo/blobs/uploads/?digest=" + d, OCTET, len(data), 50000)
    assert not c.blob_exists("repo", d)
    # PUT to a session, truncated.
    loc = c.start_upload("repo").headers["Location"]
    _truncated(berth, "PUT", c.with_digest(loc, d), OCTET, len(data), 100000)
    assert not c.blob_exists("repo", d)
    st = c.get(loc)
    if st.status_code == 204:
        assert parse_range(st.headers["Range"]) < 100000
    else:
        assert_error(st, 404, "BLOB_UPLOAD_UNKNOWN")
    # Nothing half-written becomes visible later either.
    time.sleep(0.5)
    assert not c.blob_exists("repo", d)
    assert_healthy(c)
    # And the same blob can then be pushed properly.
    assert c.push_blob("repo", data) == d
    assert c.get("/v2/repo/blobs/" + d).content == data


def test_truncated_patch(c, berth):
    data = os.urandom(100000)
    loc = c.start_upload("repo").headers["Location"]
    r = c.patch(loc, data=data[:1000], headers=dict(OCTET, **{"Content-Range": "0-999"}))
    assert r.status_code == 202
    loc = r.headers["Location"]
    _truncated(berth, "PATCH", loc, dict(OCTET, **{"Content-Range": "1000-99999"}), 99000, 30000)
    st = c.get(loc)
    if st.status_code == 204:
        end = parse_range(st.headers["Range"])
        # Never claims bytes it did not receive.
        assert 999 <= end < 31000, end
        off = end + 1
        r = c.patch(st.headers["Location"], data=data[off:],
                    headers=dict(OCTET, **{"Content-Range": "%d-%d" % (off, len(data) - 1)}))
        assert r.status_code == 202, (r.status_code, r.content)
        r = c.put(c.with_digest(r.headers["Location"], sha256(data)), data=b"", headers=OCTET)
        assert r.status_code == 201
        assert c.get("/v2/repo/blobs/" + sha256(data)).content == data
    else:
        assert_error(st, 404, "BLOB_UPLOAD_UNKNOWN")
        assert not c.blob_exists("repo", sha256(data))
    assert_healthy(c)


def test_truncated_manifest_put(c, berth):
    cfg, good = good_manifest(c)
    body = odd_json(good)
    _truncated(berth, "PUT", "/v2/repo/manifests/cut", {"Content-Type": OCI_MANIFEST},
               len(body), len(body) // 2)
    assert_error(c.get("/v2/repo/manifests/cut"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get("/v2/repo/manifests/" + sha256(body)), 404, "MANIFEST_UNKNOWN")
    nothing_tagged(c, "repo")
    assert_healthy(c)


def test_body_longer_than_content_length_is_not_a_second_request(c, berth):
    # Bytes after the announced body are a new (garbage) request, not data.
    data = b"exact"
    st, _, _ = raw_request(berth, "POST", "/v2/repo/blobs/uploads/?digest=" + sha256(data),
                           dict(OCTET, **{"Content-Length": "5"}), data + b"GARBAGE\r\n\r\n")
    assert st == 201
    assert c.get("/v2/repo/blobs/" + sha256(data)).content == data
    assert_healthy(c)


def test_idle_connections_do_not_block_others(c, berth):
    idle = []
    try:
        # Connected, nothing sent.
        for _ in range(20):
            idle.append(connect(berth))
        # Half a request line.
        for _ in range(5):
            s = connect(berth)
            s.sendall(b"GET /v2/ HT")
            idle.append(s)
        # Headers sent, body stalled mid-way (an upload and a manifest).
        loc = c.start_upload("repo").headers["Location"]
        s = connect(berth)
        send_head(s, berth, "PATCH", loc, dict(OCTET, **{"Content-Length": "100000"}))
        s.sendall(b"x" * 1000)
        idle.append(s)
        s = connect(berth)
        send_head(s, berth, "PUT", "/v2/repo/manifests/stalled",
                  {"Content-Type": OCI_MANIFEST, "Content-Length": "5000"})
        s.sendall(b"{")
        idle.append(s)
        # Everyone else is served promptly, from several threads at once:
        # each request within its client's 10 s timeout (a timeout is an error).
        errors = []

        def worker(i):
            try:
                cc = Client(berth, timeout=10)
                data = os.urandom(5000)
                d = cc.push_blob("busy%d" % i, data)
                assert cc.get("/v2/busy%d/blobs/%s" % (i, d)).content == data
            except Exception as e:  # collected and asserted below
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads), "a client is still waiting"
        assert not errors, errors
        assert_healthy(c)
    finally:
        for s in idle:
            try:
                s.close()
            except OSError:
                pass
    time.sleep(0.3)
    assert_error(c.get("/v2/repo/manifests/stalled"), 404, ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"))
    assert_healthy(c)


def test_slow_request_is_still_served(c, berth):
    # A request trickled a few bytes at a time completes normally.
    data = b"slow but steady"
    d = sha256(data)
    with connect(berth) as s:
        head = ("POST /v2/repo/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: %s\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (d, berth.host, len(data))).encode() + data
        for i in range(0, len(head), 16):
            s.sendall(head[i:i + 16])
            time.sleep(0.01)
        st, hd, _ = read_response(s)
    assert st == 201
    assert hd["docker-content-digest"] == d
    assert c.get("/v2/repo/blobs/" + d).content == data


def test_garbage_request_line(c, berth):
    for junk in [b"\x00\x01\x02\r\n\r\n", b"GET\r\n\r\n", b"FOO /v2/ HTTP/9.9\r\n\r\n",
                 b"GET /v2/ HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                 b"POST /v2/repo/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"\r\nzz\r\n"]:
        with connect(berth) as s:
            try:
                s.sendall(junk)
            except OSError:
                pass
            try:
                st, _, _ = read_response(s, timeout=5)
            except (socket.timeout, TimeoutError):
                st = None
            assert st in (None, 0) or 400 <= st < 600 and st != 500, (junk, st)
    assert_healthy(c)
