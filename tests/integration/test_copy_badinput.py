"""Bad input to berth copy: bad references, unknown transports, missing
files, unreachable hosts, usage errors. One line naming what was wrong,
exit 1 (2 for usage), and nothing at the destination."""
import os
import socket

import pytest

import copyutil as u


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def src():
    return "oci:%s:small" % u.small_image()


def test_unknown_transport(src, tmp_path):
    r = u.berth("copy", src, "ftp:%s" % (tmp_path / "x"), check=False)
    u.assert_fails(r, "ftp")
    assert os.listdir(tmp_path) == []
    r = u.berth("copy", "nosuch://host/x:1", "oci:%s:x" % (tmp_path / "o"), check=False)
    u.assert_fails(r, "nosuch")
    u.assert_layout_empty(str(tmp_path / "o"))


@pytest.mark.parametrize("ref", ["docker://127.0.0.1:5000/UPPER/case:1", "docker://127.0.0.1:5000/x:bad tag",
                                 "docker://127.0.0.1:5000/x@sha256:1234", "docker://"])
def test_bad_reference(ref, src, tmp_path):
    r = u.berth("copy", src, ref, check=False)
    u.assert_fails(r, ("reference", "name", "tag", "digest", "invalid", "repository"))
    r = u.berth("copy", ref, "oci:%s:x" % (tmp_path / "o"), check=False)
    u.assert_fails(r, ("reference", "name", "tag", "digest", "invalid", "repository"))
    u.assert_layout_empty(str(tmp_path / "o"))


@pytest.mark.parametrize("kind", ["oci", "oci-archive", "docker-archive"])
def test_missing_source_file(kind, tmp_path):
    missing = tmp_path / "nope"
    r = u.berth("copy", "%s:%s" % (kind, missing), "oci:%s:x" % (tmp_path / "o"), check=False)
    u.assert_fails(r, str(missing))
    u.assert_layout_empty(str(tmp_path / "o"))


def test_missing_tag_in_layout(src, tmp_path):
    r = u.berth("copy", "oci:%s:no-such-tag" % u.small_image(), "oci:%s:x" % (tmp_path / "o"), check=False)
    u.assert_fails(r, "no-such-tag")
    u.assert_layout_empty(str(tmp_path / "o"))


def test_unreachable_registry(src, tmp_path):
    port = closed_port()
    r = u.berth("copy", src, "docker://127.0.0.1:%d/p2/x:1" % port, check=False, timeout=120)
    u.assert_fails(r, "127.0.0.1:%d" % port)
    r = u.berth("copy", "docker://127.0.0.1:%d/p2/x:1" % port, "oci:%s:x" % (tmp_path / "o"), check=False,
                timeout=120)
    u.assert_fails(r, "127.0.0.1:%d" % port)
    u.assert_layout_empty(str(tmp_path / "o"))


def test_missing_image_in_registry(berth, tmp_path):
    r = u.berth("copy", "docker://%s/p2/absent:1" % berth.host, "oci:%s:x" % (tmp_path / "o"), check=False)
    u.assert_fails(r, ("p2/absent", "not found", "unknown"))
    u.assert_layout_empty(str(tmp_path / "o"))


def test_destination_not_writable(src, tmp_path):
    """A directory without write permission; for root, who may write anyway,
    a read-only filesystem mounted there."""
    import subprocess
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    mounted = False
    try:
        if os.access(str(ro), os.W_OK):
            m = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)],
                               capture_output=True)
            assert m.returncode == 0, ("as root, the test mounts a read-only tmpfs (a container "
                                       "needs CAP_SYS_ADMIN): %s" % m.stderr.decode("utf-8", "replace"))
            mounted = True
        assert not os.access(str(ro), os.W_OK)
        r = u.berth("copy", src, "oci-archive:%s:x" % (ro / "x.tar"), check=False)
        u.assert_fails(r, str(ro))
        assert os.listdir(str(ro)) == []
    finally:
        if mounted:
            subprocess.run(["umount", str(ro)])
        os.chmod(ro, 0o700)


@pytest.mark.parametrize("args", [[], ["only-one"], ["a", "b", "c"], ["--no-such-flag", "a", "b"]])
def test_usage_errors_exit_2(args):
    r = u.berth("copy", *args, check=False)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.strip(), "no usage message"


def test_help():
    r = u.berth("copy", "--help")
    out = r.stdout.decode()
    for w in ("--all", "--platform", "--format"):
        assert w in out
