"""`berth sbom` on every transport the issue names and with --platform:
the same image as an OCI layout (`oci:`), as a tar of that layout
(`oci-archive:`, written here with tarfile) and as a `docker save` archive
(`docker-archive:`, manifest.json written here by hand) gives the same
packages, PURLs and layer diff IDs; in a multi-platform index,
`--platform` picks the manifest of that platform (each platform's layer holds
a package of its own) and a platform the index lacks is a one-line error."""
import io
import json
import os
import subprocess
import tarfile

from sbomutil import BERTH_BIN, berth_json, oci_layout, sha256
from test_catalog_layers import npm, three_layers


def keys(cat):
    return {(p["type"], p["name"], p["version"], p["purl"]) for p in cat["packages"]}


def oci_archive(layout, path):
    with tarfile.open(path, "w") as tf:
        for name in sorted(os.listdir(layout)):
            tf.add(os.path.join(layout, name), arcname=name)


def docker_archive(layers, path):
    """docker save's layout: manifest.json naming the config and one
    uncompressed tar per layer."""
    diffs = [sha256(raw) for raw in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    files = [(sha256(config)[7:] + ".json", config)]
    files += [("%s/layer.tar" % d[7:], raw) for d, raw in zip(diffs, layers)]
    manifest = [{"Config": files[0][0], "RepoTags": ["p6/three:1"],
                 "Layers": [name for name, _ in files[1:]]}]
    files.append(("manifest.json", json.dumps(manifest).encode()))
    with tarfile.open(path, "w") as tf:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))


def test_oci_archive_and_docker_archive_give_the_layout_s_packages(tmp_path):
    layers = three_layers()
    _, _, diffs = oci_layout(str(tmp_path / "img"), layers, tag="1")
    oci_archive(str(tmp_path / "img"), str(tmp_path / "img.tar"))
    docker_archive(layers, str(tmp_path / "docker.tar"))
    ref = berth_json("oci:%s:1" % (tmp_path / "img"), tmp_path)
    assert len(ref["packages"]) >= 5 and ref["layers"] == diffs
    for target in ("oci-archive:%s:1" % (tmp_path / "img.tar"),
                   "docker-archive:%s" % (tmp_path / "docker.tar")):
        cat = berth_json(target, tmp_path, ["--no-cache"])
        assert keys(cat) == keys(ref), target
        assert cat["layers"] == diffs, target
        assert {p["layer"] for p in cat["packages"]} == {p["layer"] for p in ref["packages"]}


def platform_index(path):
    """An index of two images (linux/amd64, linux/arm64), each one layer
    with an npm package named after its platform."""
    from test_catalog_layers import tar_bytes
    blobs = os.path.join(path, "blobs", "sha256")
    manifests = []
    for arch in ("amd64", "arm64"):
        sub = path + "-" + arch
        raw = tar_bytes([("app/node_modules/only-%s/package.json" % arch, npm("only-" + arch, "1.0.0"))])
        md, _, _ = oci_layout(sub, [raw], tag="x")
        # oci_layout writes an amd64 config: this platform's own config instead
        idx = json.load(open(os.path.join(sub, "index.json")))["manifests"][0]
        man = json.load(open(os.path.join(sub, "blobs", "sha256", md[7:])))
        cfg = json.load(open(os.path.join(sub, "blobs", "sha256", man["config"]["digest"][7:])))
        cfg["architecture"] = arch
        cfg_b = json.dumps(cfg).encode()
        man["config"].update(digest=sha256(cfg_b), size=len(cfg_b))
        man_b = json.dumps(man).encode()
        os.makedirs(blobs, exist_ok=True)
        for data in (cfg_b, man_b):
            with open(os.path.join(blobs, sha256(data)[7:]), "wb") as f:
                f.write(data)
        for layer in man["layers"]:
            src = os.path.join(sub, "blobs", "sha256", layer["digest"][7:])
            os.replace(src, os.path.join(blobs, layer["digest"][7:]))
        manifests.append({"mediaType": idx["mediaType"], "digest": sha256(man_b), "size": len(man_b),
                          "platform": {"os": "linux", "architecture": arch}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": manifests}).encode()
    with open(os.path.join(blobs, sha256(index)[7:]), "wb") as f:
        f.write(index)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha256(index),
            "size": len(index), "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}, f)
    return {m["platform"]["architecture"]: m["digest"] for m in manifests}


def test_platform_picks_the_manifest_of_that_platform(tmp_path):
    digests = platform_index(str(tmp_path / "multi"))
    for arch in ("amd64", "arm64"):
        cat = berth_json("oci:%s:multi" % (tmp_path / "multi"), tmp_path, ["--platform", "linux/" + arch])
        names = {p["name"] for p in cat["packages"]}
        assert names == {"only-" + arch}, (arch, names)
        assert cat["digest"] == digests[arch]
    r = subprocess.run([BERTH_BIN, "sbom", "-q", "--platform", "linux/s390x",
                        "oci:%s:multi" % (tmp_path / "multi")], capture_output=True, text=True,
                       env=dict(os.environ, BERTH_ROOT=str(tmp_path / "root")))
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.startswith("berth sbom: ") and "s390x" in r.stderr and r.stderr.count("\n") == 1, r.stderr
