"""A fault-injecting HTTP proxy between berth and an S3 server, for the s3
store's fault tests. Requests pass through unchanged (the Host header too,
so SigV4 signatures still verify) unless a rule matches: then the proxy
answers an S3 error itself, or hangs without answering. Every request is
counted by its (method, S3 operation) so tests can prove retries."""
import http.client
import http.server
import re
import threading
import time
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade"}


def operation(method, path):
    """A short name for an S3 request: UploadPart, PutIndex, GetIndex, ..."""
    u = urllib.parse.urlsplit(path)
    q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
    if "partNumber" in q:
        return "UploadPart"
    if "uploads" in q:
        return "CreateMultipart"
    if "uploadId" in q:
        return "CompleteMultipart" if method == "POST" else "AbortMultipart"
    if "delete" in q:
        return "DeleteObjects"
    kind = "Index" if "/blobs/" in u.path else "State" if u.path.endswith("/state") else \
        "Tail" if "/tail-" in u.path else "Data" if "/data/" in u.path else "Bucket"
    return {"GET": "Get", "PUT": "Put", "HEAD": "Head", "DELETE": "Delete"}.get(method, method) + kind


class Rule:
    def __init__(self, op, status=None, code="", times=None, hang=None):
        self.op, self.status, self.code, self.times, self.hang = op, status, code, times, hang
        self.hits = 0


class FaultProxy:
    def __init__(self, upstream):
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port
        self.rules = []
        self.counts = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                op = operation(self.command, self.path)
                rule = proxy.take(op)
                if rule and rule.hang:
                    time.sleep(rule.hang)
                    self.close_connection = True
                    return
                if rule:
                    err = ("<?xml version=\"1.0\"?><Error><Code>%s</Code><Message>injected"
                           "</Message></Error>" % rule.code).encode()
                    self.send_response(rule.status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(err)))
                    self.end_headers()
                    self.wfile.write(err)
                    return
                c = http.client.HTTPConnection(proxy.up_host, proxy.up_port, timeout=60)
                c.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in HOP and k.lower() != "expect":
                        c.putheader(k, v)
                c.endheaders(body)
                resp = c.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                c.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def take(self, op):
        with self.lock:
            self.counts[op] = self.counts.get(op, 0) + 1
            for r in self.rules:
                if re.fullmatch(r.op, op) and (r.times is None or r.hits < r.times):
                    r.hits += 1
                    return r
        return None

    def add(self, *a, **kw):
        r = Rule(*a, **kw)
        with self.lock:
            self.rules.append(r)
        return r

    def reset(self):
        with self.lock:
            self.rules.clear()
            self.counts.clear()

    def count(self, op):
        with self.lock:
            return self.counts.get(op, 0)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
