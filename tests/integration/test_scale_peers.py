# needs-peer: ceph-rgw
# needs-peer: dockerd
"""N replicas (issue 15), the rest of "Tests that must pass": three `berth
serve` processes behind haproxy (test_scale_local's cluster) on a PostgreSQL
of this module's own and the run's Ceph RGW, and

- Docker Engine (the run's dockerd) pushes and pulls through the load
  balancer (127.0.0.0/8 registries are plain HTTP to it by default);
- the access-control matrix (anonymous, users of each role, robots x pull,
  push, delete x a public and a private project) through the load balancer
  with Basic credentials, and with tokens issued by one process and used on
  another;
- each process's /metrics shows it served part of that traffic, and the
  three PATCHes of one chunked upload sent to each process directly are
  counted there;
- per-client login throttling behind haproxy is keyed on the address
  X-Forwarded-For names (the peer, haproxy, is in http.trusted_proxies),
  and an untrusted peer's X-Forwarded-For is ignored;
- a PostgreSQL restart during traffic (last: it disturbs the others): every
  answer is a success or a 503 with an OCI error body, never a hang or a
  bare 500, and service comes back within seconds with no berth restart.

The PostgreSQL is this module's own (not the run's fixture, which other tests
share) so that restarting it disturbs nobody else.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

import authutil as au
import conftest
import ocitools as oci
import test_scale_local as sl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402

DOCKER = "/usr/bin/docker"


# ---- the cluster: its own PostgreSQL, the run's Ceph RGW ----

class OwnPostgres:
    """A PostgreSQL started by tests/peers/postgres-start.sh in a directory
    the postgres user can reach; restartable (stop, start) in place."""

    def __init__(self):
        self.top = tempfile.mkdtemp(prefix="berth-scale-pg-")
        os.chmod(self.top, 0o755)
        self.dir = os.path.join(self.top, "pg")
        self.port = conftest.free_port()
        self.script = os.path.join(conftest.SOURCE_DIR, "tests", "peers")
        p = subprocess.run(["sh", os.path.join(self.script, "postgres-start.sh"), self.dir,
                            str(self.port)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "postgres-start.sh: %s%s" % (p.stdout, p.stderr)
        self.dsn = "host=127.0.0.1 port=%d dbname=berth user=postgres" % self.port
        bins = sorted(d for d in os.listdir("/usr/lib/postgresql"))
        self.pg_ctl = "/usr/lib/postgresql/%s/bin/pg_ctl" % bins[-1]

    def ctl(self, *args):
        as_ = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        p = subprocess.run(as_ + [self.pg_ctl, "-D", os.path.join(self.dir, "data")] + list(args),
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "pg_ctl %s: %s%s" % (args, p.stdout, p.stderr)

    def stop_server(self):
        self.ctl("-m", "fast", "-w", "-t", "60", "stop")

    def start_server(self):
        # The options of postgres-start.sh, in the same data directory.
        self.ctl("-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60", "-o",
                 "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off "
                 "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
                 % (self.port, self.dir), "start")

    def cleanup(self):
        subprocess.run(["sh", os.path.join(self.script, "postgres-stop.sh"), self.dir],
                       capture_output=True, timeout=120)
        shutil.rmtree(self.top, ignore_errors=True)


class OwnPostgresS3Backend(sl.PostgresS3Backend):
    name = "own-postgres-s3"

    def __init__(self, root):
        self.pg = OwnPostgres()
        try:
            super().__init__(root)
        except BaseException:
            self.pg.cleanup()
            raise

    def base_dsn(self):
        return self.pg.dsn

    def stop(self):
        self.pg.cleanup()


@pytest.fixture(scope="module")
def cluster():
    c = sl.Cluster(OwnPostgresS3Backend)
    yield c
    c.stop()


def by_route(node, route):
    """Requests of `route` this process counted in /metrics."""
    text = requests.get(node.url + "/metrics", timeout=10).text
    total = 0
    for line in text.splitlines():
        if not line.startswith("berth_http_requests_total{"):
            continue
        labels, value = line.rsplit(" ", 1)
        if 'route="%s"' % route in labels:
            total += int(value)
    return total


def each_served(cluster, before, what):
    after = [sl.metrics_requests(n) for n in cluster.nodes]
    for i in range(sl.N):
        assert after[i] > before[i], ("%s: process %d served none of it" % (what, i), before,
                                      after)


# ---- (3) the three PATCHes of one upload, each on another process directly ----

def test_three_patches_each_counted_by_its_process(cluster):
    before = [by_route(n, "upload_patch") for n in cluster.nodes]
    bases = [n.url for n in cluster.nodes]
    data = os.urandom(3 * 200000 + 7)
    # POST on 0; PATCHes on 1, 2, 0; PUT on 1 (sl.upload_blob's rotation).
    d = sl.upload_blob(bases, "scale/patches", data, chunks=3)
    after = [by_route(n, "upload_patch") for n in cluster.nodes]
    assert [a - b for a, b in zip(after, before)] == [1, 1, 1], (before, after)
    r = sl.session().get(cluster.lb.url + "/v2/scale/patches/blobs/" + d, timeout=30)
    assert r.status_code == 200 and r.content == data


# ---- (1) Docker Engine through the load balancer ----

def docker(cfg, *args, timeout=300):
    if not os.environ.get("DOCKER_HOST"):
        pytest.fail("DOCKER_HOST unset: run through ctest (fixture dockerd, "
                    "tests/peers/dockerd-start.sh; apt-get install docker.io)")
    if not os.path.exists(DOCKER):
        pytest.fail("docker missing: apt-get install docker.io (scripts/deps.sh test)")
    p = subprocess.run([DOCKER, "--config", cfg] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, "docker %s: %s%s" % (" ".join(args), p.stdout, p.stderr)
    return p.stdout


def test_docker_push_and_pull_through_haproxy(cluster, tmp_path):
    lb = cluster.lb.host
    src = images.ensure("busybox")
    ct.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", "%s:%s" % sl.AUTH,
              "oci:%s:busybox" % src, "docker://%s/scale/busybox:1" % lb)
    cfg = str(tmp_path / "docker")
    os.makedirs(cfg)
    before = [sl.metrics_requests(n) for n in cluster.nodes]
    names = ["%s/scale/busybox:1" % lb, "%s/scale/docker:%d" % (lb, os.getpid())]
    try:
        p = subprocess.run([DOCKER, "--config", cfg, "login", "-u", sl.AUTH[0],
                            "--password-stdin", lb], input=sl.AUTH[1], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        docker(cfg, "pull", names[0])
        docker(cfg, "tag", names[0], names[1])
        docker(cfg, "push", names[1])
        pushed = json.loads(docker(cfg, "image", "inspect", names[1]))[0]
        docker(cfg, "image", "rm", names[0], names[1])
        docker(cfg, "pull", names[1])
        pulled = json.loads(docker(cfg, "image", "inspect", names[1]))[0]
        assert pulled["Id"] == pushed["Id"], (pulled["Id"], pushed["Id"])
        assert pulled["RootFS"]["Layers"] == pushed["RootFS"]["Layers"]
        repo_digest = [d.split("@", 1)[1] for d in pulled["RepoDigests"]
                       if d.startswith("%s/scale/docker@" % lb)]
        assert repo_digest, pulled["RepoDigests"]
    finally:
        subprocess.run([DOCKER, "--config", cfg, "image", "rm", "-f"] + names,
                       capture_output=True, timeout=60)
    # What Docker pushed is whole on every process (Docker's schema 2 manifest).
    for n in cluster.nodes:
        s = sl.session()
        r = s.get(n.url + "/v2/scale/docker/manifests/" + repo_digest[0], timeout=30,
                  headers={"Accept": oci.DOCKER_MANIFEST})
        assert r.status_code == 200 and sl.sha(r.content) == repo_digest[0], r.status_code
        for desc in [r.json()["config"]] + r.json()["layers"]:
            b = s.get(n.url + "/v2/scale/docker/blobs/" + desc["digest"], timeout=60)
            assert b.status_code == 200 and sl.sha(b.content) == desc["digest"]
    each_served(cluster, before, "docker pull/push")


# ---- (2) the access-control matrix through the load balancer ----

ALL = frozenset(("pull", "push", "delete"))
PROJECTS = {"mpub": True, "mpriv": False}
ROLES = {"madmin": "admin", "mdev": "developer", "mguest": "guest"}
ROBOTS = {"mrpull": ["pull"], "mrpush": ["pull", "push"], "mrdel": ["pull", "push", "delete"]}
WHO = ["admin", "madmin", "mdev", "mguest", "moutsider", "mrpull", "mrpush", "mrdel",
       "anonymous"]


def allowed(who, project):
    public = PROJECTS[project]
    if who == "admin":
        return ALL
    acts = set()
    if who in ROLES:
        acts = {"admin": set(ALL), "developer": {"pull", "push"}, "guest": {"pull"}}[ROLES[who]]
    if who in ROBOTS and project == "mpriv":
        acts = set(ROBOTS[who])
    if public:
        acts.add("pull")
    return frozenset(acts)


class Via(au.AuthServer):
    """authutil's client, talking to one base URL (a process or haproxy);
    challenges name the load balancer's realm (http.host)."""

    def __init__(self, cluster, base):
        super().__init__(tempfile.gettempdir(), admin_password=sl.PASSWORD)
        shutil.rmtree(self.secret_dir, ignore_errors=True)  # nothing to start
        self.url = base
        self.realm_url = cluster.lb.url

    def realm(self):
        lb = au.AuthServer.__new__(au.AuthServer)
        lb.url = self.realm_url
        return lb


@pytest.fixture(scope="module")
def world(cluster):
    nodes = [Via(cluster, n.url) for n in cluster.nodes]
    a = nodes[0]
    creds = {"admin": sl.AUTH, "anonymous": None}
    for name in list(ROLES) + ["moutsider"]:
        creds[name] = a.add_user(name)
    for p, public in PROJECTS.items():
        a.add_project(p, public=public)
        for user, role in ROLES.items():
            a.set_member(p, user, role)
    for name, acts in ROBOTS.items():
        creds[name] = nodes[1].add_robot(name, [{"project": "mpriv", "actions": acts}])
    for p in PROJECTS:
        nodes[2].seed(p + "/app", "1")
    return {"nodes": nodes, "lb": Via(cluster, cluster.lb.url), "creds": creds}


def check(via, who, repo, cred, basic, problems):
    project = repo.split("/")[0]
    want = allowed(who, project)
    lb = via.realm()

    def expect(action, r, ok, what):
        what = "%s %s %s via %s: %s" % (who, "basic" if basic else "token", repo, via.url, what)
        try:
            if action in want:
                au.assert_status(r, ok, what)
            elif basic and who == "anonymous":
                au.assert_status(r, 401, what)
                au.assert_challenge(lb, r, repo, action)
            elif basic:
                au.assert_status(r, 403, what)
            else:
                au.assert_status(r, (401, 403), what)
        except AssertionError as e:
            problems.append(str(e))

    h = {"Accept": oci.OCI_MANIFEST}
    r = via.req("GET", "/v2/%s/manifests/1" % repo, cred, headers=h)
    expect("pull", r, 200, "GET manifest")
    r = via.req("GET", "/v2/%s/tags/list" % repo, cred)
    expect("pull", r, 200, "GET tags/list")
    resps, digest = via.push(repo, "p-%s-%d" % (who, basic), cred)
    expect("push", resps[-1], 201, "push")
    if resps[-1].status_code != 201:
        # Something to delete: pushed by the administrator.
        resps, digest = via.push(repo, "d-%s-%d" % (who, basic), sl.AUTH)
        assert resps[-1].status_code == 201, resps[-1].text
    r = via.req("DELETE", "/v2/%s/manifests/%s" % (repo, digest), cred)
    expect("delete", r, 202, "DELETE manifest")


def test_access_matrix_through_haproxy_with_basic(world, cluster):
    before = [sl.metrics_requests(n) for n in cluster.nodes]
    problems = []
    for who in WHO:
        for p in PROJECTS:
            check(world["lb"], who, p + "/app", world["creds"][who], True, problems)
    assert not problems, "\n".join(problems)
    each_served(cluster, before, "the Basic matrix")


def test_access_matrix_with_tokens_issued_by_one_process_used_on_another(world, cluster):
    nodes = world["nodes"]
    problems = []
    k = 0
    for who in WHO:
        for p in PROJECTS:
            repo = p + "/app"
            issuer, user = nodes[k % 3], [nodes[(k + 1) % 3], world["lb"]]
            k += 1
            scope = "repository:%s:pull,push,delete" % repo
            tok = issuer.bearer(world["creds"][who], scope)
            got = au.access_of(tok, repo)
            if got != set(allowed(who, p)):
                problems.append("%s's token from %s grants %s on %s, want %s" % (
                    who, issuer.url, sorted(got), repo, sorted(allowed(who, p))))
            for via in user:
                check(via, who, repo, tok, False, problems)
    assert not problems, "\n".join(problems)


# ---- (5) per-client throttling keyed on X-Forwarded-For from the trusted proxy ----

def failed_logins(via, user, n, source=None, xff=None):
    """`n` logins with a wrong password; the statuses."""
    out = []
    for i in range(n):
        h = {"X-Forwarded-For": xff(i)} if xff else None
        r = via.req("GET", "/v2/", (user, "wrong-password-%d" % i), source=source, headers=h)
        out.append(r.status_code)
    return out


def test_throttling_behind_haproxy_is_per_forwarded_client(world, cluster):
    lb = world["lb"]
    user = lb.add_user("mthrottle")
    # Client X (127.0.0.2) fails through haproxy, which adds X-Forwarded-For:
    # 127.0.0.2 for every process; past 5 failures of the pair it is throttled.
    got = failed_logins(lb, user[0], 7, source="127.0.0.2")
    assert got[:5] == [401] * 5 and got[-1] == 429, got
    r = lb.req("GET", "/v2/", user, source="127.0.0.2")
    au.assert_status(r, 429, "the throttled client, right password")
    assert int(r.headers.get("Retry-After", "0")) > 0, r.headers
    # Client Y (127.0.0.3), same account, through the same haproxy: not throttled.
    r = lb.req("GET", "/v2/", user, source="127.0.0.3")
    assert r.status_code == 200, (r.status_code, r.text)
    # A client that writes its own X-Forwarded-For through haproxy: haproxy
    # appends the address it saw (127.0.0.2, untrusted), which is what counts.
    r = lb.req("GET", "/v2/", user, source="127.0.0.2",
               headers={"X-Forwarded-For": "198.51.100.77"})
    au.assert_status(r, 429, "a forged X-Forwarded-For through haproxy")
    # Two clients behind the trusted proxy named only by X-Forwarded-For
    # (directly on a process from 127.0.0.1, as haproxy connects): separate.
    direct = world["nodes"][1]
    user2 = lb.add_user("mthrottle2")
    got = failed_logins(direct, user2[0], 7, xff=lambda i: "203.0.113.10")
    assert got[-1] == 429, got
    r = direct.req("GET", "/v2/", user2, headers={"X-Forwarded-For": "203.0.113.11"})
    assert r.status_code == 200, (r.status_code, r.text)
    r = direct.req("GET", "/v2/", user2, headers={"X-Forwarded-For": "203.0.113.10"})
    au.assert_status(r, 429, "the throttled forwarded client")


def test_untrusted_peer_forwarded_for_is_ignored(world, cluster):
    """127.0.0.4 is not in http.trusted_proxies: its X-Forwarded-For (a new
    address on each request) names nobody, and its failures add up."""
    direct = world["nodes"][2]
    user = world["lb"].add_user("mthrottle3")
    got = failed_logins(direct, user[0], 7, source="127.0.0.4",
                        xff=lambda i: "192.0.2.%d" % (i + 1))
    assert got[:5] == [401] * 5 and got[-1] == 429, got
    # And the same account from a trusted proxy's client is not throttled.
    r = direct.req("GET", "/v2/", user, headers={"X-Forwarded-For": "192.0.2.1"})
    assert r.status_code == 200, (r.status_code, r.text)


# ---- (4) PostgreSQL restart during traffic (last) ----

KINDS = ["basic read", "bearer read", "token", "push"]


def traffic(node, repo, token, stop, record):
    """Reads (Basic and Bearer), token requests and small pushes on one
    process until `stop`; each answer is recorded."""
    s = sl.session()
    man = node.url + "/v2/%s/manifests/1" % repo
    i = 0
    while not stop.is_set():
        i += 1
        t0 = time.time()
        try:
            if i % 4 == 0:
                r = s.get(man, timeout=20, headers={"Accept": sl.OCI_MANIFEST})
            elif i % 4 == 1:
                r = requests.get(man, timeout=20, headers={"Accept": sl.OCI_MANIFEST,
                                                           "Authorization": "Bearer " + token})
            elif i % 4 == 2:
                r = s.get(node.url + "/token", timeout=20, params={
                    "service": "berth", "scope": "repository:%s:pull" % repo})
            else:
                r = s.post(node.url + "/v2/%s/blobs/uploads/" % repo, timeout=20,
                           params={"digest": sl.sha(b"x%d" % i)}, data=b"x%d" % i)
            body = b"" if r.status_code < 300 else r.content[:4096]
            record.append((time.time(), r.status_code, r.headers.get("Content-Type", ""),
                           body, time.time() - t0, KINDS[i % 4]))
        except requests.RequestException as e:
            record.append((time.time(), "error", "", repr(e).encode(), time.time() - t0,
                           KINDS[i % 4]))
        time.sleep(0.02)


def test_postgres_restart_during_traffic(cluster):
    pg = cluster.backend.pg
    repo = "scale/pgrestart"
    sl.put_image(cluster.nodes[0].url, repo, "1", [os.urandom(2000)])
    r = requests.get(cluster.lb.url + "/token", auth=sl.AUTH, timeout=10,
                     params={"service": "berth", "scope": "repository:%s:pull" % repo})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    stop = threading.Event()
    records = [[] for _ in cluster.nodes]
    threads = [threading.Thread(target=traffic, args=(n, repo, token, stop, records[i]))
               for i, n in enumerate(cluster.nodes)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        pg.stop_server()
        time.sleep(2)
        down_seen = [len(r) for r in records]
        pg.start_server()
        up_at = time.time()
        # Every process answers again without a restart.
        deadline = up_at + 30
        back = [None] * len(cluster.nodes)
        while time.time() < deadline and None in back:
            for i, rec in enumerate(records):
                ok = [x for x in rec if x[0] > up_at and x[1] in (200, 201)]
                if back[i] is None and len(ok) >= 3:
                    back[i] = ok[0][0] - up_at
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    problems = []
    for i, rec in enumerate(records):
        assert rec, "process %d answered nothing" % i
        for at, status, ctype, body, took, kind in rec:
            if status in (200, 201):
                continue
            if status == 503:
                try:
                    codes = au.oci_codes(_Fake(503, ctype, body))
                except AssertionError as e:
                    problems.append("process %d: 503 without an OCI error body: %s" % (i, e))
                    continue
                if "UNAVAILABLE" not in codes:
                    problems.append("process %d: 503 with codes %s" % (i, codes))
                continue
            problems.append("process %d, %s: %s %s %r (%.1f s)" % (i, kind, status, ctype, body,
                                                                 took))
    assert not problems, "\n".join(problems[:20])
    # Each kind of request met the outage (and answered 503).
    unavailable = {x[5] for rec in records for x in rec if x[1] == 503}
    assert unavailable == set(KINDS), ("kinds that saw PostgreSQL down", unavailable, down_seen)
    assert None not in back, ("some process did not recover within 30 s", back)
    for n in cluster.nodes:
        assert n.proc.poll() is None, "process exited:\n" + n.read_log()[-3000:]
        assert requests.get(n.url + "/healthz", timeout=5).status_code == 200
        sl.pull_verified(n.url, repo, "1")


class _Fake:
    """A recorded answer in the shape oci.errors reads."""

    def __init__(self, status, ctype, body):
        self.status_code = status
        self.headers = {"Content-Type": ctype}
        self.content = body

    def json(self):
        return json.loads(self.content)
