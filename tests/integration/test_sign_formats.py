"""berth's signing formats checked by independent implementations:

- python3-nacl + python3-cryptography decrypt berth's cosign.key (scrypt,
  NaCl secretbox, PKCS#8) and sign; berth verifies that signature;
- `openssl dgst -sha256 -verify cosign.pub` checks the signature of berth's
  `.sig` layer over the exact payload bytes read from the registry;
- sigstore-js (@sigstore/verify) verifies berth's v0.3 bundles with the key;
- @sigstore/mock (fake Fulcio and Rekor) makes keyless bundles (v0.2, v0.3,
  message signature and DSSE) and a trusted root that berth verifies offline;
  tampered copies (payload, signature, certificate, inclusion proof) are
  refused and the untampered original passes in the same test.
"""
import base64
import copy
import json
import subprocess

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
import nacl.bindings
import nacl.secret
import pytest

import signutil as s
from signutil import reg  # noqa: F401  (module fixture)

IDENTITY = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"


def decrypt_cosign_key(path, password):
    """Decrypt a cosign key file independently of berth."""
    text = path.read_text()
    assert text.startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
    doc = json.loads(base64.b64decode(body))
    assert doc["kdf"]["name"] == "scrypt" and doc["cipher"]["name"] == "nacl/secretbox"
    params = doc["kdf"]["params"]
    assert (params["N"], params["r"], params["p"]) == (32768, 8, 1)
    key = nacl.bindings.crypto_pwhash_scryptsalsa208sha256_ll(
        password.encode(), base64.b64decode(doc["kdf"]["salt"]), params["N"], params["r"],
        params["p"], dklen=32, maxmem=1 << 28)
    der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(doc["ciphertext"]),
                                             base64.b64decode(doc["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, None)


def test_python_decrypts_berth_key_and_berth_verifies_its_signature(tmp_path):
    key, pub = s.keypair(tmp_path)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    priv = decrypt_cosign_key(key, s.PASSWORD)
    assert isinstance(priv.curve, ec.SECP256R1)
    # The public key berth wrote is the one inside the encrypted file.
    pem = priv.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    assert pem == pub.read_bytes()
    blob = tmp_path / "release.tar"
    blob.write_bytes(b"release artifact\n" * 1000)
    sig = priv.sign(blob.read_bytes(), ec.ECDSA(hashes.SHA256()))
    (tmp_path / "sig").write_text(base64.b64encode(sig).decode())
    p = s.berth("verify-blob", "--key", pub, "--signature", tmp_path / "sig", blob)
    assert b"Verified OK" in p.stderr
    other = tmp_path / "other"
    other.write_bytes(b"something else")
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--signature", tmp_path / "sig",
                             other, check=False), "does not verify")


def test_berth_reads_a_key_encrypted_by_python(tmp_path):
    """The other direction: a cosign-format key made with nacl (N=65536, the
    older COSIGN label) signs through berth, and python verifies."""
    priv = ec.generate_private_key(ec.SECP256R1())
    der = priv.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    salt, nonce = b"s" * 32, b"n" * 24
    k = nacl.bindings.crypto_pwhash_scryptsalsa208sha256_ll(b"pw", salt, 65536, 8, 1, dklen=32,
                                                       maxmem=1 << 28)
    ct = nacl.secret.SecretBox(k).encrypt(der, nonce).ciphertext
    doc = {"kdf": {"name": "scrypt", "params": {"N": 65536, "r": 8, "p": 1},
                   "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(ct).decode()}
    b64 = base64.b64encode(json.dumps(doc).encode()).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    key = tmp_path / "old.key"
    key.write_text("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n" + "\n".join(lines) +
                   "\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n")
    blob = tmp_path / "f"
    blob.write_bytes(b"payload")
    p = s.berth("sign-blob", "--key", key, blob, password="pw")
    sig = base64.b64decode(p.stdout.strip())
    priv.public_key().verify(sig, b"payload", ec.ECDSA(hashes.SHA256()))  # raises if bad
    s.assert_refused(s.berth("sign-blob", "--key", key, blob, password="wrong", check=False),
                     "wrong password")


def test_openssl_verifies_the_sig_layer_over_the_exact_payload(reg, tmp_path):  # noqa: F811
    key, pub = s.keypair(tmp_path)
    digest = s.push_fixture(reg, "busybox", "ossl")
    s.berth("sign", "--key", key, "-a", "team=infra", "%s/app:ossl" % reg.host)
    layers = s.sig_layers(reg, "app", digest)
    assert len(layers) == 1
    desc, payload = layers[0]
    assert desc["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    doc = json.loads(payload)
    assert doc["critical"] == {"identity": {"docker-reference": "%s/app" % reg.host},
                               "image": {"docker-manifest-digest": digest},
                               "type": "cosign container image signature"}
    assert doc["optional"] == {"team": "infra"}
    (tmp_path / "payload").write_bytes(payload)
    (tmp_path / "sig.bin").write_bytes(
        base64.b64decode(desc["annotations"]["dev.cosignproject.cosign/signature"]))
    p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pub), "-signature",
                        str(tmp_path / "sig.bin"), str(tmp_path / "payload")],
                       capture_output=True)
    assert p.returncode == 0 and b"Verified OK" in p.stdout, p.stderr
    # The same bytes with one byte changed fail under openssl too.
    (tmp_path / "payload").write_bytes(payload.replace(b"infra", b"infrA"))
    p = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pub), "-signature",
                        str(tmp_path / "sig.bin"), str(tmp_path / "payload")],
                       capture_output=True)
    assert p.returncode == 1
    # A second signature is appended, not substituted; berth verifies them.
    s.berth("sign", "--key", key, "%s/app:ossl" % reg.host)
    assert len(s.sig_layers(reg, "app", digest)) == 2
    out = s.berth("verify", "--key", pub, "--format", "json", "%s/app:ossl" % reg.host).stdout
    claims = json.loads(out)
    assert len(claims) == 2
    assert all(c["critical"]["image"]["docker-manifest-digest"] == digest for c in claims)


def test_sigstore_js_verifies_berth_bundles(tmp_path):
    key, pub = s.keypair(tmp_path)
    blob = tmp_path / "sbom.json"
    blob.write_bytes(b'{"spdxVersion":"SPDX-2.3"}\n')
    s.berth("sign-blob", "--key", key, "--new-bundle-format", "--bundle", tmp_path / "b.json",
            blob)
    b = json.loads((tmp_path / "b.json").read_text())
    assert b["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert "hint" in b["verificationMaterial"]["publicKey"]
    s.node("verify-bundle.js", tmp_path / "b.json", pub, blob)
    s.berth("verify-blob", "--key", pub, "--bundle", tmp_path / "b.json", blob)
    # A tampered signature: both sigstore-js and berth refuse it.
    t = copy.deepcopy(b)
    sig = bytearray(base64.b64decode(t["messageSignature"]["signature"]))
    sig[-1] ^= 1
    t["messageSignature"]["signature"] = base64.b64encode(bytes(sig)).decode()
    s.write_json(tmp_path / "t.json", t)
    assert s.node("verify-bundle.js", tmp_path / "t.json", pub, blob, check=False).returncode == 1
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--bundle", tmp_path / "t.json", blob,
                             check=False), "signature")
    # Another key: refused.
    _, pub2 = s.keypair(tmp_path, "other")
    s.assert_refused(s.berth("verify-blob", "--key", pub2, "--bundle", tmp_path / "b.json",
                             blob, check=False), "signature")


def keyless_bundles(tmp_path):
    out = tmp_path / "kl"
    out.mkdir()
    art = tmp_path / "artifact.bin"
    art.write_bytes(b"keyless artifact\n")
    p = s.node("keyless.js", out, art, IDENTITY, ISSUER)
    assert b"ok" in p.stdout
    return out, art


def verify_keyless(bundle, art, root, identity=IDENTITY, issuer=ISSUER):
    return s.berth("verify-blob", "--certificate-identity", identity,
                   "--certificate-oidc-issuer", issuer, "--trusted-root", root,
                   "--bundle", bundle, art, check=False)


NAMES = ["blob.sigstore.json", "blob-v02.sigstore.json", "blob-v03.sigstore.json",
         "dsse.sigstore.json", "dsse-v03.sigstore.json"]


def test_keyless_bundles_from_sigstore_mock_verify_offline(tmp_path):
    out, art = keyless_bundles(tmp_path)
    root = out / "trusted_root.json"
    for name in NAMES:
        p = verify_keyless(out / name, art, root)
        assert p.returncode == 0, (name, p.stderr)
        # By digest as well (message signatures and DSSE subjects alike).
        digest = "sha256:" + __import__("hashlib").sha256(art.read_bytes()).hexdigest()
        assert verify_keyless(out / name, digest, root).returncode == 0, name
    s.assert_refused(verify_keyless(out / NAMES[0], art, root, identity="mallory@example.com"),
                     "identity")
    s.assert_refused(verify_keyless(out / NAMES[0], art, root, issuer="https://evil.example"),
                     "issuer")
    other = tmp_path / "other"
    other.write_bytes(b"not the artifact")
    s.assert_refused(verify_keyless(out / NAMES[0], other, root), "digest")
    s.assert_refused(verify_keyless(out / "dsse.sigstore.json", other, root), "subject")


def flip_b64(value, index=-1):
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 1
    return base64.b64encode(bytes(raw)).decode()


def tamper_cases(b):
    """(name, tampered bundle) for payload, signature, certificate, proof."""
    vm = b["verificationMaterial"]
    certs = vm["certificate"] if "certificate" in vm else vm["x509CertificateChain"]["certificates"][0]
    cases = []
    t = copy.deepcopy(b)
    if "dsseEnvelope" in t:
        stmt = json.loads(base64.b64decode(t["dsseEnvelope"]["payload"]))
        stmt["predicate"]["buildDefinition"]["buildType"] = "https://evil.example"
        t["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    else:
        t["messageSignature"]["messageDigest"]["digest"] = flip_b64(
            t["messageSignature"]["messageDigest"]["digest"])
    cases.append(("payload", t))
    t = copy.deepcopy(b)
    if "dsseEnvelope" in t:
        t["dsseEnvelope"]["signatures"][0]["sig"] = flip_b64(t["dsseEnvelope"]["signatures"][0]["sig"])
    else:
        t["messageSignature"]["signature"] = flip_b64(t["messageSignature"]["signature"])
    cases.append(("signature", t))
    t = copy.deepcopy(b)
    tv = t["verificationMaterial"]
    tc = tv["certificate"] if "certificate" in tv else tv["x509CertificateChain"]["certificates"][0]
    tc["rawBytes"] = flip_b64(certs["rawBytes"], -10)  # inside the CA's signature
    cases.append(("certificate", t))
    t = copy.deepcopy(b)
    entry = t["verificationMaterial"]["tlogEntries"][0]
    entry.pop("inclusionPromise", None)  # the proof must carry the entry alone
    entry["inclusionProof"]["rootHash"] = flip_b64(entry["inclusionProof"]["rootHash"])
    cases.append(("inclusion proof", t))
    t = copy.deepcopy(b)
    t["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] = \
        flip_b64(b["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"])
    cases.append(("signed entry timestamp", t))
    return cases


@pytest.mark.parametrize("name", ["blob.sigstore.json", "blob-v03.sigstore.json",
                                  "dsse-v03.sigstore.json"])
def test_tampered_keyless_bundles_are_refused(tmp_path, name):
    out, art = keyless_bundles(tmp_path)
    root = out / "trusted_root.json"
    original = json.loads((out / name).read_text())
    assert verify_keyless(out / name, art, root).returncode == 0
    # Without the promise, the inclusion proof and signed checkpoint alone pass.
    t = copy.deepcopy(original)
    t["verificationMaterial"]["tlogEntries"][0].pop("inclusionPromise")
    assert verify_keyless(s.write_json(tmp_path / "proof-only.json", t), art, root).returncode == 0
    for what, t in tamper_cases(original):
        p = verify_keyless(s.write_json(tmp_path / "t.json", t), art, root)
        assert p.returncode == 1, "tampered %s was accepted" % what
        assert s.last_error(p).startswith("berth verify-blob: "), p.stderr
    # And the untouched original still passes after all that.
    assert verify_keyless(out / name, art, root).returncode == 0


def test_tlog_upload_to_a_rekor_log_verifies_with_sigstore_js(tmp_path):
    """--tlog-upload=true against @sigstore/mock's Rekor served over HTTP:
    the bundle carries the log's entry, and sigstore-js (requiring one log
    entry from that log, and its time) accepts it; without the upload it
    refuses the same check. An unreachable log is a clear error."""
    import os
    key, pub = s.keypair(tmp_path)
    blob = tmp_path / "app.tar"
    blob.write_bytes(b"app\n" * 100)
    root = tmp_path / "rekor-root.json"
    with s.fake_rekor(root) as url:
        s.berth("sign-blob", "--key", key, "--tlog-upload=true", "--rekor-url", url,
                "--bundle", tmp_path / "tl.json", blob)
    entry, = json.loads((tmp_path / "tl.json").read_text())["verificationMaterial"]["tlogEntries"]
    assert entry["kindVersion"] == {"kind": "hashedrekord", "version": "0.0.1"}
    s.node("verify-bundle.js", tmp_path / "tl.json", pub, blob, root)
    s.berth("sign-blob", "--key", key, "--bundle", tmp_path / "off.json", blob)
    assert s.node("verify-bundle.js", tmp_path / "off.json", pub, blob, root,
                  check=False).returncode == 1
    s.berth("verify-blob", "--key", pub, "--bundle", tmp_path / "tl.json", blob)
    # With the log's trusted root, berth checks the entry too (as sigstore-js did).
    s.berth("verify-blob", "--key", pub, "--trusted-root", root, "--bundle", tmp_path / "tl.json",
            blob)
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--trusted-root", root, "--bundle",
                             tmp_path / "off.json", blob, check=False), "no transparency-log")
    t = json.loads((tmp_path / "tl.json").read_text())
    e = t["verificationMaterial"]["tlogEntries"][0]
    e["inclusionPromise"]["signedEntryTimestamp"] = flip_b64(
        e["inclusionPromise"]["signedEntryTimestamp"])
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--trusted-root", root, "--bundle",
                             s.write_json(tmp_path / "t.json", t), blob, check=False),
                     "signed entry timestamp")
    other_root = tmp_path / "other-root.json"
    other_root.write_bytes(open(os.path.join(s.HERE, "..", "unit", "sign", "data",
                                             "trusted_root.json"), "rb").read())
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--trusted-root", other_root,
                             "--bundle", tmp_path / "tl.json", blob, check=False),
                     "not in the trusted root")
    s.assert_refused(s.berth("sign-blob", "--key", key, "--tlog-upload=true", "--rekor-url",
                             "http://127.0.0.1:9", blob, check=False), "cannot reach")
    s.assert_refused(s.berth("sign-blob", "--key", key, "--tlog-upload=true", blob, check=False),
                     "--rekor-url")
