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
