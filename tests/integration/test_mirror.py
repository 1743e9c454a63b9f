"""berth serve as a pull-through mirror (P8), against real Distribution 2.8
upstreams: several upstreams picked by containerd's ?ns=, Docker Hub's
library/ prefix, tag ttl and revalidation, stale-if-error, pushes refused,
upstream Basic and Bearer auth, one upstream fetch for many clients of a
256 MiB blob (peak RSS recorded), an upstream dying mid-blob.

Upstream requests are counted by a forwarding proxy (peers/proxy.py) in
front of each Distribution: the same requests Distribution's access log
would show.
"""
import concurrent.futures
import glob
import os
import subprocess
import time

import pytest
import requests

import mirrorutil as mu
from mirrorutil import Distribution, Proxy



@pytest.fixture
def upstream(tmp_path):
    """Distribution behind a counting proxy; yields (proxy, distribution)."""
    made = []

    def make(name="dist", users=None, mode="forward", **kw):
        mu.need_distribution()
        d = Distribution(str(tmp_path / name), users=users).start()
        p = Proxy(d.url, mode=mode, **kw).start()
        made.append((p, d))
        return p, d
    yield make
    for p, d in made:
        p.stop()
        d.stop()


def test_mirror_two_upstreams_by_ns(upstream, berth_factory, tmp_path):
    pa, da = upstream("a")
    pb, db = upstream("b")
    dig_a, _ = mu.push_image(da.url, "library/busybox", "latest", [b"a-layer" * 100], label="a")
    dig_b, _ = mu.push_image(db.url, "team/app", "1.0", [b"b-layer" * 100], label="b")
    cfg = mu.mirror_config(tmp_path, upstreams=[
        {"name": "docker.io", "url": pa.url, "ttl": "1h"},
        {"name": pb.host, "url": pb.url, "ttl": "1h"}])
    srv = berth_factory(extra_args=["--config", cfg])

    # Docker Hub names: "busybox" is library/busybox; no ns is the default upstream.
    got_a, blobs_a = mu.pull(srv.url, "busybox", "latest")
    assert got_a == dig_a
    assert mu.pull(srv.url, "library/busybox", "latest", ns="docker.io")[0] == dig_a
    got_b, _ = mu.pull(srv.url, "team/app", "1.0", ns=pb.host)
    assert got_b == dig_b
    # Each upstream only knows its own image.
    assert mu.get_manifest(srv.url, "team/app", "1.0").status_code == 404
    assert mu.get_manifest(srv.url, "busybox", "latest", ns="nowhere.example").status_code == 404

    m1 = mu.metrics(srv)
    assert m1["misses_total"] >= 4 and m1["upstream_bytes_total"] > 0
    before = len(pa.requests)
    # Warm: served from the cache, no upstream request at all within the ttl.
    assert mu.pull(srv.url, "busybox", "latest")[1] == blobs_a
    assert len(pa.requests) == before
    m2 = mu.metrics(srv)
    assert m2["hits_total"] >= m1["hits_total"] + 3
    assert m2["misses_total"] == m1["misses_total"]
    # Every blob crossed upstream exactly once.
    for d in blobs_a:
        assert len(mu.blob_gets(pa, d)) == 1, d


def test_mirror_refuses_pushes(upstream, berth_factory, tmp_path):
    pa, _ = upstream()
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url})
    srv = berth_factory(extra_args=["--config", cfg])
    r = requests.post(srv.url + "/v2/library/x/blobs/uploads/", timeout=10)
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert "mirror" in r.json()["errors"][0]["message"]
    r = requests.put(srv.url + "/v2/library/x/manifests/latest", data=b"{}",
                     headers={"Content-Type": mu.OCI_MANIFEST}, timeout=10)
    assert r.status_code == 405
    r = requests.delete(srv.url + "/v2/library/x/manifests/latest", timeout=10)
    assert r.status_code == 405
    assert not [q for q in pa.requests if q[0] != "GET" and q[0] != "HEAD"]


def test_mirror_bad_config_is_refused(tmp_path):
    cfg = mu.mirror_config(tmp_path, upstreams=[{"name": "docker.io", "url": "ftp://x", "ttl": "1h"}])
    p = subprocess.run([os.environ.get("BERTH_BIN", "berth"), "serve", "--config", cfg, "--data",
                        str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "upstreams[0]" in p.stderr, p.stderr
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": "http://127.0.0.1:1", "ttl": "5 parsecs"})
    p = subprocess.run([os.environ.get("BERTH_BIN", "berth"), "serve", "--config", cfg, "--data",
                        str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "proxy.ttl" in p.stderr, p.stderr


def test_mirror_ttl_revalidation_and_stale_if_error(upstream, berth_factory, tmp_path):
    pa, da = upstream()
    old, _ = mu.push_image(da.url, "library/busybox", "latest", [b"old" * 50], label="old")
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "ttl": "1s"})
    srv = berth_factory(extra_args=["--config", cfg])
    assert mu.pull(srv.url, "busybox", "latest")[0] == old

    # The tag moves upstream: after the ttl, a HEAD finds it and the new one is served.
    new, _ = mu.push_image(da.url, "library/busybox", "latest", [b"new" * 50], label="new")
    time.sleep(1.2)
    assert mu.pull(srv.url, "busybox", "latest")[0] == new
    assert mu.metrics(srv)["revalidations_total"] >= 1
    heads = [q for q in pa.requests if q[0] == "HEAD" and q[1].endswith("/manifests/latest")]
    assert heads

    # Upstream down, ttl passed: the cached manifest and blobs are still served.
    pa.stop()
    da.stop()
    time.sleep(1.2)
    got, _ = mu.pull(srv.url, "busybox", "latest")
    assert got == new
    m = mu.metrics(srv)
    assert m["stale_hits_total"] >= 1 and m["upstream_errors_total"] >= 1
    assert "stale hit" in srv.read_log()
    # Nothing cached and upstream down: a clear error, not a hang or a 200.
    r = mu.get_manifest(srv.url, "other", "latest")
    assert r.status_code == 502 and "upstream" in r.json()["errors"][0]["message"]


def test_mirror_upstream_basic_auth(upstream, berth_factory, tmp_path):
    pa, da = upstream(users={"mirror": "s3cret"})
    dig, _ = mu.push_image(da.url, "library/busybox", "latest", [b"auth" * 40],
                           auth=("mirror", "s3cret"))
    good = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "username": "mirror",
                                             "password": "s3cret"})
    srv = berth_factory(extra_args=["--config", good])
    assert mu.pull(srv.url, "busybox", "latest")[0] == dig
    assert "s3cret" not in srv.read_log()

    os.makedirs(str(tmp_path / "bad"))
    bad = mu.mirror_config(tmp_path / "bad", proxy={"remoteurl": pa.url, "username": "mirror",
                                                    "password": "wrong"})
    srv2 = berth_factory(extra_args=["--config", bad])
    r = mu.get_manifest(srv2.url, "busybox", "latest")
    assert r.status_code == 502, r.text
    assert "wrong" not in srv2.read_log()


def test_mirror_upstream_bearer_auth(upstream, berth_factory, tmp_path):
    from tokenserver import TokenServer
    ts = TokenServer({"mirror": "tok-pw"}).start()
    try:
        pa, da = upstream(mode="bearer", tokens=ts)
        dig, _ = mu.push_image(da.url, "library/busybox", "latest", [b"bearer" * 40])
        cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "username": "mirror",
                                                "password": "tok-pw"})
        srv = berth_factory(extra_args=["--config", cfg])
        assert mu.pull(srv.url, "busybox", "latest")[0] == dig
        assert ts.fetches >= 1
    finally:
        ts.stop()


def _rss_peak_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


BIG = 256 << 20
CLIENTS = 32


def _big_blob(tmp_path):
    """256 MiB of incompressible bytes (a repeated 1 MiB random block: cheap to make)."""
    block = os.urandom(1 << 20)
    path = str(tmp_path / "big.bin")
    with open(path, "wb") as f:
        for i in range(BIG >> 20):
            f.write(block[:-8] + i.to_bytes(8, "big"))
    return path


def _curl_sha(url):
    p = subprocess.run("curl -sS -f --max-time 300 '%s' | sha256sum" % url, shell=True,
                       capture_output=True, text=True, timeout=400)
    return p.stdout.split()[0] if p.stdout else "", p.stderr


def test_mirror_32_cold_pulls_one_upstream_fetch(upstream, berth_factory, tmp_path):
    pa, da = upstream()
    path = _big_blob(tmp_path)
    with open(path, "rb") as f:
        data = f.read()
    digest = mu.push_blob(da.url, "library/big", data)
    del data
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url})
    srv = berth_factory(extra_args=["--config", cfg])
    rss_before = _rss_peak_kib(srv.proc.pid)
    url = "%s/v2/library/big/blobs/%s" % (srv.url, digest)
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as ex:
        res = list(ex.map(lambda _: _curl_sha(url), range(CLIENTS)))
    for sha, err in res:
        assert "sha256:" + sha == digest, err
    assert len(mu.blob_gets(pa, digest)) == 1, mu.blob_gets(pa, digest)
    m = mu.metrics(srv)
    assert m["fetches_shared_total"] + m["misses_total"] + m["hits_total"] >= CLIENTS
    assert m["upstream_bytes_total"] < BIG + (1 << 20)
    peak = _rss_peak_kib(srv.proc.pid)
    print("mirror peak RSS during %d cold pulls of 256 MiB: %d KiB (at start %d KiB)"
          % (CLIENTS, peak, rss_before))
    if "asan" not in os.environ.get("BERTH_BUILD_DIR", ""):
        assert peak <= 64 * 1024, peak
    # Committed: a later pull is a hit, served from the store.
    assert _curl_sha(url)[0] == digest[7:]
    assert len(mu.blob_gets(pa, digest)) == 1


def test_mirror_upstream_dies_mid_blob(upstream, berth_factory, tmp_path):
    data = os.urandom(8 << 20)
    digest = mu.digest_of(data)
    pa, da = upstream(mode="truncate", target=digest)
    mu.push_blob(da.url, "library/cut", data)
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url})
    srv = berth_factory(extra_args=["--config", cfg])
    url = "%s/v2/library/cut/blobs/%s" % (srv.url, digest)

    with pytest.raises(requests.RequestException):
        r = requests.get(url, timeout=60)
        # A response that ends early raises above; a complete one must not be the blob.
        assert mu.digest_of(r.content) != digest
        raise requests.RequestException("short or wrong body: %d bytes" % len(r.content))
    time.sleep(0.2)  # the fetch thread finishes its cleanup
    hexd = digest[7:]
    kept = [p for p in glob.glob(os.path.join(srv.data, "**", "*" + hexd + "*"), recursive=True)]
    assert not kept, kept
    assert mu.metrics(srv)["upstream_errors_total"] >= 1
    cut = len(mu.blob_gets(pa, digest))
    assert cut >= 1
    # Upstream is healthy again: the next pull fetches again and gets the right bytes.
    pa.mode = "forward"
    r = requests.get(url, timeout=60)
    assert r.status_code == 200 and mu.digest_of(r.content) == digest
    assert len(mu.blob_gets(pa, digest)) == cut + 1


def test_mirror_upstream_serves_wrong_bytes(upstream, berth_factory, tmp_path):
    # Full length, wrong content: the last byte is held back until the digest is
    # verified, so no client ever receives a complete body, and nothing is cached.
    data = os.urandom(4 << 20)
    digest = mu.digest_of(data)
    pa, da = upstream(mode="wrong-bytes", target=digest)
    mu.push_blob(da.url, "library/bad", data)
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url})
    srv = berth_factory(extra_args=["--config", cfg])
    url = "%s/v2/library/bad/blobs/%s" % (srv.url, digest)

    p = subprocess.run(["curl", "-sS", "-o", str(tmp_path / "got"), url], capture_output=True)
    got = (tmp_path / "got").read_bytes() if (tmp_path / "got").exists() else b""
    assert p.returncode != 0, "curl received a complete response"
    assert len(got) < len(data)
    time.sleep(0.2)  # the fetch thread finishes its cleanup
    kept = glob.glob(os.path.join(srv.data, "**", "*" + digest[7:] + "*"), recursive=True)
    assert not kept, kept
    assert mu.metrics(srv)["upstream_errors_total"] >= 1
    pa.mode = "forward"
    r = requests.get(url, timeout=60)
    assert r.status_code == 200 and mu.digest_of(r.content) == digest
