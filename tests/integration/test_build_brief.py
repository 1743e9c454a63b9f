"""The brief's multi-stage Dockerfiles (tests/fixtures/brief/, copied
unchanged from the mission's examples) built by `berth build` as they are:
their base image names (registry.company.com/base/..., gcr.io/distroless/...)
reach a local `berth serve` through a registries.conf file, the built images
are pushed there, podman (--runtime runc) pulls and runs them, and the
image's own HEALTHCHECK command (`Healthcheck.Test` of its config, run in
the container with `podman exec`) succeeds. The Go image has no HEALTHCHECK
(distroless has no shell): its server's `-check` probe is run instead.
The Java example is parsed and linted only (its gradlew downloads Gradle).

The stand-in bases (Debian 12 + nodejs/npm, python3-venv/gunicorn,
golang-go; a distroless-like nonroot image) come from
tests/peers/make-brief-bases.sh, built once per source tree under
build/peers/brief-bases (dev and asan share it; the first run needs the
Debian mirror and takes minutes). The applications are
tests/fixtures/brief-apps/ (dependencies already satisfied: PyPI and npmjs
are not reachable from a build). Needs root, skopeo, podman, runc.
"""
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, HERE)
import clienttools as ct  # noqa: E402
from briefutil import BASES, bases_layout, brief_dockerfile, make_ctx  # noqa: E402
from conftest import BerthServer  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", "berth")
PODMAN_RUN = ["--runtime", "runc", "--network", "none", "--ulimit", "nofile=1024:1024",
              "--ulimit", "nproc=1024:1024"]

@pytest.fixture(scope="module")
def registry():
    """A registry holding the stand-in bases, and a registries.conf mapping the
    brief's registry names onto it."""
    ct.need("skopeo")
    layout = bases_layout()
    d = tempfile.TemporaryDirectory(prefix="berth-brief-")
    s = BerthServer(d.name).start()
    for tag, name in BASES.items():
        ct.skopeo("copy", "--dest-tls-verify=false", "oci:%s:%s" % (layout, tag),
                  "docker://%s/%s" % (s.host, name))
    conf = os.path.join(d.name, "registries.conf")
    with open(conf, "w") as f:
        f.write('[[registry]]\nprefix = "registry.company.com/base"\n'
                'location = "%s/base"\ninsecure = true\n'
                '[[registry]]\nprefix = "gcr.io/distroless"\n'
                'location = "%s/distroless"\ninsecure = true\n' % (s.host, s.host))
    s.conf = conf
    yield s
    s.stop()
    d.cleanup()


@pytest.fixture
def podman(tmp_path):
    ct.need("podman")
    ct.need("runc")
    root = tmp_path / "podman"
    run_root = tempfile.mkdtemp(prefix="bb-", dir="/tmp")  # podman wants it short
    base = ["podman", "--root", str(root / "root"), "--runroot", run_root,
            "--tmpdir", str(root / "tmp"), "--storage-driver", "overlay",
            "--events-backend", "none", "--cgroup-manager", "cgroupfs"]
    env = dict(os.environ, XDG_RUNTIME_DIR=str(root / "xdg"), XDG_CONFIG_HOME=str(root / "cfg"))
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)

    def run(*args, check=True, timeout=300):
        p = subprocess.run(base + list(args), env=env, capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("podman %s failed (%d):\n%s" % (
                " ".join(args), p.returncode, p.stderr.decode()))
        return p

    yield run
    run("rm", "--all", "--force", "--time", "0", check=False)
    run("rmi", "--all", "--force", check=False)
    shutil.rmtree(run_root, ignore_errors=True)


def build(registry, ctx, ref):
    e = dict(os.environ, BERTH_ROOT=str(ctx.parent / "store"))
    p = subprocess.run([BERTH, "build", "--registries-conf", registry.conf, "--progress", "plain",
                        "-t", ref, "--push", str(ctx)], env=e, capture_output=True, timeout=900)
    assert p.returncode == 0, "berth build failed (%d):\n%s" % (p.returncode,
                                                              p.stderr.decode()[-6000:])
    return p


def image_config(registry, repo, tag):
    r = ct.get_manifest(registry.url, repo, tag)
    assert r.status_code == 200, r.text
    man = r.json()
    cfg = requests.get("%s/v2/%s/blobs/%s" % (registry.url, repo, man["config"]["digest"]),
                       timeout=30)
    return man, cfg.json()


def start(podman, ref, name):
    podman("pull", "--tls-verify=false", ref)
    podman("run", "-d", "--name", name, *PODMAN_RUN, ref)


def exec_until_ok(podman, name, argv, what):
    """Run argv in the container until it succeeds (the server may still be
    starting); the last failure is reported."""
    deadline = time.monotonic() + 60
    while True:
        p = podman("exec", name, *argv, check=False)
        if p.returncode == 0:
            return p
        state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.decode().strip()
        if state != "running" or time.monotonic() > deadline:
            logs = podman("logs", name, check=False)
            raise AssertionError("%s failed (%d, container %s):\n%s\n%s\nlogs:\n%s" % (
                what, p.returncode, state, p.stdout.decode(), p.stderr.decode(),
                (logs.stdout + logs.stderr).decode()[-3000:]))
        time.sleep(0.5)


def healthcheck_argv(cfg):
    test = cfg["config"]["Healthcheck"]["Test"]
    assert test[0] == "CMD-SHELL", test
    return ["/bin/sh", "-c", test[1]]


def layer_tar(registry, repo, desc):
    blob = requests.get("%s/v2/%s/blobs/%s" % (registry.url, repo, desc["digest"]), timeout=60)
    assert blob.status_code == 200
    return tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob.content)))


def layer_names(registry, repo, man):
    """The members of each layer of an image by path, top layer last. No
    layer names a path twice (podman's container storage refuses that)."""
    out = []
    for desc in man["layers"]:
        with layer_tar(registry, repo, desc) as t:
            members = t.getmembers()
        byname = {m.name.lstrip("./").rstrip("/"): m for m in members}
        assert len(byname) == len(members), "%s names a path twice: %s" % (
            desc["digest"], sorted(n for n in byname
                                   if sum(m.name.lstrip("./").rstrip("/") == n
                                          for m in members) > 1)[:10])
        out.append(byname)
    return out


def layer_file(registry, repo, desc, path):
    with layer_tar(registry, repo, desc) as t:
        for m in t.getmembers():
            if m.name.lstrip("./") == path:
                return t.extractfile(m).read()
    raise AssertionError("%s not in layer %s" % (path, desc["digest"]))


def test_node_multistage(tmp_path, registry, podman):
    ctx = make_ctx(tmp_path, "node", "node")
    ref = "%s/apps/node:1" % registry.host
    build(registry, ctx, ref)
    man, cfg = image_config(registry, "apps/node", "1")
    c = cfg["config"]
    assert c["User"] == "nodejs" and c["WorkingDir"] == "/app", c
    assert c["Cmd"] == ["node", "dist/main.js"] and "3000/tcp" in c["ExposedPorts"], c
    assert c["Healthcheck"]["Interval"] == 30 * 10**9 and c["Healthcheck"]["Retries"] == 3, c
    assert man["annotations"]["org.opencontainers.image.base.name"] == \
        "registry.company.com/base/node:20-alpine", man
    # The COPY --from --chown layers: owned by nodejs (uid 1001) and its group.
    top = layer_names(registry, "apps/node", man)[-1]
    assert top["app/package.json"].uid == 1001, top["app/package.json"].uid
    start(podman, ref, "node")
    who = exec_until_ok(podman, "node", ["id", "-un"], "id")
    assert who.stdout.decode().strip() == "nodejs"
    exec_until_ok(podman, "node", healthcheck_argv(cfg), "the HEALTHCHECK")
    # The same check fails where nothing listens (so its success above means something).
    bad = podman("exec", "node", "/bin/sh", "-c",
                 healthcheck_argv(cfg)[2].replace(":3000/", ":3001/"), check=False)
    assert bad.returncode == 1, bad.stderr.decode()
    ls = podman("exec", "node", "ls", "-A", "/app").stdout.decode().split()
    assert sorted(ls) == ["dist", "node_modules", "package.json"], ls


def test_python_multistage(tmp_path, registry, podman):
    ctx = make_ctx(tmp_path, "python", "python")
    ref = "%s/apps/python:1" % registry.host
    build(registry, ctx, ref)
    man, cfg = image_config(registry, "apps/python", "1")
    c = cfg["config"]
    layer_names(registry, "apps/python", man)
    assert c["User"] == "appuser" and c["WorkingDir"] == "/app", c
    assert c["Cmd"] == ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "app:app"], c
    assert c["Env"][0].startswith("PATH=/opt/venv/bin:"), c["Env"]
    start(podman, ref, "python")
    exec_until_ok(podman, "python", healthcheck_argv(cfg), "the HEALTHCHECK")
    ls = podman("exec", "python", "ls", "-A", "/app").stdout.decode().split()
    # The brief's .dockerignore: Dockerfile and *.md out, README.md back in.
    assert sorted(ls) == ["README.md", "app.py", "requirements.txt"], ls
    st = podman("exec", "python", "stat", "-c", "%U:%G", "/app/app.py").stdout.decode().strip()
    assert st == "appuser:appuser", st
    # The venv made in the builder stage came over, with its pip.
    pip = podman("exec", "python", "/opt/venv/bin/pip", "--version").stdout.decode()
    assert "/opt/venv/" in pip, pip


def test_go_multistage(tmp_path, registry, podman):
    ctx = make_ctx(tmp_path, "go", "go")
    ref = "%s/apps/go:1" % registry.host
    build(registry, ctx, ref)
    man, cfg = image_config(registry, "apps/go", "1")
    c = cfg["config"]
    assert c["User"] == "nonroot:nonroot" and c["Entrypoint"] == ["/server"], c
    assert "8080/tcp" in c["ExposedPorts"] and "Healthcheck" not in c, c
    layers = layer_names(registry, "apps/go", man)
    assert list(layers[-1]) == ["server"], list(layers[-1])
    start(podman, ref, "go")
    out = exec_until_ok(podman, "go", ["/server", "-check"], "the server's health probe")
    assert out.stdout.decode() == "healthy\n"
    # A static binary (CGO_ENABLED=0, -extldflags -static): no program interpreter.
    data = layer_file(registry, "apps/go", man["layers"][-1], "server")
    assert data[:4] == b"\x7fELF" and b"/ld-linux" not in data[:4096]


def test_java_is_parsed_and_linted(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_bytes(brief_dockerfile("java-spring-boot"))
    p = subprocess.run([BERTH, "build", "--call", "outline,format=json", str(ctx)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([BERTH, "build", "--call", "targets,format=json", str(ctx)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    targets = [t["name"] for t in json.loads(p.stdout)["targets"]]
    assert targets == ["builder", "production"], targets
    p = subprocess.run([BERTH, "build", "--call", "check", str(ctx)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
