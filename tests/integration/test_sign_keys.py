"""`berth key import` end to end: PEM private keys of each supported type
made by openssl (EC P-256 and P-384, RSA, Ed25519) become a cosign key pair
whose public half is openssl's, whose signatures (sign-blob) openssl
verifies, and which berth's own verify-blob accepts; `berth key generate`
asks for the password on the terminal twice when COSIGN_PASSWORD is unset."""
import base64
import os
import pty
import subprocess

import pytest

import conftest
import signutil as s

TYPES = {
    "p256": (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "-sha256"),
    "p384": (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], "-sha384"),
    "rsa": (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], "-sha256"),
    "ed25519": (["-algorithm", "ED25519"], None),
}


def openssl(*args, check=True):
    return subprocess.run(["openssl"] + [str(a) for a in args], capture_output=True, check=check)


@pytest.mark.parametrize("kind", sorted(TYPES))
def test_imported_keys_sign_what_openssl_verifies(tmp_path, kind):
    gen, md = TYPES[kind]
    pem = tmp_path / "orig.pem"
    openssl("genpkey", *gen, "-out", pem)
    s.berth("key", "import", "--key", pem, "--output-key-prefix", tmp_path / "imp")
    key, pub = tmp_path / "imp.key", tmp_path / "imp.pub"
    assert key.read_text().startswith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----")
    want = openssl("pkey", "-in", pem, "-pubout").stdout
    assert pub.read_bytes() == want
    blob = tmp_path / "blob"
    blob.write_bytes(b"release artifact\n" * 50)
    s.berth("sign-blob", "--key", key, "--output-signature", tmp_path / "sig.b64", blob)
    sig = tmp_path / "sig"
    sig.write_bytes(base64.b64decode((tmp_path / "sig.b64").read_text()))
    if md:
        p = openssl("dgst", md, "-verify", pub, "-signature", sig, blob, check=False)
    else:
        p = openssl("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", blob,
                    "-sigfile", sig, check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    s.berth("verify-blob", "--key", pub, "--signature", tmp_path / "sig.b64", blob)
    blob.write_bytes(b"another artifact\n")
    s.assert_refused(s.berth("verify-blob", "--key", pub, "--signature", tmp_path / "sig.b64",
                             blob, check=False), "signature")


def test_unsupported_and_corrupt_keys_are_refused(tmp_path):
    pem = tmp_path / "k.pem"
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1", "-out", pem)
    s.assert_refused(s.berth("key", "import", "--key", pem, "--output-key-prefix",
                             tmp_path / "x", check=False), "unsupported EC curve")
    assert not (tmp_path / "x.key").exists()
    pem.write_text("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    p = s.berth("key", "import", "--key", pem, "--output-key-prefix", tmp_path / "x", check=False)
    assert p.returncode == 1 and s.last_error(p).startswith("berth key"), p.stderr


def run_on_tty(args, answers):
    """Run berth on a pseudo-terminal without COSIGN_PASSWORD, typing answers at each prompt."""
    env = {k: v for k, v in os.environ.items() if k != "COSIGN_PASSWORD"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(conftest.BERTH_BIN, [conftest.BERTH_BIN] + [str(a) for a in args], env)
    out = b""
    for a in answers:
        while b":" not in out.split(b"\n")[-1]:
            chunk = os.read(fd, 1024)
            if not chunk:
                break
            out += chunk
        os.write(fd, a.encode() + b"\n")
        out += b"\n"
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


def test_generate_asks_for_the_password_twice_on_a_terminal(tmp_path):
    rc, out = run_on_tty(["key", "generate", "--output-key-prefix", tmp_path / "t"],
                         ["pw-one", "pw-one"])
    assert rc == 0, out
    assert out.lower().count("password") >= 2, out
    # The key opens with that password, not another.
    blob = tmp_path / "b"
    blob.write_bytes(b"x")
    s.berth("sign-blob", "--key", tmp_path / "t.key", "--output-signature", tmp_path / "s",
            blob, password="pw-one")
    s.assert_refused(s.berth("sign-blob", "--key", tmp_path / "t.key", blob, password="nope",
                             check=False), "password")
    rc, out = run_on_tty(["key", "generate", "--output-key-prefix", tmp_path / "u"],
                         ["pw-one", "pw-two"])
    assert rc == 1, out
    assert not (tmp_path / "u.key").exists()
