"""buildah 1.28 builds an image from scratch and pushes it into a real
`berth serve` (OCI and Docker schema2 formats); the pushed manifest is then
read back with skopeo and a plain manifest GET, and its layer holds the file.
Storage is isolated (--root/--runroot in a temp dir, vfs driver)."""
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402

MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def buildah(tmp_path):
    ct.need("buildah")
    ct.need("skopeo")
    run_root = tempfile.mkdtemp(prefix="bb-", dir="/tmp")
    base = ["buildah", "--root", str(tmp_path / "root"), "--runroot", run_root,
            "--storage-driver", "vfs"]
    env = {"XDG_RUNTIME_DIR": run_root, "BUILDAH_ISOLATION": "chroot"}

    def run(*args, check=True):
        return ct.run(base + list(args), env=env, check=check)

    yield run
    run("rm", "--all", check=False)
    run("rmi", "--all", "--force", check=False)
    shutil.rmtree(run_root, ignore_errors=True)


def build(buildah, tmp_path, content):
    f = tmp_path / "hello.txt"
    f.write_bytes(content)
    ctr = buildah("from", "scratch").stdout.decode().strip()
    buildah("copy", ctr, str(f), "/hello.txt")
    buildah("config", "--os", "linux", "--arch", "amd64", "--cmd", "/hello.txt",
            "--label", "org.example.test=berth", ctr)
    return ctr


def layer_files(blob):
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as t:
        return {m.name.lstrip("./"): (t.extractfile(m).read() if m.isfile() else None)
                for m in t.getmembers()}


@pytest.mark.parametrize("fmt,media_type", [("oci", MT_OCI_MANIFEST), ("docker", MT_DOCKER_MANIFEST)])
def test_build_and_push(berth, buildah, tmp_path, fmt, media_type):
    content = ("hello from buildah, format %s\n" % fmt).encode() + os.urandom(64).hex().encode()
    ctr = build(buildah, tmp_path, content)
    buildah("commit", "--format", fmt, ctr, "localhost/it-built:" + fmt)

    repo = "it/built-" + fmt
    dest = "docker://%s/%s:1" % (berth.host, repo)
    digestfile = tmp_path / "digest"
    buildah("push", "--tls-verify=false", "--digestfile", str(digestfile),
            "localhost/it-built:" + fmt, dest)
    pushed = digestfile.read_text().strip()
    assert pushed.startswith("sha256:")

    raw = ct.skopeo("inspect", "--raw", "--tls-verify=false", dest).stdout
    assert ct.sha256(raw) == pushed
    manifest = json.loads(raw)
    assert manifest.get("mediaType", MT_OCI_MANIFEST) == media_type

    info = ct.load_json(ct.skopeo("inspect", "--tls-verify=false", dest))
    assert info["Digest"] == pushed
    assert info["Labels"]["org.example.test"] == "berth"
    assert info["Architecture"] == "amd64"

    # Plain GETs: by tag and by digest, with the client's Accept header.
    for ref in ("1", pushed):
        r = ct.get_manifest(berth.url, repo, ref)
        assert r.status_code == 200, r.text
        assert r.content == raw
        assert r.headers["Docker-Content-Digest"] == pushed
        assert r.headers["Content-Type"] == media_type
    head = requests.head("%s/v2/%s/manifests/1" % (berth.url, repo),
                         headers={"Accept": ct.ACCEPT_ALL}, timeout=30)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(raw)

    # The config and the layer are served whole, and the layer holds our file.
    cfg = requests.get("%s/v2/%s/blobs/%s" % (berth.url, repo, manifest["config"]["digest"]), timeout=30)
    assert cfg.status_code == 200 and ct.sha256(cfg.content) == manifest["config"]["digest"]
    assert json.loads(cfg.content)["config"]["Cmd"] == ["/hello.txt"]
    assert len(manifest["layers"]) == 1
    layer = manifest["layers"][0]
    r = requests.get("%s/v2/%s/blobs/%s" % (berth.url, repo, layer["digest"]), timeout=30)
    assert r.status_code == 200
    assert ct.sha256(r.content) == layer["digest"] and len(r.content) == layer["size"]
    assert layer_files(r.content)["hello.txt"] == content

    # A second push of the same image is a no-op for blobs and keeps the digest.
    buildah("push", "--tls-verify=false", "--digestfile", str(digestfile),
            "localhost/it-built:" + fmt, "docker://%s/%s:2" % (berth.host, repo))
    assert digestfile.read_text().strip() == pushed
    tags = requests.get("%s/v2/%s/tags/list" % (berth.url, repo), timeout=30).json()
    assert sorted(tags["tags"]) == ["1", "2"]
