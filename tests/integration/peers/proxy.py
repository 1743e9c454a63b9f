#!/usr/bin/env python3
"""A streaming HTTP/1.1 reverse proxy for registry tests, with faults to order.

It forwards every request to an upstream registry (berth serve or
Distribution), streaming request and response bodies in both directions
(Content-Length or chunked), keeps the client's Host header and rewrites
upstream Location headers to point back at the proxy, so that clients stay
behind it. On top of plain forwarding it can:

  bearer        demand Bearer tokens issued by a TokenServer (tokenserver.py):
                401 with `WWW-Authenticate: Bearer realm,service,scope` when a
                request carries no token, an expired or revoked one, or one
                whose scope does not cover the repository and action
  cut           once, cut the connection (both sides) after `cut_after` bytes
                of the body of a blob upload (PATCH/PUT under /blobs/uploads/)
  wrong-bytes   serve blob GETs of `target` (a digest, or "*" for every layer
                blob over 1 KiB) with bytes flipped: same length, wrong digest
  truncate      serve blob GETs of `target` with the full Content-Length
                but only half the bytes, then close the connection; a Range
                header on those GETs is dropped (200, from byte 0 again), so a
                client that resumes with Range requests meets the same fault
  redirect-loop answer blob GETs of `target` with 307 to itself, forever
  huge-manifest answer manifest GETs (and HEADs) by tag with a 50 MiB JSON body
  error         answer blob GETs and upload requests (POST/PATCH/PUT under
                /blobs/uploads/) with `status` (503 by default; with
                Retry-After: 0 for 429/503) instead of forwarding them
  full          a target with `capacity` bytes of room: upload POST/PATCH/PUT
                bodies (by Content-Length) are counted, and one that would
                pass the capacity is answered with `status` as a full
                registry answers: 507 (Insufficient Storage), 413 (an HTML
                page, as nginx sends) or 403 DENIED naming the quota (as
                Harbor does); raise `capacity` to free room

`faults` limits how many times the fault fires (None: every time), to test
retries: e.g. mode "truncate" with faults=1 is one transient failure.

Every request is logged in `self.requests` as (method, path, status) for
tests to assert on. Run in-process (Proxy(...).start()) or as a script:
  proxy.py UPSTREAM_URL [--mode MODE] [--target DIGEST] [--cut-after N]
"""
import argparse
import http.client
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
       "upgrade", "proxy-authorization"}
BLOB_GET = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
MANIFEST = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
REPO = re.compile(r"^/v2/(.+)/(blobs|manifests|tags|referrers)/")
HUGE = 50 << 20


class _Cut(Exception):
    pass


def _read_chunked(rfile):
    """Yield the chunks of a chunked request body."""
    while True:
        line = rfile.readline(1024)
        if not line:
            raise _Cut("client closed inside a chunked body")
        n = int(line.split(b";", 1)[0].strip() or b"0", 16)
        if n == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return
        left = n
        while left:
            b = rfile.read(min(left, 1 << 16))
            if not b:
                raise _Cut("client closed inside a chunk")
            left -= len(b)
            yield b
        rfile.readline(8)


def _read_length(rfile, n):
    while n > 0:
        b = rfile.read(min(n, 1 << 16))
        if not b:
            raise _Cut("client closed inside the body")
        n -= len(b)
        yield b


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    # every method goes through the same path
    def do_GET(self):
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _body_iter(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            return _read_chunked(self.rfile), None
        n = int(self.headers.get("Content-Length") or 0)
        return _read_length(self.rfile, n), n

    def _send_simple(self, status, headers=None, body=b""):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.server.proxy.log(self.command, self.path, status)

    def _abort(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle(self):
        p = self.server.proxy
        path = urllib.parse.urlsplit(self.path).path
        try:
            if p.mode == "bearer" and not p.check_bearer(self, path):
                return
            if p.pre(self, path):
                return
            self._forward(path)
        except (_Cut, ConnectionError, socket.timeout, BrokenPipeError) as e:
            p.log(self.command, self.path, "cut: %s" % e)
            self._abort()

    def _forward(self, path):
        p = self.server.proxy
        up = http.client.HTTPConnection(p.up_host, p.up_port, timeout=120)
        try:
            body, length = self._body_iter()
            fwd_path = p.rewrite_request_path(self, self.path)
            m = BLOB_GET.match(path)
            strip_range = (p.mode == "truncate" and m and self.command == "GET"
                           and p.is_target(m.group(2), None) and (p.faults is None or p.fired < p.faults))
            up.putrequest(self.command, fwd_path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() in HOP or k.lower() == "content-length":
                    continue
                if k.lower() == "authorization" and p.mode == "bearer":
                    continue  # the upstream has no auth; the token was for the proxy
                if k.lower() == "range" and strip_range:
                    continue
                up.putheader(k, v)
            chunked = length is None
            has_body = self.command in ("POST", "PUT", "PATCH") or (length or 0) > 0
            if chunked:
                up.putheader("Transfer-Encoding", "chunked")
            elif has_body or length:
                up.putheader("Content-Length", str(length))
            up.endheaders()
            sent = 0
            cut_here = p.should_cut(self.command, path)
            for b in body:
                if cut_here and sent + len(b) > p.cut_after:
                    part = b[:max(0, p.cut_after - sent)]
                    if part:
                        up.send((b"%x\r\n" % len(part)) + part + b"\r\n" if chunked else part)
                    p.cut_done = True
                    p.log(self.command, self.path, "cut after %d bytes" % (sent + len(part)))
                    time.sleep(0.2)  # let the upstream take the partial body
                    up.sock.shutdown(socket.SHUT_RDWR)
                    self._abort()
                    return
                up.send((b"%x\r\n" % len(b)) + b + b"\r\n" if chunked else b)
                sent += len(b)
            if chunked:
                up.send(b"0\r\n\r\n")
            with p._lock:
                p.bodies.append((self.command, self.path, sent))
            resp = up.getresponse()
            self._relay(resp, path)
        finally:
            up.close()

    def _relay(self, resp, path):
        p = self.server.proxy
        self.send_response(resp.status, resp.reason)
        clen = None
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk in HOP:
                continue
            if lk == "content-length":
                clen = int(v)
            if lk == "location":
                v = p.rewrite_location(v, self)
            self.send_header(k, v)
        no_body = self.command == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
        chunked = clen is None and not no_body
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        p.log(self.command, self.path, resp.status)
        if no_body:
            return
        m = BLOB_GET.match(path)
        fault = m and self.command == "GET" and resp.status in (200, 206) and p.is_target(m.group(2), clen) \
            and p.mode in ("wrong-bytes", "truncate") and p.fire()
        sent = 0
        while True:
            b = resp.read(1 << 16)
            if not b:
                break
            if fault and p.mode == "wrong-bytes":
                b = bytes(x ^ 0x5A for x in b)
            if fault and p.mode == "truncate" and clen is not None and sent + len(b) > clen // 2:
                b = b[:clen // 2 - sent]
                self.wfile.write(b)
                self.wfile.flush()
                p.log(self.command, self.path, "truncated at %d of %d" % (clen // 2, clen))
                self._abort()
                return
            self.wfile.write((b"%x\r\n" % len(b)) + b + b"\r\n" if chunked else b)
            sent += len(b)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class Proxy:
    """A proxy on 127.0.0.1:<port> in front of `upstream` ("http://host:port")."""

    def __init__(self, upstream, mode="forward", target="*", cut_after=4 << 20, tokens=None,
                 port=0, faults=None, status=503, capacity=0):
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port or 80
        self.mode = mode
        self.target = target
        self.cut_after = cut_after
        self.cut_done = False
        self.faults = faults
        self.status = status
        self.fired = 0
        self.capacity = capacity  # mode full: bytes of room, and what was used
        self.used = 0
        self.tokens = tokens  # a tokenserver.TokenServer for mode "bearer"
        self.requests = []
        self.bodies = []  # (method, path, request body bytes) of forwarded requests
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.proxy = self
        self.port = self.server.server_address[1]
        self.host = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.host
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log(self, method, path, status):
        with self._lock:
            self.requests.append((method, path, status))

    # ---- hooks ----

    def rewrite_location(self, v, handler):
        for up in ("http://%s:%d" % (self.up_host, self.up_port),
                   "http://localhost:%d" % self.up_port):
            if v.startswith(up):
                return "http://" + (handler.headers.get("Host") or self.host) + v[len(up):]
        return v

    def rewrite_request_path(self, handler, raw_path):
        return raw_path

    def should_cut(self, method, path):
        return (self.mode == "cut" and not self.cut_done and method in ("PATCH", "PUT", "POST")
                and "/blobs/uploads/" in path + "/")

    def fire(self):
        """Count one fault; False once the `faults` budget is spent."""
        with self._lock:
            if self.faults is not None and self.fired >= self.faults:
                return False
            self.fired += 1
            return True

    def is_target(self, digest, clen):
        if self.target == "*":
            return clen is None or clen > 1024
        return digest == self.target

    FULL_BODIES = {
        507: ("application/json", b'{"errors":[{"code":"UNKNOWN","message":'
              b'"insufficient storage: no space left on device"}]}'),
        413: ("text/html", b"<html><head><title>413 Request Entity Too Large</title></head>"
              b"<body><center><h1>413 Request Entity Too Large</h1></center></body></html>"),
        403: ("application/json", b'{"errors":[{"code":"DENIED","message":"Quota exceeded '
              b'when processing the request of adding 100 KiB of storage resource, which '
              b'when updated to current usage of 1 MiB will exceed the configured upper '
              b'limit of 1 MiB."}]}'),
    }

    def full_refuses(self, h, path):
        """Mode full: count an upload's bytes, or answer it as a full registry."""
        if h.command not in ("POST", "PATCH", "PUT") or "/blobs/uploads/" not in path + "/":
            return False
        n = int(h.headers.get("Content-Length") or 0)
        with self._lock:
            if self.used + n <= self.capacity:
                self.used += n
                return False
            self.fired += 1
        body, _ = h._body_iter()
        for _ in body:
            pass
        ctype, text = self.FULL_BODIES[self.status]
        h._send_simple(self.status, {"Content-Type": ctype}, text)
        return True

    def pre(self, h, path):
        """Faults that replace the upstream's answer entirely. True if answered."""
        if self.mode == "full" and self.full_refuses(h, path):
            return True
        m = BLOB_GET.match(path)
        if self.mode == "error" and ((m and h.command == "GET") or "/blobs/uploads/" in path + "/") \
                and self.fire():
            # drain the request body first so the connection stays usable
            body, _ = h._body_iter()
            for _ in body:
                pass
            hdr = {"Content-Type": "application/json"}
            if self.status in (429, 503):
                hdr["Retry-After"] = "0"
            h._send_simple(self.status, hdr,
                           b'{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}')
            return True
        if self.mode == "redirect-loop" and m and h.command in ("GET",) and self.is_target(m.group(2), None):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
            n = int(q.get("loop", ["0"])[0]) + 1
            h._send_simple(307, {"Location": "%s?loop=%d" % (path, n)})
            return True
        m = MANIFEST.match(path)
        if self.mode == "huge-manifest" and m and h.command in ("GET", "HEAD") \
                and not m.group(2).startswith("sha256:"):
            body = self.huge_manifest()
            import hashlib
            h._send_simple(200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                 "Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest()},
                           body)
            return True
        return False

    _huge = None

    def huge_manifest(self):
        if Proxy._huge is None:
            head = json.dumps({"schemaVersion": 2,
                               "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": "sha256:" + "0" * 64, "size": 2},
                               "layers": [], "annotations": {"pad": "@"}}).encode()
            pad = b"x" * (HUGE - len(head) + 1)
            Proxy._huge = head.replace(b'"@"', b'"' + pad + b'"')
        return Proxy._huge

    def check_bearer(self, h, path):
        """True if the request may pass; else answers 401 and returns False."""
        ts = self.tokens
        m = REPO.match(path)
        if m:
            action = "pull" if h.command in ("GET", "HEAD") else "push"
            if h.command == "DELETE":
                action = "delete"
            scope = "repository:%s:%s" % (m.group(1), "pull" if action == "pull" else "pull," + action)
            need = (m.group(1), action)
        else:
            scope, need = None, None
        auth = h.headers.get("Authorization", "")
        tok = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if tok and ts.allows(tok, need):
            if m and h.command == "POST" and "mount=" in h.path:
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
                frm = q.get("from", [""])[0]
                if not ts.allows(tok, (frm, "pull")):
                    # as Distribution does: no pull on `from`, no mount; plain upload
                    h.path = path + "?"
            return True
        chal = 'Bearer realm="%s",service="%s"' % (ts.realm, ts.service)
        if scope:
            chal += ',scope="%s"' % scope
        if tok:
            chal += ',error="invalid_token"'
        h._send_simple(401, {"WWW-Authenticate": chal, "Content-Type": "application/json"},
                       b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
        return False


def main():
    ap = argparse.ArgumentParser(description="registry test proxy")
    ap.add_argument("upstream")
    ap.add_argument("--mode", default="forward")
    ap.add_argument("--target", default="*")
    ap.add_argument("--cut-after", type=int, default=4 << 20)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="alice:s3cret", help="bearer mode: NAME:PASS for the token server")
    a = ap.parse_args()
    tokens = None
    if a.mode == "bearer":
        import tokenserver
        u, pw = a.user.split(":", 1)
        tokens = tokenserver.TokenServer({u: pw}).start()
        print("token server", tokens.realm, flush=True)
    p = Proxy(a.upstream, a.mode, a.target, a.cut_after, tokens, a.port).start()
    print(p.host, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
