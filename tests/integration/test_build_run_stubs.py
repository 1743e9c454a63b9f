# needs-peer: dockerd
"""What the sandbox's own mount points leave in RUN layers, side by side
with BuildKit (Docker Engine 20.10's built-in BuildKit 0.8, the ctest
fixture "dockerd").

A RUN gets /proc, /sys, /dev (and /dev/*) and read-only binds of
/etc/hosts and /etc/resolv.conf; in a root that lacks them (FROM scratch
with a static busybox copied in, so no /etc at all; or a Debian root, which
has /etc/resolv.conf and /etc/hostname but no /etc/hosts) the builder makes
the mount points, and what stays of them in the layer is BuildKit's
choice: /proc, /sys, /dev stay as empty directories, the /etc/hosts and
/etc/resolv.conf stubs go, the /etc made for them stays, and /etc, touched
by every RUN, is in every RUN layer. Each layer's entries (path, type,
mode, content) of BuildKit's image (`docker save`) and berth's (an OCI layout) must
be the same set, but for the differences listed (and explained) in
BY_DESIGN. The RUN also copies the /etc/resolv.conf it saw: both builders
give it the host's.

The Debian root is the peer rootfs of tests/peers/make-debian-rootfs.sh
(shared with the SBOM tests, built once per source tree): its top-level
directories (empty), its symlinks and its whole /etc, plus busybox.
Needs root, busybox-static, docker.io, mmdebstrap (first run only).
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile

import pytest

import sbomutil
from test_build_run_buildkit import docker

BERTH = os.environ.get("BERTH_BIN", "berth")
BUSYBOX = "/bin/busybox"

# {sh} is the busybox of the root; the last RUN has a --mount whose stub differs by design.
DF = """\
FROM scratch
COPY {src} /
RUN ["{sh}", "sh", "-c", "{sh} mkdir -p /out && {sh} echo hi > /out/f && {sh} cat /etc/resolv.conf > /out/resolv"]
RUN ["{sh}", "true"]
RUN --mount=type=tmpfs,target=/t ["{sh}", "true"]
"""

# (layer index, path) -> why the two differ. BuildKit 0.8 leaves the empty
# directory it made as a --mount's mount point; berth removes such stubs
# (and restores the parent's times) as BuildKit does since 0.10
# (executor.MountStubsCleaner). Nothing else may differ.
BY_DESIGN = {
    (3, "t"): "the tmpfs --mount's mount point: BuildKit 0.8 keeps it, berth removes it",
}


def layer_entries(tar_bytes):
    """{path: (type, mode, sha256 of a file's content)} of one layer tar (uncompressed)."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
        for m in t.getmembers():
            name = m.name
            while name.startswith("./"):
                name = name[2:]
            name = name.rstrip("/")
            if name in ("", "."):
                continue
            data = t.extractfile(m).read() if m.isfile() else b""
            out[name] = (m.type, stat.S_IMODE(m.mode), hashlib.sha256(data).hexdigest())
    return out


def buildkit_layers(tmp_path, ctx, tag):
    docker("build", "--network=none", "-q", "-t", tag, str(ctx))
    save = tmp_path / "save"
    save.mkdir()
    arch = tmp_path / "saved.tar"
    docker("save", "-o", str(arch), tag)
    with tarfile.open(arch) as t:
        t.extractall(save)
    docker("rmi", "-f", tag, check=False)
    man = json.loads((save / "manifest.json").read_text())[0]
    return [layer_entries((save / l).read_bytes()) for l in man["Layers"]]


def berth_layers(tmp_path, ctx):
    lay = tmp_path / "lay"
    p = subprocess.run([BERTH, "build", "-o", "type=oci,dest=%s,tar=false" % lay, str(ctx)],
                       env=dict(os.environ, BERTH_ROOT=str(tmp_path / "store")),
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    top = json.loads((lay / "index.json").read_text())["manifests"][0]["digest"]
    blob = lambda d: (lay / "blobs" / "sha256" / d.split(":")[1]).read_bytes()  # noqa: E731
    man = json.loads(blob(top))
    return [layer_entries(gzip.decompress(blob(l["digest"]))) for l in man["layers"]]


def scratch_ctx(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy2(BUSYBOX, ctx / "busybox")
    (ctx / "Dockerfile").write_text(DF.format(src="busybox", sh="/busybox"))
    return ctx


def debian_ctx(tmp_path):
    _, root = sbomutil.rootfs("debian")
    ctx = tmp_path / "ctx"
    dst = ctx / "rootfs"
    dst.mkdir(parents=True)
    for name in sorted(os.listdir(root)):
        src = os.path.join(root, name)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst / name)
        elif name == "etc":
            shutil.copytree(src, dst / name, symlinks=True)
        elif os.path.isdir(src):
            (dst / name).mkdir()
            os.chmod(dst / name, stat.S_IMODE(os.lstat(src).st_mode))
    (dst / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, dst / "usr" / "bin" / "busybox")
    assert not (dst / "etc" / "hosts").exists() and (dst / "etc" / "resolv.conf").exists()
    (ctx / "Dockerfile").write_text(DF.format(src="rootfs/", sh="/usr/bin/busybox"))
    return ctx


@pytest.mark.parametrize("case", ["scratch", "debian"])
def test_run_layers_hold_the_mount_points_buildkit_leaves(tmp_path, case):
    if not os.access(BUSYBOX, os.X_OK):
        pytest.fail("%s is missing: apt-get install busybox-static" % BUSYBOX)
    ctx = scratch_ctx(tmp_path) if case == "scratch" else debian_ctx(tmp_path)
    want = buildkit_layers(tmp_path, ctx, "berth-stubs-%s:%d" % (case, os.getpid()))
    got = berth_layers(tmp_path, ctx)
    assert len(got) == len(want) == 4, (len(got), len(want))
    diff = []
    for i, (w, g) in enumerate(zip(want, got)):
        for path in sorted(set(w) | set(g)):
            if w.get(path) != g.get(path) and (i, path) not in BY_DESIGN:
                diff.append("layer %d %s: buildkit %r berth %r" % (i, path, w.get(path),
                                                                   g.get(path)))
    assert not diff, "\n".join(diff)
    for (i, path) in BY_DESIGN:
        assert path in want[i] and path not in got[i], (i, path)
    # The RUN saw the host's resolver in both (the file's content is compared above).
    first_run = got[1]
    assert "out/resolv" in first_run and "etc/hosts" not in first_run
    if case == "scratch":
        # what the sandbox made: /proc, /sys, /dev and the /etc that held the stubs
        assert {"dev", "etc", "proc", "sys"} <= set(first_run), sorted(first_run)
        assert set(got[2]) == {"etc"}, got[2]
