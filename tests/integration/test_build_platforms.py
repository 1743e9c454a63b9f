"""berth build --platform with several platforms: one OCI image index, a
non-native RUN under qemu-user-static (binfmt_misc), a $BUILDPLATFORM stage
run once and shared, per-platform TARGET* args, and the clear failures (an
unknown platform, no emulator registered).

The base image is a real two-platform busybox index (amd64 and arm64 static
busybox from Debian, fixture "multiarch-run", cached per build dir) pushed
to one `berth serve` for the module. The module sets up binfmt_misc itself
(tests/peers/binfmt-setup.sh: qemu-aarch64 with the F flag). Needs root
(berth build does), qemu-user-static, skopeo."""
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("BERTH_SOURCE_DIR", os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, HERE)
import clienttools as ct  # noqa: E402
import images  # noqa: E402
from buildutil import run_build  # noqa: E402
from conftest import BerthServer  # noqa: E402


@pytest.fixture(scope="module")
def registry():
    """A registry holding the two-platform busybox index as <host>/library/busybox:multi."""
    setup = os.path.join(SOURCE, "tests", "peers", "binfmt-setup.sh")
    p = subprocess.run(["sh", setup], capture_output=True)
    assert p.returncode == 0, ("binfmt-setup.sh failed (needs root and qemu-user-static: "
                               "apt-get install qemu-user-static): %s" % p.stderr.decode())
    d = tempfile.TemporaryDirectory(prefix="berth-plat-")
    s = BerthServer(d.name).start()
    src = images.ensure("multiarch-run")
    ct.skopeo("copy", "--all", "--dest-tls-verify=false", "oci:%s:multi" % src,
              "docker://%s/library/busybox:multi" % s.host)
    yield s
    s.stop()
    d.cleanup()


def runs_executed(p):
    last = p.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("#  ") and "RUN command" in last, last
    return int(last.split()[1])


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", *digest.split(":")), "rb") as f:
        return f.read()


def image_files(layout, manifest_digest):
    """{path: bytes} of the regular files of an image in an OCI layout (layers applied)."""
    files = {}
    man = json.loads(blob(layout, manifest_digest))
    for layer in man["layers"]:
        data = blob(layout, layer["digest"])
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as t:
            for m in t.getmembers():
                if m.isfile():
                    files[m.name.lstrip("./")] = t.extractfile(m).read()
    return files


DOCKERFILE = """\
FROM --platform=$BUILDPLATFORM {base} AS tool
RUN echo "tool built on $(uname -m)" > /tool

FROM --platform=$BUILDPLATFORM {base} AS cross
ARG TARGETARCH
RUN echo "cross for $TARGETARCH on $(uname -m)" > /cross

FROM {base}
ARG TARGETPLATFORM
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG BUILDPLATFORM
COPY --from=tool /tool /tool
COPY --from=cross /cross /cross
RUN uname -m > /arch && echo "$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM" > /target
"""


def context(tmp_path, registry, text=DOCKERFILE):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text.format(base=registry.host + "/library/busybox:multi"))
    return ctx


def test_two_platforms_make_one_index_pushed_and_written(tmp_path, registry):
    ctx = context(tmp_path, registry)
    lay = tmp_path / "lay"
    ref = "%s/test/plat:1" % registry.host
    p = run_build(tmp_path / "store", "--platform", "linux/amd64,linux/arm64", "--push",
                  "-t", ref, "-o", "type=oci,dest=%s,tar=false" % lay,
                  "--metadata-file", tmp_path / "meta.json", ctx)
    # tool: once for both (its key does not depend on the target); cross: once per
    # target (it reads TARGETARCH), natively; the final RUN once per platform.
    assert runs_executed(p) == 5, p.stderr.decode()
    digest = p.stdout.decode().strip()
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["containerimage.digest"] == digest, meta
    assert (meta["containerimage.descriptor"]["mediaType"] ==
            "application/vnd.oci.image.index.v1+json"), meta

    # Pushed: one OCI index with a descriptor per platform, pulled back by skopeo.
    raw = json.loads(ct.skopeo("inspect", "--raw", "--tls-verify=false",
                                "docker://" + ref).stdout)
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json", raw
    plats = {(m["platform"]["os"], m["platform"]["architecture"]): m for m in raw["manifests"]}
    assert set(plats) == {("linux", "amd64"), ("linux", "arm64")}, raw
    inspect = json.loads(ct.skopeo("inspect", "--tls-verify=false", "--override-arch", "arm64",
                                   "docker://" + ref).stdout)
    assert inspect["Architecture"] == "arm64", inspect

    # Written: the layout's tag is the same index, each image's files as built.
    top = json.loads((lay / "index.json").read_text())["manifests"][0]
    assert top["mediaType"] == "application/vnd.oci.image.index.v1+json", top
    assert top["digest"] == digest, (top, digest)
    idx = json.loads(blob(lay, top["digest"]))
    want = {"amd64": "x86_64", "arm64": "aarch64"}
    for m in idx["manifests"]:
        arch = m["platform"]["architecture"]
        assert m["digest"] == plats[("linux", arch)]["digest"], (m, raw)
        files = image_files(lay, m["digest"])
        cfg = json.loads(blob(lay, json.loads(blob(lay, m["digest"]))["config"]["digest"]))
        assert cfg["architecture"] == arch, cfg
        # the RUN ran on the target's architecture (qemu for arm64)
        assert files["arch"].decode().strip() == want[arch], files["arch"]
        assert (files["target"].decode().strip() ==
                "linux/%s|linux|%s||linux/amd64" % (arch, arch)), files["target"]
        # the $BUILDPLATFORM stages ran natively; cross saw each target
        assert files["tool"].decode().strip() == "tool built on x86_64", files["tool"]
        assert (files["cross"].decode().strip() ==
                "cross for %s on x86_64" % arch), files["cross"]

    # --no-cache: the shared stage still runs once for both platforms.
    p = run_build(tmp_path / "store", "--platform", "linux/amd64,linux/arm64", "--no-cache",
                  ctx)
    assert runs_executed(p) == 5, p.stderr.decode()
    # and a rebuild with nothing changed runs nothing
    p = run_build(tmp_path / "store", "--platform", "linux/arm64,linux/amd64", ctx)
    assert runs_executed(p) == 0, p.stderr.decode()


def not_pushed(ref):
    p = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref],
                       capture_output=True)
    return p.returncode != 0


def test_unknown_platform_is_one_clear_error(tmp_path, registry):
    ctx = context(tmp_path, registry)
    ref = "%s/test/bad:1" % registry.host
    p = run_build(tmp_path / "store", "--platform", "linux/amd64,linux/xyz", "--push", "-t", ref,
                  ctx, check=False)
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode == 1, err
    assert err[-1].startswith("berth build: --platform linux/xyz: unknown architecture"), err
    assert sum(l.startswith("berth build:") for l in err) == 1, err
    assert runs_executed_or_none(err) == 0
    assert not_pushed(ref)


def runs_executed_or_none(lines):
    for l in lines:
        if "RUN command" in l and l.startswith("#  "):
            return int(l.split()[1])
    return 0


def fake_binfmt(tmp_path, entry=None):
    d = tmp_path / "binfmt"
    d.mkdir()
    (d / "status").write_text("enabled\n")
    if entry is not None:
        (d / "qemu-aarch64").write_text(entry)
    return d


@pytest.mark.parametrize("case", ["unregistered", "no-F-flag"])
def test_no_usable_emulator_is_one_clear_error(tmp_path, registry, case):
    ctx = context(tmp_path, registry)
    ref = "%s/test/noemu-%s:1" % (registry.host, case)
    if case == "unregistered":
        d = fake_binfmt(tmp_path)
        want = "needs an emulator, and none is registered"
    else:
        d = fake_binfmt(tmp_path, "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P"
                        "\nflags: OP\noffset 0\n")
        want = "without the F (fix-binary) flag"
    p = run_build(tmp_path / "store", "--platform", "linux/amd64,linux/arm64", "--push", "-t",
                  ref, ctx, check=False, env={"BERTH_BINFMT_DIR": str(d)})
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode == 1, err
    last = err[-1]
    assert last.startswith("berth build: "), err
    assert "/Dockerfile:16: RUN: a RUN for linux/arm64" in last, last
    assert want in last, last
    if case == "unregistered":
        assert "apt-get install qemu-user-static binfmt-support" in last, last
    assert sum(l.startswith("berth build:") for l in err) == 1, err
    assert not_pushed(ref)


TINY = """\
FROM {base}
RUN uname -m > /arch
"""

ANNOTATIONS = ["index:org.example.idx=I", "manifest:org.example.man=M",
               "manifest[linux/arm64]:org.example.arm=A",
               "manifest-descriptor:org.example.md=D"]


def test_multi_platform_outputs_split_by_platform_and_take_annotations(tmp_path, registry):
    """-o type=local / type=tar of a multi-platform build: one directory per
    platform named as buildx names them (platform-split, its default for
    several platforms: "linux_amd64", "linux_arm64"; docker buildx is not
    installed here and 20.10's builder has no multi-platform build, so the
    layout is checked against buildx's documentation). --annotation with
    buildx's types on the OCI layout written and on the index pushed."""
    ctx = context(tmp_path, registry, TINY)
    store, loc, tar, lay = (tmp_path / n for n in ("store", "loc", "out.tar", "lay"))
    ann = [a for x in ANNOTATIONS + ["index-descriptor:org.example.id=X"]
           for a in ("--annotation", x)]
    run_build(store, "--platform", "linux/amd64,linux/arm64", "-o",
              "type=local,dest=%s" % loc, "-o", "type=tar,dest=%s" % tar, "-o",
              "type=oci,dest=%s,tar=false" % lay, *ann, ctx)
    want = {"linux_amd64": b"x86_64\n", "linux_arm64": b"aarch64\n"}
    assert sorted(os.listdir(loc)) == sorted(want), os.listdir(loc)
    for d, arch in want.items():
        assert (loc / d / "arch").read_bytes() == arch
        assert (loc / d / "bin" / "busybox").is_file()
    with tarfile.open(tar) as t:
        names = t.getnames()
        for d, arch in want.items():
            assert t.getmember(d).isdir(), d
            assert t.extractfile(d + "/arch").read() == arch
    assert {n.split("/")[0] for n in names} == set(want), sorted(names)[:10]

    top = json.loads((lay / "index.json").read_text())["manifests"][0]
    assert top["annotations"]["org.example.id"] == "X", top
    idx = json.loads(blob(lay, top["digest"]))
    assert idx["annotations"] == {"org.example.idx": "I"}, idx
    for m in idx["manifests"]:
        assert m["annotations"]["org.example.md"] == "D", m
        man = json.loads(blob(lay, m["digest"]))
        arm = m["platform"]["architecture"] == "arm64"
        assert man["annotations"]["org.example.man"] == "M", man
        assert ("org.example.arm" in man["annotations"]) == arm, man

    # Pushed (a rebuild from the cache): the same index annotations at the registry.
    ref = "%s/test/annotated:1" % registry.host
    p = run_build(store, "--platform", "linux/amd64,linux/arm64", "--push", "-t", ref,
                  *[a for x in ANNOTATIONS for a in ("--annotation", x)], ctx)
    assert runs_executed(p) == 0, p.stderr.decode()
    raw = json.loads(ct.skopeo("inspect", "--raw", "--tls-verify=false",
                               "docker://" + ref).stdout)
    assert raw["annotations"] == idx["annotations"], raw
    assert [m["digest"] for m in raw["manifests"]] == [m["digest"] for m in idx["manifests"]]
    # index-descriptor annotations only have a place in an OCI layout: one clear error.
    p = run_build(store, "--platform", "linux/amd64,linux/arm64", "--push", "-t",
                  "%s/test/annotated:2" % registry.host, "--annotation",
                  "index-descriptor:org.example.id=X", ctx, check=False)
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode == 1 and "use type=oci,tar=false" in err[-1], err
    assert not_pushed("%s/test/annotated:2" % registry.host)


RENDEZVOUS = """\
FROM {base}
RUN --mount=type=cache,id=rendezvous,target=/r,sharing=shared \\
    touch /r/$(uname -m) && i=0 && \\
    while [ ! -e /r/x86_64 ] || [ ! -e /r/aarch64 ]; do \\
      i=$((i+1)); [ $i -lt 900 ] || exit 7; sleep 0.1; done && \\
    echo met on $(uname -m) && uname -m > /arch
"""


def test_platforms_build_at_once(tmp_path, registry):
    """The two platforms' passes run at the same time: each one's RUN waits
    (on a shared cache mount) for the other's to have started, so a build
    that ran them one after the other would fail (exit 7). The log's lines
    say their platform, as buildx's do."""
    ctx = context(tmp_path, registry, RENDEZVOUS)
    p = run_build(tmp_path / "store", "--platform", "linux/amd64,linux/arm64", "--jobs", "2",
                  ctx)
    log = p.stderr.decode()
    assert runs_executed(p) == 2, log
    for plat, arch in (("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")):
        assert "[%s stage 0] RUN touch" % plat in log, log
        assert "[%s stage 0] met on %s" % (plat, arch) in log, log


def test_parallel_platforms_give_the_sequential_digest(tmp_path, registry):
    """--jobs 1 builds the platforms one after the other, the default at
    once: with SOURCE_DATE_EPOCH the index digest is the same."""
    ctx = context(tmp_path, registry, TINY)
    env = {"SOURCE_DATE_EPOCH": "1700000000"}
    one = run_build(tmp_path / "s1", "--platform", "linux/amd64,linux/arm64", "--jobs", "1",
                    ctx, env=env)
    par = run_build(tmp_path / "s2", "--platform", "linux/amd64,linux/arm64", "--jobs", "2",
                    ctx, env=env)
    assert runs_executed(one) == runs_executed(par) == 2
    assert one.stdout.decode().strip() == par.stdout.decode().strip(), (one.stdout, par.stdout)
    assert one.stdout.decode().startswith("sha256:"), one.stdout
