# needs-peer: dockerd
"""The hit/miss pattern of COPY --from=<stage> and RUN --mount=from=<stage>
side by side with BuildKit (Docker Engine 20.10's built-in BuildKit, the
ctest fixture "dockerd", which gives DOCKER_HOST): the same Dockerfile
(test_build_cache_keys.CONTENT_DF) built three times, its first stage
rerun each time (a build arg it sees changes) with the same output, other
mtimes (its files touched to another date), then with other output. Both
builders must cache the same steps of the second stage: BuildKit's keys are
the content these steps read, and berth's must be too. BuildKit's CACHED
lines come from `--progress=plain`. One difference by design: hard links
among the files a COPY reads (BuildKit's key ignores them, so its cache can
give a layer its own fresh build would not: the test shows both)."""
import json
import os
import re
import secrets
import sys
import tarfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from buildutil import run_build, runs  # noqa: E402
from test_build_cache_keys import ROUNDS, SECOND, cached_steps, content_ctx  # noqa: E402
from test_build_cache_keys import HARDLINK_ROUNDS, hardlink_ctx  # noqa: E402
from test_build_cache_keys import layer_entries  # noqa: E402
from test_build_cache_keys import registry  # noqa: E402,F401 (the module's fixture)
from test_build_run_buildkit import docker  # noqa: E402


def buildkit_cached(log, steps):
    """Which of `steps` BuildKit's plain progress shows as CACHED: a vertex
    line "#N [stage-1 2/4] STEP" then "#N CACHED"."""
    names = {}
    for m in re.finditer(r"^#(\d+) \[[^\]]+\] (.*)$", log, re.M):
        names.setdefault(m.group(2).strip(), m.group(1))
    out = []
    for s in steps:
        n = names.get(s)
        assert n, "BuildKit's log has no step %r:\n%s" % (s, log[-3000:])
        out.append(bool(re.search(r"^#%s CACHED$" % n, log, re.M)))
    return out


def test_content_keys_hit_and_miss_like_buildkit(tmp_path, registry):  # noqa: F811
    base = registry.host + "/library/busybox:1"
    docker("pull", base)
    ctx = content_ctx(tmp_path / "ctx", base)
    # The engine outlives the test: contents this engine never saw.
    salt = secrets.token_hex(8)
    rounds = [(n, c + salt) for n, c in ROUNDS]
    bk, be = [], []
    for nonce, content in rounds:
        args = ["--build-arg", "NONCE=" + nonce, "--build-arg", "CONTENT=" + content]
        r = docker("build", "--network=none", "--progress=plain", *args, str(ctx))
        bk.append(buildkit_cached(r.stderr, SECOND))
        p = run_build(tmp_path / "store", *args, ctx)
        be.append(cached_steps(p.stderr.decode(), SECOND))
        runs(p)
    assert be == bk, {"berth": be, "buildkit": bk}
    assert bk == [[False] * 3, [True] * 3, [False] * 3], bk


def buildkit_copy_d(tmp_path, ctx, tag, *flags):
    """BuildKit's build of a hardlink_ctx: whether `COPY d /d` was CACHED,
    and the tar type of d/b in the image's layer (`docker save`)."""
    r = docker("build", "--network=none", "--progress=plain", "-t", tag, *flags, str(ctx))
    cached = buildkit_cached(r.stderr, ["COPY d /d"])[0]
    arch = tmp_path / "saved.tar"
    docker("save", "-o", str(arch), tag)
    with tarfile.open(arch) as t:
        man = json.load(t.extractfile("manifest.json"))[0]
        with tarfile.open(fileobj=t.extractfile(man["Layers"][0])) as layer:
            return cached, layer.getmember("d/b").type


def test_hard_links_differ_from_buildkit_by_design(tmp_path):
    """d/b made a hard link of the equal d/a, then its own file again.
    BuildKit's key does not see the link: its cache gives the layer without
    it, though its own fresh build (--no-cache) has it. berth's key counts
    the link: its cached and fresh builds give the same layer, the one
    BuildKit builds fresh."""
    ctx = tmp_path / "ctx"
    make = hardlink_ctx(ctx, "same %s\n" % secrets.token_hex(8))
    tag = "berth-hardlink-%s" % secrets.token_hex(4)
    bk, be = [], []
    try:
        for i, linked in enumerate(HARDLINK_ROUNDS):
            make(linked)
            bk.append(buildkit_copy_d(tmp_path, ctx, tag))
            lay = tmp_path / ("out%d" % i)
            p = run_build(tmp_path / "store", "-o", "type=oci,dest=%s,tar=false" % lay, ctx)
            be.append((cached_steps(p.stderr.decode(), ["COPY d /d"])[0],
                       layer_entries(lay)["d/b"][0]))
        make(True)
        fresh = buildkit_copy_d(tmp_path, ctx, tag, "--no-cache")
    finally:
        docker("rmi", "-f", tag, check=False)
    reg, lnk = tarfile.REGTYPE, tarfile.LNKTYPE
    assert bk == [(False, reg), (True, reg), (True, reg)], bk
    assert fresh == (False, lnk), fresh
    assert be == [(False, reg), (False, lnk), (True, reg)], be


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
