"""S3 errors under the s3 store, injected by a proxy between berth and Ceph
RGW (s3fault.py): 500 and 503 SlowDown are retried with backoff and the push
succeeds; a 403 is not retried and answers a clean 500 OCI error; a store
that keeps failing, or hangs past the timeout, answers a clean 500 within
the retry budget; in every case nothing half-visible is left: the blob
answers 404 and the bucket holds no index object for it."""
# needs-peer: ceph-rgw
import os

import pytest
import requests

from s3fault import FaultProxy
from s3util import RGW_KEYS, S3Server, dg, endpoint, list_keys, make_bucket, push_chunked, push_monolithic

MiB = 1024 * 1024


@pytest.fixture
def rig():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    proxy = FaultProxy(ep)
    with S3Server(proxy.url, RGW_KEYS, bucket, timeout=2, maxretries=3) as srv:
        yield srv, proxy, ep, bucket
    proxy.close()


def oci_error(r, status=500):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.json()["errors"][0]["code"], r.text


def test_slowdown_and_500_are_retried_until_the_push_succeeds(rig):
    srv, proxy, ep, bucket = rig
    proxy.add("UploadPart", 503, "SlowDown", times=2)
    proxy.add("PutIndex", 500, "InternalError", times=1)
    blob = os.urandom(11 * MiB)
    r = push_chunked(srv, "t/retry", blob, 6 * MiB)
    assert r.status_code == 201, r.text
    # 3 parts, the first twice refused: 5 part requests; the index once refused.
    assert proxy.count("UploadPart") == 5
    assert proxy.count("PutIndex") == 2
    assert requests.get(srv.url + "/v2/t/retry/blobs/" + dg(blob)).content == blob


def test_403_is_not_retried_and_answers_a_clean_5xx(rig):
    srv, proxy, ep, bucket = rig
    blob = os.urandom(5000)
    assert push_monolithic(srv, "t/deny", blob).status_code == 201
    proxy.reset()
    proxy.add("GetIndex", 403, "AccessDenied")
    r = requests.get(srv.url + "/v2/t/deny/blobs/" + dg(blob))
    oci_error(r)
    assert "AccessDenied" in r.text
    assert proxy.count("GetIndex") == 1
    proxy.reset()
    assert requests.get(srv.url + "/v2/t/deny/blobs/" + dg(blob)).content == blob


def test_persistent_500_on_commit_leaves_nothing_visible(rig):
    srv, proxy, ep, bucket = rig
    proxy.add("PutIndex", 500, "InternalError")
    blob = os.urandom(7 * MiB)
    r = push_chunked(srv, "t/fail", blob, 7 * MiB)
    oci_error(r)
    assert proxy.count("PutIndex") == 4  # the first try and maxretries=3 retries
    proxy.reset()
    assert requests.head(srv.url + "/v2/t/fail/blobs/" + dg(blob)).status_code == 404
    assert [k for k in list_keys(ep, RGW_KEYS, bucket) if k.startswith("blobs/")] == []


def test_a_part_failing_in_the_background_fails_the_push(rig):
    srv, proxy, ep, bucket = rig
    # One full 5 MiB part, sent while the last MiB arrives; it fails for good.
    proxy.add("UploadPart", 500, "InternalError")
    blob = os.urandom(6 * MiB)
    r = push_monolithic(srv, "t/bgfail", blob)
    oci_error(r)
    # The first try and maxretries=3 retries of part 1; commit stopped there:
    # the last part was never sent, nothing completed.
    assert proxy.count("UploadPart") == 4
    assert proxy.count("CompleteMultipart") == 0
    proxy.reset()
    assert requests.head(srv.url + "/v2/t/bgfail/blobs/" + dg(blob)).status_code == 404
    assert [k for k in list_keys(ep, RGW_KEYS, bucket) if k.startswith("blobs/")] == []
    # The same content pushes afterwards.
    assert push_monolithic(srv, "t/bgfail", blob).status_code == 201
    assert requests.get(srv.url + "/v2/t/bgfail/blobs/" + dg(blob)).content == blob


def test_a_hanging_store_times_out_and_is_retried(rig):
    srv, proxy, ep, bucket = rig
    proxy.add("PutData", hang=4, times=1)  # longer than timeout: 2
    blob = os.urandom(100000)
    r = push_monolithic(srv, "t/hang", blob)
    assert r.status_code == 201, r.text
    assert proxy.count("PutData") == 2
    proxy.add("GetIndex", hang=4)
    r = requests.get(srv.url + "/v2/t/hang/blobs/" + dg(blob), timeout=60)
    oci_error(r)
    proxy.reset()
    assert requests.get(srv.url + "/v2/t/hang/blobs/" + dg(blob)).content == blob
