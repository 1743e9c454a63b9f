"""`berth gc` marks from manifests (docs/gc.md): two images share a base
layer in one repository; one is deleted (DELETE of its manifest, as `docker
rmi` on a registry does); the next gc drops the repository links no manifest
lists any more and frees exactly the deleted image's own config and layer;
the other image pulls whole; a blob uploaded within the grace whose manifest
is not there yet (a push in progress) keeps its link and its bytes.

Every combination of the two stores (a directory, S3 on Ceph RGW) and the
two metadata drivers (SQLite, PostgreSQL), the gc run as a separate process
on the server's configuration.
"""
# needs-peer: postgres
# needs-peer: ceph-rgw
import json
import os
import subprocess
import tempfile
import time

import pytest
import requests

import conftest
from conftest import BERTH_BIN, BerthServer
from s3util import RGW_KEYS, dg, endpoint, list_keys, make_bucket, push_monolithic, s3_config

MiB = 1024 * 1024
GRACE = 3  # seconds; the images are pushed more than this before the gc


def manifest(config, layers):
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": dg(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": dg(b),
                    "size": len(b)} for b in layers]}).encode()


def put_manifest(srv, repo, tag, body):
    r = requests.put(srv.url + "/v2/%s/manifests/%s" % (repo, tag), data=body,
                     headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    return r.headers["Docker-Content-Digest"]


def stored(store, where, b):
    """Whether the store holds blob b: the file (fs) or the index object (s3)."""
    h = dg(b)[7:]
    if store == "fs":
        return os.path.exists(os.path.join(where, "blobs", "sha256", h[:2], h))
    ep, bucket = where
    return ("blobs/sha256/%s/%s" % (h[:2], h)) in list_keys(ep, RGW_KEYS, bucket, "blobs/")


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
@pytest.mark.parametrize("store", ["fs", "s3"])
def test_deleting_an_image_frees_its_own_layers(store, database, monkeypatch):
    if database == "postgres":
        assert os.environ.get("BERTH_TEST_PG_DSN"), "run through ctest (fixture postgres)"
        monkeypatch.setenv("BERTH_TEST_DATABASE", "postgres")
    else:
        monkeypatch.delenv("BERTH_TEST_DATABASE", raising=False)
    with tempfile.TemporaryDirectory(prefix="berth-gcm-") as tmp:
        data = os.path.join(tmp, "var")
        os.makedirs(data)
        args = ["--insecure-open"]
        if store == "s3":
            ep = endpoint()
            bucket = make_bucket(ep, RGW_KEYS)
            cfg = os.path.join(tmp, "config.yml")
            with open(cfg, "w") as f:
                f.write(s3_config(ep, RGW_KEYS, bucket))
            args += ["--config", cfg]
            where = (ep, bucket)
        else:
            where = data
        srv = BerthServer(data, args)
        srv.start()
        try:
            run(srv, store, where, args)
        finally:
            assert srv.stop() in (0, None), srv.read_log()


def gc(srv, args, *more):
    env = dict(os.environ)
    db = conftest.pg_database_for(srv.data)
    if db:
        env["BERTH_DATABASE_URL"] = db
    cfg = [a for a in args if a != "--insecure-open"]
    p = subprocess.run([BERTH_BIN, "gc", "--data", srv.data, "--format", "json"] + cfg +
                       list(more), capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def run(srv, store, where, args):
    base = os.urandom(6 * MiB)  # over the s3 store's 5 MiB part
    cfg1, own1 = b'{"image": 1}' + os.urandom(64), os.urandom(300 * 1024)
    cfg2, own2 = b'{"image": 2}' + os.urandom(64), os.urandom(200 * 1024)
    for b in (base, cfg1, own1, cfg2, own2):
        assert push_monolithic(srv, "team/app", b).status_code == 201
    m1 = put_manifest(srv, "team/app", "one", manifest(cfg1, [base, own1]))
    m2 = put_manifest(srv, "team/app", "two", manifest(cfg2, [base, own2]))
    assert m1 != m2

    r = requests.delete(srv.url + "/v2/team/app/manifests/" + m2)
    assert r.status_code == 202, r.text
    time.sleep(GRACE + 1.5)
    # A push in progress: its layer is committed, its manifest not yet put.
    young = os.urandom(100 * 1024)
    assert push_monolithic(srv, "team/app", young).status_code == 201

    dry = gc(srv, args, "--grace", str(GRACE), "--dry-run")
    out = gc(srv, args, "--grace", str(GRACE))
    want = sorted([dg(cfg2), dg(own2)])
    for o in (dry, out):
        assert sorted(d["name"] for d in o["deleted"] if d["kind"] == "blob") == want, o
        assert sorted((u["repository"], u["digest"]) for u in o["unlinked"]) == \
            [("team/app", d) for d in want], o
        assert o["stats"]["links_dropped"] == 2
    assert out["stats"]["blobs_deleted"] == 2
    assert out["stats"]["bytes_deleted"] == len(cfg2) + len(own2)
    for b in (cfg2, own2):
        assert not stored(store, where, b)
        r = requests.get(srv.url + "/v2/team/app/blobs/" + dg(b))
        assert r.status_code == 404, r.status_code
    for b in (base, cfg1, own1, young):
        assert stored(store, where, b)
    # The remaining image pulls whole, and the young blob is still linked.
    r = requests.get(srv.url + "/v2/team/app/manifests/one",
                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 200
    for d in json.loads(r.content)["layers"] + [json.loads(r.content)["config"]]:
        b = requests.get(srv.url + "/v2/team/app/blobs/" + d["digest"])
        assert b.status_code == 200 and dg(b.content) == d["digest"], d
    r = requests.get(srv.url + "/v2/team/app/blobs/" + dg(young))
    assert r.status_code == 200 and r.content == young
    # Its manifest arrives after the gc: the push completes.
    put_manifest(srv, "team/app", "three", manifest(cfg1, [young]))
    # A second run frees nothing more.
    again = gc(srv, args, "--grace", str(GRACE))
    assert again["deleted"] == [] and again["unlinked"] == [], again
