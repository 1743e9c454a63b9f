"""berth serve as a pull-through mirror (P8), continued: access control (P3
projects, members and robots) through the mirror, and tag validation times
that survive a restart. Upstream is a real Distribution 2.8 behind a
counting proxy (peers/proxy.py), so "nothing reached upstream" is counted.
"""
import json
import os
import sqlite3
import time

import requests

import mirrorutil as mu
from authutil import assert_challenge, auth_factory  # noqa: F401
from test_mirror import upstream  # noqa: F401


def _pull_as(srv, cred, repo, ref, ns=None):
    """Manifest and blobs through the mirror as `cred`; returns the manifest response,
    and the blob statuses."""
    params = {"ns": ns} if ns else None
    r = srv.req("GET", "/v2/%s/manifests/%s" % (repo, ref), cred, params=params,
                headers={"Accept": mu.ACCEPT})
    if r.status_code != 200:
        return r, []
    man = json.loads(r.content)
    got = []
    for d in [man["config"]] + man["layers"]:
        b = srv.req("GET", "/v2/%s/blobs/%s" % (repo, d["digest"]), cred, params=params)
        got.append(b.status_code)
        if b.status_code == 200:
            assert mu.digest_of(b.content) == d["digest"]
    return r, got


def test_mirror_access_control(upstream, auth_factory, tmp_path):  # noqa: F811
    pa, da = upstream()
    dig, man = mu.push_image(da.url, "library/busybox", "latest", [b"acl-layer" * 300],
                             label="acl")
    layer = json.loads(man)["layers"][0]["digest"]
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "ttl": "1h"})
    srv = auth_factory(extra_args=["--config", cfg])
    # The proxied project is docker.io (local names are docker.io/library/...).
    srv.add_project("docker.io", public=False)
    reader = srv.add_user("reader")
    outsider = srv.add_user("outsider")
    srv.set_member("docker.io", "reader", "guest")
    robot = srv.add_robot("mirror-pull", [{"project": "docker.io", "actions": ["pull"]}],
                          expires_in_days=1)
    other = srv.add_robot("other-pull", [{"project": "library", "actions": ["pull"]}],
                          expires_in_days=1)

    # Anonymous: a Bearer challenge for the local name; nothing asked upstream.
    r = srv.req("GET", "/v2/busybox/manifests/latest", None, headers={"Accept": mu.ACCEPT})
    assert_challenge(srv, r, "docker.io/library/busybox", "pull")
    r = srv.req("GET", "/v2/busybox/blobs/" + layer)
    assert r.status_code == 401, r.status_code
    # Signed in but without pull on docker.io: refused, nothing asked upstream.
    for cred in (outsider, other):
        r, _ = _pull_as(srv, cred, "busybox", "latest")
        assert r.status_code in (403, 404), (cred[0], r.status_code, r.text)
        r = srv.req("GET", "/v2/busybox/blobs/" + layer, cred)
        assert r.status_code in (403, 404), (cred[0], r.status_code)
    assert pa.requests == [], pa.requests

    # A guest member (Basic) and a pull robot (Bearer from the token service) pull.
    r, blobs = _pull_as(srv, reader, "busybox", "latest")
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == dig, r.text
    assert blobs == [200, 200]
    assert len(mu.blob_gets(pa, layer)) == 1
    tok = srv.bearer(robot, "repository:docker.io/library/busybox:pull")
    r, blobs = _pull_as(srv, tok, "busybox", "latest")
    assert r.status_code == 200 and blobs == [200, 200]
    # A token for another repository does not open this one.
    tok2 = srv.bearer(robot, "repository:docker.io/library/other:pull")
    r = srv.req("GET", "/v2/busybox/manifests/latest", tok2, headers={"Accept": mu.ACCEPT})
    assert r.status_code in (401, 403), r.status_code
    # Still refused once cached: the cache is no way around the project's rules.
    r = srv.req("GET", "/v2/busybox/blobs/" + layer, outsider)
    assert r.status_code in (403, 404), r.status_code
    r = srv.req("GET", "/v2/busybox/blobs/" + layer, None)
    assert r.status_code == 401
    # A public project lets anyone pull through the mirror, as a registry would.
    srv.api("PUT", "/projects/docker.io", {"public": True}, expect=204)
    r, blobs = _pull_as(srv, None, "busybox", "latest")
    assert r.status_code == 200 and blobs == [200, 200], r.text
    assert len(mu.blob_gets(pa, layer)) == 1


def test_mirror_tag_validation_survives_restart(upstream, berth_factory, tmp_path):  # noqa: F811
    pa, da = upstream()
    dig, _ = mu.push_image(da.url, "library/busybox", "latest", [b"restart" * 60])
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "ttl": "1h"})
    srv = berth_factory(extra_args=["--config", cfg])
    assert mu.pull(srv.url, "busybox", "latest")[0] == dig
    db = sqlite3.connect(os.path.join(srv.data, "berth.db"))
    rows = db.execute("SELECT repo, tag, checked FROM mirror_tags").fetchall()
    db.close()
    assert [(r[0], r[1]) for r in rows] == [("docker.io/library/busybox", "latest")], rows

    srv.restart()
    before = len(pa.requests)
    # Within the ttl after a restart: served from the cache, upstream not asked.
    assert mu.pull(srv.url, "busybox", "latest")[0] == dig
    assert len(pa.requests) == before, pa.requests[before:]
    m = mu.metrics(srv)
    assert m["revalidations_total"] == 0 and m["hits_total"] >= 3, m

    # A ttl shorter than the stamp's age revalidates once (the stamp is read, not trusted).
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "ttl": "1s"})
    srv.extra_args = ["--config", cfg]
    time.sleep(1.1)
    srv.restart()
    assert mu.pull(srv.url, "busybox", "latest")[0] == dig
    heads = [q for q in pa.requests[before:] if q[0] == "HEAD"]
    assert len(heads) == 1, pa.requests[before:]
    assert mu.metrics(srv)["revalidations_total"] == 1
    assert requests.get(srv.url + "/v2/", timeout=10).status_code == 200


def _push_referrer(base, repo, subject_digest, subject_size):
    """An OCI artifact manifest whose subject is the image; returns its digest."""
    empty = mu.push_blob(base, repo, b"{}")
    man = json.dumps({"schemaVersion": 2, "mediaType": mu.OCI_MANIFEST,
                      "artifactType": "application/vnd.example.signature",
                      "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                 "digest": empty, "size": 2},
                      "layers": [{"mediaType": "application/vnd.oci.empty.v1+json",
                                  "digest": empty, "size": 2}],
                      "subject": {"mediaType": mu.OCI_MANIFEST, "digest": subject_digest,
                                  "size": subject_size}}).encode()
    d = mu.digest_of(man)
    r = requests.put("%s/v2/%s/manifests/%s" % (base, repo, d), data=man,
                     headers={"Content-Type": mu.OCI_MANIFEST}, timeout=30)
    assert r.status_code == 201, r.text
    return d


def _tags(srv, repo, **params):
    r = requests.get("%s/v2/%s/tags/list" % (srv.url, repo), params=params, timeout=30)
    return r


def test_mirror_tags_and_referrers_upstream_first_then_cache(berth_factory, tmp_path):
    up = berth_factory()  # a berth upstream: it has the referrers API
    dig, man = mu.push_image(up.url, "library/busybox", "latest", [b"tags" * 100], label="t")
    mu.push_image(up.url, "library/busybox", "1.0", [b"old" * 100], label="o")
    sig = _push_referrer(up.url, "library/busybox", dig, len(man))
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": up.url, "ttl": "1h"})
    srv = berth_factory(extra_args=["--config", cfg])

    # Online: upstream's lists, though nothing was pulled yet.
    r = _tags(srv, "busybox")
    assert r.status_code == 200 and r.json() == {"name": "busybox", "tags": ["1.0", "latest"]}
    r = _tags(srv, "busybox", n=1)
    assert r.json()["tags"] == ["1.0"], r.text
    assert "last=1.0" in r.headers.get("Link", "") and 'rel="next"' in r.headers["Link"], r.headers
    assert _tags(srv, "busybox", n=1, last="1.0").json()["tags"] == ["latest"]
    r = requests.get("%s/v2/busybox/referrers/%s" % (srv.url, dig), timeout=30)
    assert r.status_code == 200, r.text
    assert [x["digest"] for x in r.json()["manifests"]] == [sig]
    assert _tags(srv, "nothing-here").status_code == 404

    # Pull the image and its signature through the mirror: both are cached.
    assert mu.pull(srv.url, "busybox", "latest")[0] == dig
    assert mu.get_manifest(srv.url, "busybox", sig).status_code == 200
    stale = mu.metrics(srv)["stale_hits_total"]

    # Offline: the cache answers with what it holds, and the log says so.
    up.stop()
    r = _tags(srv, "busybox")
    assert r.status_code == 200 and r.json()["tags"] == ["latest"], r.text
    r = requests.get("%s/v2/busybox/referrers/%s" % (srv.url, dig), timeout=30)
    assert r.status_code == 200, r.text
    assert [x["digest"] for x in r.json()["manifests"]] == [sig]
    assert r.json()["manifests"][0].get("artifactType") == "application/vnd.example.signature"
    assert mu.metrics(srv)["stale_hits_total"] == stale + 2
    log = srv.read_log()
    assert "cached tag list of docker.io/library/busybox" in log, log[-2000:]
    assert "cached referrers of docker.io/library/busybox" in log
    # Never pulled, upstream down: the registry's own 404, not a hang.
    assert _tags(srv, "nothing-here").status_code == 404
