"""Blobs are streamed, never held whole in memory: copying an image with one
96 MiB layer through every transport keeps berth's peak RSS far below the
layer size (a pushed chunk of at most 16 MiB may be held for a resume)."""
import pytest

import conftest
import copyutil as u

LIMIT_MIB = 56


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    if u.sanitized_binary():
        pytest.skip("ASan build: RSS includes shadow memory")
    s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-reg"))).start()
    yield s
    s.stop()


def test_streaming_through_every_transport(reg, tmp_path):
    lay = u.huge_image()
    src = u.read_layout(lay, "huge")
    steps = [
        ("oci:%s:huge" % lay, "oci-archive:%s:h" % (tmp_path / "h.oci.tar")),
        ("oci-archive:%s:h" % (tmp_path / "h.oci.tar"), "docker://%s/p2/huge:1" % reg.host),
        ("docker://%s/p2/huge:1" % reg.host, "oci:%s:back" % (tmp_path / "back")),
        ("oci:%s:huge" % lay, "docker-archive:%s:p2/huge:1" % (tmp_path / "h.docker.tar")),
        ("docker-archive:%s" % (tmp_path / "h.docker.tar"), "docker://%s/p2/huge-da:1" % reg.host),
    ]
    peaks = []
    for s, d in steps:
        _, rss = u.berth_rss("copy", "-q", s, d)
        peaks.append((s.split(":")[0], d.split(":")[0], round(rss, 1)))
    assert all(p[2] < LIMIT_MIB for p in peaks), "peak RSS (MiB) per copy: %s" % peaks
    u.assert_same_image(u.read_layout(str(tmp_path / "back"), "back"), src, exact=True)
    da = u.read_image("docker://%s/p2/huge-da:1" % reg.host)
    assert da.diff_ids == src.diff_ids
