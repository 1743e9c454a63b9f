"""Start-up rules of `berth serve` (docs/access-control.md): --auth without
an admin password refuses to start with one line; BERTH_ADMIN_PASSWORD works
instead of --admin-password-file; without --auth berth serves openly only on
loopback and says so; on any other address it refuses to start unless
--insecure-open is given; the first start creates `admin` and the public
project `library`."""
import os
import re
import subprocess

import pytest
import requests

import authutil as au
from authutil import auth_factory  # noqa: F401  (fixture)
import conftest


def run_briefly(args, env=None, timeout=120):
    """Run a server that should refuse to start: its exit code and output.
    A server that starts instead runs until the (generous) timeout, a hang
    guard, and the test fails; how fast it refuses is not asserted."""
    e = dict(os.environ)
    e.pop("BERTH_ADMIN_PASSWORD", None)
    e.update(env or {})
    try:
        p = subprocess.run(args, capture_output=True, timeout=timeout, env=e, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("%s did not exit by itself: it started instead of refusing" % " ".join(args))
    return p.returncode, p.stderr.decode("utf-8", "replace"), p.stdout.decode("utf-8", "replace")


def one_line(err, *words):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, "want one line, got:\n%s" % err
    low = lines[0].lower()
    assert low.startswith("berth"), lines[0]
    for w in words:
        alts = w if isinstance(w, tuple) else (w,)
        assert any(a in low for a in alts), "%r does not mention %s" % (lines[0], alts)
    return lines[0]


def test_auth_without_admin_password_refuses(tmp_path):
    port = conftest.free_port()
    rc, err, out = run_briefly([au.BERTH_BIN, "serve", "--auth", "--listen", "127.0.0.1:%d" % port,
                                "--data", str(tmp_path / "d")])
    assert rc != 0
    one_line(err, "admin", "password")
    assert "listening" not in out + err
    # nothing listens
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:%d/healthz" % port, timeout=2)


def test_missing_password_file_refuses(tmp_path):
    rc, err, _ = run_briefly([au.BERTH_BIN, "serve", "--auth", "--listen", "127.0.0.1:%d" % conftest.free_port(),
                                 "--data", str(tmp_path / "d"), "--admin-password-file",
                                 str(tmp_path / "missing")])
    assert rc != 0
    one_line(err, ("password", "missing"))


def test_admin_password_from_environment(auth_factory):
    pw = au.rand_secret("envpw")
    s = auth_factory(start=False, env={"BERTH_ADMIN_PASSWORD": pw})
    s.remember(pw)
    s.args = lambda: [au.BERTH_BIN, "serve", "--auth", "--listen", s.listen, "--data", s.data]
    s.start()
    au.assert_status(s.req("GET", "/v2/", ("admin", pw)), 200)
    au.assert_status(s.req("GET", "/v2/", ("admin", pw + "x")), 401)
    users = s.api("GET", "/users", cred=("admin", pw), expect=200).json()
    assert [u for u in users if u["name"] == "admin"][0]["sysadmin"] is True


def test_first_start_creates_admin_and_library(auth_factory):
    s = auth_factory()
    users = s.api("GET", "/users", expect=200).json()
    assert [u["name"] for u in users] == ["admin"], users
    assert users[0]["sysadmin"] is True
    lib = s.api("GET", "/projects/library", cred=None, expect=200).json()
    assert lib["name"] == "library" and lib["public"] is True
    # anonymous pull from library works, push does not
    s.seed("library/base")
    au.assert_status(s.req("GET", "/v2/library/base/tags/list"), 200)
    resps, _ = s.push("library/base", "anon", None)
    au.assert_status(resps[0], 401)
    # the admin password file is read at every start; a restart keeps everything
    s.restart()
    au.assert_status(s.req("GET", "/v2/", s.admin), 200)
    au.assert_status(s.req("GET", "/v2/library/base/tags/list"), 200)


def test_non_loopback_without_auth_refuses(tmp_path):
    port = conftest.free_port()
    rc, err, out = run_briefly([au.BERTH_BIN, "serve", "--listen", "0.0.0.0:%d" % port,
                                "--data", str(tmp_path / "d")])
    assert rc != 0, "berth serve started open on 0.0.0.0"
    one_line(err, ("insecure-open", "--auth"))
    assert "listening" not in out + err
    with pytest.raises(requests.ConnectionError):
        requests.get("http://127.0.0.1:%d/healthz" % port, timeout=2)


def test_non_loopback_with_insecure_open_starts(auth_factory):
    s = auth_factory(start=False, auth=False, listen="0.0.0.0", extra_args=["--insecure-open"])
    s.start()
    au.assert_status(s.req("GET", "/v2/"), 200)
    resps, _ = s.push("any/thing", "1", None)
    au.assert_status(resps[-1], 201)
    log = s.read_log().lower()
    assert re.search(r"insecure|open|without (auth|access control)|no (auth|access control)", log), log[-2000:]


def test_loopback_without_auth_serves_open_and_says_so(auth_factory):
    s = auth_factory(start=False, auth=False)
    s.start()
    au.assert_status(s.req("GET", "/v2/"), 200)
    log = s.read_log().lower()
    assert re.search(r"open|without (auth|access control)|no (auth|access control)|unauthenticated", log), \
        log[-2000:]
