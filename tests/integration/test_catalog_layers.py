"""Cataloguing images layer by layer: whiteouts, opaque directories and
rewritten files of later layers (squashed scope) against all-layers scope;
the per-diff-ID cache (a rescan reads no layer); corrupt layers, hostile
paths, tar bombs, deep trees, huge and malformed files as warnings that let
the rest complete; nothing written outside the scratch area."""
import json
import os
import subprocess

from sbomutil import BERTH_BIN, berth_json, berth_sbom, oci_layout, tar_bytes

STATUS_A = b"""Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4

Package: old-tool
Status: install ok installed
Architecture: amd64
Version: 1.0
"""
STATUS_B = STATUS_A.replace(b"Package: old-tool", b"Package: new-tool")
OS_RELEASE = b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'


def npm(name, version):
    return json.dumps({"name": name, "version": version}).encode()


def pkgs(cat):
    return {(p["type"], p["name"], p["version"]) for p in cat["packages"]}


def three_layers():
    l1 = tar_bytes([("etc/os-release", OS_RELEASE), ("etc/debian_version", b"12.5\n"),
                    ("var/lib/dpkg/status", STATUS_A),
                    ("var/lib/dpkg/info/old-tool.list", b"/.\n/usr/bin/old-tool\n"),
                    ("app/node_modules/left-pad/package.json", npm("left-pad", "1.3.0")),
                    ("app/node_modules/gone/package.json", npm("gone", "2.0.0")),
                    ("srv/lib/kept/package.json", npm("kept", "1.0.0")),
                    ("srv/lib/hidden/package.json", npm("hidden", "1.0.0"))])
    l2 = tar_bytes([("var/lib/dpkg/status", STATUS_B),
                    ("var/lib/dpkg/info/new-tool.list", b"/.\n/usr/bin/new-tool\n"),
                    ("var/lib/dpkg/info/.wh.old-tool.list", b""),
                    ("app/node_modules/.wh.gone", b""),
                    ("srv/lib/.wh..wh..opq", b""),
                    ("srv/lib/kept/package.json", npm("kept", "1.1.0"))])
    l3 = tar_bytes([("usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                     b"Name: six\nVersion: 1.16.0\nLicense: MIT\n\nbody\n")])
    return [l1, l2, l3]


def test_squashed_scope_applies_whiteouts_and_rewrites(tmp_path):
    oci_layout(str(tmp_path / "img"), three_layers())
    cat = berth_json("oci:%s" % (tmp_path / "img"), tmp_path)
    got = pkgs(cat)
    assert ("deb", "new-tool", "1.0") in got and ("deb", "old-tool", "1.0") not in got
    assert ("npm", "left-pad", "1.3.0") in got and ("npm", "gone", "2.0.0") not in got
    assert ("npm", "hidden", "1.0.0") not in got  # under the opaque directory
    assert ("npm", "kept", "1.1.0") in got and ("npm", "kept", "1.0.0") not in got
    assert ("pypi", "six", "1.16.0") in got
    by = {p["name"]: p for p in cat["packages"]}
    assert by["new-tool"]["files"] == ["/usr/bin/new-tool"]
    assert by["new-tool"]["layer"] == cat["layers"][1]
    assert by["left-pad"]["layer"] == cat["layers"][0]
    assert by["left-pad"]["path"] == "/app/node_modules/left-pad/package.json"
    assert by["new-tool"]["purl"] == "pkg:deb/debian/new-tool@1.0?arch=amd64&distro=debian-12.5"
    assert cat["os"]["id"] == "debian" and cat["os"]["version"] == "12.5"
    assert cat["warnings"] == []


def test_all_layers_scope_keeps_what_later_layers_removed(tmp_path):
    oci_layout(str(tmp_path / "img"), three_layers())
    cat = berth_json("oci:%s" % (tmp_path / "img"), tmp_path, ["--scope", "all-layers"])
    got = pkgs(cat)
    for p in [("deb", "old-tool", "1.0"), ("deb", "new-tool", "1.0"), ("npm", "gone", "2.0.0"),
              ("npm", "hidden", "1.0.0"), ("npm", "kept", "1.0.0"), ("npm", "kept", "1.1.0")]:
        assert p in got, p


def test_rescan_reads_no_layer_and_gives_the_same_catalogue(tmp_path):
    oci_layout(str(tmp_path / "img"), three_layers())
    first = berth_json("oci:%s" % (tmp_path / "img"), tmp_path)
    assert first["layersCached"] == 0
    assert os.path.exists(tmp_path / "root" / "catalog.db")
    # Remove the layer blobs: a rescan that needed them would now fail.
    index = json.load(open(tmp_path / "img" / "index.json"))
    mf = json.load(open(tmp_path / "img" / "blobs" / "sha256" / index["manifests"][0]["digest"][7:]))
    for layer in mf["layers"]:
        os.unlink(tmp_path / "img" / "blobs" / "sha256" / layer["digest"][7:])
    second = berth_json("oci:%s" % (tmp_path / "img"), tmp_path)
    assert second["layersCached"] == 3
    assert second["packages"] == first["packages"]
    # Without the cache, each missing blob is a warning naming the layer.
    r = berth_sbom(["--no-cache", "--format", "json", "oci:%s" % (tmp_path / "img")])
    warnings = json.loads(r.stdout)["warnings"]
    for layer in mf["layers"]:
        assert any(layer["digest"] in w for w in warnings), warnings


def test_shared_base_layers_come_from_the_cache(tmp_path):
    layers = three_layers()
    oci_layout(str(tmp_path / "a"), layers[:2])
    oci_layout(str(tmp_path / "b"), layers)
    berth_json("oci:%s" % (tmp_path / "a"), tmp_path)
    cat = berth_json("oci:%s" % (tmp_path / "b"), tmp_path)
    assert cat["layersCached"] == 2


def test_corrupt_layer_is_a_warning_and_the_rest_completes(tmp_path):
    layers = three_layers()
    md, descs, diffs = oci_layout(str(tmp_path / "img"), layers)
    # Truncate the third layer's gzip: digest and stream both break.
    p = tmp_path / "img" / "blobs" / "sha256" / descs[2]["digest"][7:]
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    r = subprocess.run([BERTH_BIN, "sbom", "--format", "json", "oci:%s" % (tmp_path / "img")],
                       capture_output=True, text=True,
                       env=dict(os.environ, BERTH_ROOT=str(tmp_path / "root")))
    assert r.returncode == 0, r.stderr
    cat = json.loads(r.stdout)
    assert ("deb", "new-tool", "1.0") in pkgs(cat)
    assert any(descs[2]["digest"] in w for w in cat["warnings"]), cat["warnings"]
    assert "warning" in r.stderr and descs[2]["digest"] in r.stderr
    # A failed layer is not cached: after repair it is read.
    p.write_bytes(data)
    cat = berth_json("oci:%s" % (tmp_path / "img"), tmp_path)
    assert ("pypi", "six", "1.16.0") in pkgs(cat) and cat["layersCached"] == 2


def test_hostile_layer_writes_nothing_and_loses_nothing(tmp_path):
    deep = "/".join(["d"] * 300) + "/package.json"
    bomb = [("f%06d" % i, b"") for i in range(20000)]
    huge = b"Name: huge\nVersion: 1.0\n" + b"X-Pad: " + b"y" * (70 * 1024 * 1024) + b"\n"
    layer = tar_bytes([("../../escape/package.json", npm("escape", "6.6.6")),
                       ("/abs/node_modules/ok/package.json", npm("ok", "1.0.0")),
                       (deep, npm("deep", "1.0.0")),
                       ("app/node_modules/bad/package.json", b"{not json"),
                       ("app/package-lock.json", b'{"packages": {"node_modules/x": '),
                       ("app/yarn.lock", b"\x00\xff garbage \n  version\n"),
                       ("usr/lib/python3/dist-packages/huge-1.0.dist-info/METADATA", huge)]
                      + bomb)
    oci_layout(str(tmp_path / "img"), [layer])
    scratch = tmp_path / "cwd"
    scratch.mkdir()
    before = set(os.listdir(str(tmp_path)))
    r = subprocess.run([BERTH_BIN, "sbom", "--format", "json", "oci:%s" % (tmp_path / "img")],
                       capture_output=True, text=True, cwd=str(scratch),
                       env=dict(os.environ, BERTH_ROOT=str(tmp_path / "root")))
    assert r.returncode == 0, r.stderr
    cat = json.loads(r.stdout)
    names = {p["name"] for p in cat["packages"]}
    assert "ok" in names
    assert "escape" not in names and "deep" not in names and "huge" not in names
    w = "\n".join(cat["warnings"])
    assert "/app/node_modules/bad/package.json" in w
    assert "/app/package-lock.json" in w
    assert any("huge-1.0.dist-info/METADATA" in x and "larger than the cap" in x
               for x in cat["warnings"])
    assert "'..'" in w
    # Only the cache appeared; the working directory stayed empty.
    assert set(os.listdir(str(tmp_path))) - before == {"root"}
    assert os.listdir(str(scratch)) == []
    assert not os.path.exists("/escape")


def test_rootfs_does_not_follow_symlinks_out(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "node_modules" / "secret").mkdir(parents=True)
    (outside / "node_modules" / "secret" / "package.json").write_bytes(npm("secret", "1.0.0"))
    (root / "app").symlink_to(outside)
    (root / "etc" / "os-release").symlink_to("/etc/os-release")
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "usr" / "lib" / "os-release").write_bytes(b"ID=alpine\nVERSION_ID=3.19.1\n")
    cat = berth_json("rootfs:%s" % root, tmp_path)
    assert cat["packages"] == []
    assert cat["os"]["id"] == "alpine"


def test_zstd_and_uncompressed_layers_are_read(tmp_path):
    layers = three_layers()
    oci_layout(str(tmp_path / "plain"), layers, compress=False)
    cat = berth_json("oci:%s" % (tmp_path / "plain"), tmp_path, ["--no-cache"])
    assert ("pypi", "six", "1.16.0") in pkgs(cat)
    zst = subprocess.run(["zstd", "-q", "-c"], input=layers[2], capture_output=True, check=True).stdout
    md, descs, diffs = oci_layout(str(tmp_path / "z"), layers)
    # swap the last layer for its zstd form
    d = "sha256:" + __import__("hashlib").sha256(zst).hexdigest()
    open(tmp_path / "z" / "blobs" / "sha256" / d[7:], "wb").write(zst)
    mpath = tmp_path / "z" / "blobs" / "sha256" / md[7:]
    m = json.loads(mpath.read_bytes())
    m["layers"][2] = {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": d, "size": len(zst)}
    mb = json.dumps(m).encode()
    nd = "sha256:" + __import__("hashlib").sha256(mb).hexdigest()
    open(tmp_path / "z" / "blobs" / "sha256" / nd[7:], "wb").write(mb)
    idx = json.load(open(tmp_path / "z" / "index.json"))
    idx["manifests"][0].update(digest=nd, size=len(mb))
    json.dump(idx, open(tmp_path / "z" / "index.json", "w"))
    cat = berth_json("oci:%s" % (tmp_path / "z"), tmp_path, ["--no-cache"])
    assert ("pypi", "six", "1.16.0") in pkgs(cat)
    assert cat["warnings"] == []
