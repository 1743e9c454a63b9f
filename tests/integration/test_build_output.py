"""berth build's outputs (-o) as buildx has them: local and tar (the file
tree), oci (archive and layout directory), docker (docker-archive), the
short forms `-o DIR` and `-o -` (a tar on stdout), several at once;
compression=gzip|zstd|uncompressed with compression-level and
force-compression, checked with gzip -t / zstd -t and read back by skopeo
from a real `berth serve` after a push with --annotation; the layer digests
do not depend on the compressor's thread count; SOURCE_DATE_EPOCH makes
two builds in different directories and stores give one digest (and
another epoch another digest); bad outputs fail with one message, exit 1,
and leave nothing behind.

The base image is the busybox fixture as a named context (oci-layout://),
so only the push test needs a registry. Needs root, gzip, zstd, skopeo.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", "berth")

DOCKERFILE = """\
FROM base
COPY a.txt /app/a.txt
RUN echo built > /app/built && ln /app/built /app/hard && ln -s built /app/soft \\
    && head -c 600000 /bin/busybox > /app/big
CMD ["sh", "-c", "cat /app/built"]
"""


def base_ctx():
    return ["--build-context", "base=oci-layout://%s:busybox" % images.ensure("busybox")]


def make_ctx(d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "Dockerfile").write_text(DOCKERFILE)
    (d / "a.txt").write_text("a\n")
    return d


def build(store, ctx, *args, check=True, env=None):
    e = dict(os.environ, BERTH_ROOT=str(store))
    e.pop("SOURCE_DATE_EPOCH", None)
    e.update(env or {})
    p = subprocess.run([BERTH, "build"] + base_ctx() + list(args) + [str(ctx)], env=e,
                       capture_output=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("berth build failed (%d):\n%s" % (p.returncode, p.stderr.decode()))
    return p


def need(tool):
    if not shutil.which(tool):
        pytest.fail("%s is needed: apt-get install %s" % (tool, tool))


def tree_of_tar(data):
    """{path: (type, mode, size, content or link)} of a tar's entries."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t.getmembers():
            body = t.extractfile(m).read() if m.isreg() else m.linkname
            out[m.name.rstrip("/")] = (m.type, m.mode & 0o7777, body)
    return out


def layout_manifest(lay, tag=None):
    idx = json.load(open(os.path.join(lay, "index.json")))
    d = idx["manifests"][0]["digest"]
    return json.load(open(os.path.join(lay, "blobs", "sha256", d[7:])))


def test_every_exporter_in_one_build(tmp_path):
    ctx = make_ctx(tmp_path / "ctx")
    local, short = tmp_path / "local", tmp_path / "short"
    p = build(tmp_path / "store", ctx,
              "-o", "type=local,dest=%s" % local,
              "-o", str(short),
              "-o", "type=tar,dest=%s" % (tmp_path / "tree.tar"),
              "-o", "type=oci,dest=%s" % (tmp_path / "oci.tar"),
              "-o", "type=oci,dest=%s,tar=false,name=example.com/app:v1" % (tmp_path / "lay"),
              "-o", "type=docker,dest=%s,name=example.com/app:v1" % (tmp_path / "docker.tar"),
              "--iidfile", str(tmp_path / "iid"))
    digest = p.stdout.decode().strip()
    assert digest == open(tmp_path / "iid").read()

    # local (both forms): the final file tree, hard and symbolic links kept.
    for d in (local, short):
        assert (d / "app" / "built").read_text() == "built\n"
        assert (d / "app" / "a.txt").read_text() == "a\n"
        assert os.readlink(d / "app" / "soft") == "built"
        assert os.stat(d / "app" / "hard").st_ino == os.stat(d / "app" / "built").st_ino
        assert (d / "bin" / "busybox").stat().st_size > 500000
        assert not [n for n in os.listdir(tmp_path) if ".tmp-" in n]

    # tar: the same tree, in byte order of paths.
    tree = tree_of_tar((tmp_path / "tree.tar").read_bytes())
    assert tree["app/built"][2] == b"built\n"
    assert tree["app/hard"][0] == tarfile.LNKTYPE and tree["app/hard"][2] == "app/built"
    assert tree["app/soft"][0] == tarfile.SYMTYPE
    with tarfile.open(tmp_path / "tree.tar") as t:
        names = [m.name for m in t.getmembers()]
    assert names == sorted(names, key=lambda n: n.encode())

    # oci archive: the image built (same manifest digest as printed).
    with tarfile.open(tmp_path / "oci.tar") as t:
        idx = json.load(t.extractfile("index.json"))
    assert idx["manifests"][0]["digest"] == digest
    # oci layout directory, tagged with the name's tag.
    idx = json.load(open(tmp_path / "lay" / "index.json"))
    assert idx["manifests"][0]["digest"] == digest
    assert idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1"
    # docker archive: docker load's manifest.json with the name.
    with tarfile.open(tmp_path / "docker.tar") as t:
        man = json.load(t.extractfile("manifest.json"))
    assert man[0]["RepoTags"] == ["example.com/app:v1"]
    assert len(man[0]["Layers"]) == 3


def test_tar_on_stdout(tmp_path):
    ctx = make_ctx(tmp_path / "ctx")
    p = build(tmp_path / "store", ctx, "-o", "-")
    tree = tree_of_tar(p.stdout)
    assert tree["app/built"][2] == b"built\n"
    # The digest is not printed into the tar; stderr has the log.
    assert b"sha256:" not in p.stdout[-1024:]
    p = build(tmp_path / "store", ctx, "-o", "type=oci,dest=-")
    with tarfile.open(fileobj=io.BytesIO(p.stdout)) as t:
        assert "index.json" in t.getnames()


@pytest.mark.parametrize("comp,mt,tool", [
    ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd", "zstd"),
    ("gzip", "application/vnd.oci.image.layer.v1.tar+gzip", "gzip"),
    ("uncompressed", "application/vnd.oci.image.layer.v1.tar", None),
])
def test_compression_round_trip(tmp_path, comp, mt, tool):
    if tool:
        need(tool)
    ctx = make_ctx(tmp_path / "ctx")
    lay = tmp_path / "lay"
    build(tmp_path / "store", ctx, "-o", "type=oci,tar=false,dest=%s,compression=%s,"
          "compression-level=3,force-compression=true" % (lay, comp))
    man = layout_manifest(lay)
    cfg = json.load(open(lay / "blobs" / "sha256" / man["config"]["digest"][7:]))
    assert [l["mediaType"] for l in man["layers"]] == [mt] * 3
    for l, diff_id in zip(man["layers"], cfg["rootfs"]["diff_ids"]):
        path = lay / "blobs" / "sha256" / l["digest"][7:]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == l["digest"][7:]
        if tool:
            subprocess.run([tool, "-t", str(path)], check=True, capture_output=True)
            plain = subprocess.run([tool, "-dc", str(path)], check=True,
                                   capture_output=True).stdout
        else:
            plain = data
        # The diff IDs still describe the recompressed layers.
        assert "sha256:" + hashlib.sha256(plain).hexdigest() == diff_id
    if comp == "gzip":
        # One gzip member (the compressor's blocks are joined into one deflate stream).
        big = max(man["layers"], key=lambda l: l["size"])
        raw = (lay / "blobs" / "sha256" / big["digest"][7:]).read_bytes()
        d = gzip.zlib.decompressobj(31)
        d.decompress(raw)
        assert d.eof and d.unused_data == b""


def test_digest_same_for_any_thread_count_and_reproducible(tmp_path):
    """SOURCE_DATE_EPOCH: two contexts, two stores, 1 and 4 compressor threads, one digest."""
    digests = []
    for i, (threads, comp) in enumerate([(1, "gzip"), (4, "gzip"), (1, "zstd"), (3, "zstd")]):
        ctx = make_ctx(tmp_path / ("ctx%d" % i))
        os.utime(ctx / "a.txt", (1800000000 + i, 1800000000 + i))  # later than the epoch
        p = build(tmp_path / ("store%d" % i), ctx, "-o",
                  "type=oci,dest=%s,compression=%s" % (tmp_path / ("o%d.tar" % i), comp),
                  env={"SOURCE_DATE_EPOCH": "1700000000", "BERTH_COMPRESS_THREADS": str(threads)})
        with tarfile.open(tmp_path / ("o%d.tar" % i)) as t:
            digests.append(json.load(t.extractfile("index.json"))["manifests"][0]["digest"])
        if comp == "gzip":
            assert digests[-1] == p.stdout.decode().strip()
    assert digests[0] == digests[1], "gzip layers differ between 1 and 4 threads"
    assert digests[2] == digests[3], "zstd layers differ between 1 and 3 threads"
    assert digests[0] != digests[2]
    # The config's created time is the epoch, and so are the times of this build's
    # history entries (the base image's are its own, as BuildKit keeps them).
    with tarfile.open(tmp_path / "o0.tar") as t:
        idx = json.load(t.extractfile("index.json"))
        man = json.load(t.extractfile("blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
        cfg = json.load(t.extractfile("blobs/sha256/" + man["config"]["digest"][7:]))
    assert cfg["created"] == "2023-11-14T22:13:20Z"
    assert [h["created"] for h in cfg["history"][-3:]] == ["2023-11-14T22:13:20Z"] * 3
    # Another epoch, another digest; the build arg wins over the environment.
    ctx = make_ctx(tmp_path / "ctx9")
    p = build(tmp_path / "store9", ctx, "--build-arg", "SOURCE_DATE_EPOCH=1700000001",
              env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert p.stdout.decode().strip() != digests[0]


def test_push_with_annotations_read_back_by_skopeo(tmp_path, berth):
    need("skopeo")
    base = "%s/library/busybox:1" % berth.host
    ct.skopeo("copy", "--dest-tls-verify=false",
              "oci:%s:busybox" % images.ensure("busybox"), "docker://" + base)
    ctx = make_ctx(tmp_path / "ctx")
    ref = "%s/team/out:zstd" % berth.host
    ref2 = "%s/team/out:gzip" % berth.host
    p = build(tmp_path / "store", ctx, "-t", ref, "--push",
              "--annotation", "org.example.one=1",
              "--annotation", "manifest:org.example.two=2",
              "--annotation", "manifest[linux/s390x]:org.example.other=no",
              "-o", "type=registry,name=%s,compression=gzip,annotation.org.example.three=3" % ref2,
              "-o", "type=image,push=false,compression=zstd")
    raw = json.loads(ct.skopeo("inspect", "--raw", "--tls-verify=false",
                               "docker://" + ref).stdout)
    an = raw["annotations"]
    assert an["org.example.one"] == "1" and an["org.example.two"] == "2"
    assert "org.example.other" not in an and "org.example.three" not in an
    raw2 = json.loads(ct.skopeo("inspect", "--raw", "--tls-verify=false",
                                "docker://" + ref2).stdout)
    assert raw2["annotations"]["org.example.three"] == "3"
    assert {l["mediaType"] for l in raw2["layers"]} == {
        "application/vnd.oci.image.layer.v1.tar+gzip"}
    # skopeo pulls both and decompresses every layer (recompressing to gzip).
    for r in (ref, ref2):
        out = tmp_path / ("pulled-" + r.rsplit(":", 1)[1])
        ct.skopeo("copy", "--src-tls-verify=false", "--dest-compress-format", "gzip",
                  "--dest-compress", "docker://" + r, "oci:%s:x" % out)
        man = layout_manifest(out)
        assert len(man["layers"]) == 3
    assert p.returncode == 0


@pytest.mark.parametrize("spec,msg", [
    ("type=nope,dest=x", "unknown output type 'nope'"),
    ("type=local", "type=local needs dest="),
    ("type=tar", "type=tar needs dest="),
    ("type=oci", "type=oci needs dest="),
    ("type=local,dest=-", "cannot be stdout"),
    ("type=oci,dest=x,compression=lzma", "unknown compression 'lzma'"),
    ("type=oci,dest=x,compression=gzip,compression-level=12", "gzip takes 0 to 9"),
    ("type=oci,dest=x,bogus=1", "unknown key 'bogus'"),
    ("dest=x", "no type="),
    ("type=registry", "--push needs a --tag"),
])
def test_bad_outputs_fail_before_building(tmp_path, spec, msg):
    ctx = make_ctx(tmp_path / "ctx")
    p = build(tmp_path / "store", ctx, "-o", spec, check=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert msg in err and err.startswith("berth build: "), err
    assert err.count("\n") == 1, err
    assert "RUN" not in err  # nothing was built


def test_unwritable_dest_leaves_nothing(tmp_path):
    ctx = make_ctx(tmp_path / "ctx")
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "file").write_text("x")
    for spec in ("type=tar,dest=/proc/berth-no/out.tar",
                 "type=local,dest=%s/file/sub" % ro,
                 "type=local,dest=%s" % (ro / "file"),
                 "type=oci,dest=/proc/berth-no/out.tar"):
        p = build(tmp_path / "store", ctx, "-o", spec, check=False)
        err = p.stderr.decode()
        assert p.returncode == 1, err
        assert err.strip().splitlines()[-1].startswith("berth build: export to "), err
    assert sorted(os.listdir(ro)) == ["file"]
    assert (ro / "file").read_text() == "x"


def test_progress_rawjson_lines_parse(tmp_path):
    """--progress rawjson: BuildKit's SolveStatus shape, one JSON object per line."""
    import base64
    ctx = make_ctx(tmp_path / "ctx")
    (ctx / "Dockerfile").write_text(DOCKERFILE.replace(
        "CMD", "RUN echo to-out && echo to-err >&2\nCMD"))
    p = build(tmp_path / "store", ctx, "--progress", "rawjson")
    lines = [json.loads(l) for l in p.stderr.decode().splitlines()
             if l.startswith("{")]
    assert lines and all(set(l) <= {"vertexes", "statuses", "logs", "warnings"} for l in lines)
    vs = [v for l in lines for v in l.get("vertexes", [])]
    names = {v["name"] for v in vs}
    assert "[stage 0] COPY a.txt /app/a.txt" in names
    assert any(n.startswith("[stage 0] RUN echo to-out") for n in names)
    for v in vs:
        assert v["digest"].startswith("sha256:") and v["started"].endswith("Z")
    done = {v["digest"] for v in vs if "completed" in v}
    assert done == {v["digest"] for v in vs}  # every vertex completes
    logs = [g for l in lines for g in l.get("logs", [])]
    data = {base64.b64decode(g["data"]) for g in logs}
    assert {b"to-out\n", b"to-err\n"} <= data
    run = next(v["digest"] for v in vs if v["name"].startswith("[stage 0] RUN echo to-out"))
    assert all(g["vertex"] == run for g in logs if base64.b64decode(g["data"]).startswith(b"to-"))
    # A cached rebuild: every step vertex says cached.
    p = build(tmp_path / "store", ctx, "--progress", "rawjson")
    vs = [v for l in p.stderr.decode().splitlines() if l.startswith("{")
          for v in json.loads(l).get("vertexes", [])]
    assert all(v.get("cached") for v in vs if v["name"].startswith("[stage"))


def test_progress_tty_live_on_a_terminal_plain_otherwise(tmp_path):
    import pty
    ctx = make_ctx(tmp_path / "ctx")
    # Not a terminal: the plain log.
    p = build(tmp_path / "store", ctx, "--progress", "tty", "--no-cache")
    assert b"#1 [stage 0] COPY a.txt /app/a.txt" in p.stderr and b"\x1b[K" not in p.stderr
    # On a terminal: a status line redrawn in place, finished steps above it.
    env = dict(os.environ, BERTH_ROOT=str(tmp_path / "store"))
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(BERTH, [BERTH, "build"] + base_ctx() +
                  ["--progress", "tty", "--no-cache", str(ctx)], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, out
    assert b"\r\x1b[K[+] Building" in out
    assert b"[stage 0] COPY a.txt /app/a.txt DONE" in out
    assert b"FINISHED" in out
