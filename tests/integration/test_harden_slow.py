"""Hardening (issue PS, item 3): trickling connections do not hold the
server. --header-timeout bounds the time a request head may take to
arrive, --min-upload-rate the average rate of a request body over a window,
and --max-connections-per-address how many connections one address may
hold; each is also a config file key. Forty connections trickling from one
address leave other addresses (127.0.0.2, ...) served."""
import hashlib
import os
import socket
import threading
import time

import requests

from conftest import berth_factory  # noqa: F401  (fixture)
from authutil import SourceAdapter


def trickler(port, stop, closed, i):
    """A connection that sends its request head one byte every second."""
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        closed.append(("refused", i))
        return
    head = b"GET /v2/ HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    try:
        c.sendall(head[:20])
        for b in head[20:]:
            if stop.is_set():
                break
            c.sendall(bytes([b]))
            try:
                c.settimeout(1.0)
                if c.recv(1024) == b"":
                    closed.append(("closed", i))
                    return
            except socket.timeout:
                pass
        closed.append(("open", i))
    except OSError:
        closed.append(("closed", i))
    finally:
        c.close()


def get_from(url, source):
    with requests.Session() as s:
        s.mount("http://", SourceAdapter(source))
        return s.get(url, timeout=10)


def test_forty_tricklers_from_one_address_leave_others_served(berth_factory):
    srv = berth_factory(extra_args=["--max-connections", "20", "--max-connections-per-address",
                                    "8", "--header-timeout", "4", "--idle-timeout", "60"])
    stop = threading.Event()
    closed = []
    threads = [threading.Thread(target=trickler, args=(srv.port, stop, closed, i), daemon=True)
               for i in range(40)]
    for t in threads:
        t.start()
    time.sleep(2)
    try:
        for k in range(2, 8):
            r = get_from(srv.url + "/v2/", "127.0.0.%d" % k)
            assert r.status_code == 200, r.status_code
    finally:
        # the trickling heads are cut once the header timeout is over
        for t in threads:
            t.join(90)
        stop.set()
    kinds = [k for k, _ in closed]
    assert len(kinds) == 40
    assert "open" not in kinds, "a trickling head outlived --header-timeout: %r" % kinds
    # the address is served again once its tricklers are gone (the server
    # frees a closed connection's per-address slot in its own time: under
    # asan that can trail the client's close; poll for it)
    deadline = time.monotonic() + 15
    while True:
        try:
            status = get_from(srv.url + "/v2/", "127.0.0.1").status_code
        except requests.exceptions.ConnectionError as e:
            status = repr(e)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200, status


def upload(srv, data, rate, source="127.0.0.9"):
    """PUT `data` as a monolithic upload at about `rate` bytes/s; returns the
    status, or "closed" if the server cut the connection."""
    r = requests.post(srv.url + "/v2/slow/app/blobs/uploads/", timeout=10)
    assert r.status_code == 202, r.status_code
    loc = r.headers["Location"]
    path = loc if loc.startswith("/") else "/" + loc.split("/", 3)[3]
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    sep = "&" if "?" in path else "?"
    c = socket.create_connection(("127.0.0.1", srv.port), timeout=30, source_address=(source, 0))
    try:
        c.sendall(("PUT %s%sdigest=%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                   "Content-Type: application/octet-stream\r\n\r\n" % (path, sep, digest, len(data))).encode())
        step = max(1, rate // 10)
        for i in range(0, len(data), step):
            try:
                c.sendall(data[i:i + step])
            except OSError:
                return "closed"
            time.sleep(0.1)
        got = b""
        while b"\r\n" not in got:
            try:
                d = c.recv(4096)
            except OSError:
                return "closed"
            if not d:
                return "closed"
            got += d
        return int(got.split(b" ")[1])
    finally:
        c.close()


def test_min_upload_rate(berth_factory, tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("version: 0.1\nlimits:\n  min_upload_rate: 1000\n  min_upload_rate_window: 2\n")
    srv = berth_factory(extra_args=["--config", str(cfg)])
    # slow but steady (about 5000 bytes/s) and long: it completes
    assert upload(srv, os.urandom(30000), 5000) == 201
    # a trickle (about 100 bytes/s) is cut off
    assert upload(srv, os.urandom(3000), 100) == "closed"
    # the flag sets the same setting
    win = tmp_path / "window.yml"
    win.write_text("limits:\n  min_upload_rate_window: 2\n")
    srv2 = berth_factory(extra_args=["--config", str(win), "--min-upload-rate", "1000"])
    assert upload(srv2, os.urandom(3000), 100) == "closed"


def test_limits_in_the_config_file(berth_factory, tmp_path):
    cfg = tmp_path / "config.yml"
    cfg.write_text("limits:\n  header_timeout: 3\n  max_connections_per_address: 2\n"
                   "  min_upload_rate: 10\n")
    srv = berth_factory(extra_args=["--config", str(cfg)])
    held = []
    try:
        for _ in range(2):
            held.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
            held[-1].sendall(b"GET /v2/ HTTP/1.1\r\n")
            time.sleep(0.5)   # accepted in this order (MHD's pool threads accept in parallel)
        third = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        third.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
        third.settimeout(10)
        try:
            got = third.recv(100)
        except OSError:
            got = b""
        assert got == b"", got   # refused: the address holds its two
        third.close()
        # the two held heads are closed by the header timeout
        for c in held:
            c.settimeout(30)
            try:
                got = c.recv(100)
            except socket.timeout:
                got = "still open after 30 s"
            except OSError:
                got = b""
            assert got == b"", got
            c.close()
        # The address's count drops when the server has finished those
        # connections, which may be just after the client saw them closed.
        deadline = time.time() + 10
        while True:
            try:
                r = get_from(srv.url + "/v2/", "127.0.0.1")
                break
            except requests.ConnectionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        assert r.status_code == 200
    finally:
        for c in held:
            c.close()
