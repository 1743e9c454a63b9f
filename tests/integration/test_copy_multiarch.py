"""Multi-platform copies: --all copies an index and every child, --platform
picks one child, the default picks linux/<host arch>; each compared with
skopeo's copy of the same index. `berth inspect` lists the platforms;
`berth manifest create` builds an index from per-platform images."""
import json
import platform

import pytest

import conftest
import copyutil as u

HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-reg")))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def multi():
    u.need("skopeo")
    lay = u.multi_image()
    return lay, u.read_layout(lay, "multi")


def child(idx, key):
    return [c for p, c in idx.children if u.platform_key(p) == key][0]


@pytest.mark.parametrize("dst_kind", ["docker", "oci", "oci-archive"])
def test_all_copies_index_and_children(dst_kind, multi, reg, tmp_path):
    lay, src = multi
    names = {
        "docker": lambda who: "docker://%s/p2/all-%s:1" % (reg.host, who),
        "oci": lambda who: "oci:%s:all" % (tmp_path / who),
        "oci-archive": lambda who: "oci-archive:%s:all" % (tmp_path / (who + ".tar")),
    }[dst_kind]
    u.skopeo("copy", "--all", "--dest-tls-verify=false", "oci:%s:multi" % lay, names("skopeo"))
    u.berth("copy", "--all", "oci:%s:multi" % lay, names("berth"))
    got, want = u.read_image(names("berth")), u.read_image(names("skopeo"))
    u.assert_same_image(got, want, exact=True)
    assert got.digest == src.digest
    assert sorted(u.platform_key(p) for p, _ in got.children) == ["linux/amd64", "linux/arm64/v8"]
    for _, c in got.children:  # every child's blobs were copied and verified
        assert c.config is not None and all(u.sha256(c.blob(d)) == d for _, d, _ in c.layers)


def test_all_registry_to_registry_and_back(multi, reg, tmp_path):
    lay, src = multi
    a = "docker://%s/p2/all-a:1" % reg.host
    b = "docker://%s/p2/all-b:1" % reg.host
    u.berth("copy", "--all", "oci:%s:multi" % lay, a)
    u.berth("copy", "--all", a, b)
    u.berth("copy", "--all", b, "oci:%s:back" % (tmp_path / "back"))
    u.assert_same_image(u.read_layout(str(tmp_path / "back"), "back"), src, exact=True)


@pytest.mark.parametrize("plat,skopeo_args", [
    ("linux/arm64/v8", ["--override-arch", "arm64", "--override-variant", "v8"]),
    ("linux/amd64", ["--override-arch", "amd64"]),
])
def test_platform_picks_one(plat, skopeo_args, multi, reg, tmp_path):
    lay, src = multi
    u.skopeo(*(skopeo_args + ["copy", "oci:%s:multi" % lay, "oci:%s:p" % (tmp_path / "sk")]))
    dst = "docker://%s/p2/plat-%s:1" % (reg.host, plat.replace("/", "-"))
    u.berth("copy", "--platform", plat, "oci:%s:multi" % lay, dst)
    got = u.read_image(dst)
    want = u.read_layout(str(tmp_path / "sk"), "p")
    u.assert_same_image(got, want, exact=True)
    assert got.digest == child(src, plat).digest
    assert not got.children
    # the other platform's layers did not travel
    other = child(src, "linux/amd64" if "arm64" in plat else "linux/arm64/v8")
    base = "http://" + reg.host
    for _, d, _ in other.layers:
        r = u.registry_get(base, "/v2/p2/plat-%s/blobs/%s" % (plat.replace("/", "-"), d), method="HEAD",
                           accept="*/*")
        assert r.status_code == 404


def test_default_picks_host_platform(multi, tmp_path):
    lay, src = multi
    assert HOST_ARCH in ("amd64", "arm64"), (
        "the multi-arch fixture has amd64 and arm64 images only, none for this host's %s: "
        "add one to the fixture" % HOST_ARCH)
    u.skopeo("copy", "oci:%s:multi" % lay, "oci:%s:d" % (tmp_path / "sk"))
    u.berth("copy", "oci:%s:multi" % lay, "oci:%s:d" % (tmp_path / "b"))
    got = u.read_layout(str(tmp_path / "b"), "d")
    u.assert_same_image(got, u.read_layout(str(tmp_path / "sk"), "d"), exact=True)
    assert got.config_json()["architecture"] == HOST_ARCH


def test_missing_platform_fails_and_writes_nothing(multi, reg, tmp_path):
    lay, _ = multi
    dst = tmp_path / "none"
    p = u.berth("copy", "--platform", "linux/s390x", "oci:%s:multi" % lay, "oci:%s:x" % dst, check=False)
    u.assert_fails(p, "s390x")
    u.assert_layout_empty(str(dst))
    p = u.berth("copy", "--platform", "linux/s390x", "oci:%s:multi" % lay,
                "docker://%s/p2/none:1" % reg.host, check=False)
    u.assert_fails(p, "s390x")
    u.assert_registry_no_image("http://" + reg.host, "p2/none", "1")


def test_all_to_docker_archive_refused(multi, tmp_path):
    """docker save format holds one image: --all of an index is refused, no file."""
    lay, _ = multi
    out = tmp_path / "m.tar"
    p = u.berth("copy", "--all", "oci:%s:multi" % lay, "docker-archive:%s:p2/m:1" % out, check=False)
    u.assert_fails(p, ("index", "multiple", "docker-archive", "platform"))
    u.assert_no_file(str(out))


def test_inspect_lists_platforms(multi, reg):
    lay, src = multi
    dst = "docker://%s/p2/insp:1" % reg.host
    u.berth("copy", "--all", "oci:%s:multi" % lay, dst)
    p = u.berth("inspect", "--format", "json", dst)
    doc = json.loads(p.stdout)
    text = json.dumps(doc)
    assert src.digest in text
    for key in ("linux/amd64", "linux/arm64"):
        assert key.split("/")[1] in text
    raw = u.berth("inspect", "--raw", dst).stdout
    assert raw == src.manifest
    # same answers for the layout
    raw2 = u.berth("inspect", "--raw", "oci:%s:multi" % lay).stdout
    assert raw2 == src.manifest


def test_inspect_single_image_json_and_config(reg):
    lay = u.small_image()
    src = u.read_layout(lay, "small")
    dst = "docker://%s/p2/insp-one:1" % reg.host
    u.berth("copy", "oci:%s:small" % lay, dst)
    for name in (dst, "oci:%s:small" % lay):
        doc = json.loads(u.berth("inspect", "--format", "json", name).stdout)
        text = json.dumps(doc)
        assert src.digest in text
        for _, d, _ in src.layers:
            assert d in text, "layer %s missing from inspect" % d
        assert src.config_digest in text
        assert u.berth("inspect", "--config", name).stdout.strip() == src.config.strip() or \
            json.loads(u.berth("inspect", "--config", name).stdout) == src.config_json()


def test_manifest_create_builds_index(multi, reg, tmp_path):
    """manifest create from the two per-platform images: an index whose
    children are those images, with their platforms from the configs."""
    lay, src = multi
    refs = []
    for key in ("linux/amd64", "linux/arm64/v8"):
        r = "docker://%s/p2/mc-%s:1" % (reg.host, key.split("/")[1])
        u.berth("copy", "--platform", key, "oci:%s:multi" % lay, r)
        refs.append(r)
    dst = "docker://%s/p2/mc:1" % reg.host
    u.berth("manifest", "create", dst, *refs)
    idx = u.read_image(dst)
    assert idx.media_type in u.INDEX_TYPES
    assert sorted(c.digest for _, c in idx.children) == sorted(c.digest for _, c in src.children)
    plats = sorted((p or {}).get("architecture") for p, _ in idx.children)
    assert plats == ["amd64", "arm64"]
    # skopeo can pick a child out of it
    u.skopeo("--override-arch", "arm64", "--override-variant", "v8", "copy", "--src-tls-verify=false", dst,
             "oci:%s:a" % (tmp_path / "sk"))
    assert u.read_layout(str(tmp_path / "sk"), "a").digest == child(src, "linux/arm64/v8").digest
    p = u.berth("manifest", "inspect", dst)
    assert idx.children[0][1].digest in p.stdout.decode()
