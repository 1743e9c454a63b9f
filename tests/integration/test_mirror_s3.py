"""The pull-through mirror on the s3 store (Ceph RGW): a cold pull streams
each blob to the clients while it is stored (concurrent clients of one blob
share one upstream fetch, read from the upload's local copy), a warm pull
asks upstream for no blob, also from a restarted process (the blobs come
from the bucket), and skopeo copies an image through it.
"""
# needs-peer: ceph-rgw
import concurrent.futures
import os
import subprocess
import tempfile
import time

import pytest

import mirrorutil as mu
from conftest import BerthServer
from mirrorutil import Distribution, Proxy
from s3util import RGW_KEYS, endpoint, list_keys, make_bucket, s3_config

MiB = 1024 * 1024


@pytest.fixture
def upstream(tmp_path):
    mu.need_distribution()
    d = Distribution(str(tmp_path / "dist")).start()
    p = Proxy(d.url).start()
    yield p, d
    p.stop()
    d.stop()


def test_cold_then_warm_pulls_through_a_mirror_on_s3(upstream, tmp_path):
    proxy, dist = upstream
    big, small = os.urandom(12 * MiB + 7), b"small-layer" * 300  # big: two parts and a tail
    digest, _ = mu.push_image(dist.url, "library/app", "1.0", [big, small])
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    cfg = tmp_path / "config.yml"
    cfg.write_text(s3_config(ep, RGW_KEYS, bucket) +
                   "upstreams:\n  - name: docker.io\n    url: %s\n    ttl: 1h\n" % proxy.url)
    spool = tempfile.mkdtemp(prefix="berth-spool-", dir=str(tmp_path))
    srv = BerthServer(str(tmp_path / "var"), ["--config", str(cfg), "--insecure-open"])
    os.makedirs(srv.data)
    os.environ["BERTH_SPOOL_DIR"] = spool
    try:
        srv.start()
    finally:
        del os.environ["BERTH_SPOOL_DIR"]
    try:
        # Cold: four clients at once; each blob crosses upstream once.
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            got = list(ex.map(lambda _: mu.pull(srv.url, "app", "1.0"), range(4)))
        for g, blobs in got:
            assert g == digest and blobs[mu.digest_of(big)] == big
        for d in (mu.digest_of(big), mu.digest_of(small)):
            assert len(mu.blob_gets(proxy, d)) == 1, d
        # The commit runs after the last byte is served: wait for it.
        deadline = time.monotonic() + 30
        while True:
            keys = list_keys(ep, RGW_KEYS, bucket)
            done = (len([k for k in keys if k.startswith("blobs/")]) == 3 and
                    not [k for k in keys if k.startswith("uploads/")] and
                    os.listdir(spool) == [])
            if done or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len([k for k in keys if k.startswith("blobs/")]) == 3, keys  # config + 2 layers
        assert not [k for k in keys if k.startswith("uploads/")], keys
        assert os.listdir(spool) == []  # the local copies were unlinked files
        m = mu.metrics(srv)
        assert m["misses_total"] >= 3 and m["upstream_bytes_total"] >= len(big)

        # Warm: no blob request upstream.
        before = len(proxy.requests)
        assert mu.pull(srv.url, "app", "1.0")[1][mu.digest_of(big)] == big
        assert not [q for q in proxy.requests[before:] if "/blobs/" in q[1]]
        assert mu.metrics(srv)["hits_total"] > m["hits_total"]

        # A new process: the cache is the bucket (and the database), not memory.
        srv.stop()
        srv.start()
        before = len(proxy.requests)
        out = tmp_path / "skopeo"
        p = subprocess.run(["skopeo", "copy", "--src-tls-verify=false",
                            "docker://%s/app:1.0" % srv.host, "dir:%s" % out],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        with open(out / mu.digest_of(big)[7:], "rb") as f:
            assert f.read() == big
        assert not [q for q in proxy.requests[before:] if "/blobs/" in q[1]]
    finally:
        assert srv.stop() in (0, None), srv.read_log()
