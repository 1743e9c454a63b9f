"""The registry commands around copy: `berth tags` (compared with skopeo
list-tags) and `berth delete`, on berth serve and on Distribution 2.8 with
Basic auth; the progress display on a TTY and plain lines otherwise."""
import json
import os
import pty
import select
import time

import pytest

import conftest
import copyutil as u
from distribution import Distribution

USER, PW = "carol", "tags-pw"


@pytest.fixture(scope="module", params=["berth", "distribution"])
def registry(request, tmp_path_factory):
    """(host, url, creds args, requests auth) of a registry holding p2/t:{a,b,c}."""
    u.need("skopeo")
    if request.param == "berth":
        s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-reg"))).start()
        host, url, cargs, auth, stop = s.host, s.url, [], None, s.stop
    else:
        u.need("docker-registry")
        d = Distribution(str(tmp_path_factory.mktemp("dist")), users={USER: PW}).start()
        host, url, cargs, auth, stop = d.host, d.url, ["--creds", "%s:%s" % (USER, PW)], (USER, PW), d.stop
    lay = u.small_image()
    for t in ("a", "b", "c"):
        u.skopeo("copy", "--dest-tls-verify=false", *[x.replace("--creds", "--dest-creds") for x in cargs],
                 "oci:%s:small" % lay, "docker://%s/p2/t:%s" % (host, t))
    yield host, url, cargs, auth
    stop()


def test_tags_match_skopeo(registry):
    host, url, cargs, auth = registry
    sk = json.loads(u.skopeo("list-tags", "--tls-verify=false", *cargs, "docker://%s/p2/t" % host).stdout)
    text = u.berth("tags", *cargs, "docker://%s/p2/t" % host).stdout.decode().split()
    assert sorted(text) == sorted(sk["Tags"]) == ["a", "b", "c"]
    doc = json.loads(u.berth("tags", "--format", "json", *cargs, "%s/p2/t" % host).stdout)
    assert sorted(json.dumps(doc).count('"%s"' % t) for t in "abc") == [1, 1, 1]


def test_tags_unknown_repo_fails(registry):
    host, url, cargs, auth = registry
    p = u.berth("tags", *cargs, "docker://%s/p2/nope" % host, check=False)
    u.assert_fails(p, ("p2/nope", "not found", "unknown"))


def test_delete_by_tag_removes_manifest(registry):
    host, url, cargs, auth = registry
    u.berth("copy", *[x.replace("--creds", "--dest-creds") for x in cargs], "oci:%s:small" % u.small_image(),
            "docker://%s/p2/del:x" % host)
    assert u.registry_tags(url, "p2/del", auth) == ["x"]
    u.berth("delete", *cargs, "docker://%s/p2/del:x" % host)
    assert "x" not in u.registry_tags(url, "p2/del", auth)
    r = u.registry_get(url, "/v2/p2/del/manifests/%s" % u.read_layout(u.small_image(), "small").digest, auth,
                       method="HEAD")
    assert r.status_code == 404
    p = u.berth("delete", *cargs, "docker://%s/p2/del:x" % host, check=False)
    u.assert_fails(p, ("p2/del", "not found", "unknown"))


def test_progress_plain_lines_when_not_a_tty(tmp_path):
    p = u.berth("copy", "oci:%s:small" % u.small_image(), "oci:%s:x" % (tmp_path / "o"))
    out = (p.stdout + p.stderr).decode()
    assert "\r" not in out and "\x1b[" not in out, "terminal control codes without a TTY: %r" % out[:300]
    img = u.read_layout(u.small_image(), "small")
    for _, d, _ in img.layers:  # one line per blob, naming it
        assert d.split(":")[1][:12] in out
    q = u.berth("copy", "-q", "oci:%s:small" % u.small_image(), "oci:%s:y" % (tmp_path / "o"))
    assert q.stdout.strip() == b"" and q.stderr.strip() == b""


def test_progress_bars_on_a_tty(tmp_path):
    """Under a pseudo-terminal: per-layer bars with bytes and a rate."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.execv(u.BERTH_BIN, [u.BERTH_BIN, "copy", "oci:%s:big" % u.big_image(), "oci:%s:x" % (tmp_path / "o")])
    out = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                b = os.read(fd, 65536)
            except OSError:
                break
            if not b:
                break
            out += b
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, out[-2000:]
    text = out.decode("utf-8", "replace")
    assert "\r" in text or "\x1b[" in text, "no in-place redraw on a TTY: %r" % text[:500]
    assert "MiB" in text and "/s" in text, "no bytes/rate on the TTY display: %r" % text[-800:]
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "x"), u.read_layout(u.big_image(), "big"), exact=True)
