"""Several `berth serve` processes started at once on one new SQLite
database (the single-machine scale-out the docs allow, and what
integration/scale_local does): every one of them starts. SQLite answers
BUSY at once, without calling the busy handler, to a connection switching a
new database to WAL while another process holds a lock on it; berth used to
stop with "metadata: set WAL mode: database is locked" (seen in CI)."""
import subprocess
import time

from conftest import BERTH_BIN, free_port


def started(p, log, deadline):
    """True once the process logs that it listens, False if it exits first."""
    while time.monotonic() < deadline:
        log.seek(0)
        if "listening on" in log.read():
            return True
        if p.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def test_four_processes_start_together_on_a_new_database(tmp_path):
    failures = []
    for round_ in range(12):
        data = tmp_path / ("var%d" % round_)
        data.mkdir()
        procs = []
        for k in range(4):
            log = open(str(data) + ".%d.log" % k, "w+")
            p = subprocess.Popen([BERTH_BIN, "serve", "--listen", "127.0.0.1:%d" % free_port(),
                                  "--data", str(data)], stdout=log, stderr=subprocess.STDOUT)
            procs.append((p, log))
        try:
            deadline = time.monotonic() + 30
            for p, log in procs:
                if not started(p, log, deadline):
                    log.seek(0)
                    failures.append(log.read())
        finally:
            for p, log in procs:
                p.terminate()
                p.wait(timeout=30)
                log.close()
    assert not failures, failures
