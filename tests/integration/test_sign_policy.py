"""The registry's signature policy: `berth admin project set P --require-signature
KEY.pub[,KEY.pub]` makes `berth serve` refuse (403 DENIED, saying which policy)
every manifest GET or HEAD, by tag or digest, of an image without a valid
cosign signature by one of the keys, and audit each refusal. Callers who may
push to the repository are served (they sign what they pushed).

One server (access control on, public project "pol") holds images that are
signed (legacy .sig, and a sigstore bundle referrer), unsigned, signed by
another key, carry a tampered signature, or are an ordinary image pushed
under a "sha256-<hex>.sig" tag. The matrix pulls each by tag and by digest
with skopeo, podman and berth: only the signed ones arrive, and the refused
ones leave nothing. No other path serves a refused manifest: HEAD, the blob
endpoint, an index child, a referrers listing, the catalog. A signed index
covers its children; signature artifacts stay pullable; a signature pushed
after a refusal, or removed after a pull, is seen at once (the verdict cache
follows meta's generations); removing the policy opens the project again."""
import base64
import json
import os
import shutil
import sys
import tempfile

import pytest

import authutil as au
from authutil import client_env as env  # noqa: F401  (fixture)
import copyutil as u
import ocitools as oci
import signutil as s

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402

P = "pol"
ACCEPT = {"Accept": ct.ACCEPT_ALL}


def upload(srv, repo, blob):
    d = oci.sha256(blob)
    if srv.req("HEAD", "/v2/%s/blobs/%s" % (repo, d), srv.admin).status_code == 200:
        return d
    r = srv.req("POST", "/v2/%s/blobs/uploads/" % repo, srv.admin, params={"digest": d},
                data=blob, headers={"Content-Type": "application/octet-stream"})
    if r.status_code == 202:
        loc = r.headers["Location"]
        r = srv.req("PUT", loc if loc.startswith("http") else srv.url + loc, srv.admin,
                    params={"digest": d}, data=blob,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, (r.status_code, r.content[:300])
    return d


def put_manifest(srv, repo, ref, body, media_type):
    r = srv.req("PUT", "/v2/%s/manifests/%s" % (repo, ref), srv.admin, data=body,
                headers={"Content-Type": media_type})
    assert r.status_code == 201, (r.status_code, r.content[:300])
    return oci.sha256(body)


def push_variant(srv, repo, tag, label):
    """busybox with the config label variant=`label`: the same (runnable) layer,
    another manifest digest. Returns the digest."""
    lay = images.ensure("busybox")
    man = json.loads(images.read_blob(lay, images.find_ref(lay, "busybox")["digest"]))
    cfg = json.loads(images.read_blob(lay, man["config"]["digest"]))
    inner = cfg.get("config") or {}
    inner["Labels"] = dict(inner.get("Labels") or {}, variant=label)
    cfg["config"] = inner
    cfgb = json.dumps(cfg).encode()
    for l in man["layers"]:
        upload(srv, repo, images.read_blob(lay, l["digest"]))
    man["config"] = dict(man["config"], digest=upload(srv, repo, cfgb), size=len(cfgb))
    man.setdefault("mediaType", oci.OCI_MANIFEST)
    body = json.dumps(man).encode()
    return put_manifest(srv, repo, tag, body, man["mediaType"])


def sign(srv, key, ref, *extra):
    s.berth("sign", "--key", key, "--creds", "%s:%s" % srv.admin, *extra,
            "%s/%s" % (srv.host, ref))


def anon(srv, repo):
    """An anonymous pull token (what clients fetch after the 401 challenge)."""
    return srv.bearer(None, "repository:%s:pull" % repo)


def get(srv, repo, ref, method="GET", cred=None):
    if cred is None:
        cred = anon(srv, repo)
    return srv.req(method, "/v2/%s/manifests/%s" % (repo, ref), cred, headers=ACCEPT)


def assert_denied(r, digest=None):
    assert r.status_code == 403, (r.status_code, r.content[:300])
    if r.request.method != "HEAD":
        (e,) = r.json()["errors"]
        assert e["code"] == "DENIED", e
        assert "signature policy of project %s" % P in e["message"], e
        if digest:
            assert digest in e["message"], e


def tamper(srv, repo, digest):
    """Flip one byte of the signature of the legacy .sig manifest of `digest`."""
    tag = s.sig_tag(digest, "sig")
    m = get(srv, repo, tag, cred=srv.admin).json()
    ann = m["layers"][0]["annotations"]
    sig = bytearray(base64.b64decode(ann["dev.cosignproject.cosign/signature"]))
    sig[-1] ^= 1
    ann["dev.cosignproject.cosign/signature"] = base64.b64encode(bytes(sig)).decode()
    put_manifest(srv, repo, tag, json.dumps(m).encode(), m["mediaType"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    gen = au.module_server(tmp_path_factory)
    srv = next(gen)
    tmp = tmp_path_factory.mktemp("policy-keys")
    srv.add_project(P, public=True)
    srv.viewer = srv.add_user("viewer")
    srv.dev = srv.add_user("dev")
    srv.set_member(P, "viewer", "guest")
    srv.set_member(P, "dev", "developer")
    key_a, pub_a = s.keypair(tmp, "a")
    key_b, pub_b = s.keypair(tmp, "b")
    d = {}
    repo = P + "/app"
    for name in ("signed", "bundle", "unsigned", "otherkey", "tampered"):
        d[name] = push_variant(srv, repo, name, name)
    sign(srv, key_a, "%s:signed" % repo)
    sign(srv, key_a, "%s:bundle" % repo, "--new-bundle-format",
         "--registry-referrers-mode", "oci-1-1")
    sign(srv, key_b, "%s:otherkey" % repo)
    sign(srv, key_a, "%s:tampered" % repo)
    tamper(srv, repo, d["tampered"])
    # an ordinary image under a signature-like tag is still an image
    d["sigtag"] = push_variant(srv, P + "/fake", s.sig_tag(d["signed"], "sig"), "sigtag")
    # before the policy, everything is served
    for name in ("unsigned", "otherkey", "tampered"):
        assert get(srv, repo, name).status_code == 200
    out = u.berth(
        "admin", "--server", srv.url, "-u", "admin", "--password-stdin", "project", "set", P,
        "--require-signature", "%s,%s" % (pub_a, pub_a), input=(srv.admin[1] + "\n").encode())
    assert b"requires signed manifests" in out.stdout, out.stdout
    srv.w = dict(repo=repo, d=d, key_a=key_a, pub_a=pub_a, key_b=key_b, pub_b=pub_b, tmp=tmp)
    yield srv
    try:
        next(gen)
    except StopIteration:
        pass


ALLOWED = ("signed", "bundle")
REFUSED = ("unsigned", "otherkey", "tampered")


def refs(w, name):
    return (("tag", name), ("digest", w["d"][name]))


def test_registry_api_gates_manifests_by_tag_and_digest(world):
    w = world.w
    for name in ALLOWED:
        for _, ref in refs(w, name):
            for method in ("GET", "HEAD"):
                r = get(world, w["repo"], ref, method)
                assert r.status_code == 200, (name, ref, method, r.status_code, r.content[:300])
                assert r.headers["Docker-Content-Digest"] == w["d"][name]
    for name in REFUSED:
        for _, ref in refs(w, name):
            for method in ("GET", "HEAD"):
                assert_denied(get(world, w["repo"], ref, method), w["d"][name])
            # the manifest bytes through the blob endpoint are gated too
            assert_denied(world.req("GET", "/v2/%s/blobs/%s" % (w["repo"], w["d"][name]),
                                    anon(world, w["repo"])))
            # without any credentials: log in first (a signer may not have yet)
            r = world.req("GET", "/v2/%s/manifests/%s" % (w["repo"], ref), headers=ACCEPT)
            assert r.status_code == 401 and "Bearer" in r.headers["WWW-Authenticate"]
            # a pull-only member is refused as anyone; who may push reads what it
            # pushed (to sign it)
            assert_denied(get(world, w["repo"], ref, cred=world.viewer))
            assert get(world, w["repo"], ref, cred=world.dev).status_code == 200
    assert_denied(get(world, P + "/fake", s.sig_tag(w["d"]["signed"], "sig")), w["d"]["sigtag"])
    assert_denied(get(world, P + "/fake", w["d"]["sigtag"]))
    # the refusal says which failure: unsigned vs a signature that does not verify
    msg = get(world, w["repo"], "unsigned").json()["errors"][0]["message"]
    assert "no signature for" in msg, msg
    msg = get(world, w["repo"], "otherkey").json()["errors"][0]["message"]
    assert "no signature verifies" in msg, msg


def test_signature_artifacts_stay_pullable_and_listed(world):
    w = world.w
    # the legacy .sig manifest and the bundle referrer are served
    r = get(world, w["repo"], s.sig_tag(w["d"]["signed"], "sig"))
    assert r.status_code == 200, r.content[:300]
    (ref,) = s.referrers(world, w["repo"], w["d"]["bundle"])
    assert ref["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert get(world, w["repo"], ref["digest"]).status_code == 200
    # berth verify (a client) reads them through the gate
    out = s.berth("verify", "--key", w["pub_a"], "--format", "json",
                  "%s/%s:signed" % (world.host, w["repo"])).stdout
    assert json.loads(out)[0]["critical"]["image"]["docker-manifest-digest"] == w["d"]["signed"]
    # an unsigned image made a referrer of a signed one is listed, and still refused
    lay = images.ensure("busybox")
    man = json.loads(images.read_blob(lay, images.find_ref(lay, "busybox")["digest"]))
    man["subject"] = {"mediaType": oci.OCI_MANIFEST, "digest": w["d"]["signed"],
                      "size": len(get(world, w["repo"], "signed").content)}
    man["mediaType"] = oci.OCI_MANIFEST
    body = json.dumps(man).encode()
    for l in man["layers"] + [man["config"]]:
        upload(world, w["repo"], images.read_blob(lay, l["digest"]))
    sneaky = put_manifest(world, w["repo"], oci.sha256(body), body, oci.OCI_MANIFEST)
    listed = [m["digest"] for m in s.referrers(world, w["repo"], w["d"]["signed"])]
    assert sneaky in listed
    assert_denied(get(world, w["repo"], sneaky), sneaky)
    # the catalog and tag list name the repositories and tags; the pulls stay gated
    r = world.req("GET", "/v2/_catalog")
    assert w["repo"] in r.json()["repositories"]
    tags = world.req("GET", "/v2/%s/tags/list" % w["repo"]).json()["tags"]
    assert "unsigned" in tags
    assert_denied(get(world, w["repo"], "unsigned"))


def test_a_signed_index_covers_its_children(world, tmp_path):
    lay = images.ensure("multiarch")
    cred = "%s:%s" % world.admin
    for repo in (P + "/multi", P + "/multi-unsigned"):
        u.berth("copy", "--all", "--dest-creds", cred, "oci:%s:multi" % lay,
                "docker://%s/%s:m" % (world.host, repo))
    index = json.loads(images.read_blob(lay, images.find_ref(lay, "multi")["digest"]))
    children = [m["digest"] for m in index["manifests"]]
    assert len(children) >= 2
    # signed without --recursive: only the index carries a signature
    sign(world, world.w["key_a"], "%s/multi:m" % P)
    for c in children:
        assert get(world, P + "/multi", c).status_code == 200, c
        assert_denied(get(world, P + "/multi-unsigned", c), c)
    assert_denied(get(world, P + "/multi-unsigned", "m"))
    # a multi-platform pull of the signed index succeeds, of the other fails
    u.berth("copy", "--all", "docker://%s/%s/multi:m" % (world.host, P),
            "oci:%s:m" % (tmp_path / "ok"))
    p = u.berth("copy", "--all", "docker://%s/%s/multi-unsigned:m" % (world.host, P),
                "oci:%s:m" % (tmp_path / "no"), check=False)
    u.assert_fails(p, "signature policy")


def pull_skopeo(srv, ref, dest):
    return u.skopeo("copy", "--src-tls-verify=false", "docker://%s" % ref, "oci:%s:x" % dest,
                    check=False)


def pull_berth(srv, ref, dest):
    return u.berth("copy", "docker://%s" % ref, "oci:%s:x" % dest, check=False)


def test_client_matrix(world, env, tmp_path):
    """signed / unsigned / other key / tampered x tag / digest x skopeo / podman / berth."""
    ct.need("podman")
    ct.need("skopeo")
    w = world.w
    root = tmp_path / "podman"
    run_root = tempfile.mkdtemp(prefix="bpp-", dir="/tmp")
    base = ["podman", "--root", str(root / "root"), "--runroot", run_root, "--tmpdir",
            str(root / "tmp"), "--storage-driver", "vfs", "--events-backend", "none",
            "--cgroup-manager", "cgroupfs"]

    def pull_podman(srv, ref, dest):
        return ct.run(base + ["pull", "--tls-verify=false", ref], env=env, check=False)

    try:
        for name in ALLOWED + REFUSED:
            for kind, ref in refs(w, name):
                sep = "@" if kind == "digest" else ":"
                image = "%s/%s%s%s" % (world.host, w["repo"], sep, ref)
                for client, pull in (("skopeo", pull_skopeo), ("podman", pull_podman),
                                     ("berth", pull_berth)):
                    dest = tmp_path / ("%s-%s-%s" % (client, name, kind))
                    p = pull(world, image, dest)
                    what = "%s pull of %s (%s)" % (client, name, kind)
                    if name in ALLOWED:
                        assert p.returncode == 0, "%s failed: %s" % (what, p.stderr[-500:])
                    else:
                        assert p.returncode != 0, "%s succeeded" % what
                        err = p.stderr.decode("utf-8", "replace").lower()
                        assert "denied" in err or "signature policy" in err, (what, err[-500:])
                        if client != "podman":
                            assert not (dest / "index.json").exists() or \
                                not json.loads((dest / "index.json").read_text())["manifests"], what
        p = ct.run(base + ["images", "--format", "{{.Digest}}"], env=env)
        got = p.stdout.decode()
        for name in REFUSED:
            assert w["d"][name] not in got, "podman stored refused %s" % name
    finally:
        ct.run(base + ["rmi", "--all", "--force"], env=env, check=False)
        shutil.rmtree(run_root, ignore_errors=True)


def test_verdicts_follow_signatures_and_the_policy(world):
    w = world.w
    repo = P + "/later"
    d = push_variant(world, repo, "v", "later")
    assert_denied(get(world, repo, "v"), d)
    assert_denied(get(world, repo, "v"), d)            # a cached refusal answers alike
    sign(world, w["key_a"], "%s:v" % repo)               # the repository's generation moves
    assert get(world, repo, "v").status_code == 200
    assert get(world, repo, d).status_code == 200
    r = world.req("DELETE", "/v2/%s/manifests/%s" % (repo, s.sig_tag(d, "sig")), world.admin)
    assert r.status_code == 202
    assert_denied(get(world, repo, d), d)
    # every refusal is in the audit log
    audit = world.api("GET", "/audit?limit=1000", expect=200).json()
    rows = [a for a in audit if a["resource"] == "%s@%s" % (repo, d)
            and a["result"].startswith("denied: signature policy")]
    assert len(rows) >= 3, audit[:5]
    assert {a["result"] for a in rows} == {"denied: signature policy (unsigned)"}, rows
    # the admin API shows the policy; a key list that does not parse is refused
    got = world.api("GET", "/projects/" + P, expect=200).json()
    assert len(got["require_signature"]) == 2
    assert "BEGIN PUBLIC KEY" in got["require_signature"][0]
    r = world.api("PUT", "/projects/" + P, {"require_signature": ["not a key"]}, expect=400)
    assert "require_signature" in r.json()["errors"][0]["message"]
    key_text = open(w["key_a"]).read()
    world.api("PUT", "/projects/" + P, {"require_signature": [key_text]}, expect=400)
    # the other key now joins the policy: its signature counts
    world.api("PUT", "/projects/" + P, {"require_signature": [open(w["pub_a"]).read(),
                                                              open(w["pub_b"]).read()]},
              expect=204)
    assert get(world, w["repo"], "otherkey").status_code == 200
    assert_denied(get(world, w["repo"], "tampered"))
    # and removing the policy serves everything again
    p = u.berth("admin", "--server", world.url, "-u", "admin", "--password-stdin", "project",
                "set", P, "--require-signature", "", input=(world.admin[1] + "\n").encode())
    assert b"no longer requires" in p.stdout
    for name in REFUSED:
        assert get(world, w["repo"], name).status_code == 200
    assert get(world, repo, d).status_code == 200
    world.api("PUT", "/projects/" + P, {"require_signature": [open(w["pub_a"]).read()]},
              expect=204)
    assert_denied(get(world, w["repo"], "unsigned"))


def test_a_second_server_process_follows_the_same_verdicts(world):
    """Two `berth serve` processes on one data directory: a verdict the
    second one cached moves when a signature is pushed, or the policy
    changed, through the first (the generations kept in meta)."""
    w = world.w
    other = au.AuthServer(world.data, admin_password=world.admin[1]).start()
    try:
        repo = P + "/procs"
        d = push_variant(world, repo, "v", "procs")
        assert_denied(get(other, repo, "v"), d)
        assert_denied(get(other, repo, d), d)              # cached by the second process
        sign(world, w["key_a"], "%s:v" % repo)             # through the first
        assert get(other, repo, "v").status_code == 200
        assert get(other, repo, d).status_code == 200
        world.api("PUT", "/projects/" + P, {"require_signature": [open(w["pub_b"]).read()]},
                  expect=204)
        assert_denied(get(other, repo, d), d)              # key a no longer counts there
        assert get(other, w["repo"], "otherkey").status_code == 200
    finally:
        world.api("PUT", "/projects/" + P, {"require_signature": [open(w["pub_a"]).read()]},
                  expect=204)
        other.stop()
