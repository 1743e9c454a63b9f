"""berth copy between every pair of transports (docker:// on a berth
registry, oci:, oci-archive:, docker-archive:), each result compared with
what skopeo 1.9 writes for the same copy from the same source: identical
manifest digest and blobs where no conversion happens, the same config and
layer content (after decompression) where the docker-archive format forces
one. Round trips through both archive formats, --format and --dest-compress.
"""
import hashlib
import json
import os
import shutil

import pytest

import conftest
import copyutil as u

KINDS = ["docker", "oci", "oci-archive", "docker-archive"]


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-reg")))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def sources(reg, tmp_path_factory):
    """The same image in every transport, each made by skopeo from the fixture layout."""
    u.need("skopeo")
    d = tmp_path_factory.mktemp("src")
    lay = u.small_image()
    src = {
        "oci": "oci:%s:small" % lay,
        "oci-archive": "oci-archive:%s:small" % (d / "src-oci.tar"),
        "docker-archive": "docker-archive:%s:p2/small:1" % (d / "src-docker.tar"),
        "docker": "docker://%s/p2/src:small" % reg.host,
    }
    for k in ("oci-archive", "docker-archive", "docker"):
        u.skopeo("copy", "--dest-tls-verify=false", src["oci"], src[k])
    # docker-archive names the image in the archive; as a source it is the file alone
    src["docker-archive"] = "docker-archive:%s" % (d / "src-docker.tar")
    return src


def dest_name(kind, d, who, tag_hint, reg):
    if kind == "oci":
        return "oci:%s:%s" % (d / ("%s-layout" % who), tag_hint)
    if kind == "oci-archive":
        return "oci-archive:%s:%s" % (d / ("%s.oci.tar" % who), tag_hint)
    if kind == "docker-archive":
        return "docker-archive:%s:p2/out:%s" % (d / ("%s.docker.tar" % who), tag_hint)
    return "docker://%s/p2/%s-%s:%s" % (reg.host, who, tag_hint, tag_hint)


@pytest.mark.parametrize("dst_kind", KINDS)
@pytest.mark.parametrize("src_kind", KINDS)
def test_copy_pair_matches_skopeo(src_kind, dst_kind, sources, reg, tmp_path):
    src = sources[src_kind]
    hint = "%s-to-%s" % (src_kind, dst_kind)
    mine = dest_name(dst_kind, tmp_path, "berth", hint, reg)
    theirs = dest_name(dst_kind, tmp_path, "skopeo", hint, reg)
    u.skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", src, theirs)
    p = u.berth("copy", src, mine)
    assert p.returncode == 0

    got = u.read_image(mine)
    want = u.read_image(theirs)
    exact = "docker-archive" not in (src_kind, dst_kind)
    u.assert_same_image(got, want, exact)
    if exact:
        # and both kept the source's manifest digest
        assert got.digest == u.read_image(sources["oci"]).digest
    if dst_kind == "docker-archive":
        assert got.repo_tags == want.repo_tags, "RepoTags %s, skopeo wrote %s" % (got.repo_tags, want.repo_tags)


def test_roundtrip_docker_archive(tmp_path):
    """oci -> docker-archive -> oci: same config content and layer contents."""
    lay = u.small_image()
    arch = tmp_path / "rt.tar"
    u.berth("copy", "oci:%s:small" % lay, "docker-archive:%s:p2/rt:1" % arch)
    u.berth("copy", "docker-archive:%s" % arch, "oci:%s:back" % (tmp_path / "back"))
    src = u.read_layout(lay, "small")
    back = u.read_layout(str(tmp_path / "back"), "back")
    assert back.config_json() == src.config_json()
    assert back.diff_ids == src.diff_ids
    assert back.uncompressed_digests() == src.uncompressed_digests() == src.diff_ids
    # the archive itself loads as `docker load` expects: RepoTags and layer tars by diff_id
    da = u.read_docker_archive(str(arch))
    assert [t.split("/")[-1] for t in da.repo_tags] == ["rt:1"]
    assert [d for _, d, _ in da.layers] == src.diff_ids


def test_docker_archive_of_zstd_layers(tmp_path):
    """zstd layers become the same docker archive as the gzip ones they were
    made from: the destination decompresses what the bytes are (plain tar
    layers: the docker-archive source in test_copy_pair_matches_skopeo)."""
    lay = u.small_image()
    other = tmp_path / "zstd"
    u.berth("copy", "--dest-compress", "zstd", "oci:%s:small" % lay, "oci:%s:x" % other)
    assert u.read_layout(str(other), "x").digest != u.read_layout(lay, "small").digest
    mine, want = tmp_path / "zstd.tar", tmp_path / "gzip.tar"
    u.berth("copy", "oci:%s:x" % other, "docker-archive:%s:p2/c:1" % mine)
    u.berth("copy", "oci:%s:small" % lay, "docker-archive:%s:p2/c:1" % want)
    assert mine.read_bytes() == want.read_bytes()


def test_docker_archive_refuses_a_truncated_gzip_layer(tmp_path):
    """A layer whose blob matches its digest but is a gzip stream cut short:
    an error, no archive written."""
    lay = tmp_path / "cut"
    shutil.copytree(u.small_image(), lay)
    blobs = lay / "blobs" / "sha256"
    idx = json.loads((lay / "index.json").read_text())
    man = json.loads((blobs / idx["manifests"][0]["digest"].split(":")[1]).read_bytes())
    layer = man["layers"][-1]
    data = (blobs / layer["digest"].split(":")[1]).read_bytes()
    data = data[:len(data) // 2]
    layer["digest"], layer["size"] = "sha256:" + hashlib.sha256(data).hexdigest(), len(data)
    (blobs / layer["digest"].split(":")[1]).write_bytes(data)
    body = json.dumps(man).encode()
    idx["manifests"][0]["digest"] = "sha256:" + hashlib.sha256(body).hexdigest()
    idx["manifests"][0]["size"] = len(body)
    (blobs / idx["manifests"][0]["digest"].split(":")[1]).write_bytes(body)
    (lay / "index.json").write_text(json.dumps(idx))
    out = tmp_path / "cut.tar"
    p = u.berth("copy", "oci:%s:small" % lay, "docker-archive:%s:p2/c:1" % out, check=False)
    u.assert_fails(p, "gzip", "truncated")
    u.assert_no_file(str(out))


def test_roundtrip_oci_archive_exact(tmp_path):
    """oci -> oci-archive -> oci keeps every byte and the digest."""
    lay = u.small_image()
    arch = tmp_path / "rt.oci.tar"
    u.berth("copy", "oci:%s:small" % lay, "oci-archive:%s:t1" % arch)
    u.berth("copy", "oci-archive:%s:t1" % arch, "oci:%s:back" % (tmp_path / "back"))
    src = u.read_layout(lay, "small")
    back = u.read_layout(str(tmp_path / "back"), "back")
    u.assert_same_image(back, src, exact=True)
    # skopeo reads berth's archive too
    u.skopeo("copy", "oci-archive:%s:t1" % arch, "oci:%s:sk" % (tmp_path / "sk"))
    u.assert_same_image(u.read_layout(str(tmp_path / "sk"), "sk"), src, exact=True)


def test_roundtrip_registry_exact(reg, tmp_path):
    """oci -> berth registry -> oci: every byte; skopeo pulls the same bytes."""
    lay = u.big_image()
    ref = "docker://%s/p2/rt-big:1" % reg.host
    u.berth("copy", "oci:%s:big" % lay, ref)
    u.berth("copy", ref, "oci:%s:back" % (tmp_path / "back"))
    src = u.read_layout(lay, "big")
    u.assert_same_image(u.read_layout(str(tmp_path / "back"), "back"), src, exact=True)
    u.skopeo("copy", "--src-tls-verify=false", ref, "oci:%s:sk" % (tmp_path / "sk"))
    u.assert_same_image(u.read_layout(str(tmp_path / "sk"), "sk"), src, exact=True)


def test_second_copy_skips_existing_blobs(reg, tmp_path):
    """Copying the same image again to the same repository sends no blob bytes
    (HEAD says they are there) and lands on the same digest."""
    lay = u.small_image()
    ref = "docker://%s/p2/again:1" % reg.host
    u.berth("copy", "oci:%s:small" % lay, ref)
    before = os.path.getsize(reg.log_path) if os.path.exists(reg.log_path) else 0
    u.berth("copy", "oci:%s:small" % lay, ref.replace(":1", ":2"))
    with open(reg.log_path, "rb") as f:
        f.seek(before)
        log = f.read().decode("utf-8", "replace")
    uploads = [l for l in log.splitlines() if "/blobs/uploads/" in l]
    assert uploads == [], "second copy uploaded again:\n%s" % "\n".join(uploads[:5])
    assert u.read_image(ref).digest == u.read_image(ref.replace(":1", ":2")).digest


def test_format_v2s2_matches_skopeo(reg, tmp_path):
    """--format v2s2 into a registry: the same manifest type, blobs and
    config as skopeo's conversion (no layer is recompressed by a format
    change); --format oci back gives OCI types over the same layers and, as
    skopeo does, the config re-encoded as an OCI config."""
    lay = u.small_image()
    src = u.read_layout(lay, "small")
    u.skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2", "oci:%s:small" % lay,
             "docker://%s/p2/v2-sk:1" % reg.host)
    u.berth("copy", "--format", "v2s2", "oci:%s:small" % lay, "docker://%s/p2/v2-b:1" % reg.host)
    u.berth("copy", "--format", "oci", "docker://%s/p2/v2-b:1" % reg.host, "oci:%s:o" % (tmp_path / "b"))
    got = u.read_image("docker://%s/p2/v2-b:1" % reg.host)
    want = u.read_image("docker://%s/p2/v2-sk:1" % reg.host)
    assert got.media_type == want.media_type == u.MT_V2S2
    assert [l[:2] for l in got.layers] == [l[:2] for l in want.layers]
    assert all(mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" for mt, _, _ in got.layers)
    assert [l[1] for l in got.layers] == [l[1] for l in src.layers]
    assert got.config_digest == want.config_digest
    assert json.loads(got.manifest)["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    back = u.read_layout(str(tmp_path / "b"), "o")
    assert back.media_type == u.MT_OCI_MANIFEST
    assert [l[:2] for l in back.layers] == [l[:2] for l in src.layers]
    # containers/image re-encodes a Docker config when it converts to OCI
    # (manifestSchema2.OCIConfig), so compare with skopeo's conversion.
    u.skopeo("copy", "--src-tls-verify=false", "--format", "oci", "docker://%s/p2/v2-b:1" % reg.host,
             "oci:%s:o" % (tmp_path / "sk"))
    back_sk = u.read_layout(str(tmp_path / "sk"), "o")
    assert back.manifest == back_sk.manifest
    assert back.config_digest == back_sk.config_digest
    assert json.loads(back.manifest)["config"]["mediaType"] == u.MT_OCI_CONFIG


def test_dest_compress_zstd(tmp_path):
    u.need("zstd")
    lay = u.small_image()
    u.berth("copy", "--dest-compress", "zstd", "oci:%s:small" % lay, "oci:%s:z" % (tmp_path / "z"))
    got = u.read_layout(str(tmp_path / "z"), "z")
    src = u.read_layout(lay, "small")
    assert all(mt == "application/vnd.oci.image.layer.v1.tar+zstd" for mt, _, _ in got.layers), got.layers
    assert all(got.blob(d)[:4] == b"\x28\xb5\x2f\xfd" for _, d, _ in got.layers)
    assert got.uncompressed_digests() == src.diff_ids
    assert got.config_json()["rootfs"]["diff_ids"] == src.diff_ids
    # skopeo reads the result
    u.skopeo("copy", "oci:%s:z" % (tmp_path / "z"), "oci:%s:s" % (tmp_path / "s"))
    # and back to gzip: same contents again
    u.berth("copy", "--dest-compress", "gzip", "oci:%s:z" % (tmp_path / "z"), "oci:%s:g" % (tmp_path / "g"))
    back = u.read_layout(str(tmp_path / "g"), "g")
    assert all(mt == u.MT_OCI_LAYER_GZ for mt, _, _ in back.layers), back.layers
    assert all(back.blob(d)[:2] == b"\x1f\x8b" for _, d, _ in back.layers)
    assert back.uncompressed_digests() == src.diff_ids


def test_copy_by_digest_and_digestfile(reg, tmp_path):
    """A source named by digest; --digestfile gets the digest written."""
    lay = u.small_image()
    src = u.read_layout(lay, "small")
    u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/bydigest:1" % reg.host)
    df = tmp_path / "digest"
    u.berth("copy", "--digestfile", df, "docker://%s/p2/bydigest@%s" % (reg.host, src.digest),
            "oci:%s:d" % (tmp_path / "o"))
    assert df.read_text().strip() == src.digest
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "d"), src, exact=True)
    # a digest that is not there
    missing = "sha256:" + "ab" * 32
    p = u.berth("copy", "docker://%s/p2/bydigest@%s" % (reg.host, missing), "oci:%s:m" % (tmp_path / "m"),
                check=False)
    u.assert_fails(p, ("not found", "unknown", missing[:19]))
    u.assert_layout_empty(str(tmp_path / "m"))


def _tar_layout_with_links(layout, out, symlink):
    """An oci-archive of `layout` in which every blob after the first is stored
    as a link (symbolic or hard) to a copy of itself under another name."""
    import tarfile
    blobs = sorted(os.listdir(os.path.join(layout, "blobs", "sha256")))
    with tarfile.open(out, "w") as t:
        for name in ("oci-layout", "index.json"):
            t.add(os.path.join(layout, name), arcname=name)
        for i, b in enumerate(blobs):
            path = os.path.join(layout, "blobs", "sha256", b)
            arc = "blobs/sha256/" + b
            if i == 0:
                t.add(path, arcname=arc)
                continue
            t.add(path, arcname="store/%d" % i)
            ti = tarfile.TarInfo(arc)
            if symlink:
                ti.type, ti.linkname = tarfile.SYMTYPE, "../../store/%d" % i
            else:
                ti.type, ti.linkname = tarfile.LNKTYPE, "store/%d" % i
            t.addfile(ti)
    return blobs


@pytest.mark.parametrize("symlink", [True, False], ids=["symlinks", "hardlinks"])
def test_oci_archive_with_linked_members(symlink, tmp_path):
    """Members stored as links (as tar writes duplicates) are read through."""
    lay = u.small_image()
    arch = str(tmp_path / "links.tar")
    _tar_layout_with_links(lay, arch, symlink)
    p = u.berth("copy", "oci-archive:%s:small" % arch, "oci:%s:back" % (tmp_path / "back"))
    assert p.returncode == 0
    u.assert_same_image(u.read_layout(str(tmp_path / "back"), "back"),
                        u.read_layout(lay, "small"), exact=True)


def test_archive_that_would_fill_the_disk_is_refused(tmp_path):
    """A small compressed tar standing for more than the temporary
    filesystem holds stops before filling it, with a clear error."""
    import gzip
    import subprocess
    import tarfile
    assert os.geteuid() == 0, "this test mounts a small tmpfs: run the tests as root (CI does)"
    small = tmp_path / "small-tmp"
    small.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(small)],
                       capture_output=True)
    assert m.returncode == 0, ("cannot mount a tmpfs here (a container needs CAP_SYS_ADMIN): %s"
                               % m.stderr.decode("utf-8", "replace"))
    try:
        arch = tmp_path / "bomb.tar.gz"
        with gzip.open(arch, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w") as t:
            ti = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
            ti.size = 256 << 20
            zeros = open("/dev/zero", "rb")
            t.addfile(ti, zeros)
            zeros.close()
        assert os.path.getsize(arch) < (2 << 20)
        p = u.berth("copy", "oci-archive:%s" % arch, "oci:%s:x" % (tmp_path / "out"),
                    check=False, env={"TMPDIR": str(small)})
        err = p.stderr.decode("utf-8", "replace")
        assert p.returncode == 1, err
        assert "fill the filesystem" in err and "TMPDIR" in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert os.listdir(str(small)) == []  # the partial unpacking was removed
        assert not (tmp_path / "out").exists()
    finally:
        subprocess.run(["umount", str(small)])
