"""Replication (issue P8), continued: deletions by a manual run, signatures
and referrers, pull replication from Distribution into berth, and faults (a
target refusing auth, berth killed -9 mid-execution, bad rules).
Helpers and fixtures: replutil.py.
"""
import json
import os
import time

import pytest
import requests

import conftest
import copyutil as u
from replutil import (API, RULE, Distribution, Proxy, api, blob_uploads, brief_config,  # noqa: F401
                      catalog, manifest_digest, need_distribution, push, put_referrer,
                      put_referrers_chain, results, source, target, wait_executions)


@pytest.mark.parametrize("target", ["berth"], indirect=True)
def test_manual_run_propagates_deleted_tags_when_configured(target, source, tmp_path):
    proxy, dst = target
    cfg = brief_config(tmp_path, proxy.url,
                       [('        pattern: "apps/**"', '        pattern: "apps/**"\n    delete: true')])
    src = source(cfg)
    push(u.small_image() + ":small", src, "apps/web:1.0")
    push(u.small_image() + ":small", src, "apps/web:old")
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    wait_executions(src, 1)
    assert manifest_digest(dst.url, "apps/web", "old")
    # Gone at the source (tag deleted), gone at the target after the next run.
    assert requests.delete(src.url + "/v2/apps/web/manifests/old", timeout=10).status_code == 202
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 2)
    assert ex[0]["summary"]["deleted"] == 1, ex
    assert manifest_digest(dst.url, "apps/web", "old") is None
    assert manifest_digest(dst.url, "apps/web", "1.0")


def pull_server(berth_factory, tmp_path, dist):
    """A berth with the rule from-dist: pull apps/** from Distribution `dist`."""
    cfg = tmp_path / "pull.yaml"
    cfg.write_text("replication:\n"
                   "  - name: from-dist\n"
                   "    source: %s\n"
                   "    direction: pull\n"
                   "    filters:\n"
                   "      - pattern: \"apps/**\"\n" % dist.url)
    return berth_factory(extra_args=["--config", str(cfg)])


def run_pull(srv, count):
    """Run from-dist once more; the executions, newest first, once `count` exist."""
    api(srv, "POST", "/policies/from-dist/run", status=202)
    return wait_executions(srv, count, rule="from-dist")


def referrers_tag(digest):
    """The referrers tag schema's tag of a manifest digest: sha256-<hex>."""
    return digest.replace(":", "-")


@pytest.mark.parametrize("target", ["berth", "distribution"], indirect=True)
def test_signatures_and_referrers_arrive(target, source, tmp_path):
    proxy, dst = target
    kind = "distribution" if isinstance(dst, Distribution) else "berth"
    src = source(brief_config(tmp_path, proxy.url))
    push(u.small_image() + ":small", src, "apps/web:1.0")
    d = manifest_digest(src.url, "apps/web", "1.0")
    head = u.registry_get(src.url, "/v2/apps/web/manifests/1.0", method="HEAD")
    size = int(head.headers["Content-Length"])
    mt = head.headers["Content-Type"]
    # A cosign-style signature tag and an OCI referrer (an SBOM).
    push(u.small_image() + ":small", src, "apps/web:%s.sig" % referrers_tag(d))
    ref = put_referrer(src, "apps/web", d, size, mt)

    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 1)
    assert ex[0]["status"] == "succeeded", (ex, results(src, ex[0]["id"]))
    assert manifest_digest(dst.url, "apps/web", referrers_tag(d) + ".sig")
    assert manifest_digest(dst.url, "apps/web", ref) == ref
    r = requests.get(dst.url + "/v2/apps/web/referrers/" + d, timeout=10)
    if kind == "berth":
        assert r.status_code == 200
        assert [m["digest"] for m in r.json()["manifests"]] == [ref]
    else:
        # No referrers API there: the referrers tag schema's index lists the SBOM.
        assert r.status_code == 404
        idx = u.registry_get(dst.url, "/v2/apps/web/manifests/" + referrers_tag(d))
        assert idx.status_code == 200, idx.text
        assert [(m["digest"], m.get("artifactType")) for m in idx.json()["manifests"]] == \
            [(ref, "application/spdx+json")]
    # A second run adds nothing: the referrer is skipped, the index keeps one entry.
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 2)
    assert ex[0]["status"] == "succeeded" and ex[0]["summary"]["copied"] == 0, ex[0]
    if kind == "distribution":
        idx = u.registry_get(dst.url, "/v2/apps/web/manifests/" + referrers_tag(d))
        assert [m["digest"] for m in idx.json()["manifests"]] == [ref]


@pytest.mark.parametrize("target", ["berth", "distribution"], indirect=True)
def test_referrers_of_referrers_arrive_three_levels_down(target, source, tmp_path):
    proxy, dst = target
    src = source(brief_config(tmp_path, proxy.url))
    push(u.small_image() + ":small", src, "apps/web:1.0")
    chain = put_referrers_chain(src, "apps/web", manifest_digest(src.url, "apps/web", "1.0"), 4)
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 1)
    assert ex[0]["status"] == "succeeded", (ex, results(src, ex[0]["id"]))
    assert ex[0]["summary"]["copied"] == 4, ex[0]  # the image and three levels of referrers
    assert [manifest_digest(dst.url, "apps/web", r) for r in chain] == chain[:3] + [None]
    # Each level is listed under its subject: the API, or the tag schema without one.
    if isinstance(dst, Distribution):
        idx = u.registry_get(dst.url, "/v2/apps/web/manifests/" + referrers_tag(chain[1]))
    else:
        idx = u.registry_get(dst.url, "/v2/apps/web/referrers/" + chain[1])
    assert [m["digest"] for m in idx.json()["manifests"]] == [chain[2]]


def test_pull_from_distribution_brings_referrers_of_the_tag_schema(berth_factory, tmp_path):
    """A referrer kept at Distribution through the referrers tag schema arrives
    at berth as a real referrer (its referrers API lists it), not as a tag."""
    need_distribution()
    with Distribution(str(tmp_path / "dist")) as dist:
        push(u.small_image() + ":small", dist, "apps/web:1.0")
        d = manifest_digest(dist.url, "apps/web", "1.0")
        head = u.registry_get(dist.url, "/v2/apps/web/manifests/1.0", method="HEAD")
        ref = put_referrer(dist, "apps/web", d, int(head.headers["Content-Length"]),
                           head.headers["Content-Type"])
        # What an OCI 1.1 client pushing to Distribution 2.8 writes next to it.
        rm = u.registry_get(dist.url, "/v2/apps/web/manifests/" + ref, method="HEAD")
        idx = json.dumps({"schemaVersion": 2, "mediaType": u.MT_OCI_INDEX, "manifests": [
            {"mediaType": u.MT_OCI_MANIFEST, "digest": ref,
             "size": int(rm.headers["Content-Length"]),
             "artifactType": "application/spdx+json"}]}).encode()
        r = requests.put(dist.url + "/v2/apps/web/manifests/" + referrers_tag(d), data=idx,
                         headers={"Content-Type": u.MT_OCI_INDEX}, timeout=10)
        assert r.status_code == 201, r.text
        srv = pull_server(berth_factory, tmp_path, dist)
        ex = run_pull(srv, 1)
        assert ex[0]["status"] == "succeeded", (ex, results(srv, ex[0]["id"]))
        assert ex[0]["summary"]["copied"] == 2, ex[0]  # the image and its referrer
        r = requests.get(srv.url + "/v2/apps/web/referrers/" + d, timeout=10)
        assert r.status_code == 200
        assert [(m["digest"], m.get("artifactType")) for m in r.json()["manifests"]] == \
            [(ref, "application/spdx+json")]
        tags = requests.get(srv.url + "/v2/apps/web/tags/list", timeout=10).json()["tags"]
        assert tags == ["1.0"], tags
        # Incremental: the second run copies nothing.
        ex = run_pull(srv, 2)
        assert ex[0]["summary"]["copied"] == 0, ex[0]


def test_pull_from_distribution(berth_factory, tmp_path, monkeypatch):
    need_distribution()
    with Distribution(str(tmp_path / "dist")) as dist:
        push(u.small_image() + ":small", dist, "apps/web:1.0")
        push(u.multi_image() + ":multi", dist, "apps/team/api:2.0")
        push(u.small_image() + ":small", dist, "other/tool:1.0")
        srv = pull_server(berth_factory, tmp_path, dist)
        ex = run_pull(srv, 1)
        assert ex[0]["status"] == "succeeded", (ex, results(srv, ex[0]["id"]))
        for repo, tag in (("apps/web", "1.0"), ("apps/team/api", "2.0")):
            assert manifest_digest(srv.url, repo, tag) == manifest_digest(dist.url, repo, tag)
            u.assert_same_image(u.read_registry(srv.url, repo, tag), u.read_registry(dist.url, repo, tag), True)
        assert "other/tool" not in catalog(srv.url)
        # Incremental: the second run copies nothing.
        ex = run_pull(srv, 2)
        assert ex[0]["summary"]["copied"] == 0 and ex[0]["summary"]["skipped"] == 2


def test_target_refusing_auth_fails_the_execution(berth_factory, source, tmp_path):
    need_distribution()
    with Distribution(str(tmp_path / "dist"), users={"dr": "dr-secret"}) as dist:
        src = source(brief_config(tmp_path, dist.url))
        push(u.small_image() + ":small", src, "apps/web:1.0")
        api(src, "POST", "/policies/%s/run" % RULE, status=202)
        ex = wait_executions(src, 1)
        assert ex[0]["status"] == "failed", ex
        assert "requires authentication" in ex[0]["summary"]["message"], ex
        assert results(src, ex[0]["id"]) == []
        assert "dr-secret" not in src.read_log()

        # A registry made through the API: its password is sealed in the database.
        api(src, "POST", "/registries", {"name": "dr-api", "url": dist.url,
                                         "credential": {"username": "dr",
                                                        "password": "dr-secret"}}, status=201)
        regs = api(src, "GET", "/registries", status=200)
        assert "dr-secret" not in regs.text
        assert {"name": "dr-api", "username": "dr", "has_password": True,
                "read_only": False}.items() <= next(
                    g for g in regs.json() if g["name"] == "dr-api").items()
        api(src, "POST", "/policies", {"name": "to-dr-api", "target": "dr-api",
                                       "filters": [{"pattern": "apps/**"}]}, status=201)

        def run_api_rule(n):
            api(src, "POST", "/policies/to-dr-api/run", status=202)
            ex = wait_executions(src, n, rule="to-dr-api")
            assert ex[0]["status"] == "succeeded", (ex, results(src, ex[0]["id"]))

        def stored():
            raw = b""
            for name in ("berth.db", "berth.db-wal"):
                path = os.path.join(src.data, name)
                if os.path.exists(path):
                    raw += open(path, "rb").read()
            return raw

        run_api_rule(1)
        assert b"dr-secret" not in stored()
        key = os.path.join(src.data, "replication.key")
        assert os.stat(key).st_mode & 0o777 == 0o600
        old_key = open(key, "rb").read()
        assert len(old_key) == 32
        # It opens again after a restart ...
        src.restart()
        run_api_rule(2)
        # ... and after a key rotation (replication.key.new, then a restart).
        with open(key + ".new", "wb") as f:
            f.write(os.urandom(32))
        new_key = open(key + ".new", "rb").read()
        src.restart()
        assert open(key, "rb").read() == new_key and not os.path.exists(key + ".new")
        run_api_rule(3)
        assert b"dr-secret" not in stored() and "dr-secret" not in src.read_log()
        api(src, "DELETE", "/registries/dr-api", status=409)  # a rule uses it
        api(src, "DELETE", "/policies/to-dr-api", status=204)
        api(src, "DELETE", "/registries/dr-api", status=204)

        # With the registry's credentials (a secret file), the same rule works.
        pw = tmp_path / "dr.password"
        pw.write_text("dr-secret\n")
        cfg = tmp_path / "auth.yaml"
        cfg.write_text("registries:\n"
                       "  - name: dr\n"
                       "    url: %s\n"
                       "    credential:\n"
                       "      username: dr\n"
                       "      password_file: %s\n"
                       "replication:\n"
                       "  - name: to-dr\n"
                       "    target: dr\n"
                       "    filters:\n"
                       "      - pattern: \"apps/**\"\n" % (dist.url, pw))
        src2 = berth_factory(extra_args=["--config", str(cfg)], data_dir=None)
        push(u.small_image() + ":small", src2, "apps/web:1.0")
        api(src2, "POST", "/policies/to-dr/run", status=202)
        ex = wait_executions(src2, 1, rule="to-dr")
        assert ex[0]["status"] == "succeeded", ex
        r = requests.head(dist.url + "/v2/apps/web/manifests/1.0", auth=("dr", "dr-secret"),
                          headers={"Accept": u.ACCEPT}, timeout=10)
        assert r.status_code == 200
        assert "dr-secret" not in src2.read_log()


def test_source_with_access_control_and_tls_replicates(berth_factory, tmp_path, monkeypatch):
    """A source with --auth and TLS reaches itself over https as its in-memory
    system account (`berth$system`): the manual run copies, the audit log
    names that account."""
    import authutil as au
    monkeypatch.setenv("BERTH_REPLICATION_TEST_CLOCK", "1")
    ip = au.non_loopback_ipv4()
    assert ip, ("this host has no non-loopback IPv4 address, which the test needs (berth "
                "speaks plain http to loopback hosts): e.g. 'ip addr add 10.254.0.1/32 dev lo'")
    ca = au.TestCA(tmp_path / "ca", ips=[ip])
    dst = berth_factory()
    (tmp_path / "src").mkdir()
    src = au.AuthServer(str(tmp_path / "src"), tls=ca, listen="0.0.0.0",
                        extra_args=["--config", brief_config(tmp_path, dst.url)],
                        env={"BERTH_REPLICATION_TEST_CLOCK": "1"}).start()
    try:
        u.berth("copy", "--dest-tls-verify=false", "--dest-creds", "%s:%s" % src.admin,
                "oci:%s:small" % u.small_image(), "docker://%s:%d/apps/web:1.0" % (ip, src.port))

        def call(method, path):
            return requests.request(method, src.url + API + path, auth=src.admin, verify=ca.ca,
                                    timeout=30)
        assert call("POST", "/policies/%s/run" % RULE).status_code == 202
        deadline = time.time() + 60
        while time.time() < deadline:
            ex = call("GET", "/executions?rule=%s" % RULE).json()
            if ex and ex[0]["status"] != "running":
                break
            time.sleep(0.1)
        assert ex and ex[0]["status"] == "succeeded", (ex, src.read_log()[-3000:])
        assert ex[0]["summary"]["copied"] == 1, ex
        got = manifest_digest(dst.url, "apps/web", "1.0")
        r = requests.head(src.url + "/v2/apps/web/manifests/1.0", auth=src.admin, verify=ca.ca,
                          headers={"Accept": u.ACCEPT}, timeout=10)
        assert r.status_code == 200 and got == r.headers["Docker-Content-Digest"], (got, r.headers)
        # The pulls of the copy are the system account's, over https (audit log).
        audit = requests.get(src.url + "/api/v1/audit?limit=200", auth=src.admin, verify=ca.ca,
                             timeout=10)
        assert audit.status_code == 200, audit.text
        assert "berth$system" in audit.text, audit.text[:2000]
        # Without the account the same request is refused: it exists in this process only.
        r = requests.get(src.url + "/v2/apps/web/manifests/1.0", verify=ca.ca, timeout=10,
                         auth=("berth$system", "0" * 64))
        assert r.status_code == 401, r.status_code
    finally:
        rc = src.stop()
        src.cleanup()
        assert rc in (0, None), src.read_log()[-3000:]


@pytest.mark.parametrize("target", ["berth"], indirect=True)
def test_bandwidth_limits_an_execution(target, source, tmp_path):
    """`bandwidth: 256` (KB/s): the small image's ~1.6 MiB of random layers
    cannot arrive in less than 1.6 MiB / 256 KiB/s = 6.25 s (a lower bound:
    a slow machine only makes it longer); without the limit it takes a
    fraction of a second on loopback."""
    proxy, dst = target
    cfg = brief_config(tmp_path, proxy.url,
                       [('        pattern: "apps/**"', '        pattern: "apps/**"\n    bandwidth: 256')])
    src = source(cfg)
    push(u.small_image() + ":small", src, "apps/web:1.0")
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in
               os.walk(os.path.join(u.small_image(), "blobs")) for f in fs)
    t0 = time.monotonic()
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 1)
    took = time.monotonic() - t0
    assert ex[0]["status"] == "succeeded" and ex[0]["summary"]["copied"] == 1, ex
    assert manifest_digest(dst.url, "apps/web", "1.0")
    assert took >= 0.95 * size / (256 * 1024), (took, size)


def labelled_image(layout, tag, labels, annotations=None):
    """An OCI layout holding one small image whose config has `labels` and
    whose manifest has `annotations`."""
    u.images.init_layout(layout)
    blob, diff_id = u.random_layer(4096, len(tag))
    ld, ln = u.images.write_blob(layout, blob)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Labels": labels},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cd, cn = u.images.write_blob(layout, cfg)
    m = {"schemaVersion": 2, "mediaType": u.MT_OCI_MANIFEST,
         "config": {"mediaType": u.MT_OCI_CONFIG, "digest": cd, "size": cn},
         "layers": [{"mediaType": u.MT_OCI_LAYER_GZ, "digest": ld, "size": ln}]}
    if annotations:
        m["annotations"] = annotations
    md, mn = u.images.write_blob(layout, json.dumps(m).encode())
    u.images.write_index_json(layout, [{"mediaType": u.MT_OCI_MANIFEST, "digest": md, "size": mn,
                                        "annotations": {u.REF_NAME: tag}}])
    return "%s:%s" % (layout, tag)


@pytest.mark.parametrize("target", ["berth"], indirect=True)
def test_label_filters_read_the_image(target, source, tmp_path):
    """`label: env=prod` takes the images whose config Labels (or manifest
    annotations) say env=prod, and nothing else; `label: release` (a key
    alone) takes any value; pushed tags of other images are not copied."""
    proxy, dst = target
    cfg = brief_config(tmp_path, proxy.url,
                       [('        pattern: "apps/**"',
                         '        pattern: "apps/**"\n      - label: env=prod')])
    src = source(cfg)
    push(labelled_image(str(tmp_path / "a"), "a", {"env": "prod"}), src, "apps/web:prod")
    push(labelled_image(str(tmp_path / "b"), "b", {"env": "dev"}), src, "apps/web:dev")
    push(labelled_image(str(tmp_path / "c"), "c", {}, {"env": "prod"}), src, "apps/api:1")
    push(labelled_image(str(tmp_path / "d"), "d", {"release": "x"}), src, "apps/api:2")
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 1)
    assert ex[0]["status"] == "succeeded", (ex, results(src, ex[0]["id"]))
    assert manifest_digest(dst.url, "apps/web", "prod")
    assert manifest_digest(dst.url, "apps/api", "1")
    assert manifest_digest(dst.url, "apps/web", "dev") is None
    assert manifest_digest(dst.url, "apps/api", "2") is None
    assert ex[0]["summary"]["copied"] == 2, ex

    api(src, "POST", "/policies", {"name": "releases", "target": proxy.url,
                                   "filters": [{"pattern": "apps/api"}, {"label": "release"}]},
        status=201)
    api(src, "POST", "/policies/releases/run", status=202)
    ex = wait_executions(src, 1, rule="releases")
    assert ex[0]["status"] == "succeeded" and ex[0]["summary"]["copied"] == 1, ex
    assert manifest_digest(dst.url, "apps/api", "2")


class SlowProxy(Proxy):
    """Forwards like Proxy, but every blob upload request waits first."""

    def pre(self, h, path):
        if "/blobs/uploads/" in path + "/":
            time.sleep(0.3)
        return super().pre(h, path)


def test_kill9_mid_execution_then_the_next_run_completes(berth_factory, source, tmp_path):
    dst = berth_factory()
    proxy = SlowProxy(dst.url).start()
    try:
        src = source(brief_config(tmp_path, proxy.url))
        push(u.many_image() + ":many", src, "apps/many:1.0")
        push(u.small_image() + ":small", src, "apps/web:1.0")
        api(src, "POST", "/policies/%s/run" % RULE, status=202)
        deadline = time.time() + 30
        while not blob_uploads(proxy) and time.time() < deadline:
            time.sleep(0.02)
        assert blob_uploads(proxy), "the execution never started uploading"
        src.kill9()
        assert manifest_digest(dst.url, "apps/many", "1.0") is None  # caught mid-way

        # At start the interrupted execution is marked so and its rule runs again.
        src.start()
        ex = wait_executions(src, 2, timeout=120)
        assert [e["status"] for e in ex] == ["succeeded", "interrupted"], ex
        assert ex[0]["trigger"] == "retry"
        for repo, tag in (("apps/many", "1.0"), ("apps/web", "1.0")):
            assert manifest_digest(dst.url, repo, tag) == manifest_digest(src.url, repo, tag)
    finally:
        proxy.stop()


def test_bad_rules_are_refused_at_start_and_by_the_api(berth_factory, tmp_path, source):
    bad = tmp_path / "bad.yaml"
    bad.write_text("replication:\n  - name: x\n    target: https://h\n"
                   "    trigger: {type: scheduled, cron: \"61 * * * *\"}\n")
    p = u.berth("serve", "--config", str(bad), "--listen", "127.0.0.1:%d" % conftest.free_port(),
                "--data", str(tmp_path / "d"), check=False, timeout=30)
    assert p.returncode == 2, p
    err = p.stderr.decode()
    assert "rule x" in err and "minute" in err, err

    src = source(brief_config(tmp_path, "http://127.0.0.1:9"))
    r = api(src, "POST", "/policies", {"name": "y", "target": "http://127.0.0.1:9",
                                       "filters": [{"pattern": "{a,b"}]}, status=400)
    assert "unbalanced" in r.text
    api(src, "POST", "/policies", {"name": "z", "target": "ftp://h"}, status=400)
    api(src, "POST", "/policies", {"name": "z", "target": "http://h", "bogus": 1}, status=400)
    assert [x["name"] for x in api(src, "GET", "/policies", status=200).json()] == [RULE]
