"""Helpers and fixtures of the replication tests (test_replicate*.py): the
brief's Harbor-style YAML read by `berth serve --config`, servers, a
counting proxy in front of the target, and the replication API.

The brief's file (tests/fixtures/brief/harbor-replication.yaml) is used
verbatim apart from its target URL, which points at a local server behind a
counting proxy (tests/integration/peers/proxy.py): the proxy's request log
shows how many blob uploads reached the target, so a second, incremental run
is proven to transfer no blob. The scheduler is driven by the test through
POST /api/v1/replication/tick (enabled by BERTH_REPLICATION_TEST_CLOCK=1).
"""
import json
import os
import shutil
import sys
import time

import pytest
import requests

import conftest  # noqa: F401
import copyutil as u

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from distribution import Distribution  # noqa: E402
from proxy import Proxy  # noqa: E402

BRIEF = os.path.join(conftest.SOURCE_DIR, "tests", "fixtures", "brief", "harbor-replication.yaml")
BRIEF_TARGET = "https://dr-registry.company.com"
RULE = "replicate-to-dr"
API = "/api/v1/replication"


def need_distribution():
    if not shutil.which("docker-registry"):
        pytest.fail("docker-registry (Distribution 2.8) is missing: apt-get install docker-registry")


def brief_config(tmp_path, target_url, replace=None):
    """The brief's YAML with only its target URL changed (and `replace` pairs, if any)."""
    with open(BRIEF) as f:
        text = f.read()
    assert BRIEF_TARGET in text
    text = text.replace(BRIEF_TARGET, target_url)
    for old, new in replace or ():
        assert old in text
        text = text.replace(old, new)
    path = os.path.join(str(tmp_path), "berth.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def push(layout_tag, server, repo_tag):
    u.berth("copy", "--all", "oci:" + layout_tag, "docker://%s/%s" % (server.host, repo_tag))


def api(server, method, path, body=None, status=None):
    r = requests.request(method, server.url + API + path, json=body, timeout=30)
    if status is not None:
        assert r.status_code == status, (method, path, r.status_code, r.text)
    return r


def executions(server, rule=RULE):
    return api(server, "GET", "/executions?rule=%s" % rule, status=200).json()


def wait_executions(server, count, rule=RULE, timeout=60):
    """Wait until `count` executions of `rule` exist and none is running; newest first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ex = executions(server, rule)
        st = api(server, "GET", "/status", status=200).json()
        if len(ex) >= count and all(e["status"] != "running" for e in ex) \
                and st["queued"] == 0 and not st["running"]:
            return ex
        time.sleep(0.1)
    pytest.fail("replication did not finish: %s\n%s" % (executions(server, rule),
                                                         server.read_log()[-3000:]))


def results(server, exec_id):
    return api(server, "GET", "/executions/%d/results" % exec_id, status=200).json()


def manifest_digest(base, repo, ref):
    r = u.registry_get(base, "/v2/%s/manifests/%s" % (repo, ref), method="HEAD")
    return r.headers.get("Docker-Content-Digest") if r.status_code == 200 else None


def upload_blob(server, repo, data):
    """POST then PUT (Distribution 2.8 has no single-POST upload); returns the digest."""
    digest = u.sha256(data)
    r = requests.post(server.url + "/v2/%s/blobs/uploads/" % repo, timeout=10)
    assert r.status_code == 202, r.text
    loc = requests.compat.urljoin(server.url, r.headers["Location"])
    r = requests.put(loc + ("&" if "?" in loc else "?") + "digest=" + digest, data=data,
                     headers={"Content-Type": "application/octet-stream"}, timeout=10)
    assert r.status_code == 201, r.text
    return digest


def put_referrer(server, repo, subject_digest, subject_size, subject_type):
    """An OCI 1.1 artifact whose subject is the given manifest; returns its digest."""
    blob = b'{"predicate": "sbom"}'
    bd = upload_blob(server, repo, blob)
    ed = upload_blob(server, repo, b"{}")
    m = json.dumps({"schemaVersion": 2, "mediaType": u.MT_OCI_MANIFEST,
                    "artifactType": "application/spdx+json",
                    "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": ed,
                               "size": 2},
                    "layers": [{"mediaType": "application/spdx+json", "digest": bd,
                                "size": len(blob)}],
                    "subject": {"mediaType": subject_type, "digest": subject_digest,
                                "size": subject_size}}).encode()
    md = u.sha256(m)
    r = requests.put(server.url + "/v2/%s/manifests/%s" % (repo, md), data=m,
                     headers={"Content-Type": u.MT_OCI_MANIFEST}, timeout=10)
    assert r.status_code == 201, r.text
    return md


def put_referrers_chain(server, repo, digest, n):
    """n referrers: the first of manifest `digest`, each next one of the one
    before (a signature of an attestation of ...); returns their digests."""
    chain = []
    for _ in range(n):
        head = u.registry_get(server.url, "/v2/%s/manifests/%s" % (repo, digest), method="HEAD")
        digest = put_referrer(server, repo, digest, int(head.headers["Content-Length"]),
                              head.headers["Content-Type"])
        chain.append(digest)
    return chain


def catalog(base):
    r = requests.get(base + "/v2/_catalog", timeout=10)
    assert r.status_code == 200
    return r.json().get("repositories") or []


def blob_uploads(proxy):
    """Blob upload requests (POST/PATCH/PUT under /blobs/uploads/) the target saw."""
    return [q for q in proxy.requests if "/blobs/uploads/" in q[1] + "/"
            and q[0] in ("POST", "PATCH", "PUT")]


@pytest.fixture
def target(request, berth_factory, tmp_path):
    """The replication target, another berth or Distribution 2.8, behind a counting proxy."""
    if request.param == "berth":
        srv = berth_factory()
    else:
        need_distribution()
        srv = Distribution(str(tmp_path / "dist")).start()
    proxy = Proxy(srv.url).start()
    yield proxy, srv
    proxy.stop()
    if request.param != "berth":
        srv.stop()


@pytest.fixture
def source(berth_factory, tmp_path, monkeypatch):
    """A berth started with a config file, its scheduler driven by the test."""
    monkeypatch.setenv("BERTH_REPLICATION_TEST_CLOCK", "1")

    def make(config):
        return berth_factory(extra_args=["--config", config])
    return make


def seed(src):
    """apps/web:1.0 (one image), apps/team/api:2.0 (two platforms), other/tool:1.0."""
    push(u.small_image() + ":small", src, "apps/web:1.0")
    push(u.multi_image() + ":multi", src, "apps/team/api:2.0")
    push(u.small_image() + ":small", src, "other/tool:1.0")


