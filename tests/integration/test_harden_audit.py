"""Hardening (issue PS, item 1): the audit log stays storable and listable
whatever bytes a client sends. Every byte value goes in as a user name, a
password, a repository name and a User-Agent; then the whole log is listed
page by page through GET /api/v1/audit and `berth admin audit`, and each
attempted user name is found again, escaped (printable ASCII as is, every
other byte and the backslash as \\xHH), so that nothing is lost or hidden.
Credentials with control bytes are malformed (401 before any login): they
leave no login row, but must not break the listing either."""
import base64
import json
import re
import socket

import pytest

import authutil as au
import copyutil as u
from authutil import auth_factory, client_env as env  # noqa: F401  (fixtures)


def unescape(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == "\\" and s[i + 1:i + 2] == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            out += s[i].encode()
            i += 1
    return bytes(out)


def raw_request(s, lines, source):
    """One HTTP/1.1 request sent byte for byte; returns the status line."""
    c = socket.create_connection(("127.0.0.1", s.port), timeout=30, source_address=(source, 0))
    try:
        c.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        data = b""
        while b"\r\n" not in data:
            got = c.recv(4096)
            if not got:
                break
            data += got
        return data.split(b"\r\n", 1)[0]
    finally:
        c.close()


def user_for(b):
    return b"u" + bytes([b]) + b"z"


@pytest.fixture
def srv(auth_factory):
    return auth_factory()


def test_every_byte_value_is_stored_and_listed(srv, env):
    s = srv
    admin_basic = au.basic_header(*s.admin).encode()
    for b in range(256):
        src = "127.40.%d.1" % b
        basic = base64.b64encode(user_for(b) + b":" + b"pw" + bytes([b])).decode()
        ua = b"agent-" + (bytes([b]) if b not in (0, 10, 13) else b"x")
        st = raw_request(s, [b"GET /v2/ HTTP/1.1", b"Host: x",
                             b"Authorization: Basic " + basic.encode(), b"User-Agent: " + ua], src)
        assert st.startswith(b"HTTP/1.1 4"), (b, st)
        # the byte in a repository name, as the administrator (and anonymously)
        repo = b"/v2/team/r%%%02x/manifests/1" % b
        for auth in ([b"Authorization: " + admin_basic], []):
            st = raw_request(s, [b"GET " + repo + b" HTTP/1.1", b"Host: x", b"User-Agent: " + ua]
                             + auth, src)
            assert st.startswith(b"HTTP/1.1 "), (b, st)
    # the whole log, page by page, through the API
    rows, before = [], None
    while True:
        params = {"limit": "1000"}
        if before:
            params["before"] = str(before)
        r = s.api("GET", "/audit", params=params)
        assert r.status_code == 200, (r.status_code, r.content[:300])
        page = json.loads(r.content.decode("utf-8"))
        if not page:
            break
        rows += page
        before = page[-1]["id"]
    whos = {}
    for row in rows:
        for k in ("who", "action", "resource", "address", "result"):
            assert isinstance(row[k], str), row
            assert not re.search(r"[\x00-\x1f\x7f]", row[k]), row
        if row["action"] == "login_failure":
            whos[unescape(row["who"])] = row
    for b in range(256):
        if b < 0x20 or b == 0x7f or b == ord(":"):
            continue   # control bytes are refused as malformed, a colon ends the user name
        assert user_for(b) in whos, "no login_failure row for user %r (have %d rows)" % (
            user_for(b), len(whos))
    # and through the CLI, as text and as JSON
    n_cli = 0
    before = None
    while True:
        args = ["--format", "json", "audit", "--limit", "1000"] + (["--before", str(before)] if before else [])
        p = u.berth("admin", "--server", s.url, "-u", "admin", "--password-stdin", *args, env=env,
                    input=(s.admin_password + "\n").encode(), check=False)
        assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
        page = json.loads(p.stdout.decode("utf-8"))
        if not page:
            break
        n_cli += len(page)
        before = page[-1]["id"]
    assert n_cli >= len(rows)
    p = u.berth("admin", "--server", s.url, "-u", "admin", "--password-stdin", "audit", "--limit",
                "1000", env=env, input=(s.admin_password + "\n").encode(), check=False)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    text = p.stdout.decode("utf-8")
    assert "u\\xffz" in text and "u\\xfez" in text, text[:2000]
