"""N replicas (issue 15): three `berth serve` processes with the same config,
sharing one database and one blob store, behind haproxy (health checks on
/healthz, X-Forwarded-For added, round robin).

The backend is a parameter (BACKENDS): one SQLite file in WAL mode and one
store directory on this machine; and PostgreSQL (the run's server, a schema
of its own) with blobs in S3 (a bucket of its own), the deployment of
several machines, once on the run's Ceph RGW and once on Swift's S3 API. Everything here talks HTTP to the
processes, directly or through haproxy; nothing reads the shared files.

One cluster serves every test of the module (started once, ~2 s); the kill -9
test runs last because it leaves two processes.
"""
# needs-peer: postgres
# needs-peer: ceph-rgw
# needs-peer: swift-s3
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

import conftest
import copyutil as u

PASSWORD = "scale-admin-pw"
AUTH = ("admin", PASSWORD)
N = 3
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


# ---- backends: what the processes share ----

class LocalBackend:
    """One SQLite database (WAL) and one store directory on this machine."""
    name = "sqlite-fs"

    def __init__(self, root):
        self.dir = os.path.join(root, "shared")
        os.makedirs(self.dir)

    def config(self):
        return ("storage:\n  filesystem:\n    rootdirectory: %s\n"
                "database:\n  sqlite:\n    path: %s/berth.db\n" % (self.dir, self.dir))

    def stop(self):
        pass


class PostgresS3Backend:
    """The run's PostgreSQL (a fresh schema) and Ceph RGW (a fresh bucket);
    the shared directory keeps only the token key file (docs/scale-out.md)."""
    name = "postgres-s3"
    endpoint_var, peer, keys = "BERTH_TEST_S3_ENDPOINT", "ceph-rgw", "RGW_KEYS"

    def __init__(self, root):
        import s3util
        self.dir = os.path.join(root, "shared")
        os.makedirs(self.dir)
        dsn = self.base_dsn()
        schema = "scale_%d_%d" % (os.getpid(), random.randint(0, 10**9))
        subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-q", "-c",
                        "CREATE SCHEMA %s" % schema], check=True, capture_output=True)
        self.dsn = "%s options='-c search_path=%s'" % (dsn, schema)
        ep = s3util.endpoint(self.endpoint_var, self.peer)
        keys = getattr(s3util, self.keys)
        bucket = s3util.make_bucket(ep, keys)
        s3 = s3util.s3_config(ep, keys, bucket)
        self.s3 = s3[s3.index("  s3:"):]

    def base_dsn(self):
        """The PostgreSQL database whose fresh schema the cluster uses."""
        dsn = os.environ.get("BERTH_TEST_PG_DSN")
        assert dsn, "needs BERTH_TEST_PG_DSN: run through ctest (fixture postgres)"
        return dsn

    def config(self):
        return ("storage:\n  filesystem:\n    rootdirectory: %s\n%s"
                "database:\n  postgres:\n    dsn: \"%s\"\n" % (self.dir, self.s3, self.dsn))

    def stop(self):
        pass


class PostgresSwiftBackend(PostgresS3Backend):
    """The run's PostgreSQL and OpenStack Swift's s3api (a fresh bucket)."""
    name = "postgres-swift"
    endpoint_var, peer, keys = "BERTH_TEST_SWIFT_ENDPOINT", "swift-s3", "SWIFT_KEYS"


BACKENDS = [LocalBackend, PostgresS3Backend, PostgresSwiftBackend]


# ---- the cluster ----

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Node(conftest.BerthServer):
    """One process; its own log file (the data directory is shared)."""

    def __init__(self, root, i, config, env):
        super().__init__(os.path.join(root, "node%d" % i), ["--config", config])
        os.makedirs(self.data, exist_ok=True)  # unused: the store is the config's
        self.log_path = os.path.join(root, "node%d.log" % i)
        self.env = env

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        args = [conftest.BERTH_BIN, "serve", "--listen", self.host] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berth serve exited:\n" + self.read_log())
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("berth serve did not answer:\n" + self.read_log())


class Haproxy:
    def __init__(self, root, nodes, port):
        u.need("haproxy")
        self.port = port
        self.url = "http://127.0.0.1:%d" % self.port
        self.host = "127.0.0.1:%d" % self.port
        self.cfg = os.path.join(root, "haproxy.cfg")
        servers = "".join("    server n%d %s check inter 300ms fall 2 rise 1\n" % (i, n.host)
                          for i, n in enumerate(nodes))
        with open(self.cfg, "w") as f:
            f.write("global\n    maxconn 512\n"
                    "defaults\n    mode http\n    timeout connect 2s\n"
                    "    timeout client 60s\n    timeout server 60s\n"
                    "    option forwardfor\n    retries 2\n    option redispatch\n"
                    "frontend fe\n    bind 127.0.0.1:%d\n    default_backend berth\n"
                    "backend berth\n    balance roundrobin\n"
                    "    option httpchk GET /healthz\n    http-check expect status 200\n%s"
                    % (self.port, servers))
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("haproxy did not answer: %s" % self.proc.stderr.read1(4096))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Cluster:
    def __init__(self, backend_cls):
        self.tmp = tempfile.TemporaryDirectory(prefix="berth-scale-")
        root = self.tmp.name
        self.backend = backend_cls(root)
        self.target = conftest.BerthServer(os.path.join(root, "target"))  # replication target
        os.makedirs(self.target.data)
        self.target.start()
        pw = os.path.join(root, "admin.pw")
        with open(pw, "w") as f:
            f.write(PASSWORD)
        ports = [conftest.free_port() for _ in range(N + 1)]
        self.config = os.path.join(root, "berth.yaml")
        with open(self.config, "w") as f:
            f.write("version: 1\n"
                    "http:\n  host: http://127.0.0.1:%d\n  trusted_proxies: [127.0.0.1]\n"
                    "auth:\n  enabled: true\n  admin_password_file: %s\n%s"
                    "registries:\n  - name: dr\n    url: %s\n"
                    "replication:\n  - name: nightly\n    target: %s\n"
                    "    trigger:\n      type: scheduled\n      cron: \"0 0 * * *\"\n"
                    "    filters:\n      - resource: image\n        pattern: \"cron/**\"\n"
                    % (ports[N], pw, self.backend.config(), self.target.url, self.target.url))
        env = dict(os.environ, BERTH_REPLICATION_TEST_CLOCK="1")
        self.nodes = []
        for i in range(N):
            n = Node(root, i, self.config, env)
            n.port = ports[i]
            n.url = "http://127.0.0.1:%d" % n.port
            n.host = "127.0.0.1:%d" % n.port
            self.nodes.append(n)
        # All three at once: first start of a fresh database and key file races.
        threads = [threading.Thread(target=n.start) for n in self.nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for n in self.nodes:
            assert n.proc and n.proc.poll() is None, n.read_log()
        self.lb = Haproxy(root, self.nodes, ports[N])

    def stop(self):
        self.lb.stop()
        for n in self.nodes:
            n.stop()
        self.target.stop()
        self.backend.stop()
        self.tmp.cleanup()


@pytest.fixture(scope="module", params=BACKENDS, ids=lambda b: b.name)
def cluster(request):
    c = Cluster(request.param)
    yield c
    c.stop()


# ---- a small registry client (requests) ----

def session(auth=AUTH):
    s = requests.Session()
    s.auth = auth
    return s


def upload_blob(bases, repo, data, chunks=1, s=None):
    """Push `data` in `chunks` PATCHes; request k goes to bases[k % len(bases)]."""
    s = s or session()
    d = sha(data)
    r = s.post(bases[0] + "/v2/%s/blobs/uploads/" % repo, timeout=30)
    assert r.status_code == 202, r.text
    path = r.headers["Location"].split("://", 1)[-1]
    path = path[path.index("/"):]
    step = -(-len(data) // chunks)
    for k in range(chunks):
        part = data[k * step:(k + 1) * step]
        r = s.patch(bases[(k + 1) % len(bases)] + path, data=SlowBody(part), timeout=30,
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Range": "%d-%d" % (k * step, k * step + len(part) - 1)})
        assert r.status_code == 202, (k, r.status_code, r.text)
        path = r.headers["Location"].split("://", 1)[-1]
        path = path[path.index("/"):]
    sep = "&" if "?" in path else "?"
    r = s.put(bases[(chunks + 1) % len(bases)] + path + sep + "digest=" + d, timeout=30)
    assert r.status_code == 201, r.text
    return d


def put_image(base, repo, tag, layers, s=None):
    s = s or session()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha(x) for x in layers]}}).encode()
    descs = []
    for x in layers:
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                      "digest": upload_blob([base], repo, x, s=s), "size": len(x)})
    man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": upload_blob([base], repo, config, s=s),
                                 "size": len(config)},
                      "layers": descs}).encode()
    r = s.put(base + "/v2/%s/manifests/%s" % (repo, tag), data=man, timeout=30,
              headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201, r.text
    return sha(man)


def pull_verified(base, repo, ref, s=None):
    """Fetch a manifest and every blob it names, checking each digest; the manifest digest."""
    s = s or session()
    r = s.get(base + "/v2/%s/manifests/%s" % (repo, ref), headers={"Accept": OCI_MANIFEST},
              timeout=30)
    assert r.status_code == 200, (base, repo, ref, r.status_code, r.text)
    assert r.headers["Docker-Content-Digest"] == sha(r.content)
    m = r.json()
    for desc in [m["config"]] + m["layers"]:
        b = s.get(base + "/v2/%s/blobs/%s" % (repo, desc["digest"]), timeout=60)
        assert b.status_code == 200 and sha(b.content) == desc["digest"], (repo, desc)
        assert len(b.content) == desc["size"]
    return sha(r.content)


def metrics_requests(node):
    """Requests this process served, all routes but /healthz and /metrics."""
    text = requests.get(node.url + "/metrics", timeout=10).text
    total = 0
    for m in re.finditer(r'^berth_http_requests_total\{route="([^"]+)"[^}]*\} (\d+)', text, re.M):
        if m.group(1) not in ("healthz", "metrics"):
            total += int(m.group(2))
    return total


# ---- tests ----

def test_every_process_reports_healthy(cluster):
    for n in cluster.nodes:
        r = requests.get(n.url + "/healthz", timeout=5)
        assert r.status_code == 200 and r.text == "ok\n", r.text
    assert requests.get(cluster.lb.url + "/healthz", timeout=5).status_code == 200


def test_push_through_one_pull_through_the_others(cluster):
    a, b, c = (n.url for n in cluster.nodes)
    layers = [os.urandom(300000), os.urandom(5000)]
    digest = put_image(a, "scale/one", "v1", layers)
    for base in (b, c, cluster.lb.url):
        assert pull_verified(base, "scale/one", "v1") == digest
        assert pull_verified(base, "scale/one", digest) == digest
    r = session().get(c + "/v2/scale/one/tags/list", timeout=10)
    assert r.json()["tags"] == ["v1"]


def test_chunked_upload_spread_over_three_processes(cluster):
    bases = [n.url for n in cluster.nodes]
    data = os.urandom(3 * 700000 + 13)
    # POST on 0, PATCHes on 1, 2, 0, PUT on 1.
    d = upload_blob(bases, "scale/chunks", data, chunks=3)
    for base in bases:
        r = session().get(base + "/v2/scale/chunks/blobs/" + d, timeout=30)
        assert r.status_code == 200 and r.content == data
    # Its upload state is readable on every process while it is open.
    s = session()
    r = s.post(bases[0] + "/v2/scale/chunks/blobs/uploads/", timeout=10)
    loc = r.headers["Location"]
    path = loc[loc.index("/v2/"):]
    assert s.patch(bases[1] + path, data=b"x" * 1000, timeout=10).status_code == 202
    for base in bases:
        st = s.get(base + path, timeout=10)
        assert st.status_code == 204 and st.headers["Range"] == "0-999", (base, st.headers)


def test_token_issued_by_one_is_accepted_by_all(cluster):
    a = cluster.nodes[0].url
    put_image(a, "scale/tok", "1", [b"token-layer"])
    r = requests.get(a + "/token", params={"service": "berth",
                                           "scope": "repository:scale/tok:pull,push"},
                     auth=AUTH, timeout=10)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    for n in cluster.nodes + [cluster.lb]:
        h = {"Authorization": "Bearer " + token, "Accept": OCI_MANIFEST}
        g = requests.get(n.url + "/v2/scale/tok/manifests/1", headers=h, timeout=10)
        assert g.status_code == 200, (n.url, g.status_code, g.text)
        # A token signed by another key is refused everywhere.
        bad = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        g = requests.get(n.url + "/v2/scale/tok/manifests/1", timeout=10,
                         headers={"Authorization": "Bearer " + bad})
        assert g.status_code == 401


def test_skopeo_and_podman_through_haproxy_each_process_serves(cluster, tmp_path):
    u.need("skopeo")
    u.need("podman")
    before = [metrics_requests(n) for n in cluster.nodes]
    lb = cluster.lb.host
    creds = "%s:%s" % AUTH
    u.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds,
             "oci:" + u.small_image() + ":small", "docker://%s/scale/skopeo:1" % lb)
    out = tmp_path / "pulled"
    u.skopeo("copy", "--src-tls-verify=false", "--src-creds", creds,
             "docker://%s/scale/skopeo:1" % lb, "oci:%s:1" % out)
    want = u.read_layout(u.small_image(), "small")
    got = u.read_layout(str(out), "1")
    u.assert_same_image(got, want, exact=True)
    # podman pulls through the load balancer too (isolated storage).
    root = tmp_path / "pm"
    run_root = tempfile.mkdtemp(prefix="bp-", dir="/tmp")
    base = ["podman", "--root", str(root / "root"), "--runroot", run_root, "--tmpdir",
            str(root / "tmp"), "--storage-driver", "vfs", "--events-backend", "none",
            "--cgroup-manager", "cgroupfs"]
    env = dict(os.environ, XDG_RUNTIME_DIR=str(root / "xdg"), XDG_CONFIG_HOME=str(root / "cfg"))
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    try:
        p = subprocess.run(base + ["pull", "--tls-verify=false", "--creds", creds,
                                   "%s/scale/skopeo:1" % lb],
                           env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        p = subprocess.run(base + ["push", "--tls-verify=false", "--creds", creds,
                                   "%s/scale/skopeo:1" % lb, "%s/scale/podman:1" % lb],
                           env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
    finally:
        subprocess.run(base + ["rmi", "--all", "--force"], env=env, capture_output=True)
        shutil.rmtree(run_root, ignore_errors=True)
    pull_verified(cluster.nodes[2].url, "scale/podman", "1", s=session())
    after = [metrics_requests(n) for n in cluster.nodes]
    for i in range(N):
        assert after[i] > before[i] + 2, ("process %d served no part of the traffic" % i,
                                          before, after)


def test_forwarded_for_is_believed_from_the_trusted_proxy(cluster):
    rid = "xff-%d" % random.randint(0, 1 << 30)
    r = requests.get(cluster.lb.url + "/v2/", auth=AUTH, timeout=10,
                     headers={"X-Forwarded-For": "203.0.113.7", "X-Request-Id": rid})
    assert r.status_code == 200
    deadline = time.time() + 10
    line = None
    while line is None and time.time() < deadline:
        for n in cluster.nodes:
            for l in n.read_log().splitlines():
                if "request_id=" + rid in l:
                    line = (n, l)
        time.sleep(0.05)
    assert line, "no access log line for %s" % rid
    n, l = line
    assert "remote=203.0.113.7" in l and "peer=127.0.0.1" in l, l
    assert "pid=%d" % n.proc.pid in l, l
    # Directly (the peer is 127.0.0.1, trusted too): the header is believed,
    # and a client-written entry left of an untrusted hop is not.
    rid2 = rid + "-direct"
    requests.get(n.url + "/v2/", auth=AUTH, timeout=10,
                 headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9", "X-Request-Id": rid2})
    deadline = time.time() + 10
    while "request_id=" + rid2 not in n.read_log() and time.time() < deadline:
        time.sleep(0.05)
    l2 = [l for l in n.read_log().splitlines() if "request_id=" + rid2 in l]
    assert l2 and "remote=203.0.113.9" in l2[0], l2


def repl_api(node, method, path, body=None):
    return requests.request(method, node.url + "/api/v1/replication" + path, json=body,
                            auth=AUTH, timeout=30)


def test_cron_tick_runs_once_across_the_processes(cluster):
    put_image(cluster.nodes[0].url, "cron/app", "1", [os.urandom(20000)])
    now = int(time.time()) + 3 * 86400  # past the next midnight: the schedule is due
    queued = [None] * N

    def tick(i):
        r = repl_api(cluster.nodes[i], "POST", "/tick", {"now": now})
        assert r.status_code == 200, r.text
        queued[i] = r.json()["queued"]

    threads = [threading.Thread(target=tick, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(queued) == [0] * (N - 1) + [1], queued
    deadline = time.time() + 60
    ex = []
    while time.time() < deadline:
        ex = repl_api(cluster.nodes[1], "GET", "/executions?rule=nightly").json()
        if ex and all(e["status"] != "running" for e in ex):
            break
        time.sleep(0.2)
    assert len(ex) == 1 and ex[0]["status"] == "succeeded", (ex, ex and repl_api(
        cluster.nodes[1], "GET", "/executions/%d/results" % ex[0]["id"]).text)
    assert ex[0]["trigger"] == "scheduled"
    assert pull_verified(cluster.target.url, "cron/app", "1", s=session(None))
    # The same tick again: already fired, nobody runs it.
    for n in cluster.nodes:
        assert repl_api(n, "POST", "/tick", {"now": now}).json()["queued"] == 0
    assert len(repl_api(cluster.nodes[2], "GET", "/executions?rule=nightly").json()) == 1


# ---- settings changed through one process, seen by the others at once ----

def api(node, method, path, body=None, auth=AUTH):
    return requests.request(method, node.url + "/api/v1" + path, json=body, auth=auth, timeout=30)


def pubkey_pem():
    key = subprocess.run(["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout"],
                         check=True, capture_output=True).stdout
    return subprocess.run(["openssl", "ec", "-pubout"], input=key, check=True,
                          capture_output=True).stdout.decode()


def test_settings_made_on_one_process_apply_on_the_others(cluster):
    """Replication registries and rules live in the database and in each
    process's memory: a change through A bumps the replication generation,
    which B and C read with their next request that uses the rules (no
    restart, no wait). Projects, robots and the signature policy likewise."""
    a, b, c = cluster.nodes
    tag = "%08x" % random.getrandbits(32)
    reg, rule = "gen-reg-" + tag, "gen-rule-" + tag
    r = repl_api(a, "POST", "/registries", {"name": reg, "url": cluster.target.url})
    assert r.status_code == 201, r.text
    assert reg in [g["name"] for g in repl_api(b, "GET", "/registries").json()]
    r = repl_api(a, "POST", "/policies", {
        "name": rule, "target": cluster.target.url, "trigger": {"type": "event_based"},
        "filters": [{"resource": "image", "pattern": "gen%s/**" % tag}]})
    assert r.status_code == 201, r.text
    assert repl_api(c, "GET", "/policies/" + rule).json()["target"] == cluster.target.url
    # A push through B triggers the rule A created.
    digest = put_image(b.url, "gen%s/app" % tag, "1", [os.urandom(5000)])
    deadline = time.time() + 60
    ex = []
    while time.time() < deadline:
        ex = repl_api(c, "GET", "/executions?rule=" + rule).json()
        if ex and all(e["status"] != "running" for e in ex):
            break
        time.sleep(0.1)
    assert ex and ex[0]["trigger"] == "event" and ex[0]["status"] == "succeeded", ex
    assert pull_verified(cluster.target.url, "gen%s/app" % tag, "1", s=session(None)) == digest
    # Deleted through C: gone on A and B, and the registry may go too.
    assert repl_api(c, "DELETE", "/policies/" + rule).status_code == 204
    assert repl_api(a, "GET", "/policies/" + rule).status_code == 404
    assert rule not in [x["name"] for x in repl_api(b, "GET", "/policies").json()]
    assert repl_api(b, "DELETE", "/registries/" + reg).status_code == 204
    assert reg not in [g["name"] for g in repl_api(a, "GET", "/registries").json()]

    # A public project made on A, an image in it, pulled anonymously on B;
    # a signature policy set on A refuses it on B and C; lifted on C, B serves it.
    proj = "genp" + tag
    assert api(a, "POST", "/projects", {"name": proj, "public": True}).status_code == 201
    put_image(a.url, proj + "/app", "1", [os.urandom(3000)])
    h = {"Accept": OCI_MANIFEST}
    assert requests.get(b.url + "/v2/%s/app/manifests/1" % proj, headers=h,
                        timeout=10).status_code == 200
    # A guest (who may not push, so the gate applies to them) made on C.
    guest = ("genu" + tag, "pw-" + tag + "-guest-password")
    assert api(c, "POST", "/users", {"name": guest[0], "password": guest[1]}).status_code == 201
    r = api(c, "PUT", "/projects/%s/members/%s" % (proj, guest[0]), {"role": "guest"})
    assert r.status_code == 204, r.text
    r = api(a, "PUT", "/projects/" + proj, {"require_signature": [pubkey_pem()]})
    assert r.status_code == 204, r.text
    for n in (b, c):
        g = requests.get(n.url + "/v2/%s/app/manifests/1" % proj, headers=h, timeout=10,
                         auth=guest)
        assert g.status_code == 403 and "signature policy" in g.text, (n.url, g.status_code,
                                                                       g.text)
    assert api(c, "PUT", "/projects/" + proj, {"require_signature": []}).status_code == 204
    assert requests.get(b.url + "/v2/%s/app/manifests/1" % proj, headers=h, auth=guest,
                        timeout=10).status_code == 200
    # A robot made on B pushes through C and A.
    r = api(b, "POST", "/robots", {"name": "gen" + tag, "permissions": [
        {"project": proj, "actions": ["pull", "push"]}]})
    assert r.status_code == 201, r.text
    robot = (r.json()["name"], r.json()["secret"])
    put_image(c.url, proj + "/bot", "1", [b"robot-layer"], s=session(robot))
    assert pull_verified(a.url, proj + "/bot", "1", s=session(robot))


class SlowBody:
    """A PATCH body sent 8 KiB at a time, a millisecond apart (with its
    Content-Length): each chunk stays in flight long enough that a process
    killed while 32 pushers run is always in the middle of some of them."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def __len__(self):
        return len(self.data)

    def read(self, n=8192):
        if self.pos:
            time.sleep(0.001)
        n = 8192 if n is None or n < 0 else n
        piece = self.data[self.pos:self.pos + n]
        self.pos += len(piece)
        return piece


class Pusher:
    """One image pushed through haproxy in chunks; resumes an upload whose
    process died by asking the load balancer (another process) for its offset."""

    def __init__(self, base, i):
        self.base, self.i = base, i
        self.repo = "scale/kill%d" % i
        self.layer = os.urandom(random.randint(300000, 600000))
        self.acked = None
        self.resumed = 0
        self.error = None

    def retried(self, call, ok, tries=8):
        """A request a client retries: one that failed with the killed process
        (a 502 from haproxy, a reset connection) is sent again."""
        r = None
        for _ in range(tries):
            try:
                r = call()
                if r.status_code in ok:
                    return r
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("gave up: %s" % (r is not None and (r.status_code, r.text)))

    def blob(self, s, data, chunk=131072):
        r = self.retried(lambda: s.post(self.base + "/v2/%s/blobs/uploads/" % self.repo,
                                        timeout=30), (202,))
        path = r.headers["Location"][r.headers["Location"].index("/v2/"):]
        off = 0
        while off < len(data):
            part = data[off:off + chunk]
            r = None
            try:
                r = s.patch(self.base + path, data=SlowBody(part), timeout=30,
                            headers={"Content-Range": "%d-%d" % (off, off + len(part) - 1),
                                     "Content-Type": "application/octet-stream"})
                ok = r.status_code == 202
            except requests.RequestException:
                ok = False
            if not ok:
                # Resume: where does the upload stand (on whichever process answers)?
                # Bounded: a process that keeps refusing the offset another
                # reports (416) fails this push instead of looping.
                if self.resumed >= 20:
                    raise AssertionError("upload %s: %d resumes, last PATCH %s" % (
                        path, self.resumed, r.status_code if r is not None else "error"))
                # "0-0" is Distribution's answer for an empty upload (and for
                # one of a single byte): resume at 0, at 1 if 0 was refused.
                zero_refused = off == 0 and r is not None and r.status_code == 416
                r = None
                st = self.retried(lambda: s.get(self.base + path, timeout=30), (204,))
                last = int(st.headers["Range"].split("-")[1])
                off = last + 1 if last or zero_refused else 0
                self.resumed += 1
                continue
            off += len(part)
        self.retried(lambda: s.put(self.base + path + "?digest=" + sha(data), timeout=30),
                     (201,))
        return sha(data)

    def run(self):
        try:
            s = session()
            cfg = json.dumps({"architecture": "amd64", "os": "linux", "n": self.i}).encode()
            layers = [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": self.blob(s, self.layer), "size": len(self.layer)}]
            man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                              "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                         "digest": self.blob(s, cfg), "size": len(cfg)},
                              "layers": layers}).encode()
            # Not retried: a manifest PUT lost with the process is not acknowledged.
            r = s.put(self.base + "/v2/%s/manifests/1" % self.repo, data=man, timeout=30,
                      headers={"Content-Type": OCI_MANIFEST})
            if r.status_code == 201:
                self.acked = sha(man)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = repr(e)


# Not on Swift: its s3api on one test machine takes seconds per small push,
# and 32 parallel pushes there outlast the test's budget (the protocol,
# client and settings tests above run on it).
@pytest.mark.parametrize("cluster", [LocalBackend, PostgresS3Backend], indirect=True,
                         ids=lambda b: b.name)
def test_kill9_during_32_parallel_pushes(cluster):
    pushers = [Pusher(cluster.lb.url, i) for i in range(32)]
    threads = [threading.Thread(target=p.run) for p in pushers]
    for t in threads:
        t.start()
    # Let the pushes get going, then kill one process outright.
    victim = cluster.nodes[0]
    deadline = time.time() + 30
    while time.time() < deadline and metrics_requests(victim) < 40:
        time.sleep(0.01)
    victim.kill9()
    deadline = time.time() + 240
    for t in threads:
        t.join(max(0, deadline - time.time()))
    assert not any(t.is_alive() for t in threads), "pushes still running after 240 s"
    survivors = [n.url for n in cluster.nodes[1:]]
    acked = [p for p in pushers if p.acked]
    # A push whose manifest PUT died with the process is not acknowledged;
    # every push the registry acknowledged is whole on every survivor.
    assert len(acked) >= 24, [(p.i, p.error) for p in pushers if not p.acked]
    for p in acked:
        for base in survivors:
            assert pull_verified(base, p.repo, "1") == p.acked
    assert sum(p.resumed for p in pushers) > 0, "no upload was interrupted by the kill"
    for n in cluster.nodes[1:]:
        assert requests.get(n.url + "/healthz", timeout=5).status_code == 200
