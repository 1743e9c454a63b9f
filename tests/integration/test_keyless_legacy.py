"""cosign 2.x keyless signatures in the legacy ".sig" layout, verified
offline: @sigstore/mock plays Fulcio (with a CT log) and Rekor
(tests/integration/js/legacy-keyless.js), the layer is written as cosign
writes it (simple-signing payload; signature, certificate, chain and Rekor
bundle annotations), and `berth verify --certificate-identity ...
--certificate-oidc-issuer ... --trusted-root` checks the chain, identity,
issuer, the embedded SCT against the root's CT logs, the signed entry
timestamp with the Rekor key, the entry against the signature and
certificate, and the signature over the payload. sigstore-js judges the same
signatures (as v0.1 bundles) and must agree."""
import base64
import hashlib
import json

import pytest
import requests

import signutil as s
from signutil import reg  # noqa: F401  (module fixture)

IDENT = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"
REPO = "kls"
SIG = "dev.cosignproject.cosign/signature"
CERT = "dev.sigstore.cosign/certificate"
CHAIN = "dev.sigstore.cosign/chain"
BUNDLE = "dev.sigstore.cosign/bundle"
SIMPLE_MT = "application/vnd.dev.cosign.simplesigning.v1+json"


def push_blob(reg, data):  # noqa: F811
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = requests.post("%s/v2/%s/blobs/uploads/?digest=%s" % (reg.url, REPO, digest), data=data,
                      headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, (r.status_code, r.text)
    return digest


def push_sig(reg, digest, layers):  # noqa: F811
    """Replace the sha256-<hex>.sig manifest by one with these (payload, annotations) layers,
    as cosign lays it out (its config lists the layers as diff IDs)."""
    descs = []
    for payload, ann in layers:
        d = push_blob(reg, payload)
        descs.append({"mediaType": SIMPLE_MT, "size": len(payload), "digest": d,
                      "annotations": ann})
    config = json.dumps({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                         "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                         "rootfs": {"type": "layers",
                                    "diff_ids": [x["digest"] for x in descs]}}).encode()
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "size": len(config), "digest": push_blob(reg, config)},
                      "layers": descs}).encode()
    r = requests.put("%s/v2/%s/manifests/%s" % (reg.url, REPO, s.sig_tag(digest, "sig")),
                     data=man, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def world(reg, tmp_path_factory):  # noqa: F811
    """One image, its simple-signing payload, and the signatures of every variant."""
    tmp = tmp_path_factory.mktemp("kls")
    digest = s.push_fixture(reg, "busybox", "v1", repo=REPO)
    payload = json.dumps({"critical": {"identity": {"docker-reference": "%s/%s" % (reg.host, REPO)},
                                       "image": {"docker-manifest-digest": digest},
                                       "type": "cosign container image signature"},
                          "optional": None}, separators=(",", ":")).encode()
    (tmp / "payload").write_bytes(payload)
    s.node("legacy-keyless.js", tmp, tmp / "payload", IDENT, ISSUER)
    ann = {v: json.loads((tmp / (v + ".json")).read_text()) for v in ("valid", "no-sct", "bad-sct")}
    return {"digest": digest, "payload": payload, "ann": ann, "root": tmp / "trusted_root.json",
            "js": json.loads((tmp / "sigstore-js.json").read_text()), "tmp": tmp,
            "image": "%s/%s@%s" % (reg.host, REPO, digest)}


def verify(w, *extra, ident=IDENT, issuer=ISSUER, root=None):
    return s.berth("verify", "--certificate-identity", ident, "--certificate-oidc-issuer", issuer,
                   "--trusted-root", root or w["root"], *extra, w["image"], check=False)


def test_keyless_legacy_signature_verifies_offline(reg, world):  # noqa: F811
    w = world
    assert w["js"]["valid"]["withSct"] is True, "sigstore-js refused the valid signature"
    push_sig(reg, w["digest"], [(w["payload"], w["ann"]["valid"])])
    p = verify(w, "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    claim, = json.loads(p.stdout)
    assert claim["critical"]["image"]["docker-manifest-digest"] == w["digest"]
    assert claim["critical"]["type"] == "cosign container image signature"
    # cosign's shape: the payload's "optional" (null here) becomes the
    # certificate's Subject and Issuer (also under the issuer's OID) and the
    # layer's Rekor bundle, keys in Go's map order.
    opt = claim["optional"]
    assert list(opt) == ["1.3.6.1.4.1.57264.1.1", "Bundle", "Issuer", "Subject"], opt
    assert opt["Subject"] == IDENT and opt["Issuer"] == ISSUER
    assert opt["1.3.6.1.4.1.57264.1.1"] == ISSUER
    assert opt["Bundle"] == json.loads(w["ann"]["valid"][BUNDLE])
    assert list(opt["Bundle"]) == ["SignedEntryTimestamp", "Payload"]
    s.assert_refused(verify(w, ident="https://github.com/evil/app"), "no valid signatures")
    assert b"identity is not" in verify(w, ident="https://github.com/evil/app").stderr
    p = verify(w, issuer="https://evil.example")
    s.assert_refused(p, "no valid signatures")
    assert b"OIDC issuer is not" in p.stderr
    # The leaf certificate as the key: verify --key works too, and with the
    # trusted root the Rekor bundle must hold up for that key.
    leaf = w["tmp"] / "leaf.pem"
    leaf.write_text(w["ann"]["valid"][CERT])
    s.berth("verify", "--key", leaf, w["image"])
    s.berth("verify", "--key", leaf, "--trusted-root", w["root"], w["image"])


def tampered(w):
    """(what, payload, annotations, word of the reason) of each alteration of the valid layer."""
    good = w["ann"]["valid"]
    bundle = json.loads(good[BUNDLE])

    def with_(**kv):
        a = dict(good)
        a.update(kv)
        return {k: v for k, v in a.items() if v is not None}

    def rekor(**kv):
        b = json.loads(good[BUNDLE])
        b["Payload"].update(kv.pop("payload", {}))
        b.update(kv)
        return json.dumps(b)

    set_ = bytearray(s.b64d(bundle["SignedEntryTimestamp"]))
    set_[-3] ^= 1
    other = w["ann"]["no-sct"]
    return [
        ("payload", w["payload"].replace(b"cosign container", b"cosign  container"), good,
         "does not record this signature"),
        ("signature", w["payload"], with_(**{SIG: other[SIG]}), "does not record"),
        # another certificate of the CA: issued after this entry was logged,
        # and not the one the entry records
        ("certificate", w["payload"], with_(**{CERT: other[CERT]}),
         ("outside the certificate's validity", "does not record")),
        ("set", w["payload"],
         with_(**{BUNDLE: rekor(SignedEntryTimestamp=base64.b64encode(bytes(set_)).decode())}),
         "signed entry timestamp"),
        ("integrated time", w["payload"],
         with_(**{BUNDLE: rekor(payload={"integratedTime": bundle["Payload"]["integratedTime"] + 1})}),
         "signed entry timestamp"),
        ("body", w["payload"], with_(**{BUNDLE: rekor(payload={"body": json.loads(other[BUNDLE])["Payload"]["body"]})}),
         "signed entry timestamp"),
        ("no rekor bundle", w["payload"], with_(**{BUNDLE: None}), "Rekor bundle"),
        ("no certificate", w["payload"], with_(**{CERT: None}), "carries no certificate"),
    ]


def test_tampered_legacy_layers_are_refused(reg, world):  # noqa: F811
    w = world
    for what, payload, ann, word in tampered(w):
        push_sig(reg, w["digest"], [(payload, ann)])
        p = verify(w)
        s.assert_refused(p, "no valid signatures")
        alts = word if isinstance(word, tuple) else (word,)
        assert any(a.encode() in p.stderr for a in alts), (what, p.stderr.decode())
    # The untampered original passes in the same test.
    push_sig(reg, w["digest"], [(w["payload"], w["ann"]["valid"])])
    assert verify(w).returncode == 0
    # A trusted root whose CA is another (a leaf stands in for it): no chain.
    root = json.loads(w["root"].read_text())
    other = "".join(l for l in w["ann"]["no-sct"][CERT].splitlines() if "-----" not in l)
    root["certificateAuthorities"][0]["certChain"]["certificates"] = [{"rawBytes": other}]
    p = verify(w, root=s.write_json(w["tmp"] / "other-ca-root.json", root))
    s.assert_refused(p, "no valid signatures")
    assert b"does not chain" in p.stderr, p.stderr.decode()


def test_embedded_sct_is_required_and_checked(reg, world):  # noqa: F811
    """cosign's default for keyless: an SCT of a CT log of the trusted root;
    --insecure-ignore-sct skips it. sigstore-js (ctlogThreshold 1) agrees."""
    w = world
    js = w["js"]
    push_sig(reg, w["digest"], [(w["payload"], w["ann"]["no-sct"])])
    p = verify(w)
    s.assert_refused(p, "no valid signatures")
    assert b"no signed certificate timestamp" in p.stderr, p.stderr.decode()
    assert js["no-sct"]["withSct"] is not True and js["no-sct"]["withoutSct"] is True, js
    assert verify(w, "--insecure-ignore-sct").returncode == 0
    push_sig(reg, w["digest"], [(w["payload"], w["ann"]["bad-sct"])])
    p = verify(w)
    s.assert_refused(p, "no valid signatures")
    assert b"SCT does not verify" in p.stderr, p.stderr.decode()
    assert js["bad-sct"]["withSct"] is not True, js
    assert verify(w, "--insecure-ignore-sct").returncode == 0
    # A root without the CT log: the valid SCT is from an unknown log.
    root = json.loads(w["root"].read_text())
    root["ctlogs"] = []
    r2 = s.write_json(w["tmp"] / "no-ctlog-root.json", root)
    push_sig(reg, w["digest"], [(w["payload"], w["ann"]["valid"])])
    p = verify(w, root=r2)
    s.assert_refused(p, "no valid signatures")
    assert b"no CT log of the trusted root" in p.stderr, p.stderr.decode()
    assert verify(w).returncode == 0


def test_keyless_and_keyed_signatures_side_by_side(reg, world, tmp_path):  # noqa: F811
    """A .sig manifest holding a keyless layer and a key-signed one (berth sign
    appends): each verifier finds its own, the other is reported, not fatal."""
    w = world
    push_sig(reg, w["digest"], [(w["payload"], w["ann"]["valid"])])
    key, pub = s.keypair(tmp_path)
    s.berth("sign", "--key", key, w["image"])
    assert len(s.sig_layers(reg, REPO, w["digest"])) == 2
    p = verify(w, "--format", "json")
    assert p.returncode == 0 and len(json.loads(p.stdout)) == 1
    assert b"no certificate" in p.stderr
    p = s.berth("verify", "--key", pub, "--format", "json", w["image"])
    assert len(json.loads(p.stdout)) == 1
