"""Replication (issue P8): the brief's YAML, verbatim but for its target URL,
replicates apps/** and nothing else from berth to another berth and to
Distribution 2.8, manually, on a cron tick (the test drives the clock) and on
push events; a second run transfers no blob (counted at the target's proxy);
deletions propagate. Helpers and fixtures: replutil.py.
"""
import json
import time

import pytest
import requests

import copyutil as u
from replutil import (RULE, api, blob_uploads, brief_config, catalog, executions,  # noqa: F401
                      manifest_digest, push, results, seed, source, target, wait_executions)


@pytest.mark.parametrize("target", ["berth", "distribution"], indirect=True)
def test_brief_yaml_manual_then_cron_tick_incremental(target, source, tmp_path):
    proxy, dst = target
    src = source(brief_config(tmp_path, proxy.url))
    seed(src)

    # The rule is the brief's, read from the file, and read-only through the API.
    rules = api(src, "GET", "/policies", status=200).json()
    assert [r["name"] for r in rules] == [RULE]
    assert rules[0]["trigger"] == {"type": "scheduled", "cron": "0 0 * * *"}
    assert rules[0]["filters"] == [{"resource": "image", "pattern": "apps/**"}]
    assert rules[0]["read_only"] is True
    api(src, "DELETE", "/policies/" + RULE, status=403)

    # Manual run: apps/** arrives, every platform, same digests; nothing else.
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 1)
    assert ex[0]["status"] == "succeeded" and ex[0]["trigger"] == "manual", ex
    for repo, tag in (("apps/web", "1.0"), ("apps/team/api", "2.0")):
        want = manifest_digest(src.url, repo, tag)
        assert want and manifest_digest(dst.url, repo, tag) == want
        got = u.read_registry(dst.url, repo, tag)
        u.assert_same_image(got, u.read_registry(src.url, repo, tag), True)
    assert sorted(catalog(dst.url)) == ["apps/team/api", "apps/web"]
    res = results(src, ex[0]["id"])
    assert sorted((r["artifact"], r["status"]) for r in res) == [
        ("apps/team/api:2.0", "copied"), ("apps/web:1.0", "copied")]
    first_uploads = len(blob_uploads(proxy))
    assert first_uploads > 0

    # Second run: incremental, no blob reaches the target.
    before = len(proxy.requests)
    api(src, "POST", "/policies/%s/run" % RULE, status=202)
    ex = wait_executions(src, 2)
    assert ex[0]["status"] == "succeeded" and ex[0]["summary"]["copied"] == 0
    assert ex[0]["summary"]["skipped"] == 2
    assert blob_uploads(proxy) == blob_uploads(proxy)[:first_uploads]
    assert not [q for q in proxy.requests[before:] if "/blobs/" in q[1]]

    # The cron tick: nothing before midnight UTC, one run after it.
    push(u.small_image() + ":small", src, "apps/web:1.1")
    now = int(time.time())
    midnight = now - now % 86400 + 86400
    assert api(src, "POST", "/tick", {"now": midnight - 1}, status=200).json()["queued"] == 0
    assert api(src, "POST", "/tick", {"now": midnight}, status=200).json()["queued"] == 1
    ex = wait_executions(src, 3)
    assert ex[0]["trigger"] == "scheduled" and ex[0]["status"] == "succeeded", ex
    assert manifest_digest(dst.url, "apps/web", "1.1") == manifest_digest(src.url, "apps/web", "1.1")
    # The same night does not fire twice.
    assert api(src, "POST", "/tick", {"now": midnight + 60}, status=200).json()["queued"] == 0
    assert "other/tool" not in catalog(dst.url)


@pytest.mark.parametrize("target", ["berth", "distribution"], indirect=True)
def test_push_events_and_deletions_propagate(target, source, tmp_path):
    proxy, dst = target
    src = source(brief_config(tmp_path, proxy.url))
    rule = {"name": "on-push", "target": proxy.url, "trigger": {"type": "event_based"},
            "filters": [{"resource": "image", "pattern": "apps/**"}], "delete": True}
    api(src, "POST", "/policies", rule, status=201)
    # A second rule of the same name is refused; the config file's rule stays.
    api(src, "POST", "/policies", dict(rule, name=RULE), status=409)

    push(u.small_image() + ":small", src, "apps/web:1.0")
    push(u.small_image() + ":small", src, "other/tool:1.0")
    ex = wait_executions(src, 1, rule="on-push")
    assert ex[0]["trigger"] == "event" and ex[0]["status"] == "succeeded", ex
    assert manifest_digest(dst.url, "apps/web", "1.0") == manifest_digest(src.url, "apps/web", "1.0")
    time.sleep(0.5)
    assert len(executions(src, "on-push")) == 1  # other/tool triggered nothing
    assert "other/tool" not in catalog(dst.url)

    # A delete at the source is a delete at the target.
    d = manifest_digest(src.url, "apps/web", "1.0")
    r = requests.delete(src.url + "/v2/apps/web/manifests/" + d, timeout=10)
    assert r.status_code == 202
    ex = wait_executions(src, 2, rule="on-push")
    assert ex[0]["status"] == "succeeded", ex
    assert [x["status"] for x in results(src, ex[0]["id"])] == ["deleted"]
    assert manifest_digest(dst.url, "apps/web", "1.0") is None

    # Rules made through the API survive a restart (they live in the database).
    src.restart()
    names = [x["name"] for x in api(src, "GET", "/policies", status=200).json()]
    assert sorted(names) == ["on-push", RULE]
    api(src, "DELETE", "/policies/on-push", status=204)


def test_admin_replication_cli(berth_factory, source, tmp_path):
    dst = berth_factory()
    src = source(brief_config(tmp_path, dst.url))
    push(u.small_image() + ":small", src, "apps/web:1.0")
    adm = ("admin", "--server", src.url)

    out = u.berth(*adm, "replication", "list").stdout.decode()
    assert out.splitlines()[0].split("\t")[:4] == ["NAME", "DIRECTION", "REMOTE", "TRIGGER"]
    assert out.splitlines()[1].split("\t") == [RULE, "push", dst.url, "scheduled",
                                                "0 0 * * *", "yes"]

    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"name": "cli-rule", "target": dst.url,
                                "filters": [{"pattern": "apps/**", "tag": "1.*"}]}))
    u.berth(*adm, "replication", "create", str(rule))
    assert u.berth(*adm, "replication", "run", "cli-rule").stdout.decode() == "queued\n"
    ex = wait_executions(src, 1, rule="cli-rule")
    listed = json.loads(u.berth(*adm, "--format", "json", "replication", "executions",
                                "--rule", "cli-rule").stdout)
    assert [(e["id"], e["status"]) for e in listed] == [(ex[0]["id"], "succeeded")]
    table = u.berth(*adm, "replication", "executions", "--limit", "5").stdout.decode()
    assert "cli-rule\tmanual\tsucceeded" in table
    logs = u.berth(*adm, "replication", "logs", str(ex[0]["id"])).stdout.decode()
    assert logs.splitlines()[1].startswith("apps/web:1.0\tcopied\tsha256:")
    assert manifest_digest(dst.url, "apps/web", "1.0") == manifest_digest(src.url, "apps/web", "1.0")

    u.berth(*adm, "replication", "delete", "cli-rule")
    p = u.berth(*adm, "replication", "delete", RULE, check=False)
    assert p.returncode == 1 and b"config file" in p.stderr, p
    p = u.berth(*adm, "replication", "run", check=False)
    assert p.returncode == 2, p
    p = u.berth(*adm, "replication", "logs", "x1", check=False)
    assert p.returncode == 2, p
    p = u.berth(*adm, "replication", "run", "nope", check=False)
    assert p.returncode == 1 and b"no such replication rule" in p.stderr, p
