"""Helpers for the copy tests (test_copy_*.py) and bench/copy.

- run berth / skopeo and check a failure's shape (exit code, one-line error)
- read an image from any transport (oci:, oci-archive:, docker-archive:,
  docker://) into one normalised summary, so that what berth wrote can be
  compared with what skopeo wrote for the same copy
- check that a failed copy left nothing at its destination
- build fixture layouts: random-layer images, a two-platform index
- start peers: Distribution 2.8 (optionally htpasswd), berth serve
"""
import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "peers"))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import images  # noqa: E402

SOURCE_DIR = os.environ.get("BERTH_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
BERTH_BIN = os.environ.get("BERTH_BIN", os.path.join(SOURCE_DIR, "build", "dev", "berth"))

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_V2S2 = "application/vnd.docker.distribution.manifest.v2+json"
MT_V2LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (MT_OCI_INDEX, MT_V2LIST)
ACCEPT = ", ".join([MT_OCI_INDEX, MT_OCI_MANIFEST, MT_V2LIST, MT_V2S2])
REF_NAME = "org.opencontainers.image.ref.name"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return "sha256:" + h.hexdigest()


# ---------------------------------------------------------------- commands

def _run(args, env=None, timeout=600, input=None):
    e = dict(os.environ)
    e.pop("TERM", None)  # never a TTY here; keep progress output plain
    if env:
        e.update(env)
    return subprocess.run(args, capture_output=True, timeout=timeout, env=e, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


def _fail(p, args):
    pytest.fail("command failed (%d): %s\nstdout:\n%s\nstderr:\n%s" % (
        p.returncode, " ".join(args), p.stdout.decode("utf-8", "replace")[-4000:],
        p.stderr.decode("utf-8", "replace")[-4000:]))


def berth(*args, env=None, timeout=600, check=True, input=None):
    """Run the berth CLI; with check, fail the test (with its output) on a non-zero exit."""
    a = [BERTH_BIN] + [str(x) for x in args]
    p = _run(a, env, timeout, input)
    if check and p.returncode != 0:
        _fail(p, a)
    return p


def skopeo(*args, env=None, timeout=600, check=True):
    a = ["skopeo", "--insecure-policy"] + [str(x) for x in args]
    p = _run(a, env, timeout)
    if check and p.returncode != 0:
        _fail(p, a)
    return p


# The Debian package that provides each peer tool (scripts/deps.sh installs them all).
PACKAGES = {"docker-registry": "docker-registry", "skopeo": "skopeo", "podman": "podman",
            "buildah": "buildah", "umoci": "umoci", "zstd": "zstd", "valgrind": "valgrind",
            "runc": "runc", "curl": "curl", "busybox": "busybox-static"}


def need(tool):
    """The path of peer tool `tool`; if it is missing the test FAILS, saying how
    to install it (a test that cannot run is a failure, never a skip)."""
    path = shutil.which(tool)
    if not path:
        pytest.fail("%s is not installed: install it with 'apt-get install %s' "
                    "(or run scripts/deps.sh, which installs every peer)"
                    % (tool, PACKAGES.get(tool, tool)), pytrace=False)
    return path


def assert_fails(p, *words, code=1):
    """A failure of the expected shape: exit `code`, a one-line message on
    stderr ("berth <cmd>: ...") naming what was wrong (every word in `words`,
    case-insensitively, each may be a tuple of alternatives)."""
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == code, "exit %d (want %d)\nstderr:\n%s" % (p.returncode, code, err)
    lines = [l for l in err.splitlines() if l.strip()]
    assert lines, "no error message on stderr"
    msg = lines[-1]
    assert msg.startswith("berth"), "last stderr line is not berth's error: %r" % msg
    errs = [l for l in lines if l.startswith("berth") and ":" in l]
    assert len(errs) == 1, "want one error line, got:\n%s" % err
    low = msg.lower()
    for w in words:
        alts = w if isinstance(w, tuple) else (w,)
        assert any(a.lower() in low for a in alts), "error %r does not mention %r" % (msg, alts)
    return msg


# ---------------------------------------------------------------- reading images

class Image:
    """One image (or index) as read from a transport, normalised.

    manifest      exact manifest bytes (None for docker-archive, which has none)
    digest        sha256 of those bytes
    media_type    manifest media type ("docker-archive" for docker-archive)
    config        config blob bytes; config_digest
    layers        [(media_type, digest, size)]
    diff_ids      from the config
    layer_blobs   {digest: bytes-getter} to read a layer
    children      for an index: [(platform dict, Image)]
    """

    def __init__(self):
        self.manifest = None
        self.digest = None
        self.media_type = None
        self.config = None
        self.config_digest = None
        self.layers = []
        self.diff_ids = []
        self.children = []
        self._blob = None

    def blob(self, digest):
        return self._blob(digest)

    def uncompressed_digests(self):
        """sha256 of each layer after decompression (= the diff_ids when right)."""
        return [sha256(decompress(self.blob(d))) for _, d, _ in self.layers]

    def config_json(self):
        return json.loads(self.config)


def decompress(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        p = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True)
        return p.stdout
    return data


def _fill_manifest(img, body, media_type, getblob):
    img.manifest = body
    img.digest = sha256(body)
    doc = json.loads(body)
    img.media_type = media_type or doc.get("mediaType")
    img._blob = getblob
    if "manifests" in doc:
        img.media_type = img.media_type or MT_OCI_INDEX
        return doc
    img.config_digest = doc["config"]["digest"]
    img.config = getblob(img.config_digest)
    img.layers = [(l["mediaType"], l["digest"], l["size"]) for l in doc["layers"]]
    img.diff_ids = json.loads(img.config).get("rootfs", {}).get("diff_ids", [])
    return doc


def read_layout(path, tag=None):
    with open(os.path.join(path, "index.json")) as f:
        idx = json.load(f)
    descs = idx["manifests"]
    if tag is not None:
        descs = [d for d in descs if d.get("annotations", {}).get(REF_NAME) == tag]
    assert len(descs) == 1, "layout %s: %d entries for tag %r: %s" % (path, len(descs), tag, idx)
    return _read_layout_desc(path, descs[0])


def _read_layout_desc(path, desc):
    def getblob(d):
        with open(images.blob_path(path, d), "rb") as f:
            data = f.read()
        assert sha256(data) == d, "layout blob %s has wrong content" % d
        return data

    img = Image()
    doc = _fill_manifest(img, getblob(desc["digest"]), desc.get("mediaType"), getblob)
    for m in doc.get("manifests", []):
        img.children.append((m.get("platform"), _read_layout_desc(path, m)))
    return img


def read_oci_archive(path, tag=None, workdir=None):
    work = tempfile.mkdtemp(prefix="p2-ociarch-", dir=workdir)
    with tarfile.open(path) as t:
        t.extractall(work, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(work)
    return read_layout(work, tag)


def read_docker_archive(path):
    """A `docker save` tar: config and layers as in its manifest.json."""
    t = tarfile.open(path)
    names = {m.name: m for m in t.getmembers()}

    def member_bytes(name):
        m = names[name]
        while m.issym() or m.islnk():
            target = m.linkname if m.islnk() else os.path.normpath(
                os.path.join(os.path.dirname(m.name), m.linkname))
            m = names[target]
        return t.extractfile(m).read()

    mj = json.loads(member_bytes("manifest.json"))
    assert len(mj) == 1, "docker-archive with %d images" % len(mj)
    ent = mj[0]
    img = Image()
    img.media_type = "docker-archive"
    img.repo_tags = ent.get("RepoTags") or []
    img.config = member_bytes(ent["Config"])
    img.config_digest = sha256(img.config)
    blobs = {}
    for name in ent["Layers"]:
        data = member_bytes(name)
        d = sha256(data)
        blobs[d] = data
        img.layers.append(("docker-archive-layer", d, len(data)))
    blobs[img.config_digest] = img.config
    img.diff_ids = json.loads(img.config).get("rootfs", {}).get("diff_ids", [])
    img._blob = blobs.__getitem__
    return img


def registry_get(base, path, auth=None, accept=ACCEPT, method="GET"):
    return requests.request(method, base + path, headers={"Accept": accept}, auth=auth, timeout=60)


def read_registry(base, repo, ref, auth=None):
    r = registry_get(base, "/v2/%s/manifests/%s" % (repo, ref), auth)
    assert r.status_code == 200, "GET manifest %s:%s -> %d %s" % (repo, ref, r.status_code, r.text[:300])

    def getblob(d):
        b = registry_get(base, "/v2/%s/blobs/%s" % (repo, d), auth, accept="*/*")
        assert b.status_code == 200, "GET blob %s -> %d" % (d, b.status_code)
        assert sha256(b.content) == d
        return b.content

    return _read_registry_body(base, repo, r.content, r.headers.get("Content-Type"), auth, getblob)


def _read_registry_body(base, repo, body, ctype, auth, getblob):
    img = Image()
    doc = _fill_manifest(img, body, ctype, getblob)
    for m in doc.get("manifests", []):
        r = registry_get(base, "/v2/%s/manifests/%s" % (repo, m["digest"]), auth)
        assert r.status_code == 200, "child %s missing" % m["digest"]
        img.children.append((m.get("platform"),
                             _read_registry_body(base, repo, r.content, r.headers.get("Content-Type"),
                                                 auth, getblob)))
    return img


def read_image(name, auth=None):
    """Read `name` (a skopeo-style image name; docker:// over plain http)."""
    kind, _, rest = name.partition(":")
    if kind == "oci":
        path, _, tag = rest.partition(":")
        return read_layout(path, tag or None)
    if kind == "oci-archive":
        path, _, tag = rest.partition(":")
        return read_oci_archive(path, tag or None)
    if kind == "docker-archive":
        return read_docker_archive(rest.split(":", 1)[0])
    if kind == "docker":
        hostrepo = rest[2:]
        host, _, repo = hostrepo.partition("/")
        if "@" in repo:
            repo, ref = repo.split("@", 1)
        else:
            repo, _, ref = repo.rpartition(":") if ":" in repo else (repo, "", "latest")
        return read_registry("http://" + host, repo, ref, auth)
    raise ValueError("unknown transport in %r" % name)


def platform_key(p):
    p = p or {}
    return "/".join(x for x in (p.get("os"), p.get("architecture"), p.get("variant")) if x)


def assert_same_image(got, want, exact):
    """`got` (berth's copy) has the content of `want` (skopeo's copy of the same
    source). exact: identical manifest digest and blobs (no conversion
    happened); else the same config content, the same layers once
    decompressed, and the same manifest family."""
    if exact:
        assert got.digest == want.digest, "manifest digest %s, skopeo wrote %s" % (got.digest, want.digest)
        assert got.manifest == want.manifest
        assert got.config_digest == want.config_digest
        assert [l[1] for l in got.layers] == [l[1] for l in want.layers]
        for _, d, _ in got.layers:
            assert sha256(got.blob(d)) == d
    else:
        fam = lambda mt: "docker" if (mt or "").startswith("application/vnd.docker") else mt  # noqa: E731
        assert fam(got.media_type) == fam(want.media_type), (got.media_type, want.media_type)
        assert got.config_json() == want.config_json(), "config content differs"
        assert got.diff_ids == want.diff_ids
        assert len(got.layers) == len(want.layers)
        assert got.uncompressed_digests() == want.uncompressed_digests() == got.diff_ids
    for (pg, cg), (pw, cw) in zip(got.children, want.children):
        assert platform_key(pg) == platform_key(pw)
        assert_same_image(cg, cw, exact)
    assert len(got.children) == len(want.children)


# ---------------------------------------------------------------- destinations hold nothing

def assert_layout_empty(path):
    """A layout destination after a failed copy: absent, or no index entries
    and no blob files."""
    if not os.path.exists(path):
        return
    idx = os.path.join(path, "index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            assert json.load(f).get("manifests", []) == [], "layout %s has an index entry" % path
    blobs = []
    for root, _, files in os.walk(os.path.join(path, "blobs")):
        blobs += [os.path.join(root, f) for f in files]
    assert blobs == [], "layout %s kept blobs: %s" % (path, blobs[:5])


def assert_no_file(path):
    assert not os.path.exists(path), "%s was left behind" % path
    d = os.path.dirname(path) or "."
    left = [f for f in os.listdir(d) if f.startswith(os.path.basename(path))]
    assert not left, "temporary files left next to %s: %s" % (path, left)


def registry_tags(base, repo, auth=None):
    r = requests.get("%s/v2/%s/tags/list" % (base, repo), auth=auth, timeout=30)
    if r.status_code == 404:
        return []
    assert r.status_code == 200, r.text
    return r.json().get("tags") or []


def assert_registry_no_image(base, repo, tag, auth=None, digests=()):
    """No tag `tag` in `repo`, and no manifest/blob for `digests`."""
    assert tag not in registry_tags(base, repo, auth), "tag %s:%s exists" % (repo, tag)
    r = registry_get(base, "/v2/%s/manifests/%s" % (repo, tag), auth, method="HEAD")
    assert r.status_code == 404, "manifest %s:%s -> %d" % (repo, tag, r.status_code)
    for d in digests:
        r = registry_get(base, "/v2/%s/blobs/%s" % (repo, d), auth, accept="*/*", method="HEAD")
        assert r.status_code == 404, "blob %s present in %s" % (d, repo)


# ---------------------------------------------------------------- fixtures

def random_layer(size, seed, level=1):
    """(gzip blob, diff_id) of a tar holding `size` random bytes."""
    data = os.urandom(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo("layer%d/data.bin" % seed)
        info.size = size
        info.mtime = 0
        t.addfile(info, io.BytesIO(data))
    raw = raw.getvalue()
    co = zlib.compressobj(level, zlib.DEFLATED, 31)
    return co.compress(raw) + co.flush(), sha256(raw)


def build_image(layout, tag, layer_sizes, arch="amd64", os_="linux", write_index=True):
    """A single-platform OCI image with random gzip layers; returns its descriptor."""
    images.init_layout(layout)
    layers, diff_ids = [], []
    for i, n in enumerate(layer_sizes):
        blob, diff_id = random_layer(n, i)
        d, sz = images.write_blob(layout, blob)
        layers.append({"mediaType": MT_OCI_LAYER_GZ, "digest": d, "size": sz})
        diff_ids.append(diff_id)
    config = json.dumps({"architecture": arch, "os": os_, "config": {"Env": ["PATH=/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "history": [{"created_by": "copyutil layer %d" % i} for i in range(len(layer_sizes))]},
                        sort_keys=True).encode()
    cd, cn = images.write_blob(layout, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                           "config": {"mediaType": MT_OCI_CONFIG, "digest": cd, "size": cn},
                           "layers": layers}).encode()
    md, mn = images.write_blob(layout, manifest)
    desc = {"mediaType": MT_OCI_MANIFEST, "digest": md, "size": mn}
    if write_index:
        images.write_index_json(layout, [dict(desc, annotations={REF_NAME: tag})])
    return desc


def build_two_platform(layout, tag="multi"):
    """An OCI index of linux/amd64 and linux/arm64/v8 images with distinct random layers."""
    children = []
    for arch, variant, sizes in (("amd64", None, [200 << 10, 300 << 10]),
                                 ("arm64", "v8", [250 << 10, 100 << 10, 50 << 10])):
        d = build_image(layout, None, sizes, arch=arch, write_index=False)
        plat = {"architecture": arch, "os": "linux"}
        if variant:
            plat["variant"] = variant
        children.append(dict(d, platform=plat))
    index = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": children}).encode()
    d, n = images.write_blob(layout, index)
    images.write_index_json(layout, [{"mediaType": MT_OCI_INDEX, "digest": d, "size": n,
                                      "annotations": {REF_NAME: tag}}])
    return layout


def cached(name, builder):
    """Build a fixture once per build dir (images.py's cache and lock)."""
    images.BUILDERS.setdefault(name, builder)
    return images.ensure(name)


def small_image():
    """Tag "small": three random layers (64 KiB .. 1 MiB)."""
    return cached("p2-small", lambda out: build_image(out, "small", [64 << 10, 512 << 10, 1 << 20]))


def big_image():
    """Tag "big": one 40 MiB layer (above the 16 MiB chunked-push threshold) and a small one."""
    return cached("p2-big", lambda out: build_image(out, "big", [40 << 20, 256 << 10]))


def huge_image():
    """Tag "huge": one 96 MiB layer (for the memory-bound tests)."""
    return cached("p2-huge", lambda out: build_image(out, "huge", [96 << 20]))


def sanitized_binary():
    """True if BERTH_BIN is built with AddressSanitizer (RSS figures mean little)."""
    with open(BERTH_BIN, "rb") as f:
        return b"__asan_init" in f.read()


_RSS_HELPER = r"""
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
sys.stderr.write("\nP2RSS %d %d\n" % (os.waitstatus_to_exitcode(status), ru.ru_maxrss))
"""


def berth_rss(*args, env=None, timeout=600):
    """Run berth to completion; (CompletedProcess, peak RSS in MiB of that process).

    berth is started by a small helper process: a child's ru_maxrss counts
    the memory of the process it was forked from, and the test process is big."""
    a = [BERTH_BIN] + [str(x) for x in args]
    p = _run([sys.executable, "-c", _RSS_HELPER] + a, env, timeout)
    err = p.stderr.decode("utf-8", "replace")
    tail = err.rstrip().rsplit("\n", 1)[-1].split()
    assert tail[:1] == ["P2RSS"], err
    p.returncode, rss = int(tail[1]), int(tail[2])
    p.stderr = err.rstrip().rsplit("\n", 1)[0].encode()
    if p.returncode != 0:
        _fail(p, a)
    return p, rss / 1024.0


def many_image():
    """Tag "many": twelve small random layers (more blobs than parallel workers)."""
    return cached("p2-many", lambda out: build_image(out, "many", [(16 + i) << 10 for i in range(12)]))


def multi_image():
    """Tag "multi": two-platform OCI index (linux/amd64, linux/arm64/v8)."""
    return cached("p2-multi", lambda out: build_two_platform(out, "multi"))


def bench_image(out, layers=20, total_mib=200):
    """The bench/copy image: `layers` gzip layers of random data, ~total_mib MiB."""
    if os.path.exists(os.path.join(out, ".complete")):
        return out
    each = (total_mib << 20) // layers
    build_image(out, "bench", [each] * layers)
    open(os.path.join(out, ".complete"), "w").close()
    return out


def basic(user, pw):
    return base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()
