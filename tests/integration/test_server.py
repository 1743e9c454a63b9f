"""Server-level behaviour of `berth serve`: health and metrics endpoints,
request ids, the access log, HEAD lengths, size caps, timeouts, graceful
shutdown and configuration (file, flags, errors).

The registry API itself is covered by the registry's own tests; here a blob
upload is only the vehicle for body streaming, sendfile and HEAD.
"""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import BERTH_BIN, free_port


# ---- helpers ----

def raw_request(host_port, data, timeout=10):
    """Send raw bytes, return everything the server sends until it closes
    or `timeout` passes without data."""
    host, port = host_port.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        return read_until_close(s)


def read_until_close(s):
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(url, repo, data):
    r = requests.post("%s/v2/%s/blobs/uploads/" % (url, repo),
                      params={"digest": digest_of(data)}, data=data,
                      headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    return digest_of(data)


def metric_value(text, name, labels=None):
    """The value of one sample in Prometheus text, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        assert m, "malformed sample line: %r" % line
        if m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if labels is None or all(got.get(k) == v for k, v in labels.items()):
            return float(m.group(3))
    return None


def log_lines(srv):
    return srv.read_log().splitlines()


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def run_serve(args, timeout=20):
    """Run `berth serve` expecting it to exit by itself (errors, --help)."""
    return subprocess.run([BERTH_BIN, "serve"] + args, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def write_config(text):
    f = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)
    f.write(text)
    f.close()
    return f.name


# ---- endpoints ----

def test_healthz_answers_ok(berth):
    r = requests.get(berth.url + "/healthz")
    assert r.status_code == 200
    assert r.text.strip() == "ok"
    h = requests.head(berth.url + "/healthz")
    assert h.status_code == 200
    assert h.headers["Content-Length"] == str(len(r.content))
    assert requests.post(berth.url + "/healthz").status_code == 405


def test_unknown_path_is_a_json_404(berth):
    r = requests.get(berth.url + "/nope")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["errors"][0]["code"] == "NOT_FOUND"


def test_metrics_exposition_and_counters_move(berth):
    before = requests.get(berth.url + "/metrics")
    assert before.status_code == 200
    assert before.headers["Content-Type"].startswith("text/plain")
    base = metric_value(before.text, "berth_http_requests_total",
                        {"route": "healthz", "method": "GET", "code": "200"}) or 0
    for _ in range(3):
        requests.get(berth.url + "/healthz")
    requests.get(berth.url + "/nope")
    push_blob(berth.url, "metrics/test", b"x" * 5000)

    # A request is counted when MHD reports it complete, which can be a moment
    # after the client has read its response: poll until all are in.
    def scrape():
        scrape.text = requests.get(berth.url + "/metrics").text
        return (metric_value(scrape.text, "berth_http_requests_total",
                             {"route": "healthz", "method": "GET", "code": "200"}) == base + 3
                and metric_value(scrape.text, "berth_http_request_bytes_total",
                                 {"route": "upload_start"}) is not None
                and metric_value(scrape.text, "berth_http_requests_total",
                                 {"route": "not_found", "method": "GET", "code": "404"}))
    assert wait_for(scrape), scrape.text
    text = scrape.text
    assert metric_value(text, "berth_http_requests_total",
                        {"route": "not_found", "method": "GET", "code": "404"}) >= 1
    assert metric_value(text, "berth_http_request_bytes_total",
                        {"route": "upload_start"}) >= 5000
    assert metric_value(text, "berth_http_response_bytes_total", {"route": "healthz"}) >= 9
    # every family is announced once with HELP and TYPE, before its samples
    for fam, typ in [("berth_http_requests_total", "counter"),
                     ("berth_http_request_bytes_total", "counter"),
                     ("berth_http_response_bytes_total", "counter"),
                     ("berth_http_request_duration_seconds", "histogram"),
                     ("berth_uploads_in_progress", "gauge"),
                     ("berth_process_start_time_seconds", "gauge")]:
        assert text.count("# TYPE %s %s\n" % (fam, typ)) == 1, fam
        assert text.count("# HELP %s " % fam) == 1, fam
    # histogram: cumulative buckets ending in +Inf == _count
    buckets = [float(v) for v in re.findall(
        r'^berth_http_request_duration_seconds_bucket\{route="healthz",le="[^"]+"\} (\S+)$',
        text, re.M)]
    assert len(buckets) == 15
    assert buckets == sorted(buckets)
    assert buckets[-1] == metric_value(text, "berth_http_request_duration_seconds_count",
                                       {"route": "healthz"})
    assert 'le="0.0005"' in text and 'le="10"' in text
    assert metric_value(text, "berth_uploads_in_progress") == 0
    assert abs(metric_value(text, "berth_process_start_time_seconds") - time.time()) < 3600


# ---- request ids and the access log ----

def test_request_id_is_echoed_or_generated(berth):
    r = requests.get(berth.url + "/v2/", headers={"X-Request-Id": "abc-123.x"})
    assert r.headers["X-Request-Id"] == "abc-123.x"
    # an id that could inject into logs is replaced by a generated one
    r = requests.get(berth.url + "/v2/", headers={"X-Request-Id": "bad id\"{}"})
    gen1 = r.headers["X-Request-Id"]
    assert gen1 and gen1 != "bad id\"{}" and re.match(r"^[0-9a-f]+$", gen1)
    gen2 = requests.get(berth.url + "/v2/").headers["X-Request-Id"]
    assert gen2 != gen1
    assert requests.get(berth.url + "/nope").headers.get("X-Request-Id")


def test_access_log_line_without_secrets(berth):
    requests.get(berth.url + "/v2/", params={"token": "hunter2-query"},
                 headers={"X-Request-Id": "log-check-1", "User-Agent": "pytest-agent",
                          "Authorization": "Bearer hunter2-header"})
    assert wait_for(lambda: "log-check-1" in berth.read_log())
    line = [l for l in log_lines(berth) if "request_id=log-check-1" in l]
    assert len(line) == 1, berth.read_log()
    line = line[0]
    for field in ["remote=127.0.0.1", "method=GET", "path=/v2/", "status=200", "route=base",
                  "bytes_in=0", "bytes_out=", "duration_ms=", "user_agent=pytest-agent"]:
        assert field in line, (field, line)
    assert "hunter2" not in berth.read_log()


def test_access_log_can_be_json_and_disabled(berth_factory):
    srv = berth_factory(["--log-format", "json"])
    requests.get(srv.url + "/healthz", headers={"X-Request-Id": "json-1"})
    assert wait_for(lambda: "json-1" in srv.read_log())
    entries = [json.loads(l) for l in log_lines(srv) if l.startswith("{")]
    assert any(e.get("msg", "").startswith("listening on") for e in entries)
    req = [e for e in entries if e.get("request_id") == "json-1"]
    assert req and req[0]["status"] == "200" and req[0]["path"] == "/healthz"

    quiet = berth_factory(["--no-access-log"])
    requests.get(quiet.url + "/healthz", headers={"X-Request-Id": "quiet-1"})
    requests.get(quiet.url + "/healthz")  # a second request: the first surely completed
    time.sleep(0.2)
    assert "quiet-1" not in quiet.read_log()


# ---- bodies, sendfile and HEAD ----

def test_head_content_length_and_range_get(berth):
    data = os.urandom(300000)
    d = push_blob(berth.url, "head/test", data)
    h = requests.head("%s/v2/head/test/blobs/%s" % (berth.url, d))
    assert h.status_code == 200
    assert h.headers["Content-Length"] == str(len(data))
    assert h.content == b""
    # raw HEAD: the headers end the response, no body bytes follow
    raw = raw_request(berth.host, ("HEAD /v2/head/test/blobs/%s HTTP/1.1\r\nHost: x\r\n"
                                   "Connection: close\r\n\r\n" % d).encode())
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"Content-Length: %d" % len(data) in head and rest == b""
    g = requests.get("%s/v2/head/test/blobs/%s" % (berth.url, d))
    assert g.status_code == 200 and g.content == data
    p = requests.get("%s/v2/head/test/blobs/%s" % (berth.url, d),
                     headers={"Range": "bytes=1000-1999"})
    assert p.status_code == 206 and p.content == data[1000:2000]


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^%s:\s+(\d+) kB" % field, f.read(), re.M).group(1))


def test_large_blob_to_a_loopback_peer_is_exact(berth):
    """Bodies of 4 MiB and more go to loopback peers from a memory mapping
    (src/server/mapped.c): whole, from unaligned offsets, and many at once."""
    data = os.urandom(9 * 1024 * 1024 + 12345)
    d = push_blob(berth.url, "big/blob", data)
    url = "%s/v2/big/blob/blobs/%s" % (berth.url, d)
    g = requests.get(url)
    assert g.status_code == 200 and g.headers["Content-Length"] == str(len(data))
    assert digest_of(g.content) == d
    for first, last in ((4097, 8388700), (1, len(data) - 1), (5000000, None)):
        spec = "bytes=%d-%s" % (first, "" if last is None else last)
        p = requests.get(url, headers={"Range": spec})
        end = len(data) if last is None else last + 1
        assert p.status_code == 206, spec
        assert p.content == data[first:end], spec
    results = []

    def pull():
        results.append(digest_of(requests.get(url).content))

    threads = [threading.Thread(target=pull) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [d] * 8


def test_large_pulls_do_not_pile_up_in_the_resident_set(berth):
    """The mapped pages of a body are dropped as it is sent: pulling a
    128 MiB blob leaves the server's peak RSS well below the body's size."""
    size = 128 * 1024 * 1024
    data = os.urandom(size)
    d = push_blob(berth.url, "big/rss", data)
    del data
    pid = berth.proc.pid
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    base = vm_kib(pid, "VmRSS")
    for _ in range(2):
        h = hashlib.sha256()
        with requests.get("%s/v2/big/rss/blobs/%s" % (berth.url, d), stream=True) as r:
            assert r.status_code == 200
            for chunk in r.iter_content(1 << 20):
                h.update(chunk)
        assert "sha256:" + h.hexdigest() == d
    grown = vm_kib(pid, "VmHWM") - base
    assert grown < 96 * 1024, "peak RSS grew by %d KiB for a %d KiB body" % (grown, size >> 10)


def test_body_rejected_from_headers_is_not_read(berth_factory):
    srv = berth_factory(["--max-blob-bytes", "1000"])
    # declares 1 GiB but sends none of it: the answer must come anyway
    raw = raw_request(srv.host, ("POST /v2/big/blobs/uploads/?digest=%s HTTP/1.1\r\n"
                                 "Host: x\r\nContent-Length: 1073741824\r\n\r\n"
                                 % digest_of(b"")).encode(), timeout=10)
    assert status_of(raw) == 413, raw[:300]
    assert requests.get(srv.url + "/healthz").status_code == 200


def test_oversized_headers_rejected_while_others_are_served(berth):
    results = {}

    def huge():
        hdr = b"X-Filler: " + b"a" * (256 * 1024) + b"\r\n"
        try:
            results["huge"] = raw_request(berth.host, b"GET /v2/ HTTP/1.1\r\nHost: x\r\n" + hdr
                                          + b"\r\n")
        except OSError as e:  # reset while we were still sending
            results["huge"] = repr(e).encode()

    t = threading.Thread(target=huge)
    t.start()
    ok = [requests.get(berth.url + "/healthz").status_code for _ in range(5)]
    t.join(30)
    assert ok == [200] * 5
    st = status_of(results["huge"])
    assert st in (413, 431) or b"Reset" in results["huge"] or b"Broken" in results["huge"], \
        results["huge"][:200]
    assert requests.get(berth.url + "/v2/").status_code == 200


def test_idle_connection_is_closed_after_timeout(berth_factory):
    srv = berth_factory(["--idle-timeout", "1"])
    # the same idle connection to a server with the default timeout (60 s)
    # stays open: the closing below is the timeout's doing
    other = berth_factory()
    ohost, oport = other.host.rsplit(":", 1)
    kept = socket.create_connection((ohost, int(oport)), timeout=30)
    host, port = srv.host.rsplit(":", 1)
    # (the socket timeouts only guard against a hang; recv would raise)
    idle = socket.create_connection((host, int(port)), timeout=30)
    # a half-sent request counts as idle too (slowloris)
    trickle = socket.create_connection((host, int(port)), timeout=30)
    trickle.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
    # others are served meanwhile
    assert requests.get(srv.url + "/healthz").status_code == 200
    assert idle.recv(100) == b""          # closed by the server
    rest = b""
    while True:                           # a socket.timeout here: never closed
        try:
            chunk = trickle.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        rest += chunk
    assert rest == b"" or status_of(rest) == 408, rest[:200]
    kept.setblocking(False)
    with pytest.raises(BlockingIOError):  # nothing to read, and not closed
        kept.recv(100)
    kept.close()
    idle.close()
    trickle.close()
    assert requests.get(srv.url + "/healthz").status_code == 200


# ---- graceful shutdown ----

def test_sigterm_lets_an_in_flight_upload_finish(berth):
    data = os.urandom(200000)
    d = digest_of(data)
    host, port = berth.host.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=20)
    s.sendall(("POST /v2/drain/test/blobs/uploads/?digest=%s HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n"
               % (d, len(data))).encode())
    s.sendall(data[:100000])
    time.sleep(0.3)  # the handler has the request and half its body
    berth.proc.send_signal(signal.SIGTERM)
    assert wait_for(lambda: "draining" in berth.read_log(), 10)
    assert berth.proc.poll() is None, "exited with a request in flight"
    # no new connections are accepted while draining
    with pytest.raises(requests.RequestException):
        requests.get(berth.url + "/healthz", timeout=2)
    s.sendall(data[100000:])
    resp = read_until_close(s)
    s.close()
    assert status_of(resp) == 201, resp[:300]
    assert berth.proc.wait(20) == 0
    assert "stopped" in berth.read_log()


def test_sigint_on_an_idle_server_exits_zero(berth):
    berth.proc.send_signal(signal.SIGINT)
    assert berth.proc.wait(20) == 0


# ---- configuration ----

def test_help_prints_usage():
    r = run_serve(["--help"])
    assert r.returncode == 0
    for flag in ["--listen", "--data", "--config", "--log-level", "--log-format", "--threads",
                 "--upload-purge-age", "--max-manifest-bytes", "--idle-timeout"]:
        assert flag in r.stdout, flag


def test_config_file_is_read(berth_factory):
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="berth-cfg-") as d:
        cfg = write_config("""\
version: 0.1
http:
  addr: 127.0.0.1:%d
storage:
  filesystem:
    rootdirectory: %s/blobs
database:
  sqlite:
    path: %s/meta.db
log:
  level: info
  format: json
  accesslog:
    disabled: false
limits:
  threads: 9
  idle_timeout: 30
  max_manifest_bytes: 65536
  upload_purge_age: 3600
""" % (port, d, d))
        try:
            proc = subprocess.Popen([BERTH_BIN, "serve", "--config", cfg],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
            url = "http://127.0.0.1:%d" % port
            assert wait_for(lambda: _answers(url), 15), "not listening on the config's addr"
            proc.send_signal(signal.SIGTERM)
            out = proc.communicate(timeout=20)[0].decode()
            assert proc.returncode == 0, out
        finally:
            if proc.poll() is None:
                proc.kill()
            os.unlink(cfg)
        # the healthz request may be logged before the start line: find it
        first = json.loads([l for l in out.splitlines() if "listening on" in l][0])
        assert first["msg"] == "listening on 127.0.0.1:%d" % port
        assert first["threads"] == "9"
        assert first["data"] == d + "/blobs" and first["db"] == d + "/meta.db"
        assert os.path.isfile(os.path.join(d, "meta.db"))
        assert os.path.isdir(os.path.join(d, "blobs"))


def _answers(url):
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_flags_override_the_config_file(berth_factory):
    other = free_port()
    cfg = write_config("http:\n  addr: 127.0.0.1:%d\nlog:\n  format: json\n"
                       "limits:\n  threads: 9\n" % other)
    try:
        # the fixture adds --listen and --data, which must win over the file
        srv = berth_factory(["--config", cfg, "--threads", "10"])
    finally:
        os.unlink(cfg)
    assert requests.get(srv.url + "/healthz").status_code == 200
    assert not _answers("http://127.0.0.1:%d" % other)
    first = json.loads([l for l in log_lines(srv) if "listening on" in l][0])
    assert first["threads"] == "10" and first["data"] == srv.data


@pytest.mark.parametrize("text,key", [
    ("limits:\n  bogus: 1\n", "limits.bogus"),
    ("nothere: 1\n", "nothere"),
    ("limits:\n  threads: lots\n", "limits.threads"),
    ("limits:\n  threads: 0\n", "limits.threads"),
    ("limits:\n  idle_timeout: -5\n", "limits.idle_timeout"),
    ("log:\n  level: loud\n", "log.level"),
    ("log:\n  format: xml\n", "log.format"),
    ("log:\n  accesslog:\n    disabled: maybe\n", "log.accesslog.disabled"),
    ("http: 5000\n", "http"),
    ("http:\n  addr:\n    x: 1\n", "http.addr"),
    ("http:\n  addr: [oops\n", "line"),
])
def test_bad_config_exits_2_naming_the_key(text, key):
    cfg = write_config(text)
    try:
        r = run_serve(["--config", cfg, "--listen", "127.0.0.1:%d" % free_port()])
    finally:
        os.unlink(cfg)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert key in lines[0] and cfg in lines[0], lines[0]


@pytest.mark.parametrize("args", [
    ["--threads", "0"], ["--log-level", "chatty"], ["--bogus"], ["--listen"],
    ["--upload-purge-age", "soon"], ["--max-manifest-bytes", "12x"],
])
def test_bad_flags_exit_2(args):
    r = run_serve(args)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_missing_config_file_exits_2():
    r = run_serve(["--config", "/nonexistent/berth.yml"])
    assert r.returncode == 2
    assert "/nonexistent/berth.yml" in r.stderr


def test_port_in_use_exits_1():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with tempfile.TemporaryDirectory() as d:
            r = run_serve(["--listen", "127.0.0.1:%d" % port, "--data", d])
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "in use" in lines[0], r.stderr


def test_unusable_data_dir_exits_1():
    with tempfile.NamedTemporaryFile() as f:
        r = run_serve(["--listen", "127.0.0.1:%d" % free_port(), "--data", f.name])
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_bad_listen_address_exits_1():
    with tempfile.TemporaryDirectory() as d:
        r = run_serve(["--listen", "nocolon", "--data", d])
    assert r.returncode == 1
    assert "nocolon" in r.stderr


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_listens_on_ipv6(berth_factory):
    assert _has_ipv6_loopback(), ("this host has no IPv6 loopback (::1), which the test needs: "
                                  "enable it with 'sysctl -w net.ipv6.conf.lo.disable_ipv6=0'")
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen([BERTH_BIN, "serve", "--listen", "[::1]:%d" % port, "--data", d],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert wait_for(lambda: _answers("http://[::1]:%d" % port), 15)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
