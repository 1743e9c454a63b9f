"""`berth migrate` on a registry of 1,000 images: a `berth serve` on SQLite
and a directory (access control on: projects, a member, a robot, a signature
policy, replication registries and rules, a referrer) is moved in one run,
metadata into PostgreSQL (its own schema of the run's PostgreSQL) and blobs
into Ceph RGW (its own bucket); a server started on PostgreSQL + S3 with a
fresh data directory then answers every image by tag and by digest (bytes
verified against the digests), lists the referrer, lets the robot and the
user log in, and reports the same projects, policy, robots and rules.

Before the real run, an interrupted one: the PostgreSQL connection of the
copy is killed while it writes (a trigger holds the copy inside its
transaction), and the target is left without a row, with no blob moved;
afterwards a second run into the now-filled target is refused (exit 1,
nothing written). Images share their blobs per repository (each manifest is
unique by an annotation; the blobs are per project) so that the whole test
stays within about a minute.
"""
# needs-peer: postgres
# needs-peer: ceph-rgw
import concurrent.futures
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

import requests

import authutil as au
import ocitools as oci
from conftest import BERTH_BIN
from s3util import RGW_KEYS, endpoint, list_keys, make_bucket, s3_config

PROJECTS = 10
REPOS_PER_PROJECT = 10
TAGS_PER_REPO = 10  # 10 x 10 x 10 = 1,000 images
WORKERS = 4
ARTIFACT_TYPE = "application/vnd.example.sbom"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def psql(dsn, sql, schema=None):
    """One statement through psql (-At); its output."""
    if schema:
        sql = "SET search_path = %s; %s" % (schema, sql)
    p = subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, "psql: %s\n%s" % (sql, p.stderr)
    return p.stdout.strip()


def pg_dsn():
    dsn = os.environ.get("BERTH_TEST_PG_DSN")
    assert dsn, "BERTH_TEST_PG_DSN is not set: run through ctest (fixture postgres, " \
                "tests/peers/postgres-start.sh; apt-get install postgresql)"
    assert shutil.which("psql"), "psql missing: apt-get install postgresql-client"
    return dsn


def row_counts(dsn, schema):
    """{table: rows} of the schema's tables, in one psql call."""
    tables = psql(dsn, "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid ="
                  " c.relnamespace WHERE n.nspname = '%s' AND relkind = 'r'"
                  " AND relname <> 'schema_migrations' ORDER BY 1" % schema).split()
    assert len(tables) >= 22, tables
    out = psql(dsn, " UNION ALL ".join("SELECT '%s', count(*) FROM %s" % (t, t)
                                       for t in tables), schema)
    return {t: int(n) for t, n in (line.split("|") for line in out.splitlines())}


class Session:
    """One keep-alive connection per worker thread."""

    def __init__(self, base, cred):
        self.base = base
        self.s = requests.Session()
        self.s.headers.update(au.auth_headers(cred))

    def req(self, method, path, **kw):
        kw.setdefault("timeout", 60)
        return self.s.request(method, self.base + path, **kw)


def push_repo(srv, repo, n):
    """A config and a layer of the repository's project (pushed into every
    repository of it: few objects to move to S3), `n` tagged manifests over
    them, unique by an annotation. Returns [(tag, digest, body, config, layer)]."""
    s = Session(srv.url, srv.admin)
    project = repo.split("/")[0]
    config = oci.image_config(project)
    layer = ("layer of %s " % project).encode() + hashlib.sha256(project.encode()).digest()
    for blob in (config, layer):
        r = s.req("POST", "/v2/%s/blobs/uploads/" % repo, params={"digest": sha(blob)},
                  data=blob, headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, (repo, r.status_code, r.text)
    out = []
    for i in range(n):
        body = oci.manifest(config, [layer], annotations={"n": "%s:%d" % (repo, i)})
        r = s.req("PUT", "/v2/%s/manifests/t%d" % (repo, i), data=body,
                  headers={"Content-Type": oci.OCI_MANIFEST})
        assert r.status_code == 201, (repo, i, r.status_code, r.text)
        out.append(("t%d" % i, sha(body), body, sha(config), sha(layer)))
    return repo, out


def check_repo(url, cred, repo, images):
    """Every image of `repo` by tag and by digest, its blobs, digests verified."""
    s = Session(url, cred)
    seen = set()
    for tag, digest, body, config, layer in images:
        for ref in (tag, digest):
            r = s.req("GET", "/v2/%s/manifests/%s" % (repo, ref),
                      headers={"Accept": oci.OCI_MANIFEST})
            assert r.status_code == 200, (repo, ref, r.status_code, r.text[:300])
            assert sha(r.content) == digest and r.content == body, (repo, ref)
            assert r.headers.get("Docker-Content-Digest") == digest
        for blob in (config, layer):
            if blob in seen:
                continue
            r = s.req("GET", "/v2/%s/blobs/%s" % (repo, blob))
            assert r.status_code == 200 and sha(r.content) == blob, (repo, blob, r.status_code)
            seen.add(blob)
    r = s.req("GET", "/v2/%s/tags/list" % repo)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["tags"]) == sorted(t for t, *_ in images)
    return len(images)


def settings(srv):
    """What must survive the move: projects (with their policy), robots,
    users, members, replication registries and rules."""
    got = {}
    for path in ("/projects", "/robots", "/users", "/projects/p0/members",
                 "/projects/locked", "/replication/registries", "/replication/policies"):
        r = srv.api("GET", path, expect=200)
        got[path] = r.json()
    return got


def populate(srv, tmp):
    """1,000 images in 100 repositories of 10 projects, and the rest."""
    for p in range(PROJECTS):
        srv.add_project("p%d" % p, public=p % 2 == 0)
    srv.add_project("locked", public=True)
    user = srv.add_user("dev")
    srv.set_member("p1", "dev", "developer")
    robot = srv.add_robot("ci", [{"project": "p1", "actions": ["pull", "push"]}])
    repos = ["p%d/r%d" % (p, r) for p in range(PROJECTS) for r in range(REPOS_PER_PROJECT)]
    images = {}
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        for repo, out in ex.map(lambda r: push_repo(srv, r, TAGS_PER_REPO), repos):
            images[repo] = out
    assert sum(len(v) for v in images.values()) == 1000
    # a referrer of one image
    tag, subject, body, *_ = images["p0/r0"][0]
    art = oci.artifact(oci.OCI_MANIFEST, body, ARTIFACT_TYPE, b"sbom of p0/r0")
    s = Session(srv.url, srv.admin)
    for blob in (oci.EMPTY_JSON, b"sbom of p0/r0"):
        r = s.req("POST", "/v2/p0/r0/blobs/uploads/", params={"digest": sha(blob)}, data=blob,
                  headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 201, r.text
    r = s.req("PUT", "/v2/p0/r0/manifests/%s" % sha(art), data=art,
              headers={"Content-Type": oci.OCI_MANIFEST})
    assert r.status_code == 201, r.text
    # a signature policy on a project holding one unsigned image
    push_repo(srv, "locked/app", 1)
    pem = subprocess.run("openssl ecparam -name prime256v1 -genkey -noout | openssl ec -pubout",
                         shell=True, capture_output=True, text=True, check=True).stdout
    srv.api("PUT", "/projects/locked", {"require_signature": [pem]}, expect=204)
    # replication: a registry (its password sealed) and two rules
    srv.api("POST", "/replication/registries",
            {"name": "dr", "url": "https://dr.example.com",
             "credential": {"username": "u", "password": "dr-secret"}}, expect=201)
    for name, pattern in (("to-dr", "p0/**"), ("to-dr-2", "p1/**")):
        srv.api("POST", "/replication/policies",
                {"name": name, "target": "dr", "filters": [{"pattern": pattern}]}, expect=201)
    return images, user, robot, sha(art), subject


def migrate(*args, check=None):
    p = subprocess.run([BERTH_BIN, "migrate"] + list(args), capture_output=True, text=True,
                       timeout=600)
    if check is not None:
        assert p.returncode == check, "exit %d\n%s\n%s" % (p.returncode, p.stdout[-3000:],
                                                           p.stderr[-3000:])
    return p


def kill_copy_mid_write(dsn, schema, args):
    """Run the migration with a trigger that holds the copy on its first tag;
    terminate its PostgreSQL connection there. Returns the finished process."""
    psql(dsn, "CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS"
              " $$BEGIN PERFORM pg_sleep(25); RETURN NULL; END$$;"
              " CREATE TRIGGER hold BEFORE INSERT ON tags FOR EACH STATEMENT"
              " EXECUTE FUNCTION hold()", schema)
    proc = subprocess.Popen([BERTH_BIN, "migrate"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    killed = ""
    deadline = time.time() + 60
    while time.time() < deadline and not killed and proc.poll() is None:
        killed = psql(dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE wait_event = 'PgSleep' AND query LIKE 'INSERT INTO \"tags\"%'")
        time.sleep(0.1)
    out, err = proc.communicate(timeout=60)
    assert killed == "t", "the copy never reached the tags: %s %s" % (out[-2000:], err[-2000:])
    psql(dsn, "DROP TRIGGER hold ON tags; DROP FUNCTION hold()", schema)
    return proc.returncode, out, err


def test_thousand_images_move_to_postgres_and_s3(tmp_path):
    dsn, ep = pg_dsn(), endpoint()
    schema = "mig_%d_%d" % (os.getpid(), random.randint(0, 10**9))
    bucket = make_bucket(ep, RGW_KEYS)
    psql(dsn, "CREATE SCHEMA %s" % schema)
    target = "postgres:%s options='-c search_path=%s'" % (dsn, schema)
    store = "s3:s3://%s/reg?endpoint=%s&forcepathstyle=true&accesskey=%s&secretkey=%s" % (
        bucket, ep, RGW_KEYS[0], RGW_KEYS[1])
    (tmp_path / "old").mkdir()
    src = au.AuthServer(str(tmp_path / "old")).start()
    new = None
    try:
        t0 = time.time()
        images, user, robot, art, subject = populate(src, tmp_path)
        print("populate: %.1f s" % (time.time() - t0))
        before = settings(src)
        r = src.req("GET", "/v2/locked/app/manifests/t0", user)
        assert r.status_code == 403 and "signature policy" in r.text, r.text
    finally:
        assert src.stop() == 0, src.read_log()[-3000:]
    db = os.path.join(src.data, "berth.db")
    args = ["--from", "sqlite:" + db, "--to", target, "--store-from", "fs:" + src.data,
            "--store-to", store]

    # --dry-run writes nothing but creates the schema's tables
    t0 = time.time()
    dry = migrate(*(args + ["--dry-run"]), check=0)
    print("dry run: %.1f s" % (time.time() - t0))
    assert re.search(r"would copy manifests +1002 rows", dry.stdout), dry.stdout
    assert set(row_counts(dsn, schema).values()) <= {0, 1}  # generations' own row

    # an interrupted copy leaves nothing in the target, and no blob moved
    t0 = time.time()
    rc, out, err = kill_copy_mid_write(dsn, schema, args)
    print("interrupted migrate: %.1f s" % (time.time() - t0))
    assert rc == 1, (out, err)
    assert "berth migrate:" in err, err
    counts = row_counts(dsn, schema)
    assert all(n == 0 for t, n in counts.items() if t != "generations"), counts
    assert list_keys(ep, RGW_KEYS, bucket) == []

    # the real run: metadata and blobs in one go
    t0 = time.time()
    run = migrate(*args, check=0)
    took = time.time() - t0
    print("migrate: %.1f s" % took)
    assert "metadata: " in run.stdout and "copied and verified" in run.stdout, run.stdout
    assert "DIFFERS" not in run.stdout
    lines = {l.split()[0]: l for l in run.stdout.splitlines() if "sha256-sum" in l}
    assert int(lines["manifests"].split()[1]) == 1000 + 1 + 1, lines["manifests"]
    assert int(lines["tags"].split()[1]) == 1001
    assert "verified" in lines["robots"] and "verified" in lines["repl_rules"]
    assert "copied tags: 1001 rows" in run.stderr, run.stderr[-2000:]
    blobs = {b for out in images.values() for *_, config, layer in out for b in (config, layer)}
    moved = re.search(r"migrated (\d+) blobs: (\d+) copied", run.stdout)
    assert moved and int(moved.group(1)) == int(moved.group(2)) == len(blobs) + 4, run.stdout[-500:]
    counts = row_counts(dsn, schema)
    assert counts["manifests"] == 1002 and counts["robots"] == 1 and counts["repl_rules"] == 2

    # a second run into the filled target is refused and writes nothing
    again = migrate(*args, check=1)
    assert "not empty" in again.stderr, again.stderr
    assert row_counts(dsn, schema) == counts

    # a server on PostgreSQL + S3 with a fresh data directory
    cfg = tmp_path / "s3.yml"
    cfg.write_text(s3_config(ep, RGW_KEYS, bucket, rootdirectory="reg"))
    fresh = tmp_path / "new"
    fresh.mkdir()
    # the key that seals registry passwords is a file of the data directory
    shutil.copy(os.path.join(src.data, "replication.key"), fresh / "replication.key")
    os.chmod(fresh / "replication.key", 0o600)
    new = au.AuthServer(str(fresh), ["--config", str(cfg)], admin_password=src.admin_password,
                        env={"BERTH_DATABASE_URL": target})
    new.start()
    t0 = time.time()
    try:
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
            done = sum(ex.map(lambda kv: check_repo(new.url, new.admin, *kv), images.items()))
        assert done == 1000
        print("pull check: %.1f s" % (time.time() - t0))
        r = new.req("GET", "/v2/p0/r0/referrers/%s" % subject, new.admin)
        assert r.status_code == 200, r.text
        assert [m["digest"] for m in r.json()["manifests"]] == [art]
        assert r.json()["manifests"][0]["artifactType"] == ARTIFACT_TYPE
        # the robot and the user log in and pull; the policy still refuses
        tok = new.token(robot, ["repository:p1/r3:pull"])["token"]
        tag, digest, body, *_ = images["p1/r3"][4]
        r = new.req("GET", "/v2/p1/r3/manifests/%s" % tag, tok,
                    headers={"Accept": oci.OCI_MANIFEST})
        assert r.status_code == 200 and sha(r.content) == digest
        r = new.req("GET", "/v2/p1/r3/manifests/%s" % digest, user,
                    headers={"Accept": oci.OCI_MANIFEST})
        assert r.status_code == 200 and r.content == body
        r = new.req("GET", "/v2/locked/app/manifests/t0", user)
        assert r.status_code == 403 and "signature policy" in r.text, r.text
        assert settings(new) == before
        # new rows continue after the copied ids
        r = new.api("POST", "/robots", {"name": "ci2", "permissions": [
            {"project": "p2", "actions": ["pull"]}]}, expect=201)
        assert new.token(("robot$ci2", r.json()["secret"]), [])["token"]
    finally:
        rc = new.stop()
        new.cleanup()
        src.cleanup()
        psql(dsn, "DROP SCHEMA %s CASCADE" % schema)
        assert rc in (0, None), new.read_log()[-3000:]
    print("migrate of 1,000 images: %.1f s" % took)
