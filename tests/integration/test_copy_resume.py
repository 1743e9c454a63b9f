"""A broken upload resumes: a proxy cuts the connection once in the middle
of a blob upload (a chunk of the 40 MiB layer, or a small monolithic push);
berth asks the registry how much it has, sends the rest, and the copy
completes with every byte right. Against berth serve and Distribution 2.8.
skopeo (which restarts the copy instead) shows the fault is real."""
import re

import pytest

import conftest
import copyutil as u
from distribution import Distribution
from proxy import Proxy

UPLOAD = re.compile(r"/v2/.+/blobs/uploads/.+")
KINDS = {}  # upstream url -> "berth" | "distribution"


@pytest.fixture(params=["berth", "distribution"])
def upstream(request, tmp_path_factory):
    if request.param == "berth":
        s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-reg"))).start()
        KINDS[s.url] = "berth"
        yield s.url
        s.stop()
    else:
        u.need("docker-registry")
        d = Distribution(str(tmp_path_factory.mktemp("dist"))).start()
        KINDS[d.url] = "distribution"
        yield d.url
        d.stop()


def test_chunked_upload_resumes_after_cut(upstream, tmp_path):
    """berth serve keeps the bytes of a broken PATCH and reports them: the
    client resumes the same session from there. Distribution 2.8 refuses
    to resume a session whose state token lags its data (400
    BLOB_UPLOAD_INVALID on the status query): the client must then start
    that blob over. Either way the copy completes."""
    lay = u.big_image()
    src = u.read_layout(lay, "big")
    big = max(src.layers, key=lambda l: l[2])
    with Proxy(upstream, "cut", cut_after=5 << 20) as p:
        u.berth("copy", "oci:%s:big" % lay, "docker://%s/p2/resume:1" % p.host, timeout=300)
        assert p.cut_done, "the upload was never cut (requests: %s)" % p.requests
        if "berth" not in upstream_kind(upstream):
            return check_result(upstream, src, big)
        i = next(i for i, r in enumerate(p.requests) if str(r[2]).startswith("cut"))
        cut_path = p.requests[i][1].split("?")[0]
        assert UPLOAD.search(cut_path), p.requests[i]
        after = [r for r in p.requests[i + 1:] if r[1].split("?")[0] == cut_path]
        # the client asked where that upload stands (GET on its URL), went on
        # with the same session, and closed it
        gets = [j for j, r in enumerate(after) if r[0] == "GET" and r[2] in (200, 204)]
        puts = [j for j, r in enumerate(after) if r[0] == "PUT" and r[2] == 201]
        assert gets, "no upload status query after the cut: %s" % after
        assert puts and gets[0] < puts[-1], "upload never completed after the query: %s" % after
    check_result(upstream, src, big)


def upstream_kind(url):
    return KINDS[url]


def check_result(upstream, src, big):
    got = u.read_image("docker://%s/p2/resume:1" % upstream.split("//")[1])
    u.assert_same_image(got, src, exact=True)
    assert u.sha256(got.blob(big[1])) == big[1]


def test_monolithic_push_retried_after_cut(upstream, tmp_path):
    """A cut during a small (monolithic) blob push is a transient failure: retried, copy completes."""
    lay = u.small_image()
    with Proxy(upstream, "cut", cut_after=200 << 10) as p:
        u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/retry:1" % p.host, timeout=300)
        assert p.cut_done
    got = u.read_image("docker://%s/p2/retry:1" % upstream.split("//")[1])
    u.assert_same_image(got, u.read_layout(lay, "small"), exact=True)


def test_skopeo_fails_on_the_same_cut(upstream):
    """Validates the peer: the cut is a real failure for a client that does not resume."""
    u.need("skopeo")
    lay = u.big_image()
    with Proxy(upstream, "cut", cut_after=5 << 20) as p:
        r = u.skopeo("copy", "--dest-tls-verify=false", "oci:%s:big" % lay,
                     "docker://%s/p2/sk:1" % p.host, check=False)
        assert p.cut_done
        assert r.returncode != 0


def test_large_blob_pushed_in_chunks(upstream):
    """The 40 MiB layer goes up in PATCH chunks of at most 16 MiB (the
    default), the small blobs in one request each."""
    lay = u.big_image()
    src = u.read_layout(lay, "big")
    with Proxy(upstream, "forward") as p:
        u.berth("copy", "oci:%s:big" % lay, "docker://%s/p2/chunks:1" % p.host)
        uploads = [b for b in p.bodies if "/blobs/uploads/" in b[1] and b[0] in ("PATCH", "PUT", "POST")]
    patches = [b for b in uploads if b[0] == "PATCH"]
    assert len(patches) >= 2, "40 MiB blob not chunked: %s" % uploads
    assert max(b[2] for b in uploads) <= (16 << 20), "a request body over 16 MiB: %s" % uploads
    session = patches[0][1].split("?")[0]
    big = max(sz for _, _, sz in src.layers)
    assert sum(b[2] for b in uploads if b[1].split("?")[0] == session) == big, \
        "the chunked session did not carry the blob exactly once: %s" % uploads
    u.assert_same_image(u.read_image("docker://%s/p2/chunks:1" % upstream.split("//")[1]), src, exact=True)


def test_cross_repository_mount(upstream):
    """registry -> same registry, other repository: blobs are mounted, not sent."""
    lay = u.small_image()
    src = u.read_layout(lay, "small")
    host = upstream.split("//")[1]
    u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/mount-src:1" % host)
    with Proxy(upstream, "forward") as p:
        u.berth("copy", "docker://%s/p2/mount-src:1" % p.host, "docker://%s/p2/mount-dst:1" % p.host)
        mounts = [r for r in p.requests if r[0] == "POST" and "mount=" in r[1]]
        sent = [b for b in p.bodies if "/blobs/uploads/" in b[1] and b[2] > 0]
    assert len([m for m in mounts if m[2] == 201]) == len(src.layers) + 1, mounts
    assert sent == [], "blob bytes sent despite the mount: %s" % sent
    u.assert_same_image(u.read_image("docker://%s/p2/mount-dst:1" % host), src, exact=True)
