"""Image signatures, attestations and SBOMs in a real `berth serve`: the
tag schema (.sig/.att/.sbom) and OCI 1.1 referrer bundles laid out as
cosign's specs say, recursive signing of a multi-arch index, every
attestation type, attach/download/tree, bad input with clear errors, a
keyless image signature made by sigstore-js, and skopeo carrying berth's
signatures to another registry."""
import base64
import hashlib
import json
import os

import pytest
import requests

import signutil as s
from signutil import reg  # noqa: F401  (module fixture)

BUNDLE_MT = "application/vnd.dev.sigstore.bundle.v0.3+json"


def test_recursive_signing_of_a_multiarch_index(reg, tmp_path):  # noqa: F811
    key, pub = s.keypair(tmp_path)
    index = s.push_fixture(reg, "multiarch", "multi", repo="multi", all_=True)
    children = [m["digest"] for m in s.manifest(reg, "multi", index).json()["manifests"]]
    assert len(children) == 2
    s.berth("sign", "--key", key, "--recursive", "%s/multi:multi" % reg.host)
    for d in [index] + children:
        (desc, payload), = s.sig_layers(reg, "multi", d)
        assert json.loads(payload)["critical"]["image"]["docker-manifest-digest"] == d
        s.berth("verify", "--key", pub, "%s/multi@%s" % (reg.host, d))
    # Without --recursive only the index is signed.
    s.berth("sign", "--key", key, "--new-bundle-format", "%s/multi:multi" % reg.host)
    assert len(s.referrers(reg, "multi", index)) == 1
    assert s.referrers(reg, "multi", children[0]) == []


def test_oci11_referrer_bundle_layout(reg, tmp_path):  # noqa: F811
    key, pub = s.keypair(tmp_path)
    digest = s.push_fixture(reg, "busybox", "ref11", repo="ref11")
    s.berth("sign", "--key", key, "--registry-referrers-mode", "oci-1-1", "-a", "env=prod",
            "%s/ref11:ref11" % reg.host)
    assert s.manifest(reg, "ref11", s.sig_tag(digest, "sig")).status_code == 404
    refs = s.referrers(reg, "ref11", digest)
    assert len(refs) == 1 and refs[0]["artifactType"] == BUNDLE_MT
    man = s.manifest(reg, "ref11", refs[0]["digest"]).json()
    assert man["artifactType"] == BUNDLE_MT
    assert man["subject"]["digest"] == digest
    assert man["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert man["annotations"]["dev.sigstore.bundle.content"] == "dsse-envelope"
    assert man["annotations"]["dev.sigstore.bundle.predicateType"] == \
        "https://sigstore.dev/cosign/sign/v1"
    layer, = man["layers"]
    assert layer["mediaType"] == BUNDLE_MT
    assert layer["annotations"]["org.opencontainers.image.title"] == \
        layer["digest"].replace(":", "-") + ".sigstore.json"
    bundle = s.blob(reg, "ref11", layer["digest"])
    b = json.loads(bundle)
    stmt = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
    assert stmt["subject"][0]["digest"]["sha256"] == digest.split(":")[1]
    (tmp_path / "bundle.json").write_bytes(bundle)
    # sigstore-js verifies the DSSE bundle berth stored with the public key.
    s.node("verify-bundle.js", tmp_path / "bundle.json", pub, tmp_path / "bundle.json")
    out = s.berth("verify", "--key", pub, "-a", "env=prod", "--format", "json",
                  "%s/ref11:ref11" % reg.host).stdout
    claim, = json.loads(out)
    assert claim["critical"]["type"] == "https://sigstore.dev/cosign/sign/v1"
    assert claim["critical"]["image"]["docker-manifest-digest"] == digest
    s.assert_refused(s.berth("verify", "--key", pub, "-a", "env=dev",
                             "%s/ref11:ref11" % reg.host, check=False), "no valid signatures")


PREDICATES = {
    "spdxjson": ("https://spdx.dev/Document", {"spdxVersion": "SPDX-2.3"}),
    "cyclonedx": ("https://cyclonedx.org/bom", {"bomFormat": "CycloneDX"}),
    "slsaprovenance": ("https://slsa.dev/provenance/v0.2", {"builder": {"id": "x"}}),
    "slsaprovenance1": ("https://slsa.dev/provenance/v1", {"buildDefinition": {}}),
    "vuln": ("https://cosign.sigstore.dev/attestation/vuln/v1", {"scanner": {}}),
    "custom": ("https://cosign.sigstore.dev/attestation/v1", "free text"),
    "https://example.com/pred/v1": ("https://example.com/pred/v1", {"a": 1}),
}


@pytest.mark.parametrize("bundle", [False, True], ids=["att-tag", "referrer"])
def test_attestations_of_each_type(reg, tmp_path, bundle):  # noqa: F811
    key, pub = s.keypair(tmp_path)
    repo = "att-%d" % bundle
    digest = s.push_fixture(reg, "busybox", "v1", repo=repo)
    image = "%s/%s:v1" % (reg.host, repo)
    for word, (uri, pred) in PREDICATES.items():
        f = tmp_path / "pred"
        f.write_text(pred if isinstance(pred, str) else json.dumps(pred))
        s.berth("attest", "--key", key, "--predicate", f, "--type", word, image,
                *(["--new-bundle-format"] if bundle else []))
    for word, (uri, pred) in PREDICATES.items():
        out = s.berth("verify-attestation", "--key", pub, "--type", word, "--format", "json",
                      image).stdout
        envs = [json.loads(l) for l in out.decode().splitlines() if l.strip()]
        assert len(envs) == 1, word
        stmt = json.loads(base64.b64decode(envs[0]["payload"]))
        assert envs[0]["payloadType"] == "application/vnd.in-toto+json"
        assert stmt["predicateType"] == uri
        assert stmt["subject"][0]["digest"]["sha256"] == digest.split(":")[1]
        if word == "custom":
            assert stmt["predicate"]["Data"] == "free text"
        else:
            assert stmt["predicate"] == pred
    if not bundle:
        layers = s.sig_layers(reg, repo, digest, "att")
        assert len(layers) == len(PREDICATES)
        for desc, _ in layers:
            assert desc["mediaType"] == "application/vnd.dsse.envelope.v1+json"
            assert desc["annotations"]["predicateType"] in [u for u, _ in PREDICATES.values()]
    _, pub2 = s.keypair(tmp_path, "other")
    s.assert_refused(s.berth("verify-attestation", "--key", pub2, "--type", "spdxjson", image,
                             check=False), "no valid attestations")


def test_attach_sbom_download_and_tree(reg, tmp_path):  # noqa: F811
    key, pub = s.keypair(tmp_path)
    digest = s.push_fixture(reg, "busybox", "sb", repo="sb")
    image = "%s/sb:sb" % reg.host
    sbom = tmp_path / "sbom.spdx.json"
    sbom.write_text(json.dumps({"spdxVersion": "SPDX-2.3", "name": "busybox"}))
    s.berth("attach", "sbom", "--sbom", sbom, "--type", "spdx", image)
    (desc, data), = s.sig_layers(reg, "sb", digest, "sbom")
    assert desc["mediaType"] == "text/spdx+json" and data == sbom.read_bytes()
    assert s.berth("download", "sbom", image).stdout == sbom.read_bytes()
    s.berth("sign", "--key", key, image)
    line, = s.berth("download", "signature", image).stdout.decode().splitlines()
    sig = json.loads(line)
    (sdesc, payload), = s.sig_layers(reg, "sb", digest)
    assert base64.b64decode(sig["Payload"]) == payload
    assert sig["Base64Signature"] == sdesc["annotations"]["dev.cosignproject.cosign/signature"]
    s.assert_refused(s.berth("download", "attestation", image, check=False), "no attestation")
    pred = tmp_path / "p.json"
    pred.write_text("{}")
    s.berth("attest", "--key", key, "--predicate", pred, "--type", "vuln", image)
    s.berth("sign", "--key", key, "--new-bundle-format", image)
    tree = s.berth("tree", image).stdout.decode()
    for want in (s.sig_tag(digest, "sig"), s.sig_tag(digest, "att"), s.sig_tag(digest, "sbom"),
                 BUNDLE_MT, hashlib.sha256(payload).hexdigest()):
        assert want in tree, (want, tree)
    # P6's own SBOM of the image, attached as an OCI 1.1 referrer.
    cdx = tmp_path / "sbom.cdx.json"
    s.berth("sbom", "--format", "cyclonedx-json", "--no-cache", "-q", "-o", cdx, image)
    assert json.loads(cdx.read_text())["bomFormat"] == "CycloneDX"
    s.berth("attach", "sbom", "--sbom", cdx, "--type", "cyclonedx", "--registry-referrers-mode",
            "oci-1-1", image)
    ref, = [r for r in s.referrers(reg, "sb", digest)
            if r.get("artifactType") == "application/vnd.cyclonedx+json"]
    layer, = s.manifest(reg, "sb", ref["digest"]).json()["layers"]
    assert s.blob(reg, "sb", layer["digest"]) == cdx.read_bytes()
    assert ref["digest"] in s.berth("tree", image).stdout.decode()
    empty = s.push_fixture(reg, "busybox", "none", repo="none")
    assert "No Supply Chain Security Related Artifacts" in \
        s.berth("tree", "%s/none@%s" % (reg.host, empty)).stdout.decode()


def test_bad_input_is_refused_clearly(reg, tmp_path):  # noqa: F811
    key, pub = s.keypair(tmp_path)
    blob = tmp_path / "blob"
    blob.write_bytes(b"data")
    # Wrong password; corrupt and truncated key files; a public key given as --key.
    s.assert_refused(s.berth("sign-blob", "--key", key, blob, password="nope", check=False),
                     "wrong password")
    bad = tmp_path / "corrupt.key"
    bad.write_text(key.read_text().replace("A", "B", 5))
    s.assert_refused(s.berth("sign-blob", "--key", bad, blob, check=False), str(bad))
    trunc = tmp_path / "trunc.key"
    trunc.write_text(key.read_text()[:100])
    s.assert_refused(s.berth("sign-blob", "--key", trunc, blob, check=False), "pem")
    s.assert_refused(s.berth("sign-blob", "--key", pub, blob, check=False), "private key")
    # A signature over another artifact / another image's digest.
    s.berth("sign-blob", "--key", key, "--bundle", tmp_path / "b.json", blob)
    other = tmp_path / "other"
    other.write_bytes(b"other")
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--bundle", tmp_path / "b.json", other,
                             check=False), "digest")
    a = s.push_fixture(reg, "busybox", "a", repo="bad")
    b = s.push_fixture(reg, "multiarch", "b", repo="bad")
    s.berth("sign", "--key", key, "%s/bad@%s" % (reg.host, a))
    # Move a's signature manifest under b's signature tag: the payload names a.
    man = s.manifest(reg, "bad", s.sig_tag(a, "sig"))
    import requests
    r = requests.put("%s/v2/bad/manifests/%s" % (reg.url, s.sig_tag(b, "sig")), data=man.content,
                     headers={"Content-Type": man.headers["Content-Type"]})
    assert r.status_code == 201
    p = s.berth("verify", "--key", pub, "%s/bad@%s" % (reg.host, b), check=False)
    s.assert_refused(p, "no valid signatures")
    assert b"another image" in p.stderr
    # Oversized bundle and predicate; malformed DSSE.
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(25 * 1024 * 1024)
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--bundle", big, blob, check=False),
                     "larger than")
    s.assert_refused(s.berth("attest", "--key", key, "--predicate", big, "--type", "custom",
                             "%s/bad@%s" % (reg.host, a), check=False), "larger than")
    for doc, word in (({"mediaType": BUNDLE_MT, "verificationMaterial": {},
                        "dsseEnvelope": {"payloadType": "x", "payload": "e30=",
                                         "signatures": []}}, "no signatures"),
                      ({"mediaType": BUNDLE_MT, "verificationMaterial": {},
                        "dsseEnvelope": {"payloadType": "x", "payload": "%%%",
                                         "signatures": [{"sig": "AA=="}]}}, "base64"),
                      ({"mediaType": "application/x-other"}, "not supported")):
        s.assert_refused(s.berth("verify-blob", "--key", pub, "--bundle",
                                 s.write_json(tmp_path / "m.json", doc), blob, check=False), word)
    (tmp_path / "notjson").write_text("{not json")
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--bundle", tmp_path / "notjson", blob,
                             check=False), "json")


def legacy_to_bundle(payload, ann, pub_pem):
    """A v0.1 sigstore bundle standing for a legacy .sig layer uploaded with a key."""
    rb = json.loads(ann["dev.sigstore.cosign/bundle"])
    der = base64.b64decode("".join(l for l in pub_pem.splitlines() if "-----" not in l))
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": {
            "publicKey": {"hint": base64.b64encode(hashlib.sha256(der).digest()).decode()},
            "tlogEntries": [{
                "logIndex": str(rb["Payload"]["logIndex"]),
                "logId": {"keyId": base64.b64encode(bytes.fromhex(rb["Payload"]["logID"])).decode()},
                "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
                "integratedTime": str(rb["Payload"]["integratedTime"]),
                "inclusionPromise": {"signedEntryTimestamp": rb["SignedEntryTimestamp"]},
                "canonicalizedBody": rb["Payload"]["body"]}]},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256",
                              "digest": base64.b64encode(hashlib.sha256(payload).digest()).decode()},
            "signature": ann["dev.cosignproject.cosign/signature"]},
    }


def test_tlog_upload_of_image_signatures(reg, tmp_path):  # noqa: F811
    """Offline by default; --tlog-upload=true --rekor-url uploads a hashedrekord
    entry of the payload's signature to a Rekor log (@sigstore/mock's, over
    HTTP) and stores cosign's Rekor bundle annotation on the .sig layer, which
    berth (with the log's trusted root) and sigstore-js both verify; verify
    --format json shows it as cosign does (optional.Bundle). An unreachable
    log is a one-line error and nothing is pushed."""
    import os
    key, pub = s.keypair(tmp_path)
    digest = s.push_fixture(reg, "busybox", "tl", repo="tl")
    image = "%s/tl:tl" % reg.host
    s.assert_refused(s.berth("sign", "--key", key, "--tlog-upload=true", image, check=False),
                     "--rekor-url")
    p = s.berth("sign", "--key", key, "--tlog-upload=true", "--rekor-url", "http://127.0.0.1:9",
                image, check=False)
    s.assert_refused(p, "cannot reach the transparency log")
    assert len([l for l in p.stderr.decode().splitlines() if l.strip()]) == 1, p.stderr
    assert s.manifest(reg, "tl", s.sig_tag(digest, "sig")).status_code == 404
    (tmp_path / "pred.json").write_text("{}")
    s.assert_refused(s.berth("attest", "--key", key, "--type", "custom", "--predicate",
                             tmp_path / "pred.json", "--tlog-upload=true", "--rekor-url",
                             "http://127.0.0.1:9", image, check=False),
                     "cannot reach the transparency log")
    assert s.manifest(reg, "tl", s.sig_tag(digest, "att")).status_code == 404
    root = tmp_path / "rekor-root.json"
    with s.fake_rekor(root) as url:
        s.berth("sign", "--key", key, "--tlog-upload=true", "--rekor-url", url, image)
    (layer, payload), = s.sig_layers(reg, "tl", digest)
    ann = layer["annotations"]
    rb = json.loads(ann["dev.sigstore.cosign/bundle"])
    assert set(rb) == {"SignedEntryTimestamp", "Payload"}
    assert set(rb["Payload"]) == {"body", "integratedTime", "logIndex", "logID"}
    body = json.loads(base64.b64decode(rb["Payload"]["body"]))
    assert body["kind"] == "hashedrekord"
    assert body["spec"]["data"]["hash"]["value"] == hashlib.sha256(payload).hexdigest()
    assert body["spec"]["signature"]["content"] == ann["dev.cosignproject.cosign/signature"]
    log_key = base64.b64decode(json.loads(root.read_text())["tlogs"][0]["publicKey"]["rawBytes"])
    assert rb["Payload"]["logID"] == hashlib.sha256(log_key).hexdigest()
    # berth: with the log's root the entry must hold up; sigstore-js agrees.
    claim, = json.loads(s.berth("verify", "--key", pub, "--trusted-root", root, "--format",
                                "json", image).stdout)
    assert claim["optional"] == {"Bundle": rb}, claim
    assert list(claim) == ["critical", "optional"]
    bundle = s.write_json(tmp_path / "legacy.json", legacy_to_bundle(payload, ann, pub.read_text()))
    (tmp_path / "payload").write_bytes(payload)
    s.node("verify-bundle.js", bundle, pub, tmp_path / "payload", root)
    # A layer signed offline has no entry: refused with the root, fine without.
    s.berth("sign", "--key", key, "--tlog-upload=false", image)
    p = s.berth("verify", "--key", pub, "--trusted-root", root, "--format", "json", image)
    assert len(json.loads(p.stdout)) == 1 and b"no Rekor bundle" in p.stderr
    assert len(json.loads(s.berth("verify", "--key", pub, "--format", "json", image).stdout)) == 2
    other_root = tmp_path / "other-root.json"
    other_root.write_bytes(open(os.path.join(s.conftest.SOURCE_DIR, "tests", "unit", "sign",
                                             "data", "trusted_root.json"), "rb").read())
    p = s.berth("verify", "--key", pub, "--trusted-root", other_root, image, check=False)
    s.assert_refused(p, "no valid signatures")
    assert b"not in the trusted root" in p.stderr


def intoto_body(entry_body_b64):
    body = json.loads(base64.b64decode(entry_body_b64))
    assert (body["kind"], body["apiVersion"]) == ("intoto", "0.0.2"), body
    return body["spec"]["content"]


def test_tlog_upload_of_attestations_and_bundle_signatures(reg, tmp_path):  # noqa: F811
    """attest --tlog-upload=true (legacy .att and referrer bundle) and sign
    --new-bundle-format --tlog-upload=true upload the DSSE envelope as cosign
    does, an intoto 0.0.2 entry, to @sigstore/mock's Rekor; verify-attestation
    and verify with the log's trusted root check the entry offline (proven by
    the log, recording this signature and key), sigstore-js accepts the
    bundles with the same root, and an entry of another envelope, an
    attestation without one, or a root of another log are refused."""
    import hashlib as h
    key, pub = s.keypair(tmp_path)
    digest = s.push_fixture(reg, "busybox", "v1", repo="tla")
    image = "%s/tla:v1" % reg.host
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps({"buildDefinition": {"buildType": "https://example.com/t"}}))
    root = tmp_path / "rekor-root.json"
    att = ("attest", "--key", key, "--predicate", pred, "--type")
    slsa = att + ("slsaprovenance1",)
    with s.fake_rekor(root) as url:
        up = ("--tlog-upload=true", "--rekor-url", url)
        s.berth(*slsa, *up, image)
        s.berth(*slsa, *up, "--new-bundle-format", image)
        s.berth("sign", "--key", key, "--new-bundle-format", *up, image)
    # The legacy .att layer carries cosign's Rekor bundle of an intoto entry.
    (layer, env_bytes), = s.sig_layers(reg, "tla", digest, "att")
    env = json.loads(env_bytes)
    rb = json.loads(layer["annotations"]["dev.sigstore.cosign/bundle"])
    content = intoto_body(rb["Payload"]["body"])
    assert content["payloadHash"]["value"] == h.sha256(s.b64d(env["payload"])).hexdigest()
    esig, = content["envelope"]["signatures"]
    assert s.b64d(s.b64d(esig["sig"])) == s.b64d(env["signatures"][0]["sig"])
    assert s.b64d(esig["publicKey"]).decode() == pub.read_text()
    # Both referrers (attestation, signature) hold the entry in the bundle.
    bundles = {}
    for r in s.referrers(reg, "tla", digest):
        man = s.manifest(reg, "tla", r["digest"]).json()
        b = json.loads(s.blob(reg, "tla", man["layers"][0]["digest"]))
        bundles[man["annotations"]["dev.sigstore.bundle.predicateType"]] = b
        entry, = b["verificationMaterial"]["tlogEntries"]
        assert entry["kindVersion"] == {"kind": "intoto", "version": "0.0.2"}
        assert intoto_body(entry["canonicalizedBody"])["payloadHash"]["value"] == \
            h.sha256(s.b64d(b["dsseEnvelope"]["payload"])).hexdigest()
        f = tmp_path / ("b%d.json" % len(bundles))
        f.write_text(json.dumps(b))
        s.node("verify-bundle.js", f, pub, f, root)
    assert set(bundles) == {"https://slsa.dev/provenance/v1", "https://sigstore.dev/cosign/sign/v1"}
    # berth checks the entries offline against the log's root.
    va = ("verify-attestation", "--key", pub, "--type", "slsaprovenance1", "--trusted-root")
    out = s.berth(*va, root, "--format", "json", image).stdout
    assert len([l for l in out.decode().splitlines() if l.strip()]) == 2
    claim, = json.loads(s.berth("verify", "--key", pub, "--trusted-root", root, "--format",
                                "json", image).stdout)
    assert claim["critical"]["image"]["docker-manifest-digest"] == digest
    other_root = tmp_path / "other-root.json"
    other_root.write_bytes(open(os.path.join(s.HERE, "..", "unit", "sign", "data",
                                             "trusted_root.json"), "rb").read())
    p = s.berth(*va, other_root, image, check=False)
    s.assert_refused(p, "no valid attestations")
    assert p.stderr.count(b"not in the trusted root") == 2, p.stderr
    # The .att layer with the Rekor bundle of another envelope: refused.
    s.berth(*att, "vuln", image)   # a second, offline, layer
    layers = s.sig_layers(reg, "tla", digest, "att")
    assert len(layers) == 2 and "dev.sigstore.cosign/bundle" not in layers[1][0]["annotations"]
    p = s.berth("verify-attestation", "--key", pub, "--type", "vuln", "--trusted-root", root,
                image, check=False)
    s.assert_refused(p, "no valid attestations")
    assert b"no Rekor bundle" in p.stderr
    s.berth("verify-attestation", "--key", pub, "--type", "vuln", image)
    # Swap the Rekor bundle onto the offline layer: it records another signature.
    man = s.manifest(reg, "tla", s.sig_tag(digest, "att")).json()
    man["layers"][1]["annotations"]["dev.sigstore.cosign/bundle"] = \
        man["layers"][0]["annotations"]["dev.sigstore.cosign/bundle"]
    r = requests.put("%s/v2/tla/manifests/%s" % (reg.url, s.sig_tag(digest, "att")),
                     data=json.dumps(man),
                     headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    p = s.berth("verify-attestation", "--key", pub, "--type", "vuln", "--trusted-root", root,
                image, check=False)
    s.assert_refused(p, "no valid attestations")
    assert b"does not record this signature" in p.stderr, p.stderr


def push_blob(reg, repo, data):
    import requests
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = requests.post("%s/v2/%s/blobs/uploads/" % (reg.url, repo))
    assert r.status_code == 202, r.status_code
    loc = r.headers["Location"]
    url = (loc if loc.startswith("http") else reg.url + loc)
    r = requests.put(url + ("&" if "?" in url else "?") + "digest=" + digest, data=data,
                     headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.status_code
    return digest


def test_keyless_image_signature_made_elsewhere_verifies_offline(reg, tmp_path):  # noqa: F811
    """A keyless cosign-v3-style image signature (@sigstore/mock's Fulcio and
    Rekor) pushed as a referrer bundle by hand, as another tool would: berth
    verify checks it against the trusted root, identity and issuer."""
    import requests
    ident = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    issuer = "https://token.actions.githubusercontent.com"
    digest = s.push_fixture(reg, "busybox", "kl", repo="kl")
    out = tmp_path / "kl"
    out.mkdir()
    (tmp_path / "a").write_bytes(b"x")
    s.node("keyless.js", out, tmp_path / "a", ident, issuer, digest)
    bundle = (out / "image.sigstore.json").read_bytes()
    layer = push_blob(reg, "kl", bundle)
    empty = push_blob(reg, "kl", b"{}")
    man = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": BUNDLE_MT,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": BUNDLE_MT, "digest": layer, "size": len(bundle)}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                    "size": len(s.manifest(reg, "kl", digest).content)},
        "annotations": {"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
    }).encode()
    md = "sha256:" + hashlib.sha256(man).hexdigest()
    r = requests.put("%s/v2/kl/manifests/%s" % (reg.url, md), data=man,
                     headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    image = "%s/kl:kl" % reg.host
    root = out / "trusted_root.json"
    p = s.berth("verify", "--certificate-identity", ident, "--certificate-oidc-issuer", issuer,
                "--trusted-root", root, "--format", "json", image)
    claim, = json.loads(p.stdout)
    assert claim["critical"]["image"]["docker-manifest-digest"] == digest
    s.assert_refused(s.berth("verify", "--certificate-identity", "https://evil.example/w",
                             "--certificate-oidc-issuer", issuer, "--trusted-root", root, image,
                             check=False), "no valid signatures")
    # The same bundle attached to another image: the statement does not name it.
    other = s.push_fixture(reg, "multiarch", "kl2", repo="kl")
    doc = json.loads(man)
    doc["subject"] = {"mediaType": s.manifest(reg, "kl", other).headers["Content-Type"],
                      "digest": other, "size": len(s.manifest(reg, "kl", other).content)}
    man2 = json.dumps(doc).encode()
    r = requests.put("%s/v2/kl/manifests/sha256:%s" % (reg.url, hashlib.sha256(man2).hexdigest()),
                     data=man2, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    assert len(s.referrers(reg, "kl", other)) == 1
    p = s.berth("verify", "--certificate-identity", ident, "--certificate-oidc-issuer", issuer,
                "--trusted-root", root, "%s/kl@%s" % (reg.host, other), check=False)
    assert b"no subject has digest" in p.stderr
    s.assert_refused(s.berth("verify", "--certificate-identity", ident,
                             "--certificate-oidc-issuer", issuer, "--trusted-root", root,
                             "%s/kl@%s" % (reg.host, other), check=False), "no valid signatures")


def test_skopeo_carries_berth_signatures_to_another_registry(reg, tmp_path):  # noqa: F811
    """skopeo (registries.d use-sigstore-attachments: true) copies an image
    and its berth .sig signature to a second berth registry; the signature
    annotation arrives unchanged and berth verifies the copy there."""
    import shutil
    import conftest
    import copyutil as u
    if not shutil.which("skopeo"):
        pytest.fail("skopeo is missing: apt-get install skopeo (scripts/deps.sh)")
    key, pub = s.keypair(tmp_path)
    digest = s.push_fixture(reg, "busybox", "sk", repo="sk")
    s.berth("sign", "--key", key, "-a", "via=skopeo", "%s/sk:sk" % reg.host)
    regd = tmp_path / "registries.d"
    regd.mkdir()
    (regd / "default.yaml").write_text("default-docker:\n  use-sigstore-attachments: true\n")
    dst = conftest.BerthServer(str(tmp_path / "dst"))
    (tmp_path / "dst").mkdir()
    dst.start()
    try:
        u.skopeo("--registries.d", regd, "copy", "--src-tls-verify=false",
                 "--dest-tls-verify=false", "docker://%s/sk:sk" % reg.host,
                 "docker://%s/copied:sk" % dst.host)
        (desc, payload), = s.sig_layers(dst, "copied", digest)
        assert desc["annotations"]["dev.cosignproject.cosign/signature"] == \
            s.sig_layers(reg, "sk", digest)[0][0]["annotations"]["dev.cosignproject.cosign/signature"]
        out = s.berth("verify", "--key", pub, "-a", "via=skopeo", "--format", "json",
                      "%s/copied:sk" % dst.host).stdout
        claim, = json.loads(out)
        assert claim["critical"]["image"]["docker-manifest-digest"] == digest
    finally:
        dst.stop()
