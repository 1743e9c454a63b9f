"""What the berth build tests share: running `berth build` (and other berth
commands) on a store of their own, through tests/fixtures/hangdump.py (a
build that hangs has its threads' stacks dumped before it is killed), and
reading the count of RUN commands from the build log's last line."""
import contextlib
import os
import re
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import hangdump  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", "berth")
# Debian's 20.10 client: its BuildKit session is built in (a newer client
# without buildx may come first on PATH).
DOCKER = "/usr/bin/docker"


def berth(store, *args, check=True, env=None, stdin=None, timeout=600):
    """`berth ARGS` with BERTH_ROOT=store; the CompletedProcess (bytes)."""
    e = dict(os.environ, BERTH_ROOT=str(store))
    e.update(env or {})
    p = hangdump.run([BERTH] + [str(a) for a in args], env=e, timeout=timeout, input=stdin)
    if check and p.returncode != 0:
        raise AssertionError("berth %s failed (%d):\n%s" % (args[0], p.returncode,
                                                           p.stderr.decode()))
    return p


def run_build(store, *args, check=True, env=None, stdin=None):
    """`berth build ARGS` with BERTH_ROOT=store."""
    return berth(store, "build", *args, check=check, env=env, stdin=stdin)


def runs(p):
    """The number of RUN commands a build executed (its log's last line)."""
    m = re.search(r"#  (\d+) RUN commands? executed", p.stderr.decode())
    assert m, p.stderr.decode()
    return int(m.group(1))


@contextlib.contextmanager
def busybox_registry(prefix):
    """A `berth serve` holding the busybox fixture as <host>/library/busybox:1
    (for a module-scoped fixture: `with busybox_registry(...) as s: yield s`)."""
    import clienttools as ct
    import images
    from conftest import BerthServer

    d = tempfile.TemporaryDirectory(prefix=prefix)
    s = BerthServer(d.name).start()
    try:
        src = images.ensure("busybox")
        ct.skopeo("copy", "--dest-tls-verify=false", "oci:%s:busybox" % src,
                  "docker://%s/library/busybox:1" % s.host)
        yield s
    finally:
        s.stop()
        d.cleanup()


def docker_env():
    """The environment for DOCKER against the fixture dockerd (DOCKER_HOST)."""
    host = os.environ.get("DOCKER_HOST")
    if not host:
        pytest.fail("DOCKER_HOST is not set: run through ctest (fixture dockerd), or start "
                    "tests/peers/dockerd-start.sh DIR and export DOCKER_HOST=unix://DIR/sock")
    if not os.access(DOCKER, os.X_OK):
        pytest.fail("%s is missing: apt-get install docker.io (scripts/deps.sh)" % DOCKER)
    return dict(os.environ, DOCKER_BUILDKIT="1", DOCKER_HOST=host)


def docker(*args, check=True, timeout=600):
    """`docker ARGS` with BuildKit on the fixture dockerd; the CompletedProcess (text)."""
    r = subprocess.run([DOCKER, *args], capture_output=True, text=True, env=docker_env(),
                       timeout=timeout)
    if check:
        assert r.returncode == 0, "docker %s: %s" % (" ".join(args), r.stderr[-3000:])
    return r
