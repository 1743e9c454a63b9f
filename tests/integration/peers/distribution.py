#!/usr/bin/env python3
"""Distribution 2.8 (Debian `docker-registry`) as a test peer.

Writes a config into a work directory (filesystem storage, deletes enabled,
access log off) and runs `docker-registry serve` on a free loopback port,
optionally with htpasswd Basic auth. The htpasswd file is made here with
bcrypt from Python's crypt module (libxcrypt), cost 4 so that Distribution's
per-request password check stays cheap; no apache2-utils needed.

Library use:  d = Distribution(workdir, users={"alice": "pw"}).start(); d.host; d.stop()
Script use:   distribution.py WORKDIR [--user NAME:PASS] -- prints "host:port", runs until killed.
"""
import argparse
import os
import signal
import subprocess
import sys
import time
import warnings

import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conftest import free_port  # noqa: E402  (ports outside the ephemeral range)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # noqa: E402  (bcrypt via libxcrypt; removed in Python 3.13)


def bcrypt_hash(password, cost_log2=4):
    h = crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << cost_log2))
    if not h or not h.startswith("$2"):
        raise RuntimeError("this libcrypt has no bcrypt")
    return h


class Distribution:
    """A running docker-registry 2.8 on 127.0.0.1:<port>."""

    def __init__(self, workdir, users=None, port=None, realm="berth-test"):
        self.work = workdir
        self.users = dict(users or {})
        self.port = port or free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.host
        self.realm = realm
        self.proc = None
        self.log_path = os.path.join(workdir, "distribution.log")

    def _write_config(self):
        os.makedirs(self.work, exist_ok=True)
        cfg = os.path.join(self.work, "config.yml")
        lines = [
            "version: 0.1",
            "log: {level: info, accesslog: {disabled: true}}",
            "storage:",
            "  filesystem: {rootdirectory: %s}" % os.path.join(self.work, "data"),
            "  delete: {enabled: true}",
            "  cache: {blobdescriptor: inmemory}",
            "  maintenance: {uploadpurging: {enabled: false}}",
            "http: {addr: '%s', secret: berth-test-secret}" % self.host,
        ]
        if self.users:
            htp = os.path.join(self.work, "htpasswd")
            with open(htp, "w") as f:
                for u, p in self.users.items():
                    f.write("%s:%s\n" % (u, bcrypt_hash(p)))
            lines += ["auth:", "  htpasswd: {realm: %s, path: %s}" % (self.realm, htp)]
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        return cfg

    def start(self, timeout=20):
        cfg = self._write_config()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("docker-registry exited %d:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                r = requests.get(self.url + "/v2/", timeout=1)
                if r.status_code in (200, 401):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not answer in %ds:\n%s" % (timeout, self.read_log()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--user", action="append", default=[], help="NAME:PASS (repeatable)")
    ap.add_argument("--port", type=int)
    a = ap.parse_args()
    users = dict(u.split(":", 1) for u in a.user)
    d = Distribution(a.workdir, users, a.port).start()
    print(d.host, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (d.stop(), sys.exit(0)))
    try:
        while d.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    d.stop()


if __name__ == "__main__":
    main()
