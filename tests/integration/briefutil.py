"""The brief's images, shared by the tests that use them.

- bases_layout(): the OCI layout of the stand-in bases
  (tests/peers/make-brief-bases.sh), made once per source tree.
- make_ctx(): a build context of one application of tests/fixtures/brief-apps/
  with the brief's Dockerfile and .dockerignore.
- brief_image(app): the brief's node, python or go image built by `berth
  build` from the stand-in bases (named with --build-context, no registry)
  into an OCI layout, once per source tree and input: kept under
  build/peers/brief-image-APP-HASH, so the dev and asan runs of every test
  reading it share one build.
"""
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

import sbomutil

SOURCE_DIR = sbomutil.SOURCE_DIR
BRIEF = os.path.join(SOURCE_DIR, "tests", "fixtures", "brief")
APPS = os.path.join(SOURCE_DIR, "tests", "fixtures", "brief-apps")
MISSION = "/work/shared/mission/examples"  # only compared with when present (dev machine)

# Stand-in tag in the bases layout -> the name the brief's Dockerfiles use.
BASES = {
    "node": "base/node:20-alpine",
    "python": "base/python:3.12-slim",
    "golang": "base/golang:1.22-alpine",
    "distroless": "distroless/static-debian12:nonroot",
}
BASES_RECIPE = ("make-brief-bases.sh", "brief-layout.py", "brief-alpine-addgroup.sh",
                "brief-alpine-adduser.sh")
# The full names of BASES in the brief's FROM lines.
BASE_REGISTRY = {"distroless": "gcr.io/"}


def bases_layout():
    """The OCI layout of the stand-in bases, made once per source tree (and
    again when its recipe changes: the directory is named by its hash)."""
    peers = os.path.join(SOURCE_DIR, "tests", "peers")
    recipe = hashlib.sha256()
    for f in BASES_RECIPE:
        recipe.update(open(os.path.join(peers, f), "rb").read())
    out = os.path.join(SOURCE_DIR, "build", "peers", "brief-bases-" + recipe.hexdigest()[:12])
    if os.path.exists(os.path.join(out, "index.json")):
        return out
    deb_tar, _ = sbomutil.rootfs("debian")
    for tool, pkg in (("busybox", "busybox-static"), ("node", "nodejs"), ("npm", "nodejs"),
                      ("go", "golang-go"), ("gunicorn", "gunicorn"), ("dpkg-deb", "dpkg")):
        if not shutil.which(tool):
            pytest.fail("%s is missing: apt-get install %s (scripts/deps.sh)" % (tool, pkg))
    with open(out + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(out, "index.json")):
            p = subprocess.run(["sh", os.path.join(peers, "make-brief-bases.sh"), deb_tar,
                                os.path.join(APPS, "go"), out],
                               capture_output=True, timeout=1200)
            assert p.returncode == 0, "make-brief-bases.sh failed:\n" + p.stderr.decode()[-3000:]
    return out


def brief_dockerfile(name):
    path = os.path.join(BRIEF, "%s-multistage.Dockerfile" % name)
    text = open(path, "rb").read()
    orig = os.path.join(MISSION, os.path.basename(path))
    if os.path.exists(orig):  # unchanged from the brief
        assert open(orig, "rb").read() == text
    return text


def make_ctx(parent, app, dockerfile):
    """The app's sources, the brief's Dockerfile and the brief's .dockerignore,
    in PARENT/ctx (a pathlib.Path)."""
    ctx = parent / "ctx"
    shutil.copytree(os.path.join(APPS, app), ctx)
    (ctx / "Dockerfile").write_bytes(brief_dockerfile(dockerfile))
    shutil.copy(os.path.join(BRIEF, "dockerignore"), ctx / ".dockerignore")
    (ctx / "README.md").write_text("kept: the brief's .dockerignore re-includes it\n")
    (ctx / "NOTES.md").write_text("left out by the brief's .dockerignore (*.md)\n")
    return ctx


def inputs_key(bases, app):
    """What a brief image is made of: the bases (named by their recipe), the
    app's files, the Dockerfile and the .dockerignore."""
    h = hashlib.sha256(os.path.basename(bases).encode())
    root = os.path.join(APPS, app)
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(d, name)
            h.update(os.path.relpath(path, root).encode() + b"\0" + open(path, "rb").read())
    h.update(brief_dockerfile(app) + open(os.path.join(BRIEF, "dockerignore"), "rb").read())
    return h.hexdigest()[:16]


def brief_image(app):
    """The OCI layout (tag "latest") of the brief's APP image (node, python,
    go) built by `berth build`, its bases given as --build-context
    NAME=oci-layout://BASES:TAG; built once per input (see inputs_key)."""
    bases = bases_layout()
    out = os.path.join(SOURCE_DIR, "build", "peers",
                       "brief-image-%s-%s" % (app, inputs_key(bases, app)))
    with open(out + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(out, "index.json")):
            return out
        work = pathlib.Path(tempfile.mkdtemp(prefix="brief-image-", dir=os.path.dirname(out)))
        try:
            ctx = make_ctx(work, app, app)
            froms = [line.split()[1].decode() for line in brief_dockerfile(app).splitlines()
                     if line.upper().startswith(b"FROM ")]
            args = [sbomutil.BERTH_BIN, "build", "--progress", "plain"]
            for tag, name in BASES.items():
                full = BASE_REGISTRY.get(tag, "registry.company.com/") + name
                if full in froms:
                    args += ["--build-context", "%s=oci-layout://%s:%s" % (full, bases, tag)]
            part = out + ".part"
            shutil.rmtree(part, ignore_errors=True)
            args += ["--output", "type=oci,dest=%s,tar=false" % part, str(ctx)]
            p = subprocess.run(args, capture_output=True, timeout=1200,
                               env=dict(os.environ, BERTH_ROOT=str(work / "store")))
            assert p.returncode == 0, "berth build of the brief's %s image failed (%d):\n%s" % (
                app, p.returncode, p.stderr.decode()[-6000:])
            os.rename(part, out)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return out
