"""Replication (issue P8), fault "target full": the target registry answers
uploads as a full one does (507 Insufficient Storage; 413 from a proxy in
front of it; Harbor's 403 DENIED for a quota). The execution records the
artifact that failed, retries it within its budget, then stops with a clear
message instead of failing every further artifact the same way, and a retry
run queued for later (the scheduler, driven here by the test clock) resumes
where it stopped once there is room. The target is berth behind a fault
proxy (peers/proxy.py, mode "full") that counts upload bytes against a
capacity. Helpers and fixtures: replutil.py.
"""
import os
import time

import pytest

import mirrorutil as mu
from replutil import (API, Proxy, api, brief_config, executions, manifest_digest,  # noqa: F401
                      results, source, wait_executions)

LAYER = 96 * 1024


@pytest.mark.parametrize("status", [507, 413, 403])
def test_target_full_stops_then_resumes(status, berth_factory, source, tmp_path):
    dst = berth_factory()
    # Room for the first image's layer, not the second's.
    proxy = Proxy(dst.url, mode="full", status=status, capacity=LAYER + LAYER // 2).start()
    try:
        # Manual trigger: the test clock's ticks below must queue only the retry. One
        # worker: the images go one at a time, so which one finds the target full is known
        # (with several workers, those in flight when it fills finish or fail too).
        src = source(brief_config(tmp_path, proxy.url,
                                  [("type: scheduled", "type: manual"),
                                   ('      cron: "0 0 * * *"\n', "    workers: 1\n")]))
        digests = {}
        for name in ("apps/a", "apps/b", "apps/c"):
            digests[name], _ = mu.push_image(src.url, name, "1", [os.urandom(LAYER)],
                                             label=name)
        api(src, "POST", "/policies/replicate-to-dr/run", status=202)
        ex = wait_executions(src, 1)[0]
        assert ex["status"] == "failed", ex
        msg = ex["summary"]["message"]
        assert "stopped: the target is full" in msg and "retry run" in msg, msg
        assert ex["summary"]["copied"] == 1 and ex["summary"]["failed"] == 1, ex
        res = {r["artifact"]: r for r in results(src, ex["id"])}
        # The first image went; the second failed (recorded); the third was not tried.
        assert res["apps/a:1"]["status"] == "copied", res
        assert res["apps/b:1"]["status"] == "failed", res
        want = {507: "insufficient storage", 413: "413", 403: "Quota exceeded"}[status]
        assert want in res["apps/b:1"]["message"], res["apps/b:1"]
        assert "apps/c:1" not in res, res
        # Retried within the budget, not forever, and never apps/c: 3 tries of the copy,
        # each at most 4 refused upload requests (a one-request POST, then the
        # POST + PATCH/PUT flow, for the layer and possibly the config).
        assert 3 <= proxy.fired <= 3 * 4, proxy.fired
        assert not [q for q in proxy.requests if "/apps/c/" in q[1]], proxy.requests
        assert "the destination is full" in src.read_log()
        assert manifest_digest(dst.url, "apps/a", "1") == digests["apps/a"]
        assert manifest_digest(dst.url, "apps/b", "1") is None

        # Not due yet: a tick now queues nothing.
        assert api(src, "POST", "/tick", {"now": int(time.time())}, status=200).json() == {
            "queued": 0}
        # Room again; when the retry is due the scheduler queues a run that resumes.
        proxy.capacity = 1 << 40
        r = api(src, "POST", "/tick", {"now": int(time.time()) + 400}, status=200).json()
        assert r == {"queued": 1}, r
        ex2 = wait_executions(src, 2)[0]
        assert ex2["trigger"] == "retry" and ex2["status"] == "succeeded", ex2
        res2 = {r["artifact"]: r["status"] for r in results(src, ex2["id"])}
        assert res2 == {"apps/a:1": "skipped", "apps/b:1": "copied", "apps/c:1": "copied"}, res2
        for name, d in digests.items():
            assert manifest_digest(dst.url, name, "1") == d, name
        # The retry was used up: a later tick queues nothing more.
        r = api(src, "POST", "/tick", {"now": int(time.time()) + 800}, status=200).json()
        assert r == {"queued": 0}, r
    finally:
        proxy.stop()
