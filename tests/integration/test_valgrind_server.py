"""`berth serve` itself under valgrind (memcheck): the server must be
valgrind-clean, not just the unit tests.

Each test starts `valgrind --error-exitcode=99 --leak-check=full ... berth
serve`, drives a short but broad scenario over loopback, stops the server with
SIGTERM and asserts a clean exit (0; valgrind's 99 means it found errors) and
a valgrind log without invalid accesses, uses of uninitialised values or
definite leaks. One test runs the open registry (protocol paths: uploads,
manifests, lists, referrers, ranges, deletes, refusals, /metrics, /healthz),
the other access control (admin API, token service, Bearer and Basic, a wrong
password). Without valgrind the test fails saying how to install it; it is
not registered for sanitizer builds (ASan and valgrind do not mix). Blobs
are tiny: valgrind makes everything 20-50x slower, and every Basic login
costs a bcrypt verification.
"""
import json
import os
import shutil
import signal
import tempfile
import time

import pytest
import requests

import authutil as au
import conftest
import ocitools as oci
from ocitools import (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST, assert_error, image_config,
                      manifest, raw_request, sha256)

BERTH_BIN = conftest.BERTH_BIN
VALGRIND = shutil.which("valgrind")
START_TIMEOUT = 90
STOP_TIMEOUT = 90
OCTET = {"Content-Type": "application/octet-stream"}
# What memcheck says for the errors we care about (the exit code is the
# primary check; these make a failure readable and catch a log-only report).
BAD_WORDS = ("Invalid read", "Invalid write", "Invalid free", "uninitialised",
             "definitely lost", "indirectly lost", "Mismatched free", "overlap")


def _sanitized(path):
    """True when the binary carries a sanitizer runtime (ASan/UBSan/TSan/MSan)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return any(s in data for s in (b"__asan_init", b"__tsan_init", b"__msan_init",
                                   b"__ubsan_handle_"))


@pytest.fixture(autouse=True)
def _valgrind_can_run():
    """valgrind is a peer: missing, it is an error saying how to install it.
    CMake does not register this test for sanitizer builds (valgrind and
    ASan/UBSan do not mix; there the sanitizers check the server instead)."""
    assert VALGRIND, "valgrind is not installed: install it with 'apt-get install valgrind' " \
                     "(scripts/deps.sh does)"
    assert os.path.exists(BERTH_BIN), "no berth binary at %s" % BERTH_BIN
    assert not _sanitized(BERTH_BIN), ("%s is a sanitizer build: run this test on the dev "
                                       "preset's binary (valgrind and ASan do not mix)" % BERTH_BIN)


class VgServer(au.AuthServer):
    """An AuthServer (auth on or off) run under valgrind, its report in its own file."""

    def __init__(self, data_dir, **kw):
        super().__init__(data_dir, **kw)
        self.vg_log = os.path.join(data_dir, "valgrind.log")

    def args(self):
        return [VALGRIND, "--error-exitcode=99", "--leak-check=full",
                "--errors-for-leak-kinds=definite,indirect", "--track-fds=no", "-q",
                "--num-callers=30", "--log-file=" + self.vg_log,
                "--suppressions=" + os.path.join(conftest.SOURCE_DIR, "tests", "valgrind.supp")] + super().args()

    def start(self, timeout=START_TIMEOUT):
        super().start(timeout)
        # Really under memcheck (valgrind execs its tool, which runs berth).
        exe = os.path.basename(os.readlink("/proc/%d/exe" % self.proc.pid))
        assert exe.startswith("memcheck"), exe
        return self

    def read_vg(self):
        try:
            with open(self.vg_log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def finish(self):
        """SIGTERM, wait for valgrind's exit (leak check included), check the reports."""
        rc = self.stop(signal.SIGTERM, timeout=STOP_TIMEOUT)
        vg, log = self.read_vg(), self.read_log()
        report = "exit %r\n--- valgrind ---\n%s\n--- server log (tail) ---\n%s" % (
            rc, vg[-20000:], log[-4000:])
        assert rc != 99, "valgrind found errors in berth serve:\n" + report
        assert rc == 0, "berth serve did not exit cleanly on SIGTERM:\n" + report
        for w in BAD_WORDS:
            assert w not in vg and w not in log, "%r in the reports:\n%s" % (w, report)
        return vg


@pytest.fixture
def vg_factory():
    made, dirs = [], []

    def make(**kw):
        d = tempfile.mkdtemp(prefix="berth-vg-")
        dirs.append(d)
        s = VgServer(d, **kw)
        made.append(s)
        return s.start(timeout=START_TIMEOUT)

    yield make
    for s in made:
        if s.proc is not None:      # a test that failed before finish(): just stop it
            s.stop(signal.SIGTERM, timeout=STOP_TIMEOUT)
        s.cleanup()
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def _patch(c, loc, data, start):
    return c.patch(loc, data=data, headers=dict(OCTET, **{"Content-Range": "%d-%d" % (
        start, start + len(data) - 1)}))


def _wait_metric(c, needle, timeout=30):
    """/metrics counts a request when MHD reports it complete: poll for `needle`."""
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        r = c.get("/metrics")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
        text = r.text
        if needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError("%r never in /metrics:\n%s" % (needle, text[-3000:]))


def test_open_registry_under_valgrind(vg_factory):
    s = vg_factory(auth=False)
    c = oci.Client(s, timeout=120)
    assert c.get("/v2/").status_code == 200

    # Blobs: monolithic, chunked (with refused out-of-order chunks), wrong digest.
    cfg = image_config("vg")
    c.push_blob("vg/app", cfg)
    layer = os.urandom(3000)
    loc = c.start_upload("vg/app").headers["Location"]
    assert _patch(c, loc, layer[10:20], 10).status_code == 416      # must start at 0
    r = _patch(c, loc, layer[:1000], 0)
    assert r.status_code == 202, (r.status_code, r.content)
    loc = r.headers["Location"]
    assert oci.parse_range(r.headers["Range"]) == 999
    assert _patch(c, loc, layer[1500:1600], 1500).status_code == 416   # gap
    assert _patch(c, loc, layer[500:1500], 500).status_code == 416     # overlap
    r = _patch(c, loc, layer[1000:2000], 1000)
    assert r.status_code == 202
    r = c.put(c.with_digest(r.headers["Location"], sha256(layer)), data=layer[2000:],
              headers=dict(OCTET, **{"Content-Range": "2000-2999"}))
    assert r.status_code == 201, (r.status_code, r.content)
    assert r.headers["Docker-Content-Digest"] == sha256(layer)
    assert c.push_blob_chunked("vg/app", b"small chunked blob " * 20, chunk=128) == \
        sha256(b"small chunked blob " * 20)
    # Digest mismatches: chunked PUT and monolithic POST, nothing stored.
    loc = c.start_upload("vg/app").headers["Location"]
    assert_error(c.put(c.with_digest(loc, sha256(b"other")), data=b"real", headers=OCTET),
                 400, "DIGEST_INVALID")
    assert_error(c.post("/v2/vg/app/blobs/uploads/", params={"digest": oci.sha512(b"nope")},
                        data=b"real", headers=OCTET), 400, "DIGEST_INVALID")
    assert not c.blob_exists("vg/app", sha256(b"real"))
    # An upload abandoned half-way, then cancelled.
    loc = c.start_upload("vg/app").headers["Location"]
    loc = _patch(c, loc, b"half", 0).headers["Location"]
    assert c.delete(loc).status_code == 204
    c.start_upload("vg/app")          # and one left open at shutdown

    # Blob GET with Range, HEAD.
    r = c.get("/v2/vg/app/blobs/" + sha256(layer), headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == layer[100:200]
    assert r.headers["Content-Range"] == "bytes 100-199/3000"
    r = c.get("/v2/vg/app/blobs/" + sha256(layer), headers={"Range": "bytes=5000-"})
    assert r.status_code == 416
    r = c.head("/v2/vg/app/blobs/" + sha256(layer))
    assert r.status_code == 200 and r.headers["Content-Length"] == "3000"
    # A body of 4 MiB or more goes to a loopback peer from a mapping, paged out
    # by the pager threads as it is sent.
    big = os.urandom(5 * 1024 * 1024 + 7)
    assert c.push_blob("vg/app", big) == sha256(big)
    r = c.get("/v2/vg/app/blobs/" + sha256(big))
    assert r.status_code == 200 and r.content == big
    r = c.get("/v2/vg/app/blobs/" + sha256(big), headers={"Range": "bytes=4097-"})
    assert r.status_code == 206 and r.content == big[4097:]

    # Manifests by tag and digest, HEAD, Accept negotiation.
    body = manifest(cfg, [layer])
    md = sha256(body)
    r = c.put_manifest("vg/app", "v1", body)
    assert r.headers["Docker-Content-Digest"] == md
    for ref in ("v1", md):
        r = c.get("/v2/vg/app/manifests/" + ref, headers={"Accept": OCI_MANIFEST})
        assert r.status_code == 200 and r.content == body
        h = c.head("/v2/vg/app/manifests/" + ref)
        assert h.status_code == 200 and h.headers["Docker-Content-Digest"] == md
    r = c.get("/v2/vg/app/manifests/v1",
              headers={"Accept": "%s;q=0.9, %s;q=0.5" % (DOCKER_MANIFEST, OCI_MANIFEST)})
    assert r.status_code == 200 and r.headers["Content-Type"] == OCI_MANIFEST
    assert_error(c.get("/v2/vg/app/manifests/v1", headers={"Accept": DOCKER_MANIFEST}),
                 404, "MANIFEST_UNKNOWN")
    assert_error(c.get("/v2/vg/app/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    # A manifest naming a blob that is not there.
    bad = manifest(cfg, [b"never pushed"])
    assert c.put_manifest("vg/app", "bad", bad, expect=None).status_code == 400

    # Tags with n/last, catalog.
    for t in ("a", "b", "c"):
        c.put_manifest("vg/app", t, body)
    r = c.get("/v2/vg/app/tags/list", params={"n": 2})
    assert r.status_code == 200 and r.json()["tags"] == ["a", "b"]
    assert "Link" in r.headers
    r = c.get("/v2/vg/app/tags/list", params={"n": 2, "last": "b"})
    assert r.json()["tags"] == ["c", "v1"]
    c.push_image("vg/other", "1", seed="other")
    r = c.get("/v2/_catalog", params={"n": 1})
    assert r.status_code == 200 and r.json()["repositories"] == ["vg/app"]
    r = c.get("/v2/_catalog", params={"n": 5, "last": "vg/app"})
    assert r.json()["repositories"] == ["vg/other"]

    # Referrers: an artifact and an index referring to the image, with a filter.
    subject = oci.descriptor(OCI_MANIFEST, body)
    sbom = "application/vnd.example.sbom.v1"
    c.push_blob("vg/app", oci.EMPTY_JSON)
    c.push_blob("vg/app", b"sbom payload")
    art = oci.artifact(OCI_MANIFEST, body, sbom, b"sbom payload", annotations={"k": "v"})
    r = c.put_manifest("vg/app", sha256(art), art)
    assert r.headers.get("OCI-Subject") == md
    idx = oci.index([(OCI_MANIFEST, body)], subject=subject, artifact_type="application/x.b")
    c.put_manifest("vg/app", sha256(idx), idx, OCI_INDEX)
    r = c.get("/v2/vg/app/referrers/" + md)
    assert r.status_code == 200
    assert {d["digest"] for d in r.json()["manifests"]} == {sha256(art), sha256(idx)}
    r = c.get("/v2/vg/app/referrers/" + md, params={"artifactType": sbom})
    assert r.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in r.json()["manifests"]] == [sha256(art)]

    # Refusals: an oversized manifest (really sent, and only announced), malformed input.
    big = manifest(cfg, [], extra={"x-pad": "p" * (4 * 1024 * 1024 + 16)})
    st, _, bd = raw_request(s, "PUT", "/v2/vg/app/manifests/big",
                            {"Content-Type": OCI_MANIFEST}, big, timeout=120)
    assert st == 413, (st, bd[:300])
    st, _, bd = raw_request(s, "PUT", "/v2/vg/app/manifests/big",
                            {"Content-Type": OCI_MANIFEST, "Content-Length": str(1 << 40)}, b"",
                            timeout=120)
    assert st == 413, (st, bd[:300])
    assert c.put_manifest("vg/app", "junk", b"{not json", expect=None).status_code == 400
    assert c.get("/v2/Bad..Name/tags/list").status_code in (400, 404)
    assert c.get("/v2/vg/app/blobs/sha256:zz").status_code in (400, 404)
    assert c.get("/v2/vg/app/tags/list", params={"n": "-3"}).status_code == 400
    st, _, _ = raw_request(s, "GET", "/v2/\x01 junk", {"Content-Length": "0"}, timeout=120)
    assert st in (0, 400, 404)
    with oci.connect(s, timeout=120) as sock:       # not HTTP at all
        sock.sendall(b"\x16\x03\x01garbage\r\n\r\n")
        st, _, _ = oci.read_response(sock, timeout=120)
        assert st in (0, 400)
    st, _, _ = raw_request(s, "PATCH", "/v2/vg/app/blobs/uploads/not-an-upload",
                           {"Content-Type": "application/octet-stream"}, b"x", timeout=120)
    assert st == 404

    # Deletes: tag, manifest by digest, blob.
    assert c.delete("/v2/vg/app/manifests/a").status_code == 202
    assert_error(c.get("/v2/vg/app/manifests/a"), 404, "MANIFEST_UNKNOWN")
    assert c.delete("/v2/vg/app/manifests/" + sha256(art)).status_code == 202
    r = c.get("/v2/vg/app/referrers/" + md)
    assert [d["digest"] for d in r.json()["manifests"]] == [sha256(idx)]
    assert c.delete("/v2/vg/other/manifests/" + c.head(
        "/v2/vg/other/manifests/1").headers["Docker-Content-Digest"]).status_code == 202
    assert c.delete("/v2/vg/app/blobs/" + sha256(b"sbom payload")).status_code == 202
    assert not c.blob_exists("vg/app", sha256(b"sbom payload"))

    # Health and metrics.
    r = c.get("/healthz")
    assert r.status_code == 200 and r.text.strip() == "ok"
    assert c.post("/healthz").status_code == 405
    _wait_metric(c, "berth_http_requests_total")

    s.finish()


def test_access_control_under_valgrind(vg_factory):
    s = vg_factory(auth=True)
    repo = "team/app"
    # Without credentials: challenged.
    r = s.req("GET", "/v2/")
    assert r.status_code == 401
    scheme, params = au.parse_challenge(r.headers["WWW-Authenticate"])
    assert scheme == "bearer" and params["service"] == "berth"

    # The system administrator works through a token (Basic costs a bcrypt
    # verification per request, slow under valgrind).
    admin_tok = s.bearer(s.admin, "repository:%s:pull,push,delete" % repo,
                         "registry:catalog:*")
    # the admin API takes a token whose scope is exactly registry:admin:*
    api_tok = s.bearer(s.admin, "registry:admin:*")
    s.api("POST", "/projects", {"name": "team", "public": False}, cred=api_tok, expect=201)
    s.api("POST", "/projects", {"name": "team"}, cred=api_tok, expect=409)
    alice_pw = au.rand_secret("pw-alice")
    s.remember_basic("alice", alice_pw)
    s.api("POST", "/users", {"name": "alice", "password": alice_pw}, cred=api_tok, expect=201)
    s.api("POST", "/users", {"name": "bad name!", "password": alice_pw}, cred=api_tok,
          expect=400)
    s.api("PUT", "/projects/team/members/alice", {"role": "developer"}, cred=api_tok,
          expect=204)
    r = s.api("POST", "/robots", {"name": "ci", "permissions": [
        {"project": "team", "actions": ["pull", "push"]}]}, cred=api_tok, expect=201)
    robot = (r.json()["name"], r.json()["secret"])
    s.remember_basic(*robot)
    r = s.api("GET", "/robots", cred=api_tok, expect=200)
    assert [x["name"] for x in r.json()] == ["robot$ci"]
    r = s.api("GET", "/projects/team/members", cred=api_tok, expect=200)
    assert {"user": "alice", "role": "developer"} in r.json()

    # alice pushes with a Bearer token from GET /token.
    alice_tok = s.bearer(("alice", alice_pw), "repository:%s:pull,push" % repo)
    resps, md = s.push(repo, "1", alice_tok, seed="alice")
    assert [x.status_code for x in resps] == [201, 201, 201], [
        (x.status_code, x.content[:200]) for x in resps]
    # An invalid manifest with a good token: 400, not a crash.
    r = s.req("PUT", "/v2/%s/manifests/2" % repo, alice_tok,
              headers={"Content-Type": OCI_MANIFEST}, data=b"{}")
    assert r.status_code == 400, (r.status_code, r.content[:300])
    # A token for another repository: insufficient_scope here.
    other_tok = s.bearer(("alice", alice_pw), "repository:other/x:pull")
    assert s.req("GET", "/v2/%s/manifests/1" % repo, other_tok).status_code == 401

    # The robot pulls with Basic, then with a token from the OAuth2 password grant.
    r = s.req("GET", "/v2/%s/manifests/%s" % (repo, md), robot,
              headers={"Accept": OCI_MANIFEST})
    assert r.status_code == 200 and sha256(r.content) == md
    robot_tok = s.token(robot, ["repository:%s:pull" % repo], post=True)["token"]
    r = s.req("GET", "/v2/%s/tags/list" % repo, robot_tok)
    assert r.status_code == 200 and r.json()["tags"] == ["1"]
    # The robot may not delete.
    assert s.req("DELETE", "/v2/%s/manifests/%s" % (repo, md), robot_tok).status_code in (401, 403)

    # One wrong password (Basic on /v2 and at the token service), one unknown user.
    r = s.req("GET", "/v2/", ("alice", "wrong-password-123"))
    assert r.status_code == 401
    assert oci.errors(r)[0]["code"] == "UNAUTHORIZED"
    s.token(("alice", "wrong-password-123"), ["repository:%s:pull" % repo], expect=401)
    assert s.req("GET", "/v2/", "not.a.jwt").status_code == 401
    assert s.req("GET", "/v2/", headers={"Authorization": "Basic %%%"}).status_code == 401

    # Anonymous: no pull from a private project; catalog filtered.
    assert s.req("GET", "/v2/%s/manifests/1" % repo).status_code == 401
    r = s.req("GET", "/v2/_catalog", admin_tok)
    assert r.status_code == 200 and r.json()["repositories"] == [repo]

    # Audit, then the admin deletes the image and the robot.
    r = s.api("GET", "/audit", cred=api_tok, params={"limit": 50}, expect=200)
    actions = {e["action"] for e in r.json()}
    assert {"push", "pull", "login_failure", "user_create", "robot_create"} <= actions, actions
    assert s.req("DELETE", "/v2/%s/manifests/%s" % (repo, md), admin_tok).status_code == 202
    s.api("DELETE", "/robots/ci", cred=api_tok, expect=204)
    assert s.req("GET", "/v2/%s/tags/list" % repo, robot).status_code == 401
    s.api("DELETE", "/projects/team/members/alice", cred=api_tok, expect=204)
    assert s.req("GET", "/v2/%s/tags/list" % repo, alice_tok).status_code in (401, 403)
    assert s.req("GET", "/healthz").status_code == 200

    s.finish()
    au.assert_no_secrets(s)
