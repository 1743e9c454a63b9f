"""Helpers of the mirror tests (test_mirror*.py): upstream Distributions
seeded over HTTP, a berth started as a mirror from a YAML config, and its
/metrics counters.
"""
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile

import pytest
import requests

import conftest  # noqa: F401

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from distribution import Distribution  # noqa: E402,F401
from proxy import Proxy  # noqa: E402,F401

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = ",".join([OCI_MANIFEST, "application/vnd.oci.image.index.v1+json",
                   "application/vnd.docker.distribution.manifest.v2+json",
                   "application/vnd.docker.distribution.manifest.list.v2+json"])


def need_distribution():
    if not shutil.which("docker-registry"):
        pytest.fail("docker-registry (Distribution 2.8) is missing: apt-get install docker-registry")


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_layer(files):
    """An uncompressed tar layer of {path: bytes}, deterministic."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in sorted(files.items()):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def push_blob(base, repo, data, auth=None):
    d = digest_of(data)
    r = requests.post("%s/v2/%s/blobs/uploads/" % (base, repo), auth=auth, timeout=60)
    assert r.status_code == 202, r.text
    loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = base + loc
    r = requests.put(loc + ("&" if "?" in loc else "?") + "digest=" + d, data=data, auth=auth,
                     headers={"Content-Type": "application/octet-stream"}, timeout=600)
    assert r.status_code == 201, r.text
    return d


def push_image(base, repo, tag, layers, auth=None, label="x"):
    """An OCI image of `layers` (bytes each) pushed as repo:tag; returns (digest, manifest bytes)."""
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Labels": {"l": label}},
                         "rootfs": {"type": "layers", "diff_ids": [digest_of(b) for b in layers]}}
                        ).encode()
    cd = push_blob(base, repo, config, auth)
    descs = [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": push_blob(base, repo, b, auth),
              "size": len(b)} for b in layers]
    man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": cd, "size": len(config)},
                      "layers": descs}).encode()
    r = requests.put("%s/v2/%s/manifests/%s" % (base, repo, tag), data=man, auth=auth,
                     headers={"Content-Type": OCI_MANIFEST}, timeout=60)
    assert r.status_code == 201, r.text
    return digest_of(man), man


def mirror_config(tmp_path, upstreams=None, proxy=None, extra=""):
    """A berth YAML config with `upstreams` (list of dicts) and/or `proxy` (dict)."""
    lines = []
    if proxy:
        lines.append("proxy:")
        lines += ["  %s: %s" % (k, json.dumps(v)) for k, v in proxy.items()]
    if upstreams:
        lines.append("upstreams:")
        for u in upstreams:
            first = True
            for k, v in u.items():
                lines.append("  %s %s: %s" % ("-" if first else " ", k, json.dumps(v)))
                first = False
    path = os.path.join(str(tmp_path), "mirror.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + extra)
    return path


def metrics(server):
    r = requests.get(server.url + "/metrics", timeout=10)
    assert r.status_code == 200
    out = {}
    for line in r.text.splitlines():
        m = re.match(r"^(berth_mirror_[a-z_]+) (\d+)$", line)
        if m:
            out[m.group(1)[len("berth_mirror_"):]] = int(m.group(2))
    assert "hits_total" in out, r.text[-2000:]
    return out


def get_manifest(base, repo, ref, ns=None, method="GET"):
    params = {"ns": ns} if ns else None
    return requests.request(method, "%s/v2/%s/manifests/%s" % (base, repo, ref), params=params,
                            headers={"Accept": ACCEPT}, timeout=60)


def get_blob(base, repo, digest, ns=None):
    params = {"ns": ns} if ns else None
    return requests.get("%s/v2/%s/blobs/%s" % (base, repo, digest), params=params, timeout=120)


def pull(base, repo, ref, ns=None):
    """Manifest and every blob through `base`; returns (manifest digest, {digest: bytes})."""
    r = get_manifest(base, repo, ref, ns)
    assert r.status_code == 200, (r.status_code, r.text)
    man = json.loads(r.content)
    blobs = {}
    for d in [man["config"]] + man["layers"]:
        b = get_blob(base, repo, d["digest"], ns)
        assert b.status_code == 200, (b.status_code, b.text[:300])
        assert digest_of(b.content) == d["digest"]
        blobs[d["digest"]] = b.content
    return r.headers["Docker-Content-Digest"], blobs


def blob_gets(proxy, digest):
    return [q for q in proxy.requests if q[0] == "GET" and q[1].endswith("/blobs/" + digest)]
