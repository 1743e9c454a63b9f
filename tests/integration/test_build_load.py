# needs-peer: dockerd
"""berth build --load: the image goes to a Docker Engine through `docker
load` (a docker-archive stream) — the ctest fixture "dockerd" on a private
socket, so the load only works when DOCKER_HOST is honoured — and docker
inspects and runs it (--network=none). `-o type=docker` without dest is the
same. With neither docker nor podman on PATH, --load fails with one clear
message and exit code 1. Needs root and the dockerd fixture.
"""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_build_output import base_ctx, make_ctx  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", "berth")
DOCKER = "/usr/bin/docker"


def docker(*args, check=True):
    if not os.environ.get("DOCKER_HOST"):
        pytest.fail("DOCKER_HOST unset: run through ctest (fixture dockerd, tests/peers/"
                    "dockerd-start.sh)")
    return subprocess.run([DOCKER] + list(args), capture_output=True, check=check, timeout=120)


def build(store, ctx, *args, env=None):
    e = dict(os.environ, BERTH_ROOT=str(store))
    e.update(env or {})
    return subprocess.run([BERTH, "build"] + base_ctx() + list(args) + [str(ctx)], env=e,
                          capture_output=True, timeout=300)


def test_load_into_docker_then_inspect_and_run(tmp_path):
    ctx = make_ctx(tmp_path / "ctx")
    name = "berth-load-test:%d" % os.getpid()
    name2 = "berth-load-test:%d-b" % os.getpid()
    try:
        p = build(tmp_path / "store", ctx, "-t", name, "--load", "--label", "org.x=1")
        assert p.returncode == 0, p.stderr.decode()
        info = json.loads(docker("image", "inspect", name).stdout)[0]
        assert info["Config"]["Cmd"] == ["sh", "-c", "cat /app/built"]
        assert info["Config"]["Labels"]["org.x"] == "1"
        assert len(info["RootFS"]["Layers"]) == 3
        r = docker("run", "--rm", "--network=none", name)
        assert r.stdout == b"built\n"
        # -o type=docker without dest is --load; name= names it.
        p = build(tmp_path / "store", ctx, "-o", "type=docker,name=%s" % name2)
        assert p.returncode == 0, p.stderr.decode()
        r = docker("run", "--rm", "--network=none", "--entrypoint", "sh", name2, "-c",
                   "cat /app/a.txt")
        assert r.stdout == b"a\n"
    finally:
        docker("image", "rm", "-f", name, name2, check=False)


def test_load_without_docker_or_podman_is_a_clear_error(tmp_path):
    ctx = make_ctx(tmp_path / "ctx")
    empty = tmp_path / "bin"
    empty.mkdir()
    p = build(tmp_path / "store", ctx, "-t", "x:1", "--load", env={"PATH": str(empty)})
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert "berth build: --load: neither docker nor podman is on PATH" in err, err
