"""`berth serve` with its metadata in PostgreSQL (the `postgres` driver of
meta, docs/postgres.md): configuration through the config file
(`database: {postgres: {dsn: ...}}`) and BERTH_DATABASE_URL; a PostgreSQL
restart during service: requests fail cleanly with 503 and an OCI error body
while the database is down, then succeed again within seconds without
restarting berth. This test runs its own PostgreSQL (tests/peers/
postgres-start.sh on a private port), since it stops and starts it.
"""
import glob
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import SOURCE_DIR, BerthServer, free_port
from ocitools import Client

PEERS = os.path.join(SOURCE_DIR, "tests", "peers")


def pg_bin():
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    assert bins, "PostgreSQL missing: apt-get install postgresql (scripts/deps.sh test)"
    return bins[-1]


class OwnPostgres:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-pgown-")
        os.chmod(self.tmp, 0o755)  # the server runs as the postgres user
        self.dir = os.path.join(self.tmp, "pg")
        self.port = free_port()
        p = subprocess.run(["sh", os.path.join(PEERS, "postgres-start.sh"), self.dir,
                            str(self.port)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        self.dsn = "host=127.0.0.1 port=%d dbname=berth user=postgres" % self.port

    def pg_ctl(self, *args):
        cmd = [os.path.join(pg_bin(), "pg_ctl"), "-D", os.path.join(self.dir, "data")] + list(args)
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def stop(self):
        self.pg_ctl("-m", "fast", "-w", "stop")

    def start(self):
        self.pg_ctl("-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60", "-o",
                    "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" % (self.port, self.dir),
                    "start")

    def cleanup(self):
        subprocess.run(["sh", os.path.join(PEERS, "postgres-stop.sh"), self.dir],
                       capture_output=True, timeout=120)
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def pg():
    p = OwnPostgres()
    yield p
    p.cleanup()


@pytest.fixture
def data_dir():
    d = tempfile.mkdtemp(prefix="berth-it-pg-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def serve(data_dir, extra=None, env=None):
    s = BerthServer(data_dir, extra)
    old = dict(os.environ)
    os.environ.pop("BERTH_DATABASE_URL", None)
    os.environ.update(env or {})
    try:
        return s.start()
    finally:
        os.environ.clear()
        os.environ.update(old)


def psql(pg, sql):
    return subprocess.run(["psql", pg.dsn, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True).stdout.strip()


def test_config_file_dsn_keeps_metadata_in_postgres(pg, data_dir):
    cfg = os.path.join(data_dir, "berth.yaml")
    with open(cfg, "w") as f:
        f.write('database:\n  postgres:\n    dsn: "%s"\n    pool_size: 3\n'
                '    statement_timeout: 5000\n' % pg.dsn)
    s = serve(data_dir, ["--config", cfg])
    try:
        c = Client(s)
        body, digest = c.push_image("lib/app", "1.0", seed="cfg")
        # The rows are in PostgreSQL, and no SQLite file was made.
        assert psql(pg, "SELECT t.name FROM tags t JOIN repos r ON r.id = t.repo_id"
                        " WHERE r.name = 'lib/app'") == "1.0"
        # every migration of the postgres driver applied, each once (5: mirror_tags 3,
        # repl_retries 4, blob link times 5; raise with a new migration)
        assert psql(pg, "SELECT max(version) FROM schema_migrations") == "5"
        assert psql(pg, "SELECT count(*) FROM schema_migrations") == "5"
        assert not os.path.exists(os.path.join(data_dir, "berth.db"))
        # The log names the driver, never the DSN (it may carry a password).
        assert pg.dsn not in s.read_log()
        r = c.get("/v2/lib/app/manifests/1.0",
                  headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
        assert r.status_code == 200 and r.content == body
    finally:
        assert s.stop() == 0


def test_both_databases_in_config_is_refused(pg, data_dir):
    cfg = os.path.join(data_dir, "berth.yaml")
    with open(cfg, "w") as f:
        f.write('database:\n  sqlite:\n    path: %s/x.db\n  postgres:\n    dsn: "%s"\n'
                % (data_dir, pg.dsn))
    from conftest import BERTH_BIN
    p = subprocess.run([BERTH_BIN, "serve", "--config", cfg, "--listen",
                        "127.0.0.1:%d" % free_port(), "--data", data_dir],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "either sqlite or postgres" in p.stderr


def test_postgres_restart_gives_503_then_recovers(pg, data_dir):
    url = "postgres://postgres@127.0.0.1:%d/berth?connect_timeout=2" % pg.port
    s = serve(data_dir, env={"BERTH_DATABASE_URL": url})
    try:
        c = Client(s)
        body, digest = c.push_image("lib/outage", "1.0", seed="outage")
        path = "/v2/lib/outage/manifests/1.0"
        accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
        assert c.get(path, headers=accept).status_code == 200

        pg.stop()
        r = c.get(path, headers=accept)
        assert r.status_code == 503, (r.status_code, r.content[:300])
        err = r.json()["errors"][0]
        assert err["code"] == "UNAVAILABLE"
        assert "PostgreSQL" in err["message"] or "metadata" in err["message"]
        assert r.headers.get("Retry-After") == "1"
        # A push is refused the same clean way, and nothing half-visible remains.
        r = c.put("/v2/lib/outage/manifests/2.0", data=body,
                  headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        assert r.status_code == 503, (r.status_code, r.content[:300])

        pg.start()
        pid = s.proc.pid
        deadline = time.time() + 30
        while True:
            r = c.get(path, headers=accept)
            if r.status_code == 200 or time.time() > deadline:
                break
            assert r.status_code == 503, r.status_code
            time.sleep(0.2)
        assert r.status_code == 200 and r.content == body
        assert s.proc.pid == pid and s.proc.poll() is None  # the same process
        assert c.get("/v2/lib/outage/manifests/2.0", headers=accept).status_code == 404
        c.put_manifest("lib/outage", "2.0", body)
        assert c.get("/v2/lib/outage/tags/list").json()["tags"] == ["1.0", "2.0"]
    finally:
        assert s.stop() == 0
