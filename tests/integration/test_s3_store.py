"""The s3 store driver against Ceph RGW (CI's S3 server): `berth serve`
with storage.s3 takes chunked and monolithic pushes (a blob of more than two
multipart parts), serves them whole and by range, continues an upload after
a kill -9 from the state kept in S3, leaves nothing behind for a digest
mismatch, redirects pulls to presigned URLs, and `berth migrate` moves a
directory store's blobs into the bucket (resumable).
"""
# needs-peer: ceph-rgw
import os
import subprocess

import requests

from conftest import BERTH_BIN, BerthServer
from s3util import (RGW_KEYS, S3Server, dg, endpoint, list_keys, make_bucket, push_chunked,
                    push_manifest, push_monolithic, absolute)

MiB = 1024 * 1024


def test_chunked_push_of_three_parts_then_pull_whole_and_by_range():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    big = os.urandom(12 * MiB + 123)  # two full 5 MiB parts and a tail
    small = os.urandom(1000)
    with S3Server(ep, RGW_KEYS, bucket, rootdirectory="/reg") as srv:
        r = push_chunked(srv, "t/app", big, 4 * MiB)
        assert r.status_code == 201, r.text
        assert push_monolithic(srv, "t/app", small).status_code == 201
        push_manifest(srv, "t/app", "v1", small, [big])
        r = requests.get(srv.url + "/v2/t/app/blobs/" + dg(big))
        assert r.status_code == 200 and r.content == big
        r = requests.get(srv.url + "/v2/t/app/blobs/" + dg(big),
                         headers={"Range": "bytes=5242870-5242899"})
        assert r.status_code == 206 and r.content == big[5242870:5242900]
        r = requests.head(srv.url + "/v2/t/app/blobs/" + dg(small))
        assert r.status_code == 200 and r.headers["Content-Length"] == "1000"
        assert requests.get(srv.url + "/v2/t/app/manifests/v1").status_code == 200
    keys = list_keys(ep, RGW_KEYS, bucket)
    # Content addressing lives in index objects; the bytes were never copied:
    # one data object per blob, nothing left of the uploads.
    assert sorted(k.split("/")[1] for k in keys) == ["blobs", "blobs", "data", "data"], keys
    assert all(k.startswith("reg/") for k in keys), keys
    assert "reg/blobs/sha256/%s/%s" % (dg(big)[7:9], dg(big)[7:]) in keys


def test_upload_continues_after_kill9_from_state_in_s3():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    blob = os.urandom(7 * MiB + 5)
    with S3Server(ep, RGW_KEYS, bucket) as srv:
        r = requests.post(srv.url + "/v2/t/resume/blobs/uploads/")
        loc = r.headers["Location"]
        first = blob[:6 * MiB]  # one part and a staged tail of 1 MiB
        r = requests.patch(absolute(srv, loc), data=first, headers={
            "Content-Range": "0-%d" % (len(first) - 1),
            "Content-Type": "application/octet-stream"})
        assert r.status_code == 202, r.text
        loc = r.headers["Location"]
        assert any("/tail-" in k for k in list_keys(ep, RGW_KEYS, bucket, "uploads/"))
        srv.kill9()
        srv.start()
        r = requests.get(absolute(srv, loc))
        assert r.status_code == 204 and r.headers["Range"] == "0-%d" % (len(first) - 1)
        rest = blob[len(first):]
        r = requests.patch(absolute(srv, loc), data=rest, headers={
            "Content-Range": "%d-%d" % (len(first), len(blob) - 1),
            "Content-Type": "application/octet-stream"})
        assert r.status_code == 202, r.text
        url = absolute(srv, r.headers["Location"])
        r = requests.put(url + ("&" if "?" in url else "?") + "digest=" + dg(blob))
        assert r.status_code == 201, r.text
        assert requests.get(srv.url + "/v2/t/resume/blobs/" + dg(blob)).content == blob
    assert list_keys(ep, RGW_KEYS, bucket, "uploads/") == []


def test_digest_mismatch_leaves_nothing_in_the_bucket():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    blob = os.urandom(11 * MiB)
    with S3Server(ep, RGW_KEYS, bucket) as srv:
        r = push_monolithic(srv, "t/bad", blob, digest=dg(b"something else"))
        assert r.status_code == 400 and "DIGEST_INVALID" in r.text
        assert requests.head(srv.url + "/v2/t/bad/blobs/" + dg(blob)).status_code == 404
    # No index, no data, no state, no tail; the multipart upload was aborted.
    assert list_keys(ep, RGW_KEYS, bucket) == []
    code, body = __import__("s3util").s3curl(ep, RGW_KEYS, "GET", "/%s?uploads" % bucket)
    assert code == 200 and b"<Upload>" not in body, body


def test_redirect_answers_307_to_a_presigned_url():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    blob = os.urandom(300000)
    with S3Server(ep, RGW_KEYS, bucket, redirect="true") as srv:
        assert push_monolithic(srv, "t/redir", blob).status_code == 201
        r = requests.get(srv.url + "/v2/t/redir/blobs/" + dg(blob), allow_redirects=False)
        assert r.status_code == 307, r.text
        assert r.headers["Location"].startswith(ep + "/" + bucket + "/data/")
        assert "X-Amz-Signature=" in r.headers["Location"]
        # The presigned URL alone (no credentials) answers with the bytes.
        assert requests.get(r.headers["Location"]).content == blob
        assert requests.get(srv.url + "/v2/t/redir/blobs/" + dg(blob)).content == blob


def test_migrate_moves_a_directory_store_into_s3_and_resumes():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    blobs = [os.urandom(n) for n in (10, 70000, 6 * MiB + 1)]
    data = BerthServer.__new__(BerthServer)
    import tempfile
    tmp = tempfile.TemporaryDirectory(prefix="berth-mig-")
    srv = BerthServer(tmp.name, ["--insecure-open"]).start()
    try:
        for b in blobs:
            assert push_monolithic(srv, "t/mig", b).status_code == 201
        push_manifest(srv, "t/mig", "v1", blobs[0], blobs[1:])
    finally:
        assert srv.stop() == 0
    url = "s3:s3://%s/moved?endpoint=%s&forcepathstyle=true&accesskey=%s&secretkey=%s" % (
        bucket, ep, RGW_KEYS[0], RGW_KEYS[1])
    out = subprocess.run([BERTH_BIN, "migrate", "--store-from", "fs:" + tmp.name,
                          "--store-to", url], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "3 copied" in out.stdout, out.stdout
    again = subprocess.run([BERTH_BIN, "migrate", "-q", "--store-from", "fs:" + tmp.name,
                            "--store-to", url], capture_output=True, text=True)
    assert again.returncode == 0 and "0 copied" in again.stdout and "3 already present" in again.stdout
    # The same database over the bucket answers the same blobs and tag.
    with open(os.path.join(tmp.name, "s3.yml"), "w") as f:
        f.write(__import__("s3util").s3_config(ep, RGW_KEYS, bucket, rootdirectory="moved"))
    srv = BerthServer(tmp.name, ["--config", os.path.join(tmp.name, "s3.yml"),
                                 "--insecure-open"]).start()
    try:
        for b in blobs:
            assert requests.get(srv.url + "/v2/t/mig/blobs/" + dg(b)).content == b
        assert requests.get(srv.url + "/v2/t/mig/manifests/v1").status_code == 200
    finally:
        assert srv.stop() == 0
    tmp.cleanup()
    bad = subprocess.run([BERTH_BIN, "migrate", "--store-from", "fs:" + tmp.name],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("berth migrate: ")
