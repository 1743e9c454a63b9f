"""Helpers of the signing tests: run berth with a key password, the
sigstore-js peers (installed by scripts/npm-peers.sh into build/npm, or
$BERTH_NPM_DIR), a
registry with images pushed by `berth copy`, and reading the tag-schema
manifests berth writes straight from the registry API."""
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
import requests

import conftest
import copyutil as u

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
import images  # noqa: E402

PASSWORD = "correct horse battery staple"
JS = os.path.join(HERE, "js")
NPM_DIR = os.environ.get("BERTH_NPM_DIR", os.path.join(conftest.SOURCE_DIR, "build", "npm"))


def berth(*args, password=PASSWORD, check=True, input=None):
    env = {} if password is None else {"COSIGN_PASSWORD": password}
    return u.berth(*args, env=env, check=check, input=input)


def need_node_peers():
    """sigstore-js must be there: fail (never skip) with how to install it."""
    if not shutil.which("node"):
        pytest.fail("node is missing: apt-get install nodejs npm, then scripts/npm-peers.sh")
    for p in ("sigstore", "@sigstore/verify", "@sigstore/mock", "@sigstore/bundle",
              "@sigstore/protobuf-specs"):
        if not os.path.exists(os.path.join(NPM_DIR, "node_modules", p, "package.json")):
            pytest.fail("npm package %s is missing in %s: run scripts/npm-peers.sh" % (p, NPM_DIR))


def node(script, *args, check=True):
    need_node_peers()
    env = dict(os.environ, NODE_PATH=os.path.join(NPM_DIR, "node_modules"))
    p = subprocess.run(["node", os.path.join(JS, script)] + [str(a) for a in args],
                       capture_output=True, env=env, timeout=300)
    if check and p.returncode != 0:
        pytest.fail("node %s failed (%d):\n%s\n%s" % (script, p.returncode,
                                                       p.stdout.decode(), p.stderr.decode()))
    return p


@contextlib.contextmanager
def fake_rekor(root):
    """@sigstore/mock's Rekor served over HTTP (js/fake-rekor.js) while the
    block runs: yields its URL; `root` gets a trusted_root.json with its key."""
    need_node_peers()
    env = dict(os.environ, NODE_PATH=os.path.join(NPM_DIR, "node_modules"))
    proc = subprocess.Popen(["node", os.path.join(JS, "fake-rekor.js"), str(root)],
                            stdout=subprocess.PIPE, env=env)
    try:
        url = proc.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def keypair(tmp_path, prefix="cosign"):
    berth("key", "generate", "--output-key-prefix", tmp_path / prefix)
    return tmp_path / (prefix + ".key"), tmp_path / (prefix + ".pub")


def push_fixture(reg, name, tag, repo="app", all_=False):
    """Push fixture layout `name` (tests/fixtures/images.py) as repo:tag; return its digest."""
    lay = images.ensure(name)
    src_tag = {"busybox": "busybox", "multiarch": "multi"}[name]
    args = ["copy"] + (["--all"] if all_ else []) + [
        "oci:%s:%s" % (lay, src_tag), "docker://%s/%s:%s" % (reg.host, repo, tag)]
    u.berth(*args)
    r = requests.head("%s/v2/%s/manifests/%s" % (reg.url, repo, tag),
                      headers={"Accept": u.ACCEPT})
    assert r.status_code == 200
    return r.headers["Docker-Content-Digest"]


def manifest(reg, repo, ref):
    r = requests.get("%s/v2/%s/manifests/%s" % (reg.url, repo, ref), headers={"Accept": u.ACCEPT})
    return r


def blob(reg, repo, digest):
    r = requests.get("%s/v2/%s/blobs/%s" % (reg.url, repo, digest))
    assert r.status_code == 200, r.status_code
    return r.content


def sig_tag(digest, suffix):
    return digest.replace(":", "-") + "." + suffix


def sig_layers(reg, repo, digest, suffix="sig"):
    """[(layer descriptor, payload bytes)] of the tag-schema manifest."""
    r = manifest(reg, repo, sig_tag(digest, suffix))
    assert r.status_code == 200, "no %s tag for %s" % (suffix, digest)
    m = r.json()
    return [(l, blob(reg, repo, l["digest"])) for l in m["layers"]]


def referrers(reg, repo, digest):
    r = requests.get("%s/v2/%s/referrers/%s" % (reg.url, repo, digest))
    assert r.status_code == 200, r.status_code
    return r.json()["manifests"]


def b64d(s):
    return base64.b64decode(s)


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return path


def last_error(p):
    lines = [l for l in p.stderr.decode("utf-8", "replace").splitlines() if l.strip()]
    return lines[-1] if lines else ""


def assert_refused(p, *words):
    """Exit 1 and the last stderr line is berth's error naming each word."""
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 1, "exit %d (want 1)\n%s" % (p.returncode, err)
    msg = last_error(p)
    assert msg.startswith("berth "), msg
    for w in words:
        alts = w if isinstance(w, tuple) else (w,)
        assert any(a.lower() in msg.lower() for a in alts), "%r does not say %r" % (msg, alts)
    return msg


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-sign-reg")))
    s.start()
    yield s
    s.stop()
