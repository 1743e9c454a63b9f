"""Crash safety of `berth serve` under load (DESIGN.md invariants: a blob or
manifest is visible only after its bytes match its digest; an acknowledged
write survives kill -9).

32 client threads push random 1-8 MiB blobs (monolithic POST ?digest=,
POST+PUT, and chunked POST+PATCH...+PUT) and manifests referencing them,
recording every request that got a 2xx. The server is killed with SIGKILL
mid-way, restarted on the same data directory, and then:
  - every acknowledged blob is served whole and hashes to its digest;
  - every acknowledged manifest is served byte-identical by digest and tag;
  - an unacknowledged blob or manifest is either absent or whole (never partial);
  - upload sessions acknowledged before the kill still report their size;
  - the server starts clean and keeps accepting pushes.
The kill cycle runs three times with different timing. Finally the server is
restarted with --upload-purge-age 60 (its minimum) after the parked sessions
were made an hour old on disk: they answer 404 BLOB_UPLOAD_UNKNOWN and their
directories under <data>/uploads are gone, while a fresh session survives.
"""
import hashlib
import json
import os
import random
import re
import sqlite3
import sys
import threading
import time
import urllib.parse

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))

PURGE_FLAG = "--upload-purge-age"
WORKERS = 32
MIB = 1 << 20
KILL_AFTER = (0.6, 1.0, 1.4)       # seconds of load before each kill -9
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
ERROR_LINE = re.compile(r'^\S+ (error|fatal) |"level":"(error|fatal)"|AddressSanitizer|runtime error:|'
                        r'LeakSanitizer', re.M)


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def with_query(url, **params):
    sep = "&" if urllib.parse.urlparse(url).query else "?"
    return url + sep + urllib.parse.urlencode(params)


def upload_id(location):
    return urllib.parse.urlparse(location).path.rstrip("/").rsplit("/", 1)[-1]


class Ledger:
    """What the clients were told (2xx) and what they merely attempted."""

    def __init__(self):
        self.lock = threading.Lock()
        self.blobs = {}            # (repo, digest) -> size, acknowledged 201
        self.blob_attempts = {}    # (repo, digest) -> size, commit sent, no 2xx seen
        self.manifests = {}        # (repo, tag) -> (digest, bytes), acknowledged 201
        self.manifest_attempts = {}
        self.sessions = {}         # location -> (repo, acknowledged size)
        self.parked = {}           # location -> (repo, size): never finished on purpose

    def add(self, table, key, value):
        with self.lock:
            getattr(self, table)[key] = value

    def drop(self, table, key):
        with self.lock:
            getattr(self, table).pop(key, None)


class Worker(threading.Thread):
    def __init__(self, idx, base_url, ledger, stop, seed):
        super().__init__(daemon=True)
        self.idx = idx
        self.base = base_url
        self.ledger = ledger
        self.stop_ev = stop
        self.rnd = random.Random(seed)
        self.repo = "crash/r%d" % (idx % 6)
        self.http = requests.Session()
        self.mine = []     # acknowledged (digest, size) in self.repo
        self.count = 0

    def url(self, path):
        return urllib.parse.urljoin(self.base, path)

    def blob(self, lo=1 * MIB, hi=8 * MIB):
        data = self.rnd.randbytes(self.rnd.randint(lo, hi))
        return data, digest_of(data)

    def committed(self, r, key, size):
        if r.status_code == 201:
            self.ledger.add("blobs", key, size)
            self.ledger.drop("blob_attempts", key)
            self.mine.append((key[1], size))
        else:
            raise AssertionError("blob commit answered %d: %s" % (r.status_code, r.text[:300]))

    def start_upload(self):
        r = self.http.post(self.url("/v2/%s/blobs/uploads/" % self.repo), timeout=60)
        assert r.status_code == 202, r.text[:300]
        return self.url(r.headers["Location"])

    def push_monolithic(self):
        data, d = self.blob()
        key = (self.repo, d)
        self.ledger.add("blob_attempts", key, len(data))
        r = self.http.post(self.url("/v2/%s/blobs/uploads/" % self.repo), params={"digest": d},
                           data=data, headers={"Content-Type": "application/octet-stream"},
                           timeout=60)
        self.committed(r, key, len(data))

    def push_post_put(self):
        data, d = self.blob()
        loc = self.start_upload()
        key = (self.repo, d)
        self.ledger.add("blob_attempts", key, len(data))
        r = self.http.put(with_query(loc, digest=d), data=data,
                          headers={"Content-Type": "application/octet-stream"}, timeout=60)
        self.committed(r, key, len(data))

    def patch(self, loc, data, start):
        r = self.http.patch(loc, data=data, timeout=60, headers={
            "Content-Type": "application/octet-stream",
            "Content-Range": "%d-%d" % (start, start + len(data) - 1)})
        assert r.status_code == 202, "PATCH answered %d: %s" % (r.status_code, r.text[:300])
        return self.url(r.headers["Location"])

    def push_chunked(self):
        data, d = self.blob()
        loc = self.start_upload()
        self.ledger.add("sessions", loc, (self.repo, 0))
        n = self.rnd.randint(2, 5)
        cuts = sorted(self.rnd.sample(range(1, len(data)), n - 1))
        off = 0
        for end in cuts + [len(data)]:
            new = self.patch(loc, data[off:end], off)
            off = end
            self.ledger.drop("sessions", loc)
            loc = new
            self.ledger.add("sessions", loc, (self.repo, off))
        key = (self.repo, d)
        self.ledger.drop("sessions", loc)   # the commit may or may not happen now
        self.ledger.add("blob_attempts", key, len(data))
        r = self.http.put(with_query(loc, digest=d), timeout=60)
        self.committed(r, key, len(data))

    def park(self):
        """An upload left open on purpose, to check it survives and is purged."""
        data = self.rnd.randbytes(self.rnd.randint(1, 256) * 1024)
        loc = self.start_upload()
        loc = self.patch(loc, data, 0)
        self.ledger.add("parked", loc, (self.repo, len(data)))

    def push_manifest(self):
        if not self.mine:
            return self.push_monolithic()
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
            "type": "layers", "diff_ids": []}, "worker": self.idx, "n": self.count}).encode()
        cd = digest_of(config)
        r = self.http.post(self.url("/v2/%s/blobs/uploads/" % self.repo), params={"digest": cd},
                           data=config, timeout=60)
        self.committed(r, (self.repo, cd), len(config))
        self.mine.pop()  # keep the config out of the layer list
        layers = self.rnd.sample(self.mine, min(len(self.mine), self.rnd.randint(1, 3)))
        body = json.dumps({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                           "config": {"mediaType": MT_CONFIG, "digest": cd, "size": len(config)},
                           "layers": [{"mediaType": MT_LAYER, "digest": ld, "size": ls}
                                      for ld, ls in layers]}, indent=self.rnd.randint(0, 3)).encode()
        tag = "w%d-%d-%d" % (self.idx, self.count, self.rnd.randint(0, 1 << 30))
        key = (self.repo, tag)
        self.ledger.add("manifest_attempts", key, (digest_of(body), body))
        r = self.http.put(self.url("/v2/%s/manifests/%s" % (self.repo, tag)), data=body,
                          headers={"Content-Type": MT_MANIFEST}, timeout=60)
        assert r.status_code == 201, "manifest PUT answered %d: %s" % (r.status_code, r.text[:300])
        assert r.headers.get("Docker-Content-Digest") == digest_of(body)
        self.ledger.add("manifests", key, (digest_of(body), body))
        self.ledger.drop("manifest_attempts", key)

    def run(self):
        ops = [self.push_monolithic, self.push_post_put, self.push_chunked, self.push_chunked,
               self.push_manifest]
        try:
            self.park()
            while not self.stop_ev.is_set():
                self.count += 1
                self.rnd.choice(ops)()
        except requests.RequestException:
            pass        # the server was killed under us: expected
        except AssertionError as e:
            if not self.stop_ev.is_set():
                self.error = e
        self.http.close()

    error = None


def check_blob(url, repo, digest, size, must_exist):
    r = requests.get("%s/v2/%s/blobs/%s" % (url, repo, digest), timeout=60)
    if r.status_code == 404 and not must_exist:
        return False
    assert r.status_code == 200, "GET blob %s in %s: %d %s" % (digest, repo, r.status_code, r.text[:300])
    assert len(r.content) == size, "blob %s: %d bytes served, %d pushed" % (digest, len(r.content), size)
    assert digest_of(r.content) == digest, "blob %s served with wrong bytes" % digest
    h = requests.head("%s/v2/%s/blobs/%s" % (url, repo, digest), timeout=60)
    assert h.status_code == 200 and int(h.headers["Content-Length"]) == size
    return True


def check_manifest(url, repo, tag, digest, body, must_exist):
    accept = {"Accept": MT_MANIFEST}
    r = requests.get("%s/v2/%s/manifests/%s" % (url, repo, digest), headers=accept, timeout=60)
    if r.status_code == 404 and not must_exist:
        return False
    assert r.status_code == 200, "GET manifest %s: %d %s" % (digest, r.status_code, r.text[:300])
    assert r.content == body
    assert r.headers["Docker-Content-Digest"] == digest
    t = requests.get("%s/v2/%s/manifests/%s" % (url, repo, tag), headers=accept, timeout=60)
    if must_exist:
        assert t.status_code == 200, "GET manifest by tag %s: %d %s" % (tag, t.status_code, t.text[:300])
    if t.status_code == 200:
        assert t.content == body, "tag %s serves other bytes than were pushed" % tag
    return True


def check_session(url, loc, repo, size):
    r = requests.get(loc, timeout=60)
    assert r.status_code == 204, "upload status %s: %d %s" % (loc, r.status_code, r.text[:300])
    m = re.fullmatch(r"0-(\d+)", r.headers.get("Range", ""))
    assert m, "upload status Range header: %r" % r.headers.get("Range")
    # Bytes of a PATCH in flight at the kill may have landed too; never fewer.
    assert int(m.group(1)) + 1 >= size, "upload %s lost acknowledged bytes: %s < %d" % (
        loc, r.headers["Range"], size)
    return int(m.group(1)) + 1


def backdate_uploads(data, ids, seconds):
    """Make uploads `ids` look `seconds` older: startedat and the meta row."""
    ids = list(ids)
    for uid in ids:
        p = os.path.join(data, "uploads", uid, "startedat")
        with open(p) as f:
            started = int(f.read().strip())
        with open(p, "w") as f:
            f.write("%d\n" % (started - seconds))
    db = sqlite3.connect(os.path.join(data, "berth.db"))
    try:
        cols = [r[1] for r in db.execute("PRAGMA table_info(uploads)")]
        assert "started" in cols, "berth.db has no uploads.started column: %r" % cols
        with db:
            for uid in ids:
                n = db.execute("UPDATE uploads SET started = started - ? WHERE id = ?",
                               (seconds, uid)).rowcount
                assert n == 1, "upload %s has no metadata row" % uid
    finally:
        db.close()


def new_log_since(server, offset):
    return server.read_log()[offset:]


def test_kill9_under_load_then_restart(berth_factory):
    server = berth_factory()
    data = server.data
    ledger = Ledger()
    stats = []

    for cycle, delay in enumerate(KILL_AFTER):
        base = server.url
        stop = threading.Event()
        workers = [Worker(i, base, ledger, stop, seed=cycle * 1000 + i) for i in range(WORKERS)]
        for w in workers:
            w.start()
        time.sleep(delay)
        stop.set()
        server.kill9()
        for w in workers:
            w.join(60)
            assert not w.is_alive(), "a client thread hung after the kill"
        errors = [w.error for w in workers if w.error]
        assert not errors, "server misbehaved before the kill: %s" % errors[0]

        log_offset = len(server.read_log())
        server.start()
        url = server.url
        assert requests.get(url + "/v2/", timeout=10).status_code == 200
        log = new_log_since(server, log_offset)
        assert not ERROR_LINE.search(log), "errors logged at restart:\n%s" % log

        with ledger.lock:
            blobs = dict(ledger.blobs)
            attempts = dict(ledger.blob_attempts)
            manifests = dict(ledger.manifests)
            m_attempts = dict(ledger.manifest_attempts)
            sessions = dict(ledger.sessions)
            parked = dict(ledger.parked)
        for (repo, d), size in blobs.items():
            check_blob(url, repo, d, size, must_exist=True)
        landed = sum(check_blob(url, repo, d, size, must_exist=False)
                     for (repo, d), size in attempts.items() if (repo, d) not in blobs)
        for (repo, tag), (d, body) in manifests.items():
            check_manifest(url, repo, tag, d, body, must_exist=True)
        for (repo, tag), (d, body) in m_attempts.items():
            check_manifest(url, repo, tag, d, body, must_exist=False)
        for loc, (repo, size) in list(sessions.items()) + list(parked.items()):
            check_session(url, loc, repo, size)
        stats.append((len(blobs), len(attempts), landed, len(manifests), len(sessions), len(parked)))
        # Unfinished sessions are not resumed across cycles; parked ones stay.
        with ledger.lock:
            ledger.sessions.clear()
            ledger.blob_attempts.clear()
            ledger.manifest_attempts.clear()

    total_blobs, _, _, total_manifests, _, n_parked = stats[-1]
    assert total_blobs > 0 and total_manifests > 0 and n_parked > 0, \
        "the load never got acknowledged writes before the kill: %r" % stats

    # A parked session from before the kills can be finished after them.
    loc, (repo, size) = next(iter(ledger.parked.items()))
    have = check_session(server.url, loc, repo, size)
    r = requests.get(loc, timeout=10)
    more = os.urandom(4096)
    r = requests.patch(loc, data=more, timeout=60, headers={
        "Content-Type": "application/octet-stream",
        "Content-Range": "%d-%d" % (have, have + len(more) - 1)})
    assert r.status_code == 202, r.text
    loc2 = urllib.parse.urljoin(server.url, r.headers["Location"])
    assert requests.get(loc2, timeout=10).headers["Range"] == "0-%d" % (have + len(more) - 1)
    # We do not know the unacknowledged bytes of the first PATCH, so commit
    # with a wrong digest: the server must refuse and keep nothing.
    bogus = digest_of(b"not the content")
    r = requests.put(with_query(loc2, digest=bogus), timeout=60)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "DIGEST_INVALID", r.text
    assert requests.get("%s/v2/%s/blobs/%s" % (server.url, repo, bogus), timeout=10).status_code == 404
    del ledger.parked[loc]

    # Stale sessions are purged by age at start. berth accepts a purge age of
    # at least 60 s, so rather than wait, the parked sessions are made an hour
    # old while the server is down: their startedat file and their metadata
    # row. One fresh session is left as it is and must survive the purge.
    assert ledger.parked
    ids = {loc: upload_id(loc) for loc in ledger.parked}
    for loc, uid in ids.items():
        assert os.path.isdir(os.path.join(data, "uploads", uid)), "no upload directory for %s" % uid
    fresh_loc = urllib.parse.urljoin(server.url, requests.post(
        "%s/v2/crash/fresh/blobs/uploads/" % server.url, timeout=10).headers["Location"])
    r = requests.patch(fresh_loc, data=b"x" * 100, timeout=10, headers={
        "Content-Type": "application/octet-stream", "Content-Range": "0-99"})
    assert r.status_code == 202, r.text
    fresh_loc = urllib.parse.urljoin(server.url, r.headers["Location"])
    assert server.stop() == 0, "SIGTERM shutdown failed:\n%s" % server.read_log()[-3000:]
    backdate_uploads(data, ids.values(), 3600)
    log_offset = len(server.read_log())
    server.extra_args = [PURGE_FLAG, "60"]
    server.start()
    deadline = time.time() + 15
    pending = dict(ids)
    while pending and time.time() < deadline:
        for loc in list(pending):
            r = requests.get(loc, timeout=10)
            if r.status_code == 404:
                assert r.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN", r.text
                if not os.path.exists(os.path.join(data, "uploads", pending[loc])):
                    del pending[loc]
        time.sleep(0.2)
    assert not pending, "stale uploads not purged: %s" % sorted(pending.values())
    assert check_session(server.url, fresh_loc, "crash/fresh", 100) == 100
    assert os.path.isdir(os.path.join(data, "uploads", upload_id(fresh_loc)))
    log = new_log_since(server, log_offset)
    assert not ERROR_LINE.search(log), "errors logged at restart:\n%s" % log

    # Purging touched no committed content; the server still takes pushes.
    for (repo, d), size in list(ledger.blobs.items())[:20]:
        check_blob(server.url, repo, d, size, must_exist=True)
    fresh = os.urandom(MIB + 7)
    d = digest_of(fresh)
    r = requests.post("%s/v2/crash/after/blobs/uploads/" % server.url, params={"digest": d},
                      data=fresh, timeout=60)
    assert r.status_code == 201, r.text
    check_blob(server.url, "crash/after", d, len(fresh), must_exist=True)
    print("cycles (acked blobs, unacked commits, of which landed, manifests, open sessions, parked):",
          stats)
