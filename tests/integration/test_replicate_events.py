"""Replication (issue P8): push events are durable. An event-based rule's
events are rows of the database until their run is over: a push queued
behind a running execution when berth is killed -9 still replicates after the
restart (the dead process's claimed events are taken over once its liveness
lease has expired, BERTH_REPL_LIVENESS = 15 s). And a scheduled rule (in
Harbor's 6-field cron form, with seconds) whose firings were missed while
the server was down runs once at start; a rule with `override: false`
leaves a tag that differs at the target alone. Helpers: replutil.py.
"""
import json
import threading
import time

import copyutil as u
from replutil import (RULE as BRIEF_RULE, Proxy, api, blob_uploads, brief_config,  # noqa: F401
                      executions, manifest_digest, push, source, wait_executions)

RULE = "on-push"


class GateProxy(Proxy):
    """Forwards like Proxy, but blob upload requests wait until the gate opens."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.gate = threading.Event()
        self.held = 0

    def pre(self, h, path):
        if "/blobs/uploads/" in path + "/" and not self.gate.is_set():
            self.held += 1
            self.gate.wait(120)
        return super().pre(h, path)


def test_a_queued_push_event_survives_kill9(berth_factory, source, tmp_path):
    dst = berth_factory()
    proxy = GateProxy(dst.url).start()
    try:
        src = source(brief_config(tmp_path, proxy.url))
        api(src, "POST", "/policies", {"name": RULE, "target": proxy.url,
                                       "trigger": {"type": "event_based"},
                                       "filters": [{"resource": "image", "pattern": "apps/**"}]},
            status=201)
        # The first push's run waits at the target's gate; the second push's event
        # waits behind it (one execution of a rule at a time).
        push(u.many_image() + ":many", src, "apps/many:1.0")
        push(u.small_image() + ":small", src, "apps/web:1.0")
        deadline = time.time() + 30
        while not proxy.held and time.time() < deadline:
            time.sleep(0.02)
        assert proxy.held, "the execution never started uploading"
        src.kill9()
        proxy.gate.set()
        # Caught before either run was over: apps/web's event had not run.
        assert manifest_digest(dst.url, "apps/many", "1.0") is None
        assert manifest_digest(dst.url, "apps/web", "1.0") is None

        src.start()
        deadline = time.time() + 90
        while time.time() < deadline and manifest_digest(dst.url, "apps/web", "1.0") is None:
            time.sleep(0.2)
        ex = wait_executions(src, 2, rule=RULE, timeout=90)
        for repo, tag in (("apps/many", "1.0"), ("apps/web", "1.0")):
            assert manifest_digest(dst.url, repo, tag) == manifest_digest(src.url, repo, tag), ex
        assert "event" in [e["trigger"] for e in ex], ex
    finally:
        proxy.gate.set()
        proxy.stop()


def test_a_missed_6_field_schedule_runs_once_at_start(berth_factory, source, tmp_path):
    dst = berth_factory()
    src = source(brief_config(tmp_path, dst.url,
                              [('cron: "0 0 * * *"', 'cron: "*/2 * * * * *"')]))
    rule = api(src, "GET", "/policies", status=200).json()[0]
    assert rule["trigger"] == {"type": "scheduled", "cron": "*/2 * * * * *"}
    push(u.small_image() + ":small", src, "apps/web:1.0")
    # The test drives the clock: while the server runs, nothing fires on its own.
    time.sleep(2.5)
    assert executions(src, BRIEF_RULE) == []

    src.stop()
    time.sleep(4.5)  # two firings or more missed while the server was down
    src.start()
    ex = wait_executions(src, 1, rule=BRIEF_RULE)
    assert [(e["trigger"], e["status"]) for e in ex] == [("scheduled", "succeeded")], ex
    assert manifest_digest(dst.url, "apps/web", "1.0") == manifest_digest(src.url, "apps/web", "1.0")
    time.sleep(1)
    assert len(executions(src, BRIEF_RULE)) == 1  # the missed firings collapsed into one run


def test_override_off_keeps_a_differing_tag_at_the_target(berth_factory, source, tmp_path):
    dst = berth_factory()
    src = source(brief_config(tmp_path, dst.url))
    push(u.small_image() + ":small", src, "apps/web:1.0")
    push(u.many_image() + ":many", dst, "apps/web:1.0")  # the target's own, different
    theirs = manifest_digest(dst.url, "apps/web", "1.0")
    ours = manifest_digest(src.url, "apps/web", "1.0")
    assert theirs and ours and theirs != ours
    api(src, "POST", "/policies", {"name": "keep", "target": dst.url, "override": False,
                                   "filters": [{"pattern": "apps/**"}]}, status=201)
    api(src, "POST", "/policies/keep/run", status=202)
    ex = wait_executions(src, 1, rule="keep")
    assert ex[0]["status"] == "succeeded", ex
    res = api(src, "GET", "/executions/%d/results" % ex[0]["id"], status=200).json()
    assert [(r["artifact"], r["status"]) for r in res] == [("apps/web:1.0", "skipped")], res
    assert "override is off" in json.dumps(res), res
    assert manifest_digest(dst.url, "apps/web", "1.0") == theirs

    # The same rule with override (the default) replaces it.
    api(src, "POST", "/policies", {"name": "replace", "target": dst.url,
                                   "filters": [{"pattern": "apps/**"}]}, status=201)
    api(src, "POST", "/policies/replace/run", status=202)
    ex = wait_executions(src, 1, rule="replace")
    assert ex[0]["status"] == "succeeded" and ex[0]["summary"]["copied"] == 1, ex
    assert manifest_digest(dst.url, "apps/web", "1.0") == ours
