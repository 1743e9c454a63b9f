"""Blobs are streamed, never held whole in memory: copying an image with one
96 MiB layer through every transport keeps berth's peak RSS far below the
layer size (a pushed chunk of at most 16 MiB may be held for a resume).

In a sanitizer build RSS also holds ASan's shadow (an eighth of the memory
touched) and its runtime: there the same copies run without ASan's
quarantine, and the limit is the peak of copying a tiny image plus 9/8 of
the streaming limit, still far below a layer held whole."""
import os

import pytest

import conftest
import copyutil as u

LIMIT_MIB = 56


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-reg"))).start()
    yield s
    s.stop()


def _asan_env():
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") + "quarantine_size_mb=0"}


def _limit(tmp_path, env):
    """The peak RSS (MiB) a copy may reach: LIMIT_MIB, or under a sanitizer
    the RSS of copying a tiny image plus 9/8 of it."""
    if not u.sanitized_binary():
        return LIMIT_MIB
    lay = u.small_image()
    _, base = u.berth_rss("copy", "-q", "oci:%s:small" % lay, "oci:%s:s" % (tmp_path / "tiny"), env=env)
    return base + LIMIT_MIB * 9 / 8


def test_streaming_through_every_transport(reg, tmp_path):
    env = _asan_env() if u.sanitized_binary() else None
    limit = _limit(tmp_path, env)
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
        _, rss = u.berth_rss("copy", "-q", s, d, env=env)
        peaks.append((s.split(":")[0], d.split(":")[0], round(rss, 1)))
    assert all(p[2] < limit for p in peaks), "peak RSS (MiB) per copy: %s, limit %.1f" % (peaks, limit)
    u.assert_same_image(u.read_layout(str(tmp_path / "back"), "back"), src, exact=True)
    da = u.read_image("docker://%s/p2/huge-da:1" % reg.host)
    assert da.diff_ids == src.diff_ids
