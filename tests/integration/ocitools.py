"""Helpers for berth's OCI distribution protocol tests (tests/integration/test_proto_*.py).

A `Client` wraps one running `berth serve` (the `berth` fixture of conftest.py)
with a requests.Session whose response hook asserts the
Docker-Distribution-API-Version header on every /v2 response. Builders make
manifests, indexes and artifacts as *bytes* (with odd whitespace and key order
on purpose: the registry must serve them back byte for byte). `raw_request`
speaks HTTP/1.1 over a plain socket for truncated bodies and huge headers.
"""
import hashlib
import json
import socket
import time
from urllib.parse import urljoin

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

EMPTY_JSON = b"{}"
API_VERSION = "registry/2.0"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data):
    return "sha512:" + hashlib.sha512(data).hexdigest()


def digest_of(data, algo="sha256"):
    return sha512(data) if algo == "sha512" else sha256(data)


def descriptor(media_type, data, **extra):
    d = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    d.update(extra)
    return d


def odd_json(obj):
    """Serialise with unusual but valid formatting: reversed key order, tabs,
    spaces before colons, CRLF line breaks and a trailing newline. A registry
    that re-serialises would change the bytes (and the digest)."""
    def enc(o, depth):
        pad = "\t" * depth
        if isinstance(o, dict):
            if not o:
                return "{ }"
            items = ["%s\t%s :  %s" % (pad, json.dumps(k), enc(o[k], depth + 1))
                     for k in reversed(list(o.keys()))]
            return "{\r\n" + ",\r\n".join(items) + "\r\n" + pad + "}"
        if isinstance(o, list):
            if not o:
                return "[ ]"
            return "[ " + " ,  ".join(enc(v, depth + 1) for v in o) + " ]"
        return json.dumps(o)
    return (enc(obj, 0) + "\n").encode()


def image_config(seed="x"):
    """A small, unique image config blob (bytes)."""
    return json.dumps({"architecture": "amd64", "os": "linux",
                       "config": {"Env": ["SEED=%s" % seed]},
                       "rootfs": {"type": "layers", "diff_ids": []}}).encode()


def manifest(config, layers, media_type=OCI_MANIFEST, config_type=None, layer_type=None,
             subject=None, artifact_type=None, annotations=None, with_media_type=True,
             extra=None):
    """Image manifest bytes. `config` and `layers` are blob bytes; `extra` adds
    top-level fields (unknown fields must be ignored by the registry)."""
    docker = media_type == DOCKER_MANIFEST
    config_type = config_type or (DOCKER_CONFIG if docker else OCI_CONFIG)
    layer_type = layer_type or (DOCKER_LAYER if docker else OCI_LAYER)
    m = {"schemaVersion": 2}
    if with_media_type:
        m["mediaType"] = media_type
    if artifact_type:
        m["artifactType"] = artifact_type
    m["config"] = descriptor(config_type, config)
    m["layers"] = [descriptor(layer_type, l) for l in layers]
    if subject:
        m["subject"] = subject
    if annotations:
        m["annotations"] = annotations
    m.update(extra or {})
    return odd_json(m)


def index(children, media_type=OCI_INDEX, subject=None, artifact_type=None, annotations=None):
    """Index / manifest list bytes. `children` are (media_type, manifest bytes) pairs."""
    m = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type:
        m["artifactType"] = artifact_type
    archs = ["amd64", "arm64", "s390x", "ppc64le", "riscv64"]
    m["manifests"] = [descriptor(mt, body, platform={"architecture": archs[i % 5], "os": "linux"})
                      for i, (mt, body) in enumerate(children)]
    if subject:
        m["subject"] = subject
    if annotations:
        m["annotations"] = annotations
    return odd_json(m)


def artifact(subject_type, subject_body, artifact_type, payload, annotations=None):
    """An OCI artifact manifest (image manifest with artifactType and the empty config)."""
    subject = descriptor(subject_type, subject_body)
    return manifest(EMPTY_JSON, [payload], config_type=OCI_EMPTY,
                    layer_type="application/octet-stream", subject=subject,
                    artifact_type=artifact_type, annotations=annotations)


def errors(resp):
    """The error list of an error response (asserting the spec's JSON shape)."""
    ct = resp.headers.get("Content-Type", "")
    assert ct.split(";")[0].strip() == "application/json", \
        "error Content-Type %r, body %r" % (ct, resp.content[:300])
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"], body
    for e in body["errors"]:
        assert isinstance(e.get("code"), str) and e["code"], e
        assert isinstance(e.get("message", ""), str), e
    return body["errors"]


def assert_error(resp, status, code):
    """Assert an error response: status, JSON body with `code` (HEAD: status only).
    `code` may be a tuple of acceptable codes."""
    assert resp.status_code == status, "expected %d %s, got %d: %r" % (
        status, code, resp.status_code, resp.content[:500])
    assert resp.headers.get("Docker-Distribution-API-Version") == API_VERSION
    if resp.request is not None and resp.request.method == "HEAD":
        assert resp.content == b""
        return None
    errs = errors(resp)
    codes = [e["code"] for e in errs]
    wanted = code if isinstance(code, tuple) else (code,)
    for w in wanted:
        if w in codes:
            return errs[codes.index(w)]
    raise AssertionError("expected %s in %r" % (code, codes))


def parse_range(value):
    """Upload Range header '0-<end>' (optionally 'bytes=0-<end>') -> end (int)."""
    assert value is not None, "missing Range header"
    v = value.strip()
    if v.startswith("bytes="):
        v = v[len("bytes="):]
    start, end = v.split("-")
    assert int(start) == 0, value
    return int(end)


def _check_api_version(resp, *args, **kwargs):
    if "/v2" in resp.request.path_url:
        assert resp.headers.get("Docker-Distribution-API-Version") == API_VERSION, \
            "%s %s: missing Docker-Distribution-API-Version (got %r)" % (
                resp.request.method, resp.request.path_url, dict(resp.headers))


class Client:
    """A registry client for one running server."""

    def __init__(self, server, timeout=30):
        self.server = server
        self.base = server.url
        self.timeout = timeout
        self.s = requests.Session()
        self.s.hooks["response"].append(_check_api_version)

    def url(self, path):
        return urljoin(self.base + "/", path)

    def req(self, method, path, **kw):
        kw.setdefault("timeout", self.timeout)
        kw.setdefault("allow_redirects", False)
        return self.s.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def head(self, path, **kw):
        return self.req("HEAD", path, **kw)

    def put(self, path, **kw):
        return self.req("PUT", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def patch(self, path, **kw):
        return self.req("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    # ---- blobs ----

    def start_upload(self, name, **params):
        r = self.post("/v2/%s/blobs/uploads/" % name, params=params or None)
        assert r.status_code == 202, (r.status_code, r.content)
        loc = r.headers["Location"]
        assert loc.startswith("/v2/%s/blobs/uploads/" % name) or \
            loc.startswith(self.base + "/v2/%s/blobs/uploads/" % name), loc
        return r

    @staticmethod
    def with_digest(location, digest):
        return location + ("&" if "?" in location else "?") + "digest=" + digest

    def push_blob(self, name, data, algo="sha256"):
        """Monolithic POST ?digest=; returns the digest."""
        d = digest_of(data, algo)
        r = self.post("/v2/%s/blobs/uploads/" % name, params={"digest": d}, data=data,
                      headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, (r.status_code, r.content)
        assert r.headers.get("Docker-Content-Digest") == d
        return d

    def push_blob_chunked(self, name, data, chunk=7, algo="sha256", last_in_put=True):
        """POST, PATCH chunks with Content-Range, PUT ?digest= (with the last chunk if asked)."""
        d = digest_of(data, algo)
        loc = self.start_upload(name).headers["Location"]
        parts = [data[i:i + chunk] for i in range(0, len(data), chunk)] or [b""]
        final = parts.pop() if last_in_put and len(parts) > 1 else b""
        off = 0
        for p in parts:
            r = self.patch(loc, data=p, headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": "%d-%d" % (off, off + len(p) - 1)})
            assert r.status_code == 202, (r.status_code, r.content)
            off += len(p)
            assert parse_range(r.headers.get("Range")) == off - 1
            loc = r.headers["Location"]
        headers = {"Content-Type": "application/octet-stream"}
        if final:
            headers["Content-Range"] = "%d-%d" % (off, off + len(final) - 1)
        r = self.put(self.with_digest(loc, d), data=final, headers=headers)
        assert r.status_code == 201, (r.status_code, r.content)
        assert r.headers.get("Docker-Content-Digest") == d
        return d

    def blob_exists(self, name, digest):
        r = self.head("/v2/%s/blobs/%s" % (name, digest))
        assert r.status_code in (200, 404), r.status_code
        return r.status_code == 200

    # ---- manifests ----

    def put_manifest(self, name, ref, body, media_type=OCI_MANIFEST, expect=201):
        r = self.put("/v2/%s/manifests/%s" % (name, ref), data=body,
                     headers={"Content-Type": media_type})
        if expect is not None:
            assert r.status_code == expect, (r.status_code, r.content[:500])
        return r

    def push_image(self, name, tag, seed="x", nlayers=1, media_type=OCI_MANIFEST, **kw):
        """Push a config + layers + manifest; returns (manifest bytes, digest)."""
        cfg = image_config(seed)
        self.push_blob(name, cfg)
        layers = []
        for i in range(nlayers):
            layer = ("layer %s %d " % (seed, i)).encode() * 3
            self.push_blob(name, layer)
            layers.append(layer)
        body = manifest(cfg, layers, media_type=media_type, **kw)
        r = self.put_manifest(name, tag, body, media_type)
        assert r.headers.get("Docker-Content-Digest") == sha256(body)
        return body, sha256(body)


# ---- raw HTTP over a socket ----

def read_response(sock, timeout=10):
    """Read one HTTP/1.1 response: (status, {lower-name: value}, body). Status 0 if the
    connection closed before a status line arrived."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.time() + timeout
    while b"\r\n\r\n" not in buf:
        if time.time() > deadline:
            raise TimeoutError("no response head")
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            if not buf:
                return 0, {}, b""
            break
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(body) < n:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                break
            if not chunk:
                break
            body += chunk
    return status, headers, body


def connect(server, timeout=10):
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def send_head(sock, server, method, path, headers=None):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % server.host]
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


def raw_request(server, method, path, headers=None, body=b"", timeout=10):
    """Send a complete request over a fresh socket, tolerating the server closing
    early (e.g. after answering 413 before reading the body)."""
    headers = dict(headers or {})
    headers.setdefault("Content-Length", str(len(body)))
    headers.setdefault("Connection", "close")
    with connect(server, timeout) as s:
        send_head(s, server, method, path, headers)
        try:
            for i in range(0, len(body), 65536):
                s.sendall(body[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(s, timeout)
