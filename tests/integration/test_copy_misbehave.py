"""A misbehaving registry (peers/proxy.py in front of a good one): wrong
bytes for a digest, a truncated blob, a redirect loop, a 50 MiB manifest.
Every copy fails with exit 1 and one line naming the problem, and the
destination (a layout, an archive, another registry) holds nothing from it.
skopeo is run against the same faults first, to show each one is real.
Transient faults (a broken transfer once, 5xx/429 twice) are retried and the
copy completes; a failing copy over an existing layout or archive leaves it
as it was."""
import os

import pytest

import conftest
import copyutil as u
from proxy import Proxy

CASES = {
    "wrong-bytes": ("digest",),
    "truncate": (("short", "truncat", "size", "unexpected", "closed", "partial", "transfer", "digest",
                  "connection", "incomplete"),),
    "redirect-loop": ("redirect",),
    "huge-manifest": ("manifest", ("large", "size", "exceed", "limit", "cap", "too big", "bytes")),
}


@pytest.fixture(scope="module")
def regs(tmp_path_factory):
    u.need("skopeo")
    src = conftest.BerthServer(str(tmp_path_factory.mktemp("src-reg"))).start()
    dst = conftest.BerthServer(str(tmp_path_factory.mktemp("dst-reg"))).start()
    lay = u.small_image()
    u.skopeo("copy", "--dest-tls-verify=false", "oci:%s:small" % lay, "docker://%s/p2/good:1" % src.host)
    yield src, dst, u.read_layout(lay, "small")
    src.stop()
    dst.stop()


def target_for(mode, img):
    # the largest layer: every client has to fetch it
    return max(img.layers, key=lambda l: l[2])[1] if mode != "huge-manifest" else "*"


@pytest.mark.parametrize("mode", sorted(CASES))
def test_fault_to_layout(mode, regs, tmp_path):
    src, _, img = regs
    with Proxy(src.url, mode, target=target_for(mode, img)) as p:
        name = "docker://%s/p2/good:1" % p.host
        sk = u.skopeo("copy", "--src-tls-verify=false", name, "oci:%s:x" % (tmp_path / "sk"), check=False)
        assert sk.returncode != 0, "skopeo accepted the %s fault" % mode
        out = tmp_path / "layout"
        r = u.berth("copy", name, "oci:%s:x" % out, check=False, timeout=300)
        u.assert_fails(r, *CASES[mode])
        u.assert_layout_empty(str(out))


@pytest.mark.parametrize("mode", sorted(CASES))
@pytest.mark.parametrize("kind", ["oci-archive", "docker-archive"])
def test_fault_to_archive(mode, kind, regs, tmp_path):
    src, _, img = regs
    with Proxy(src.url, mode, target=target_for(mode, img)) as p:
        out = tmp_path / "out.tar"
        dst = "%s:%s:%s" % (kind, out, "p2/x:1" if kind == "docker-archive" else "x")
        r = u.berth("copy", "docker://%s/p2/good:1" % p.host, dst, check=False, timeout=300)
        u.assert_fails(r, *CASES[mode])
        u.assert_no_file(str(out))


@pytest.mark.parametrize("mode", sorted(CASES))
def test_fault_to_registry(mode, regs):
    src, dst, img = regs
    with Proxy(src.url, mode, target=target_for(mode, img)) as p:
        repo = "p2/fault-%s" % mode
        r = u.berth("copy", "docker://%s/p2/good:1" % p.host, "docker://%s/%s:1" % (dst.host, repo),
                    check=False, timeout=300)
        u.assert_fails(r, *CASES[mode])
        bad = [] if mode == "huge-manifest" else [target_for(mode, img)]
        u.assert_registry_no_image(dst.url, repo, "1", digests=bad)


@pytest.mark.parametrize("mode", ["truncate"])
def test_one_transient_fault_is_retried(mode, regs, tmp_path):
    """A blob whose transfer breaks once (short body, connection closed) and
    works the next time: the copy retries it and completes with every byte
    right. (A digest mismatch is not treated as transient: not tested.)"""
    src, _, img = regs
    with Proxy(src.url, mode, target=target_for(mode, img), faults=1) as p:
        u.berth("copy", "docker://%s/p2/good:1" % p.host, "oci:%s:x" % (tmp_path / "o"))
        assert p.fired == 1
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "x"), img, exact=True)


def test_wrong_bytes_in_layout_source(tmp_path):
    """A layout whose blob file was altered: the copy refuses it."""
    import shutil
    lay = tmp_path / "lay"
    shutil.copytree(u.small_image(), lay)
    img = u.read_layout(str(lay), "small")
    d = img.layers[1][1]
    path = lay / "blobs" / "sha256" / d.split(":")[1]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    r = u.berth("copy", "oci:%s:small" % lay, "oci:%s:x" % out, check=False)
    u.assert_fails(r, "digest")
    u.assert_layout_empty(str(out))


def test_failed_copy_into_existing_layout_keeps_it(regs, tmp_path):
    """A failing copy into a layout that already holds an image leaves that
    image and index.json as they were, and adds no blob."""
    src, _, img = regs
    out = tmp_path / "lay"
    u.berth("copy", "oci:%s:small" % u.small_image(), "oci:%s:keep" % out)
    before_index = (out / "index.json").read_bytes()
    before_blobs = sorted(p.name for p in (out / "blobs" / "sha256").iterdir())
    lay2 = u.big_image()
    u.skopeo("copy", "--dest-tls-verify=false", "oci:%s:big" % lay2, "docker://%s/p2/big:1" % src.host)
    big = u.read_layout(lay2, "big")
    with Proxy(src.url, "truncate", target=big.layers[0][1]) as p:
        r = u.berth("copy", "docker://%s/p2/big:1" % p.host, "oci:%s:new" % out, check=False)
        u.assert_fails(r, *CASES["truncate"])
    assert (out / "index.json").read_bytes() == before_index
    assert sorted(p.name for p in (out / "blobs" / "sha256").iterdir()) == before_blobs


@pytest.mark.parametrize("status", [503, 429, 502])
def test_transient_server_errors_are_retried(status, regs, tmp_path):
    """Blob GETs answered 5xx/429 twice, then served: the pull completes;
    uploads answered so twice: the push completes."""
    src, dst, img = regs
    with Proxy(src.url, "error", faults=2, status=status) as p:
        u.berth("copy", "docker://%s/p2/good:1" % p.host, "oci:%s:x" % (tmp_path / "o"))
        assert p.fired == 2
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "x"), img, exact=True)
    with Proxy(dst.url, "error", faults=2, status=status) as p:
        u.berth("copy", "oci:%s:small" % u.small_image(), "docker://%s/p2/retried-%d:1" % (p.host, status))
        assert p.fired == 2
    u.assert_same_image(u.read_image("docker://%s/p2/retried-%d:1" % (dst.host, status)), img, exact=True)


def test_persistent_server_errors_fail_cleanly(regs, tmp_path):
    src, _, img = regs
    with Proxy(src.url, "error", status=503) as p:
        r = u.berth("copy", "docker://%s/p2/good:1" % p.host, "oci:%s:x" % (tmp_path / "o"), check=False,
                    timeout=300)
        u.assert_fails(r, ("503", "unavailable", "try again"))
    u.assert_layout_empty(str(tmp_path / "o"))


@pytest.mark.parametrize("kind", ["oci-archive", "docker-archive"])
def test_failed_copy_keeps_existing_archive(kind, regs, tmp_path):
    """A failing copy over an existing archive leaves the old file byte for byte."""
    src, _, img = regs
    out = tmp_path / "a.tar"
    spec = "%s:%s:%s" % (kind, out, "p2/x:1" if kind == "docker-archive" else "x")
    u.berth("copy", "oci:%s:small" % u.small_image(), spec)
    before = out.read_bytes()
    with Proxy(src.url, "wrong-bytes", target=target_for("wrong-bytes", img)) as p:
        r = u.berth("copy", "docker://%s/p2/good:1" % p.host, spec, check=False)
        u.assert_fails(r, "digest")
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.tar"], os.listdir(tmp_path)
