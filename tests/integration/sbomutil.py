"""Shared helpers of the catalog/SBOM integration tests.

- peers(): the CycloneDX validator and Trivy installed by scripts/sbom-peers.sh
  (a test fails, saying how to install them, when they are missing).
- rootfs(name): the Debian root filesystems of tests/peers/, built once and
  kept under <source>/build/peers/ for every later test (a file lock makes
  concurrent tests wait for one build).
- oci_layout(): an OCI image layout made from layer tars, written here.
- trivy_run(): Trivy's report of a tree, run once per input and kept under
  <source>/build/peers (dev and asan runs and reruns share it).
- rootfs_layout(name): that tar as a one-layer OCI layout, written once.
- canon_purl(): a PURL with its components decoded and qualifiers sorted, so
  two spellings of the same PURL compare equal.
"""
import fcntl
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from urllib.parse import unquote

import pytest

SOURCE_DIR = os.environ.get(
    "BERTH_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("BERTH_BUILD_DIR", os.path.join(SOURCE_DIR, "build", "dev"))
BERTH_BIN = os.environ.get("BERTH_BIN", os.path.join(BUILD_DIR, "berth"))
PEERS_DIR = os.environ.get("BERTH_PEERS_DIR", os.path.expanduser("~/.cache/berth-peers"))
INSTALL_HINT = "run scripts/sbom-peers.sh (or scripts/deps.sh) to install it"


def peers():
    trivy = os.path.join(PEERS_DIR, "trivy", "trivy")
    lib = os.path.join(PEERS_DIR, "node_modules", "@cyclonedx", "cyclonedx-library")
    if not os.access(trivy, os.X_OK):
        pytest.fail("Trivy is missing at %s: %s" % (trivy, INSTALL_HINT))
    if not os.path.isdir(lib):
        pytest.fail("@cyclonedx/cyclonedx-library is missing at %s: %s" % (lib, INSTALL_HINT))
    if not shutil.which("node"):
        pytest.fail("node is missing: apt-get install nodejs")
    return trivy, os.path.join(PEERS_DIR, "node_modules")


RECIPES = {
    "debian": "make-debian-rootfs.sh",
    "debian-lang": "make-debian-lang-rootfs.sh",
}


def rootfs(name):
    """(tar path, unpacked directory) of a peer root filesystem, built once
    per source tree: the dev and asan build dirs share build/peers."""
    base = os.path.join(SOURCE_DIR, "build", "peers", name)
    tar_path, root = base + ".tar", base + ".root"
    os.makedirs(os.path.dirname(base), exist_ok=True)
    with open(base + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(root):
            for tool in ("mmdebstrap",) + (("go",) if name == "debian-lang" else ()):
                if not shutil.which(tool):
                    pytest.fail("%s is missing: apt-get install %s (see scripts/deps.sh)"
                                % (tool, "golang-go golang-golang-x-mod-dev" if tool == "go" else tool))
            if not os.path.exists(tar_path):
                script = os.path.join(SOURCE_DIR, "tests", "peers", RECIPES[name])
                part = base + ".part.tar"  # mmdebstrap picks its format by extension
                subprocess.run(["sh", script, part], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                os.rename(part, tar_path)
            tmp = root + ".part"
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            # GNU tar keeps device nodes out (not root? skip them) and ownership as is.
            subprocess.run(["tar", "-C", tmp, "--exclude=./dev/*", "-xf", tar_path], check=True)
            os.rename(tmp, root)
    return tar_path, root


def tree_key(h, root):
    """Every path of a tree with its type, size and mtime into hash h: what
    Trivy reads cannot change without changing the key."""
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(d, name)
            st = os.lstat(path)
            h.update(("%s\0%o\0%d\0%d\0" % (os.path.relpath(path, root), st.st_mode,
                                              st.st_size, st.st_mtime_ns)).encode())
            if os.path.islink(path):
                h.update(os.readlink(path).encode())


def trivy_cache_copy(cache, own):
    """Trivy's cache dir CACHE as OWN, a run's own: a copy of db/ (Trivy
    locks its BoltDB files), java-db/ linked."""
    if os.path.isdir(os.path.join(cache, "db")):
        shutil.copytree(os.path.join(cache, "db"), os.path.join(own, "db"))
    if os.path.exists(os.path.join(cache, "java-db")):
        os.symlink(os.path.realpath(os.path.join(cache, "java-db")), os.path.join(own, "java-db"))


def trivy_run(args, root, cache, root_flag=None):
    """The path of Trivy's report (`trivy ARGS --cache-dir CACHE -o OUT
    [ROOT_FLAG] ROOT`; ROOT_FLAG "--input" when ROOT is an image layout),
    run once per input: the binary, the cache dir's name (its
    database: the callers name it by content or keep it fixed), the
    arguments and the tree. Reports are kept under <source>/build/peers,
    so the dev and asan runs of a test, and reruns, share one Trivy run per
    tree and format: Trivy's start-up alone costs ~5 s of CPU (defsec's
    Rego policies compile in an init function). Each run gets a cache dir
    of its own (a copy of db/, java-db/ linked): Trivy locks its BoltDB
    files, and callers run it side by side."""
    trivy, _ = peers()
    st = os.stat(trivy)
    h = hashlib.sha256(("%s\0%d\0%d\0%s\0%s\0" % (os.path.realpath(trivy), st.st_size,
                                                  st.st_mtime_ns, os.path.basename(cache),
                                                  "\0".join(list(args) + ([root_flag] if root_flag else [])))).encode())
    tree_key(h, root)
    peers_dir = os.path.join(SOURCE_DIR, "build", "peers")
    os.makedirs(peers_dir, exist_ok=True)
    out = os.path.join(peers_dir, "trivy-report-%s.json" % h.hexdigest()[:24])
    if os.path.exists(out):
        return out
    own = tempfile.mkdtemp(dir=peers_dir, prefix="trivy-run-")
    try:
        trivy_cache_copy(cache, own)
        tmp_out = os.path.join(own, "report.json")
        r = subprocess.run([trivy] + list(args) + ["--cache-dir", own, "-o", tmp_out]
                           + ([root_flag] if root_flag else []) + [root],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        os.rename(tmp_out, out)
    finally:
        shutil.rmtree(own, ignore_errors=True)
    return out


def canon_purl(p):
    if not p:
        return p
    base, _, q = p.partition("?")
    quals = sorted(unquote(kv) for kv in q.split("&") if kv)
    return unquote(base) + ("?" + "&".join(quals) if quals else "")


def sha256(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tar_bytes(entries):
    """A tar from (name, bytes|None for a directory, mode) entries."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data, *rest in entries:
            ti = tarfile.TarInfo(name)
            ti.mode = rest[0] if rest else (0o755 if data is None else 0o644)
            if data is None:
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def oci_layout(path, layers, compress=True, tag="latest"):
    """Write an OCI layout with `layers` (uncompressed tar bytes, or paths), bottom first."""
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        d = sha256(data)
        with open(os.path.join(blobs, d[7:]), "wb") as f:
            f.write(data)
        return d

    descs, diffs = [], []
    for layer in layers:
        raw = open(layer, "rb").read() if isinstance(layer, str) else layer
        diffs.append(sha256(raw))
        blob = gzip.compress(raw, compresslevel=1, mtime=0) if compress else raw
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else ""),
                      "digest": put(blob), "size": len(blob)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": put(config), "size": len(config)},
                           "layers": descs}).encode()
    md = put(manifest)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    return md, descs, diffs


def rootfs_layout(name, tag="12"):
    """An OCI layout holding rootfs(name)'s tar as its one gzip layer, written
    once per tar next to it (compressing 170-330 MB costs tens of seconds on
    a loaded machine); callers only read it."""
    tar_path, _ = rootfs(name)
    st = os.stat(tar_path)
    path = "%s-layout-%s-%d-%d" % (tar_path[:-len(".tar")], tag, st.st_size, st.st_mtime_ns)
    with open(tar_path[:-len(".tar")] + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(path):
            shutil.rmtree(path + ".part", ignore_errors=True)
            oci_layout(path + ".part", [tar_path], tag=tag)
            os.rename(path + ".part", path)
    return path


def berth_sbom(args, env=None, check=True):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([BERTH_BIN, "sbom", "-q"] + args, capture_output=True, text=True, env=e)
    if check and r.returncode != 0:
        raise AssertionError("berth sbom %s failed (%d): %s" % (args, r.returncode, r.stderr))
    return r


def berth_json(target, tmp, extra=(), env=None):
    """berth's JSON catalogue of target (cache under tmp unless env says otherwise)."""
    out = os.path.join(str(tmp), "cat-%d.json" % len(os.listdir(str(tmp))))
    e = {"BERTH_ROOT": os.path.join(str(tmp), "root")}
    e.update(env or {})
    berth_sbom(["--format", "json", "-o", out, target] + list(extra), env=e)
    return json.load(open(out))
