"""`berth gc` on the s3 store (Ceph RGW) and on a directory: blobs no
manifest lists and no repository linked within the grace go (index and data
objects; their old repository links go first), so do
data objects no index names and multipart uploads with no upload state;
referenced blobs stay; a dry run lists without deleting; the grace period
keeps what was just written; pushes running during the sweep survive.
"""
# needs-peer: ceph-rgw
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid

import requests

from conftest import BERTH_BIN, BerthServer
from s3util import (RGW_KEYS, S3Server, dg, endpoint, list_keys, make_bucket, push_manifest,
                    push_monolithic, s3curl)

MiB = 1024 * 1024


def gc(srv, *args):
    p = subprocess.run([BERTH_BIN, "gc", "--data", srv.data, "--format", "json"] + list(args),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def index_key(b):
    h = dg(b)[7:]
    return "blobs/sha256/%s/%s" % (h[:2], h)


def multipart_uploads(ep, bucket):
    code, body = s3curl(ep, RGW_KEYS, "GET", "/%s?uploads=" % bucket)
    assert code == 200, body
    return body.decode().count("<Upload>")


def unlink(srv, repo, b):
    r = requests.delete(srv.url + "/v2/%s/blobs/%s" % (repo, dg(b)))
    assert r.status_code == 202, r.text


def test_orphans_go_referenced_stay_dry_run_deletes_nothing():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    config, layer, linked, orphan = (os.urandom(300), os.urandom(6 * MiB), os.urandom(500),
                                     os.urandom(700))
    with S3Server(ep, RGW_KEYS, bucket) as srv:
        cfg = ["--config", os.path.join(os.path.dirname(srv.data), "config.yml")]
        for b in (config, layer, linked, orphan):
            assert push_monolithic(srv, "t/app", b).status_code == 201
        push_manifest(srv, "t/app", "v1", config, [layer])
        unlink(srv, "t/app", orphan)  # no link, no manifest: garbage
        # `linked` is linked in t/app but listed by no manifest: garbage once
        # the link is older than the grace (a push that never put its manifest).
        # A data object no index names, and a multipart upload with no state.
        stray = "data/%s" % uuid.uuid4()
        assert s3curl(ep, RGW_KEYS, "PUT", "/%s/%s" % (bucket, stray), b"x" * 100)[0] == 200
        code, body = s3curl(ep, RGW_KEYS, "POST",
                            "/%s/data/%s?uploads=" % (bucket, uuid.uuid4()))
        assert code == 200, body
        assert multipart_uploads(ep, bucket) == 1
        time.sleep(1.1)  # LastModified has whole seconds; --grace 0 needs them in the past
        before = sorted(list_keys(ep, RGW_KEYS, bucket))

        # The default grace (an hour) keeps everything just written.
        out = gc(srv, *cfg)
        assert out["deleted"] == [] and out["stats"]["kept_young"] == 4, out
        # A dry run lists what would go and deletes nothing.
        out = gc(srv, *cfg, "--dry-run", "--grace", "0", "--upload-ttl", "0")
        kinds = sorted((d["kind"], d["name"]) for d in out["deleted"])
        assert ("blob", dg(orphan)) in kinds and ("data", stray) in kinds, kinds
        assert ("blob", dg(linked)) in kinds, kinds
        assert [k for k, _ in kinds].count("multipart") == 1, kinds
        assert out["stats"]["blobs_deleted"] == 2 and out["stats"]["kept_referenced"] == 2, out
        assert out["unlinked"] == [{"repository": "t/app", "digest": dg(linked)}], out
        assert sorted(list_keys(ep, RGW_KEYS, bucket)) == before
        assert multipart_uploads(ep, bucket) == 1

        out = gc(srv, *cfg, "--grace", "0", "--upload-ttl", "0")
        assert out["stats"]["blobs_deleted"] == 2, out
        # The orphan's and the unlisted blob's index and data, and the stray
        # data object, are gone.
        assert out["stats"]["data_deleted"] == 3, out
        after = list_keys(ep, RGW_KEYS, bucket)
        for gone in (index_key(orphan), index_key(linked), stray):
            assert gone not in after, after
        for b in (config, layer):
            assert index_key(b) in after
        assert len([k for k in after if k.startswith("data/")]) == 2, after
        assert multipart_uploads(ep, bucket) == 0
        # What is referenced still answers, whole.
        assert requests.get(srv.url + "/v2/t/app/manifests/v1").status_code == 200
        for b in (config, layer):
            r = requests.get(srv.url + "/v2/t/app/blobs/" + dg(b))
            assert r.status_code == 200 and r.content == b
        assert requests.get(srv.url + "/v2/t/app/blobs/" + dg(linked)).status_code == 404
        # A second run finds nothing more.
        out = gc(srv, *cfg, "--grace", "0", "--upload-ttl", "0")
        assert out["deleted"] == [] and out["stats"]["blobs"] == 2, out


def test_pushes_during_the_sweep_survive():
    ep = endpoint()
    bucket = make_bucket(ep, RGW_KEYS)
    orphans = [os.urandom(1000 + i) for i in range(40)]
    with S3Server(ep, RGW_KEYS, bucket) as srv:
        cfg = ["--config", os.path.join(os.path.dirname(srv.data), "config.yml")]
        for b in orphans:
            assert push_monolithic(srv, "t/old", b).status_code == 201
            unlink(srv, "t/old", b)
        time.sleep(2.1)  # older than the grace of 1 s below
        pushed, errors = [], []

        def pusher():
            try:
                for i in range(12):
                    cfgb, layer = os.urandom(200), os.urandom(3000 + i)
                    for b in (cfgb, layer):
                        assert push_monolithic(srv, "t/new", b).status_code == 201
                    push_manifest(srv, "t/new", "v%d" % i, cfgb, [layer])
                    pushed.append((i, cfgb, layer))
            except Exception as e:  # reported below
                errors.append(e)

        t = threading.Thread(target=pusher)
        t.start()
        out = gc(srv, *cfg, "--grace", "1")
        t.join()
        assert not errors, errors
        assert len(pushed) == 12
        for i, cfgb, layer in pushed:
            assert requests.get(srv.url + "/v2/t/new/manifests/v%d" % i).status_code == 200
            for b in (cfgb, layer):
                r = requests.get(srv.url + "/v2/t/new/blobs/" + dg(b))
                assert r.status_code == 200 and r.content == b, (i, r.status_code)
        assert out["stats"]["blobs_deleted"] == len(orphans), out["stats"]
        keys = list_keys(ep, RGW_KEYS, bucket, "blobs/")
        assert not any(index_key(b) in keys for b in orphans)


def test_gc_on_a_directory_store():
    with tempfile.TemporaryDirectory(prefix="berth-gc-") as tmp:
        srv = BerthServer(os.path.join(tmp, "var"), ["--insecure-open"])
        os.makedirs(srv.data)
        srv.start()
        try:
            config, layer, orphan = os.urandom(300), os.urandom(4000), os.urandom(700)
            for b in (config, layer, orphan):
                assert push_monolithic(srv, "t/app", b).status_code == 201
            push_manifest(srv, "t/app", "v1", config, [layer])
            unlink(srv, "t/app", orphan)
            path = os.path.join(srv.data, "blobs", "sha256", dg(orphan)[7:9], dg(orphan)[7:])
            assert os.path.exists(path)
            time.sleep(1.1)
            out = gc(srv, "--dry-run", "--grace", "0")
            assert [d["name"] for d in out["deleted"]] == [dg(orphan)] and os.path.exists(path)
            out = gc(srv, "--grace", "0")
            assert out["stats"]["blobs_deleted"] == 1 and out["stats"]["bytes_deleted"] == 700
            assert not os.path.exists(path)
            for b in (config, layer):
                assert requests.get(srv.url + "/v2/t/app/blobs/" + dg(b)).content == b
        finally:
            assert srv.stop() in (0, None), srv.read_log()
