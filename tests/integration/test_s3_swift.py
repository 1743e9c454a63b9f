"""The s3 store driver against a second S3 implementation, OpenStack Swift's
s3api: a chunked push of three multipart parts, whole and ranged pulls, a
digest mismatch that leaves nothing behind, and a presigned redirect."""
# needs-peer: swift-s3
import os

import requests

from s3util import (SWIFT_KEYS, S3Server, dg, endpoint, list_keys, make_bucket, push_chunked,
                    push_monolithic)

MiB = 1024 * 1024


def test_swift_push_pull_mismatch_and_redirect():
    ep = endpoint("BERTH_TEST_SWIFT_ENDPOINT", "swift-s3")
    bucket = make_bucket(ep, SWIFT_KEYS)
    big = os.urandom(11 * MiB + 7)
    with S3Server(ep, SWIFT_KEYS, bucket, redirect="true") as srv:
        assert push_chunked(srv, "t/sw", big, 3 * MiB).status_code == 201
        r = requests.get(srv.url + "/v2/t/sw/blobs/" + dg(big), allow_redirects=False)
        assert r.status_code == 307 and "X-Amz-Signature=" in r.headers["Location"]
        assert requests.get(r.headers["Location"]).content == big
        r = requests.get(r.headers["Location"], headers={"Range": "bytes=100-199"})
        assert r.status_code == 206 and r.content == big[100:200]
        bad = os.urandom(6 * MiB)
        r = push_monolithic(srv, "t/sw", bad, digest=dg(b"other"))
        assert r.status_code == 400, r.text
    keys = list_keys(ep, SWIFT_KEYS, bucket)
    assert sorted(k.split("/")[0] for k in keys) == ["blobs", "data"], keys


def test_swift_pull_streams_through_berth_by_range():
    ep = endpoint("BERTH_TEST_SWIFT_ENDPOINT", "swift-s3")
    bucket = make_bucket(ep, SWIFT_KEYS)
    big = os.urandom(9 * MiB)
    with S3Server(ep, SWIFT_KEYS, bucket) as srv:
        assert push_monolithic(srv, "t/sw2", big).status_code == 201
        assert requests.get(srv.url + "/v2/t/sw2/blobs/" + dg(big)).content == big
        r = requests.get(srv.url + "/v2/t/sw2/blobs/" + dg(big),
                         headers={"Range": "bytes=%d-" % (5 * MiB)})
        assert r.status_code == 206 and r.content == big[5 * MiB:]
