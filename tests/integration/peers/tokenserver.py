#!/usr/bin/env python3
"""A small Bearer token server (the Docker registry token flow) for tests.

GET /token?service=S&scope=repository:NAME:pull,push[&scope=...] with HTTP
Basic credentials answers {"token", "access_token", "expires_in",
"issued_at"} when the user and password match, 401 otherwise (anonymous
requests too). Every granted token is random, remembered with its scopes and
expiry, and checked by proxy.Proxy in mode "bearer" (`allows`). Counters for
tests: `fetches` (granted), `refused` (401s), `scopes_seen`.
`revoke_all()` makes every issued token invalid, as a registry restart or a
key rotation would, to exercise a client's re-fetch on 401.

Run in-process: TokenServer({"alice": "pw"}, expires_in=60).start()
"""
import base64
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        ts = self.server.ts
        u = urllib.parse.urlsplit(self.path)
        if u.path != "/token":
            return self._send(404, {"error": "not found"})
        q = urllib.parse.parse_qs(u.query)
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                name, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
                if ts.users.get(name) == pw and name:
                    user = name
            except (ValueError, UnicodeDecodeError):
                pass
        if q.get("service", [""])[0] != ts.service or user is None:
            with ts.lock:
                ts.refused += 1
            return self._send(401, {"errors": [{"code": "UNAUTHORIZED",
                                                "message": "bad credentials or service"}]},
                              {"WWW-Authenticate": 'Basic realm="berth-token"'})
        grants = set()
        for sc in q.get("scope", []):
            for one in sc.split(" "):
                parts = one.split(":")
                if len(parts) >= 3 and parts[0] == "repository":
                    name = ":".join(parts[1:-1])
                    for a in parts[-1].split(","):
                        grants.add((name, a))
        tok = secrets.token_hex(24)
        with ts.lock:
            ts.fetches += 1
            ts.scopes_seen.extend(q.get("scope", []))
            ts.issued[tok] = (grants, time.time() + ts.expires_in)
        self._send(200, {"token": tok, "access_token": tok, "expires_in": ts.expires_in,
                         "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


class TokenServer:
    def __init__(self, users, service="berth-test-registry", expires_in=300, port=0):
        self.users = dict(users)
        self.service = service
        self.expires_in = expires_in
        self.lock = threading.Lock()
        self.issued = {}
        self.fetches = 0
        self.refused = 0
        self.scopes_seen = []
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.ts = self
        self.port = self.server.server_address[1]
        self.realm = "http://127.0.0.1:%d/token" % self.port

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def revoke_all(self):
        with self.lock:
            self.issued.clear()

    def allows(self, tok, need):
        """Token `tok` is valid and (if `need` = (repo, action)) grants it."""
        with self.lock:
            g = self.issued.get(tok)
            if not g or g[1] < time.time():
                return False
            if need is None:
                return True
            repo, action = need
            return (repo, action) in g[0] or (repo, "*") in g[0]
