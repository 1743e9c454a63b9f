# needs-peer: dockerd
"""The hit/miss pattern of COPY --from=<stage> and RUN --mount=from=<stage>
side by side with BuildKit (Docker Engine 20.10's built-in BuildKit, the
ctest fixture "dockerd", which gives DOCKER_HOST): the same Dockerfile
(test_build_cache_keys.CONTENT_DF) built three times, its first stage
rerun each time (a build arg it sees changes) with the same output, other
mtimes (its files touched to another date), then with other output. Both
builders must cache the same steps of the second stage: BuildKit's keys are
the content these steps read, and berth's must be too. BuildKit's CACHED
lines come from `--progress=plain`."""
import os
import re
import secrets
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from buildutil import run_build, runs  # noqa: E402
from test_build_cache_keys import ROUNDS, SECOND, cached_steps, content_ctx  # noqa: E402
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


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
