"""Shared fixtures for berth's integration tests.

`berth` starts a real `berth serve` on a free loopback port with a fresh data
directory and stops it after the test. The binary comes from $BERTH_BIN
(set by ctest), falling back to build/dev/berth.

With BERTH_TEST_DATABASE=postgres (the integration/<name>@postgres tests of
CMakeLists.txt) every server keeps its metadata in PostgreSQL instead of
SQLite: a fresh schema per data directory in the database at
$BERTH_TEST_PG_DSN (started once per ctest run by tests/peers/postgres-start.sh),
passed to `berth serve` as BERTH_DATABASE_URL. Unreachable PostgreSQL fails
the test.
"""
import os
import random
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

SOURCE_DIR = os.environ.get(
    "BERTH_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BERTH_BIN = os.environ.get("BERTH_BIN", os.path.join(SOURCE_DIR, "build", "dev", "berth"))


def free_port():
    """A free loopback port below Linux's ephemeral range (32768-60999), so
    that no outgoing connection of a test running beside this one can take
    it between this check and the server's bind."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def pg_database_for(data_dir):
    """BERTH_DATABASE_URL of a fresh PostgreSQL database for the server of
    `data_dir` under BERTH_TEST_DATABASE=postgres, else None: its own schema
    of the run's database. The same data directory (a restarted server) gets
    the same schema."""
    if os.environ.get("BERTH_TEST_DATABASE") != "postgres":
        return None
    dsn = os.environ.get("BERTH_TEST_PG_DSN")
    assert dsn, "BERTH_TEST_DATABASE=postgres needs BERTH_TEST_PG_DSN (run through ctest)"
    marker = os.path.join(data_dir, ".pg-schema")
    if os.path.exists(marker):
        with open(marker) as f:
            name = f.read().strip()
    else:
        # A schema of its own (CREATE DATABASE costs seconds, a schema nothing).
        name = "it_%d_%d" % (os.getpid(), random.randint(0, 10**9))
        subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-q", "-c",
                        "CREATE SCHEMA %s" % name], check=True, capture_output=True)
        with open(marker, "w") as f:
            f.write(name)
    return "postgres:%s options='-c search_path=%s'" % (dsn, name)


class BerthServer:
    """A running `berth serve` process on loopback."""

    def __init__(self, data_dir, extra_args=None, port=None):
        self.data = data_dir
        self.port = port or free_port()
        self.extra_args = list(extra_args or [])
        self.proc = None
        self.log_path = os.path.join(data_dir, "server.log")
        self.url = "http://127.0.0.1:%d" % self.port
        self.host = "127.0.0.1:%d" % self.port

    def start(self, timeout=15):
        self.log = open(self.log_path, "ab")
        args = [BERTH_BIN, "serve", "--listen", self.host, "--data", self.data] + self.extra_args
        env = None
        db = pg_database_for(self.data)
        if db:
            env = dict(os.environ, BERTH_DATABASE_URL=db)
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berth serve exited with %d:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                if requests.get(self.url + "/v2/", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("berth serve did not answer in %ds:\n%s" % (timeout, self.read_log()))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


@pytest.fixture
def berth_factory():
    """Make servers with custom args: berth_factory(extra_args=[...])."""
    servers = []
    dirs = []

    def make(extra_args=None, data_dir=None, start=True):
        if data_dir is None:
            d = tempfile.TemporaryDirectory(prefix="berth-it-")
            dirs.append(d)
            data_dir = d.name
        s = BerthServer(data_dir, extra_args)
        servers.append(s)
        return s.start() if start else s

    yield make
    for s in servers:
        rc = s.stop()
        # A clean SIGTERM shutdown is part of the contract.
        assert rc in (0, None, -9, -signal.SIGKILL), "server exit code %r\n%s" % (rc, s.read_log())
    for d in dirs:
        d.cleanup()


@pytest.fixture
def berth(berth_factory):
    return berth_factory()
