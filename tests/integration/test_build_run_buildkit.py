# needs-peer: dockerd
"""RUN --mount side by side with BuildKit (Docker Engine 20.10's built-in
BuildKit, the ctest fixture "dockerd": tests/peers/dockerd-start.sh, which
gives DOCKER_HOST). 20.10 supports the secret, cache, bind and tmpfs mounts
(not heredocs, not secret env=: those are tested against BuildKit's
documentation in test_build_run.py).

One Dockerfile uses secret mounts (id, target, mode, uid, gid, required, a
missing optional one), cache mounts (id, mode, uid, gid), a bind of the
context and of a stage, and a tmpfs; BuildKit and berth build it from the
same busybox base (pulled by both from one `berth serve`), and the final
file trees must be equal: paths, types, modes, owners, contents. Then the
cache mount's count is compared over a no-change rebuild (BuildKit's and
berth's stay at 1), a rebuild after a change above the RUN (both 2) and a
--no-cache rebuild (both start the cache mount afresh: 1).
"""
import os
import re
import stat
import subprocess

from buildutil import docker
from test_build_run import base, build, export, make_ctx, runs  # noqa: F401 (fixture)

# The engine outlives the test: a cache mount id of this run only.
CACHE_ID = "berth-run-test-%d" % os.getpid()

DF = """\
FROM {base} AS gen
RUN mkdir /out && echo generated > /out/g.txt
FROM {base}
{extra}RUN --mount=type=secret,id=tok,mode=0440,uid=1000,gid=2 \\
    sha256sum /run/secrets/tok | cut -d' ' -f1 > /tok.sha && \\
    stat -c '%a %u %g' /run/secrets/tok > /tok.mode
RUN --mount=type=secret,id=tok,target=/etc/custom,required=true wc -c < /etc/custom > /custom.len
RUN --mount=type=secret,id=missing test ! -e /run/secrets/missing && echo absent > /missing
RUN --mount=type=cache,target=/cache,id={cache_id} echo run >> /cache/count && wc -l < /cache/count > /seen
RUN --mount=type=cache,target=/c2,mode=0700,uid=1000,gid=1000 stat -c '%a %u %g' /c2 > /c2.mode
RUN --mount=type=tmpfs,target=/t echo x > /t/f && grep -c ' /t tmpfs' /proc/mounts > /t.count
RUN --mount=target=/ctx cat /ctx/data.txt > /bound
RUN --mount=type=bind,from=gen,source=/out,target=/g,rw echo w > /g/w && cat /g/g.txt > /from-gen
"""

PROBE = """\
FROM {base}
RUN --mount=type=cache,target=/c,id={cache_id} echo "probe {n} count=$(wc -l < /c/count)"
"""
PROBES = [0]


def probe_file(ctx, base_ref):
    """A probe step never run before (so not cached; --no-cache would hide
    BuildKit's cache mounts: 20.10 gives such a RUN an empty one)."""
    PROBES[0] += 1
    # Outside the context: the bind of the whole context would see it.
    (ctx.parent / "Probe").write_text(PROBE.format(base=base_ref, n=PROBES[0], cache_id=CACHE_ID))




def tree(root):
    """path -> (type, mode, uid, gid, content) of a directory tree."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISREG(st.st_mode):
                content = open(p, "rb").read()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(p).encode()
            else:
                content = None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                        st.st_gid, content)
    return out


def berth_tree(lay, tmp_path):
    un = tmp_path / ("un-%s" % os.path.basename(str(lay)))
    subprocess.run(["umoci", "unpack", "--image", "%s:latest" % lay, str(un)], check=True,
                   capture_output=True)
    return tree(str(un / "rootfs"))


def buildkit_count(ctx, base_ref, tmp_path):
    probe_file(ctx, base_ref)
    r = docker("build", "--network=none", "--progress=plain", "-f",
               str(ctx.parent / "Probe"), str(ctx))
    m = re.search(r"count=(\d+)", r.stderr)
    assert m, r.stderr[-3000:]
    return int(m.group(1))


def berth_count(tmp_path, ctx, base_ref):
    probe_file(ctx, base_ref)
    p = build(tmp_path, ctx, "-f", str(ctx.parent / "Probe"))
    return int(re.search(r"count=(\d+)", p.stderr.decode()).group(1))


def test_run_mounts_like_buildkit(tmp_path, base):  # noqa: F811 (fixture)
    docker("pull", base)
    secret = tmp_path / "tok"
    secret.write_text("s3cr3t-value-for-both\n")
    ctx = make_ctx(tmp_path, DF.format(base=base, extra="", cache_id=CACHE_ID), {"data.txt": "from the context\n"})
    sec = ["--secret", "id=tok,src=%s" % secret]

    bk = tmp_path / "bk"
    docker("build", "--network=none", "-q", *sec, "-o", "type=local,dest=%s" % bk, str(ctx))
    _, _, _, lay = export(tmp_path, ctx, *sec)
    want, got = tree(str(bk)), berth_tree(lay, tmp_path)
    # Differences by design (capped): 20.10's BuildKit (v0.8) leaves the empty
    # directories it made as mount points in the layer; berth removes its mount
    # stubs as later BuildKit does (executor's removeMountStubs). The /etc both
    # made for the /etc/hosts and /etc/resolv.conf every RUN gets is kept by both
    # (test_build_run_stubs.py). Nothing else may differ.
    by_design = {"c2", "cache", "ctx", "g", "run", "run/secrets", "t"}
    for k in by_design:
        assert want.get(k, (stat.S_IFDIR,))[0] == stat.S_IFDIR and k not in got, k
        assert not [p for p in want if p.startswith(k + "/") and p not in by_design], k
    diff = sorted(k for k in set(want) | set(got)
                  if want.get(k) != got.get(k) and k not in by_design)
    if diff:
        print("\n".join("%s: buildkit %r berth %r" % (k, want.get(k), got.get(k))
                        for k in diff[:40]))
    assert not diff, diff
    assert got["seen"][4] == b"1\n" and got["tok.mode"][4] == b"440 1000 2\n"
    assert got["missing"][4] == b"absent\n" and got["from-gen"][4] == b"generated\n"

    # The cache mount over a rebuild with no change, then after a change above it.
    counts = {"buildkit": [buildkit_count(ctx, base, tmp_path)],
              "berth": [berth_count(tmp_path, ctx, base)]}
    docker("build", "--network=none", "-q", *sec, str(ctx))
    assert runs(build(tmp_path, ctx, *sec)) == 0
    counts["buildkit"].append(buildkit_count(ctx, base, tmp_path))
    counts["berth"].append(berth_count(tmp_path, ctx, base))
    text = (ctx / "Dockerfile").read_text().replace("FROM %s\nRUN --mount=type=secret" % base,
                                                    "FROM %s\nENV X=1\nRUN --mount=type=secret"
                                                    % base)
    (ctx / "Dockerfile").write_text(text)
    docker("build", "--network=none", "-q", *sec, str(ctx))
    build(tmp_path, ctx, *sec)
    counts["buildkit"].append(buildkit_count(ctx, base, tmp_path))
    counts["berth"].append(berth_count(tmp_path, ctx, base))
    # --no-cache: BuildKit starts the cache mount afresh; so must berth.
    docker("build", "--network=none", "-q", "--no-cache", *sec, str(ctx))
    build(tmp_path, ctx, "--no-cache", *sec)
    counts["buildkit"].append(buildkit_count(ctx, base, tmp_path))
    counts["berth"].append(berth_count(tmp_path, ctx, base))
    assert counts["berth"] == counts["buildkit"] == [1, 1, 2, 1], counts
