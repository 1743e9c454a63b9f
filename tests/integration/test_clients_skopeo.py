"""skopeo 1.9 against a real `berth serve`: copy a real busybox OCI image, a
two-platform image index and a multi-layer image in and back out, digests and
bytes unchanged; inspect, inspect --raw/--config and list-tags work."""
import json
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402


@pytest.fixture(autouse=True)
def _skopeo():
    ct.need("skopeo")


def test_copy_single_platform_roundtrip(berth, tmp_path):
    src = images.ensure("busybox")
    desc = images.find_ref(src, "busybox")
    dest = "docker://%s/it/busybox:1" % berth.host
    ct.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "oci:%s:busybox" % src, dest)

    raw = ct.skopeo("inspect", "--raw", "--tls-verify=false", dest).stdout
    assert raw == images.read_blob(src, desc["digest"])
    assert ct.sha256(raw) == desc["digest"]

    r = ct.get_manifest(berth.url, "it/busybox", "1")
    assert r.status_code == 200, r.text
    assert r.headers["Docker-Content-Digest"] == desc["digest"]
    assert r.headers["Content-Type"] == images.MT_MANIFEST
    assert r.content == raw

    back = str(tmp_path / "back")
    ct.skopeo("copy", "--preserve-digests", "--src-tls-verify=false", dest, "oci:%s:back" % back)
    blobs = ct.assert_layouts_equal(src, "busybox", back, "back")
    assert len(blobs) == 3  # manifest, config, one layer


def test_copy_all_index_roundtrip(berth, tmp_path):
    src = images.ensure("multiarch")
    desc = images.find_ref(src, "multi")
    index = json.loads(images.read_blob(src, desc["digest"]))
    children = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    assert sorted(children) == ["amd64", "arm64"] and len(set(children.values())) == 2

    dest = "docker://%s/it/multi:1" % berth.host
    ct.skopeo("copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
              "oci:%s:multi" % src, dest)

    raw = ct.skopeo("inspect", "--raw", "--tls-verify=false", dest).stdout
    assert ct.sha256(raw) == desc["digest"]
    r = ct.get_manifest(berth.url, "it/multi", "1")
    assert r.status_code == 200, r.text
    assert r.headers["Docker-Content-Digest"] == desc["digest"]
    assert r.headers["Content-Type"] == images.MT_INDEX
    for arch, d in children.items():
        r = ct.get_manifest(berth.url, "it/multi", d)
        assert r.status_code == 200, (arch, r.text)
        assert r.content == images.read_blob(src, d)
        assert r.headers["Docker-Content-Digest"] == d

    back = str(tmp_path / "back")
    ct.skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false", dest, "oci:%s:multi" % back)
    blobs = ct.assert_layouts_equal(src, "multi", back, "multi")
    assert len(blobs) >= 7

    # Without --all skopeo picks one platform: the arm64 one when asked.
    one = str(tmp_path / "one")
    ct.skopeo("--override-arch", "arm64", "copy", "--src-tls-verify=false", dest, "oci:%s:arm" % one)
    assert images.find_ref(one, "arm")["digest"] == children["arm64"]


def test_inspect_and_list_tags(berth):
    src = images.ensure("busybox")
    desc = images.find_ref(src, "busybox")
    manifest = json.loads(images.read_blob(src, desc["digest"]))
    for tag in ("1", "latest"):
        ct.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false",
                  "oci:%s:busybox" % src, "docker://%s/it/inspect:%s" % (berth.host, tag))

    info = ct.load_json(ct.skopeo("inspect", "--tls-verify=false", "docker://%s/it/inspect:1" % berth.host))
    assert info["Digest"] == desc["digest"]
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Layers"] == [l["digest"] for l in manifest["layers"]]
    assert sorted(info["RepoTags"]) == ["1", "latest"]

    cfg = ct.skopeo("inspect", "--config", "--raw", "--tls-verify=false",
                    "docker://%s/it/inspect:latest" % berth.host).stdout
    assert ct.sha256(cfg) == manifest["config"]["digest"]
    assert json.loads(cfg)["config"]["Cmd"] == ["/bin/sh"]

    tags = ct.load_json(ct.skopeo("list-tags", "--tls-verify=false", "docker://%s/it/inspect" % berth.host))
    assert sorted(tags["Tags"]) == ["1", "latest"]

    by_digest = ct.load_json(ct.skopeo("inspect", "--tls-verify=false",
                                       "docker://%s/it/inspect@%s" % (berth.host, desc["digest"])))
    assert by_digest["Digest"] == desc["digest"]

    # A missing tag is an error from skopeo, not an empty success.
    p = ct.run(["skopeo", "inspect", "--tls-verify=false", "docker://%s/it/inspect:nope" % berth.host],
               check=False)
    assert p.returncode != 0
    assert b"manifest unknown" in p.stderr.lower() or b"not found" in p.stderr.lower(), p.stderr


def test_copy_multilayer_random_roundtrip(berth, tmp_path):
    """Four layers of incompressible data (1-8 MiB), streamed by skopeo."""
    src = images.ensure("random")
    desc = images.find_ref(src, "random")
    dest = "docker://%s/it/random:1" % berth.host
    ct.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "oci:%s:random" % src, dest)
    manifest = json.loads(images.read_blob(src, desc["digest"]))
    r = ct.get_manifest(berth.url, "it/random", "1")
    assert r.status_code == 200 and r.content == images.read_blob(src, desc["digest"])
    for layer in manifest["layers"]:
        head = requests.head("%s/v2/it/random/blobs/%s" % (berth.url, layer["digest"]), timeout=30)
        assert head.status_code == 200, layer
        assert int(head.headers["Content-Length"]) == layer["size"]
        assert head.headers["Docker-Content-Digest"] == layer["digest"]
    back = str(tmp_path / "back")
    ct.skopeo("copy", "--preserve-digests", "--src-tls-verify=false", dest, "oci:%s:back" % back)
    assert len(ct.assert_layouts_equal(src, "random", back, "back")) == 6
