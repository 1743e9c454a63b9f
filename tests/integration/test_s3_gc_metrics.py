"""/metrics of a `berth serve` on the s3 store (Ceph RGW): S3 requests by
operation and class of the answer, retries, bytes each way and a latency
histogram per operation, after a chunked push (multipart) and a pull; a
directory store shows none of them. Retries are provoked by s3fault.py.
"""
# needs-peer: ceph-rgw
import os
import re

import requests

from conftest import BerthServer
from s3fault import FaultProxy
from s3util import RGW_KEYS, S3Server, dg, endpoint, make_bucket, push_chunked, push_manifest

MiB = 1024 * 1024


def scrape(srv):
    r = requests.get(srv.url + "/metrics", timeout=10)
    assert r.status_code == 200
    out = {}
    for line in r.text.splitlines():
        m = re.match(r'^(berth_s3_[a-z_]+)\{([^}]*)\} ([0-9.e+-]+)$', line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            out[(m.group(1),) + tuple(sorted(labels.items()))] = float(m.group(3))
    return r.text, out


def val(m, name, **labels):
    return m.get((name,) + tuple(sorted(labels.items())), 0)


def test_s3_counters_after_a_push_and_a_pull():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    big, cfg = os.urandom(11 * MiB), os.urandom(200)
    with S3Server(ep, RGW_KEYS, bucket) as srv:
        assert push_chunked(srv, "t/m", big, 4 * MiB).status_code == 201
        assert push_chunked(srv, "t/m", cfg, 1024).status_code == 201
        push_manifest(srv, "t/m", "v1", cfg, [big])
        r = requests.get(srv.url + "/v2/t/m/blobs/" + dg(big))
        assert r.status_code == 200 and r.content == big
        text, m = scrape(srv)
        assert "# TYPE berth_s3_request_duration_seconds histogram" in text
        # Two full parts of 5 MiB and a last one, completed once.
        assert val(m, "berth_s3_requests_total", operation="UploadPart", code="2xx") == 3
        assert val(m, "berth_s3_requests_total", operation="CreateMultipartUpload",
                   code="2xx") == 1
        assert val(m, "berth_s3_requests_total", operation="CompleteMultipartUpload",
                   code="2xx") == 1
        assert val(m, "berth_s3_request_bytes_total", operation="UploadPart") == len(big)
        # The pull: ranged GETs of the data object, its bytes counted in.
        assert val(m, "berth_s3_response_bytes_total", operation="GetObject") >= len(big)
        # The index lookups of a missing blob answered 404 (a 4xx class).
        assert requests.head(srv.url + "/v2/t/m/blobs/" + dg(b"nope")).status_code == 404
        _, m = scrape(srv)
        for op in ("UploadPart", "GetObject", "PutObject"):
            count = val(m, "berth_s3_request_duration_seconds_count", operation=op)
            inf = val(m, "berth_s3_request_duration_seconds_bucket", operation=op, le="+Inf")
            total = sum(val(m, "berth_s3_requests_total", operation=op, code=c)
                        for c in ("2xx", "3xx", "4xx", "5xx", "error"))
            assert count == inf == total > 0, op
            assert val(m, "berth_s3_request_duration_seconds_sum", operation=op) > 0
        assert val(m, "berth_s3_retries_total", operation="GetObject") == 0


def test_retries_are_counted_through_a_faulty_s3():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    proxy = FaultProxy(ep)
    try:
        with S3Server(proxy.url, RGW_KEYS, bucket, timeout=2, maxretries=3) as srv:
            proxy.add("UploadPart", 503, "SlowDown", times=2)
            blob = os.urandom(6 * MiB)
            assert push_chunked(srv, "t/r", blob, 6 * MiB).status_code == 201
            _, m = scrape(srv)
            assert val(m, "berth_s3_retries_total", operation="UploadPart") == 2, m
            assert val(m, "berth_s3_requests_total", operation="UploadPart", code="5xx") == 2
            assert val(m, "berth_s3_requests_total", operation="UploadPart", code="2xx") == 2
            assert val(m, "berth_s3_retries_total", operation="PutObject") == 0
    finally:
        proxy.close()


def test_a_directory_store_has_no_s3_metrics(tmp_path):
    srv = BerthServer(str(tmp_path / "var"), ["--insecure-open"])
    os.makedirs(srv.data)
    srv.start()
    try:
        text, m = scrape(srv)
        assert m == {} and "berth_s3_" not in text
    finally:
        srv.stop()
