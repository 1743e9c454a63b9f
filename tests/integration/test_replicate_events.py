"""Replication (issue P8): push events are durable. An event-based rule's
events are rows of the database until their run is over: a push queued
behind a running execution when berth is killed -9 still replicates after the
restart (the dead process's claimed events are taken over once its liveness
lease has expired, BERTH_REPL_LIVENESS = 15 s). Helpers: replutil.py.
"""
import time

import copyutil as u
from replutil import (Proxy, api, blob_uploads, brief_config, manifest_digest, push,  # noqa: F401
                      source, wait_executions)

RULE = "on-push"


class SlowProxy(Proxy):
    """Forwards like Proxy, but every blob upload request waits first."""

    def pre(self, h, path):
        if "/blobs/uploads/" in path + "/":
            time.sleep(0.5)
        return super().pre(h, path)


def test_a_queued_push_event_survives_kill9(berth_factory, source, tmp_path):
    dst = berth_factory()
    proxy = SlowProxy(dst.url).start()
    try:
        src = source(brief_config(tmp_path, proxy.url))
        api(src, "POST", "/policies", {"name": RULE, "target": proxy.url,
                                       "trigger": {"type": "event_based"},
                                       "filters": [{"resource": "image", "pattern": "apps/**"}]},
            status=201)
        # The first push's run is slow (its uploads wait); the second push's event
        # waits behind it (one execution of a rule at a time).
        push(u.many_image() + ":many", src, "apps/many:1.0")
        push(u.small_image() + ":small", src, "apps/web:1.0")
        deadline = time.time() + 30
        while not blob_uploads(proxy) and time.time() < deadline:
            time.sleep(0.02)
        assert blob_uploads(proxy), "the execution never started uploading"
        src.kill9()
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
        proxy.stop()
