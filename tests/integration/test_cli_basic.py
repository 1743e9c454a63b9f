"""The image commands' command-line contract: --help everywhere (exit 0),
usage errors (exit 2, one line), bad names and missing files (exit 1, one
line, nothing left behind), and a basic round trip of `berth copy`,
`inspect`, `tags`, `delete` and `manifest create` through a real
`berth serve` and OCI layouts built here.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest

from conftest import BERTH_BIN

COMMANDS = ["copy", "inspect", "tags", "delete", "login", "logout", "manifest"]
# The other commands (their own tests cover what they do); each parses its
# options from a table, so --help and usage errors follow the same rules.
OTHER_COMMANDS = ["lint", "vercmp", "db", "sbom", "key", "sign", "verify", "sign-blob",
                  "verify-blob", "attest", "verify-attestation", "attach", "download", "tree"]


def run(*args, stdin=subprocess.DEVNULL, env=None):
    return subprocess.run([BERTH_BIN] + list(args), stdin=stdin, capture_output=True,
                          text=True, timeout=120, env=env)


def one_line_error(p, cmd):
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("berth %s: " % cmd), p.stderr
    return lines[0]


# ---- an OCI layout made by hand ----

def _blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def _layer(name, size):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = os.urandom(size // 2) + name.encode() * (size // (2 * len(name)))
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def _image(root, arch, variant=None):
    cfg = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    if variant:
        cfg["variant"] = variant
    layers = []
    for i in range(2):
        data = _layer("%s-%d" % (arch, i), 100000)
        layers.append(dict(mediaType="application/vnd.oci.image.layer.v1.tar+gzip",
                           **_blob(root, data)))
        cfg["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest())
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": dict(mediaType="application/vnd.oci.image.config.v1+json",
                        **_blob(root, json.dumps(cfg).encode())),
         "layers": layers}
    return dict(mediaType=m["mediaType"], **_blob(root, json.dumps(m).encode()))


@pytest.fixture
def layout(tmp_path):
    """oci:<dir>:amd (an image) and oci:<dir>:multi (an amd64 + arm64/v8 index)."""
    root = str(tmp_path / "src")
    os.makedirs(root)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    amd = _image(root, "amd64")
    arm = _image(root, "arm64", "v8")
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [dict(amd, platform={"architecture": "amd64", "os": "linux"}),
                         dict(arm, platform={"architecture": "arm64", "os": "linux",
                                             "variant": "v8"})]}
    idesc = dict(mediaType=idx["mediaType"], **_blob(root, json.dumps(idx).encode()))
    top = {"schemaVersion": 2, "manifests": [
        dict(amd, annotations={"org.opencontainers.image.ref.name": "amd"}),
        dict(idesc, annotations={"org.opencontainers.image.ref.name": "multi"})]}
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump(top, f)
    return {"dir": root, "amd": amd["digest"], "arm": arm["digest"], "index": idesc["digest"]}


# ---- command-line contract ----

@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_exits_0_on_every_command(cmd):
    p = run(cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: berth " + cmd)
    assert run("help", cmd).returncode == 0


@pytest.mark.parametrize("args", [
    ["copy"], ["copy", "oci:a"], ["copy", "--bogus", "oci:a", "oci:b"],
    ["copy", "--format", "v1", "oci:a", "oci:b"], ["copy", "--dest-compress", "lz4", "oci:a", "oci:b"],
    ["copy", "--parallel", "zero", "oci:a", "oci:b"], ["copy", "--tls-verify=maybe", "oci:a", "oci:b"],
    ["copy", "oci:a", "oci:b", "oci:c"], ["inspect"], ["inspect", "--raw", "--config", "x"],
    ["inspect", "--format", "yaml", "x"], ["tags"], ["delete"], ["login"], ["logout"],
    ["manifest"], ["manifest", "frob"], ["manifest", "create", "x"], ["manifest", "inspect"],
])
def test_usage_errors_exit_2_with_one_line(args):
    p = run(*args)
    assert p.returncode == 2, (args, p.stderr)
    one_line_error(p, args[0])


@pytest.mark.parametrize("cmd", OTHER_COMMANDS)
def test_help_of_the_other_commands_lists_their_options(cmd):
    p = run(cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: berth " + cmd), p.stdout
    assert "\noptions:\n" in p.stdout and "  -h, --help" in p.stdout, p.stdout
    assert p.stderr == ""
    assert run("help", cmd).stdout == p.stdout


@pytest.mark.parametrize("args,who", [
    (["lint", "--bogus"], "lint"), (["lint", "--format", "xml"], "lint"),
    (["vercmp", "1", "2"], "vercmp"), (["vercmp", "--type", "deb", "1"], "vercmp"),
    (["vercmp", "--type", "deb", "--batch", "1"], "vercmp"),
    (["vercmp", "--type", "deb", "1", "2", "3"], "vercmp"),
    (["db"], "db"), (["db", "frob"], "db"), (["db", "info", "x"], "db info"),
    (["db", "query", "PyPI"], "db query"), (["db", "import"], "db import"),
    (["db", "info", "--format", "yaml"], "db info"), (["db", "import", "--creds", "u:p", "x"], "db import"),
    (["db", "push", "--creds", ":p", "r/x:1"], "db push"),
    (["sbom"], "sbom"), (["sbom", "--scope", "x", "i"], "sbom"),
    (["sbom", "--format", "xml", "i"], "sbom"), (["sbom", "--cyclonedx-version", "2", "i"], "sbom"),
    (["key"], "key"), (["key", "frob"], "key"), (["key", "import"], "key"),
    (["key", "generate", "extra"], "key"),
    (["sign", "i"], "sign"), (["sign", "--key", "k"], "sign"),
    (["sign", "--key", "k", "-a", "novalue", "i"], "sign"),
    (["sign", "--key", "k", "--registry-referrers-mode", "oci", "i"], "sign"),
    (["sign", "--key", "k", "--recursive=maybe", "i"], "sign"),
    (["verify", "i"], "verify"), (["verify", "--key", "k"], "verify"),
    (["verify", "--key", "k", "--format", "yaml", "i"], "verify"),
    (["verify", "--certificate-identity", "x", "i"], "verify"),
    (["sign-blob", "f"], "sign-blob"), (["sign-blob", "--key", "k"], "sign-blob"),
    (["verify-blob", "--key", "k", "f"], "verify-blob"),
    (["verify-blob", "--bundle", "b", "f"], "verify-blob"),
    (["verify-blob", "--certificate-identity", "x", "--signature", "s", "f"], "verify-blob"),
    (["attest", "--key", "k", "i"], "attest"), (["attest", "--key", "k", "--predicate", "p"], "attest"),
    (["attest", "--key", "k", "--predicate", "p", "--type", "nope", "i"], "attest"),
    (["verify-attestation", "--key", "k", "--type", "nope", "i"], "verify-attestation"),
    (["verify-attestation", "--key", "k", "-a", "x=y", "i"], "verify-attestation"),
    (["attach"], "attach"), (["attach", "sig", "i"], "attach"), (["attach", "sbom", "i"], "attach"),
    (["attach", "sbom", "--sbom", "f", "--type", "xml", "i"], "attach"),
    (["download"], "download"), (["download", "frob", "i"], "download"),
    (["download", "sbom"], "download"), (["download", "sbom", "a", "b"], "download"),
    (["tree"], "tree"), (["tree", "--creds", ":p", "i"], "tree"), (["tree", "--bogus", "i"], "tree"),
])
def test_usage_errors_of_the_other_commands_exit_2_with_one_line(args, who):
    p = run(*args)
    assert p.returncode == 2, (args, p.stderr)
    one_line_error(p, who)
    assert p.stdout == ""


def test_vercmp_reads_a_leading_dash_digit_as_a_version():
    # "-1" is a version here (an invalid one for deb), not an unknown option
    p = run("vercmp", "--type", "deb", "-1", "1.0")
    assert p.returncode == 2
    assert "invalid deb version '-1'" in one_line_error(p, "vercmp")
    p = run("vercmp", "--type", "semver", "--", "1.0.0", "1.0.1")
    assert (p.returncode, p.stdout) == (0, "-1\n"), p.stderr


def test_unknown_transport_exits_1_naming_it(tmp_path):
    p = run("copy", "ftp:x", "oci:%s" % (tmp_path / "d"))
    assert p.returncode == 1
    assert "ftp" in one_line_error(p, "copy")
    assert not (tmp_path / "d").exists()


def test_missing_files_exit_1_naming_them(tmp_path):
    for src in ["oci:%s/none" % tmp_path, "docker-archive:%s/none.tar" % tmp_path,
                "oci-archive:%s/none.tar" % tmp_path]:
        p = run("copy", src, "oci:%s:x" % (tmp_path / "d"))
        assert p.returncode == 1, p.stderr
        assert "none" in one_line_error(p, "copy")
        assert not os.path.exists(tmp_path / "d" / "index.json")
    p = run("inspect", "oci:%s/none" % tmp_path)
    assert p.returncode == 1
    one_line_error(p, "inspect")


def test_bad_reference_exits_1(tmp_path):
    p = run("inspect", "docker://UPPER/Case::x")
    assert p.returncode == 1
    one_line_error(p, "inspect")


def test_unreachable_registry_exits_1(tmp_path):
    p = run("copy", "docker://127.0.0.1:1/x:1", "oci:%s:x" % (tmp_path / "d"))
    assert p.returncode == 1
    assert "127.0.0.1:1" in one_line_error(p, "copy")


# ---- round trips ----

def test_copy_to_registry_and_back_preserves_digests(berth, layout, tmp_path):
    ref = "docker://%s/cli/img:v1" % berth.host
    p = run("copy", "--quiet", "oci:%s:amd" % layout["dir"], ref,
            "--digestfile", str(tmp_path / "dg"))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert (tmp_path / "dg").read_text() == layout["amd"]

    info = json.loads(run("inspect", "--format", "json", ref).stdout)
    assert info["Digest"] == layout["amd"]
    assert info["Architecture"] == "amd64"
    assert len(info["Layers"]) == 2

    tags = json.loads(run("tags", "--format", "json", "%s/cli/img" % berth.host).stdout)
    assert tags["Tags"] == ["v1"]

    out = tmp_path / "back"
    p = run("copy", ref, "oci:%s:b" % out)
    assert p.returncode == 0, p.stderr
    assert "Wrote manifest " + layout["amd"] in p.stderr  # plain progress lines, not a TTY
    index = json.load(open(out / "index.json"))
    assert index["manifests"][0]["digest"] == layout["amd"]


def test_all_copies_index_and_platform_picks_one(berth, layout):
    ref = "docker://%s/cli/multi:v1" % berth.host
    assert run("copy", "-q", "--all", "oci:%s:multi" % layout["dir"], ref).returncode == 0
    info = json.loads(run("inspect", "--format", "json", ref).stdout)
    assert info["Digest"] == layout["index"]
    assert [m["platform"] for m in info["Manifests"]] == ["linux/amd64", "linux/arm64/v8"]
    # Every child is there by digest.
    for d in (layout["amd"], layout["arm"]):
        assert run("inspect", "docker://%s/cli/multi@%s" % (berth.host, d)).returncode == 0

    one = "docker://%s/cli/one:arm" % berth.host
    p = run("copy", "-q", "--platform", "linux/arm64", ref, one)
    assert p.returncode == 0, p.stderr
    assert json.loads(run("inspect", "--format", "json", one).stdout)["Digest"] == layout["arm"]

    p = run("copy", "-q", "--platform", "linux/s390x", ref, "docker://%s/cli/none:x" % berth.host)
    assert p.returncode == 1
    assert "linux/s390x" in one_line_error(p, "copy")
    assert run("inspect", "docker://%s/cli/none:x" % berth.host).returncode == 1


def test_dest_compress_zstd_and_format_v2s2_rewrite_the_manifest(berth, layout, tmp_path):
    z = "oci:%s:z" % (tmp_path / "z")
    assert run("copy", "-q", "--dest-compress", "zstd", "oci:%s:amd" % layout["dir"], z).returncode == 0
    info = json.loads(run("inspect", "--format", "json", z).stdout)
    assert info["Digest"] != layout["amd"]
    assert {l["mediaType"] for l in info["Layers"]} == {"application/vnd.oci.image.layer.v1.tar+zstd"}

    ref = "docker://%s/cli/v2s2:1" % berth.host
    assert run("copy", "-q", "--format", "v2s2", "oci:%s:amd" % layout["dir"], ref).returncode == 0
    raw = json.loads(run("manifest", "inspect", "--raw", ref).stdout)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert raw["layers"][0]["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"

    # zstd layers cannot be Docker schema2: refused, and nothing is written.
    p = run("copy", "-q", "--format", "v2s2", z, "oci:%s:no" % (tmp_path / "no"))
    assert p.returncode == 1
    assert "zstd" in one_line_error(p, "copy")
    assert not os.path.exists(tmp_path / "no" / "index.json")


def test_corrupt_source_blob_fails_and_leaves_nothing(berth, layout, tmp_path):
    m = json.load(open(os.path.join(layout["dir"], "blobs", "sha256", layout["amd"][7:])))
    victim = os.path.join(layout["dir"], "blobs", "sha256", m["layers"][1]["digest"][7:])
    data = bytearray(open(victim, "rb").read())
    data[100] ^= 0xFF
    open(victim, "wb").write(bytes(data))
    ref = "docker://%s/cli/bad:1" % berth.host
    p = run("copy", "-q", "oci:%s:amd" % layout["dir"], ref)
    assert p.returncode == 1
    one_line_error(p, "copy")
    assert run("inspect", ref).returncode == 1


def test_manifest_create_builds_an_index_and_delete_removes_it(berth, layout):
    arm = "docker://%s/cli/arm:1" % berth.host
    p = run("copy", "-q", "--platform", "linux/arm64/v8", "oci:%s:multi" % layout["dir"], arm)
    assert p.returncode == 0, p.stderr
    dst = "docker://%s/cli/made:1" % berth.host
    p = run("manifest", "create", "-q", "--annotation", "org.example=yes", dst,
            "oci:%s:amd" % layout["dir"], arm)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().startswith("sha256:")
    raw = json.loads(run("manifest", "inspect", "--raw", dst).stdout)
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert raw["annotations"] == {"org.example": "yes"}
    assert [(m["platform"]["architecture"], m["digest"]) for m in raw["manifests"]] == \
        [("amd64", layout["amd"]), ("arm64", layout["arm"])]
    assert raw["manifests"][1]["platform"].get("variant") == "v8"

    assert run("delete", dst).returncode == 0
    assert run("inspect", dst).returncode == 1


def test_login_stores_and_logout_removes_credentials(berth, tmp_path):
    auth = tmp_path / "auth.json"
    p = subprocess.run(
        [BERTH_BIN, "login", "-u", "alice", "--password-stdin", "--authfile", str(auth), berth.host],
        input="s3cret\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "s3cret" not in p.stdout + p.stderr
    stored = json.load(open(auth))["auths"][berth.host]["auth"]
    assert base64.b64decode(stored).decode() == "alice:s3cret"
    assert oct(os.stat(auth).st_mode & 0o777) == "0o600"
    assert run("logout", "--authfile", str(auth), berth.host).returncode == 0
    assert berth.host not in json.load(open(auth)).get("auths", {})
    p = run("logout", "--authfile", str(auth), berth.host)
    assert p.returncode == 1
    one_line_error(p, "logout")
