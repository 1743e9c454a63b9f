"""Replication (issue P8), how an execution works: several images copied at
once (the rule's `workers`), blobs the target already holds under another
repository mounted there instead of sent again, label filters read once per
manifest digest (a second run asks the source for no manifest or config),
and a retry run asked for by a full target kept across a restart.

Targets and sources are berth servers behind peers/proxy.py, whose request
log is what the assertions count; the scheduler is driven by the test clock.
Helpers and fixtures: replutil.py.
"""
import os
import threading
import time

import pytest

import mirrorutil as mu
from replutil import (API, Proxy, api, brief_config, manifest_digest,  # noqa: F401
                      results, source, wait_executions)

LAYER = 96 * 1024


class BarrierProxy(Proxy):
    """Holds every manifest PUT by tag until `want` of them are in flight at
    once (or `patience` seconds pass), and records the most seen at once: a
    target on which concurrent copies are observable without timing them."""

    def __init__(self, upstream, want, patience=20):
        super().__init__(upstream)
        self.want, self.patience = want, patience
        self.inflight = self.most = 0
        self.cond = threading.Condition()

    def pre(self, h, path):
        if h.command == "PUT" and "/manifests/" in path and "/manifests/sha256:" not in path:
            with self.cond:
                self.inflight += 1
                self.most = max(self.most, self.inflight)
                self.cond.notify_all()
                deadline = time.time() + self.patience
                while self.most < self.want and time.time() < deadline:
                    self.cond.wait(deadline - time.time())
                self.inflight -= 1
        return super().pre(h, path)


def manual(extra=""):
    """brief_config's replacements: a manual trigger (ticks queue only retries), `extra` keys."""
    return [("type: scheduled", "type: manual"),
            ('      cron: "0 0 * * *"\n', extra)]


def test_an_execution_copies_images_concurrently(berth_factory, source, tmp_path):
    dst = berth_factory()
    proxy = BarrierProxy(dst.url, want=4).start()
    try:
        src = source(brief_config(tmp_path, proxy.url, manual()))
        digests = {}
        for name in ("apps/a", "apps/b", "apps/c", "apps/d"):
            digests[name], _ = mu.push_image(src.url, name, "1", [os.urandom(4096)], label=name)
        api(src, "POST", "/policies/replicate-to-dr/run", status=202)
        ex = wait_executions(src, 1)[0]
        assert ex["status"] == "succeeded", (ex, results(src, ex["id"]))
        # All four tag PUTs were at the target at the same time: the copies overlapped.
        assert proxy.most == 4, (proxy.most, proxy.requests)
        res = {r["artifact"]: r["status"] for r in results(src, ex["id"])}
        assert res == {"apps/%s:1" % n: "copied" for n in "abcd"}, res
        assert ex["summary"]["copied"] == 4, ex
        for name, d in digests.items():
            assert manifest_digest(dst.url, name, "1") == d, name
    finally:
        proxy.stop()


def test_one_worker_copies_one_image_at_a_time(berth_factory, source, tmp_path):
    """`workers: 1` is honoured (the barrier never sees two tag PUTs at once)."""
    dst = berth_factory()
    proxy = BarrierProxy(dst.url, want=2, patience=2).start()
    try:
        src = source(brief_config(tmp_path, proxy.url, manual("    workers: 1\n")))
        for name in ("apps/a", "apps/b"):
            mu.push_image(src.url, name, "1", [os.urandom(4096)], label=name)
        api(src, "POST", "/policies/replicate-to-dr/run", status=202)
        ex = wait_executions(src, 1)[0]
        assert ex["status"] == "succeeded" and ex["summary"]["copied"] == 2, ex
        assert proxy.most == 1, proxy.most
        pol = api(src, "GET", "/policies/replicate-to-dr", status=200).json()
        assert pol["workers"] == 1, pol
    finally:
        proxy.stop()


def test_shared_blobs_are_mounted_across_repositories(berth_factory, source, tmp_path):
    dst = berth_factory()
    proxy = Proxy(dst.url).start()
    try:
        src = source(brief_config(tmp_path, proxy.url, manual("    workers: 1\n")))
        base = os.urandom(LAYER)
        base_digest = mu.digest_of(base)
        for name in ("apps/a", "apps/b", "apps/c"):
            mu.push_image(src.url, name, "1", [base, os.urandom(4096)], label=name)
        api(src, "POST", "/policies/replicate-to-dr/run", status=202)
        ex = wait_executions(src, 1)[0]
        assert ex["status"] == "succeeded" and ex["summary"]["copied"] == 3, ex
        # The shared layer's bytes went once; the two other repositories mounted it.
        sent = [q for q in proxy.bodies if q[2] == LAYER]  # the only blob of that size
        mounts = [q for q in proxy.requests if q[0] == "POST" and "mount=" + base_digest in q[1]]
        assert len(sent) == 1, sent
        assert len(mounts) == 2 and all(q[2] == 201 for q in mounts), mounts
        assert all("from=apps/a" in q[1] for q in mounts), mounts
        for name in ("apps/a", "apps/b", "apps/c"):
            assert manifest_digest(dst.url, name, "1") == manifest_digest(src.url, name, "1")
    finally:
        proxy.stop()


def test_label_filters_read_each_manifest_once(berth_factory, tmp_path):
    """A pull rule with a label filter: the first run reads each image's manifest
    and config at the source; the second finds them by digest and asks the
    source only for tag lists and HEADs."""
    upstream = berth_factory()
    proxy = Proxy(upstream.url).start()
    try:
        for name, env in (("apps/a", "prod"), ("apps/b", "dev"), ("apps/c", "prod")):
            mu.push_image(upstream.url, name, "1", [os.urandom(4096)], label=env)
        cfg = tmp_path / "pull.yaml"
        cfg.write_text("replication:\n"
                       "  - name: from-up\n"
                       "    source: %s\n"
                       "    direction: pull\n"
                       "    filters:\n"
                       "      - pattern: \"apps/**\"\n"
                       "      - label: l=prod\n" % proxy.url)
        srv = berth_factory(extra_args=["--config", str(cfg)])
        api(srv, "POST", "/policies/from-up/run", status=202)
        ex = wait_executions(srv, 1, rule="from-up")[0]
        assert ex["status"] == "succeeded" and ex["summary"]["copied"] == 2, ex
        assert manifest_digest(srv.url, "apps/b", "1") is None
        first = len(proxy.requests)
        reads = [q for q in proxy.requests if q[0] == "GET" and "/manifests/" in q[1]]
        assert len(reads) >= 3, proxy.requests  # each image read once for its labels at least

        api(srv, "POST", "/policies/from-up/run", status=202)
        ex = wait_executions(srv, 2, rule="from-up")[0]
        assert ex["status"] == "succeeded", ex
        assert ex["summary"]["copied"] == 0 and ex["summary"]["skipped"] == 2, ex
        again = proxy.requests[first:]
        assert again, "the second run asked nothing of the source"
        fetched = [q for q in again if q[0] == "GET" and ("/manifests/" in q[1]
                                                          or "/blobs/" in q[1])]
        assert not fetched, fetched
    finally:
        proxy.stop()


def test_a_full_targets_retry_survives_a_restart(berth_factory, source, tmp_path):
    dst = berth_factory()
    proxy = Proxy(dst.url, mode="full", status=507, capacity=LAYER + LAYER // 2).start()
    try:
        src = source(brief_config(tmp_path, proxy.url, manual("    workers: 1\n")))
        digests = {}
        for name in ("apps/a", "apps/b"):
            digests[name], _ = mu.push_image(src.url, name, "1", [os.urandom(LAYER)], label=name)
        api(src, "POST", "/policies/replicate-to-dr/run", status=202)
        ex = wait_executions(src, 1)[0]
        assert ex["status"] == "failed" and "retry run" in ex["summary"]["message"], ex

        src.restart()
        proxy.capacity = 1 << 40
        # Not due yet after the restart; due later, it is still there and runs.
        assert api(src, "POST", "/tick", {"now": int(time.time())},
                   status=200).json() == {"queued": 0}
        r = api(src, "POST", "/tick", {"now": int(time.time()) + 400}, status=200).json()
        assert r == {"queued": 1}, r
        ex2 = wait_executions(src, 2)[0]
        assert ex2["trigger"] == "retry" and ex2["status"] == "succeeded", ex2
        for name, d in digests.items():
            assert manifest_digest(dst.url, name, "1") == d, name
        # Used up, and still so after another restart.
        src.restart()
        r = api(src, "POST", "/tick", {"now": int(time.time()) + 800}, status=200).json()
        assert r == {"queued": 0}, r
    finally:
        proxy.stop()
