"""podman 4.3 pulls from a real `berth serve`: by tag, by digest, and one
platform out of an image index. Storage is isolated (--root/--runroot in a
temp dir, vfs driver), so the host's image store is never touched."""
import json
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402


@pytest.fixture
def podman(tmp_path):
    ct.need("podman")
    ct.need("skopeo")
    root = tmp_path / "podman"
    # podman refuses a runroot longer than 50 characters: keep it short.
    run_root = tempfile.mkdtemp(prefix="bp-", dir="/tmp")
    base = ["podman", "--root", str(root / "root"), "--runroot", run_root,
            "--tmpdir", str(root / "tmp"), "--storage-driver", "vfs",
            "--events-backend", "none", "--cgroup-manager", "cgroupfs"]
    env = {"XDG_RUNTIME_DIR": str(root / "xdg"), "XDG_CONFIG_HOME": str(root / "cfg")}
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)

    def run(*args, check=True, timeout=300):
        return ct.run(base + list(args), env=env, check=check, timeout=timeout)

    yield run
    run("rmi", "--all", "--force", check=False)
    shutil.rmtree(run_root, ignore_errors=True)


def push(src, tag, dest, all_=False):
    args = ["copy", "--preserve-digests", "--dest-tls-verify=false"]
    if all_:
        args.append("--all")
    ct.skopeo(*(args + ["oci:%s:%s" % (src, tag), dest]))


def image_json(podman, ref):
    out = json.loads(podman("image", "inspect", ref).stdout)
    assert len(out) == 1
    return out[0]


def test_pull_by_tag_and_digest(berth, podman):
    src = images.ensure("busybox")
    desc = images.find_ref(src, "busybox")
    manifest = json.loads(images.read_blob(src, desc["digest"]))
    config_hex = manifest["config"]["digest"].split(":", 1)[1]
    ref = "%s/it/podman:1" % berth.host
    push(src, "busybox", "docker://" + ref)

    podman("pull", "--tls-verify=false", ref)
    info = image_json(podman, ref)
    # The image id of a schema2/OCI image is its config digest.
    assert info["Id"] == config_hex
    assert info["Digest"] == desc["digest"]
    assert info["Architecture"] == "amd64"
    assert info["Config"]["Cmd"] == ["/bin/sh"]
    assert ref in info["RepoTags"], info["RepoTags"]
    assert any(d.endswith("@" + desc["digest"]) for d in info["RepoDigests"]), info["RepoDigests"]

    podman("rmi", "--all", "--force")
    podman("pull", "--tls-verify=false", "%s/it/podman@%s" % (berth.host, desc["digest"]))
    assert image_json(podman, config_hex)["Digest"] == desc["digest"]

    # The pulled layers are the real ones: the busybox binary is there and whole.
    mount = podman("image", "mount", config_hex)
    path = mount.stdout.decode().strip()
    try:
        with open(os.path.join(path, "bin", "busybox"), "rb") as f, open("/bin/busybox", "rb") as g:
            assert f.read() == g.read()
        assert os.readlink(os.path.join(path, "bin", "sh")) == "busybox"
    finally:
        podman("image", "unmount", config_hex, check=False)

def test_pull_one_platform_of_index(berth, podman):
    src = images.ensure("multiarch")
    desc = images.find_ref(src, "multi")
    index = json.loads(images.read_blob(src, desc["digest"]))
    children = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    ref = "%s/it/podman-multi:1" % berth.host
    push(src, "multi", "docker://" + ref, all_=True)

    for arch in ("arm64", "amd64"):
        podman("pull", "--tls-verify=false", "--arch", arch, ref)
        child = json.loads(images.read_blob(src, children[arch]))
        info = image_json(podman, child["config"]["digest"].split(":", 1)[1])
        assert info["Architecture"] == arch
        assert info["Digest"] in (desc["digest"], children[arch])
        assert any(d.endswith("@" + children[arch]) or d.endswith("@" + desc["digest"])
                   for d in info["RepoDigests"]), info["RepoDigests"]


def test_pull_missing_tag_fails(berth, podman):
    p = podman("pull", "--tls-verify=false", "%s/it/none:1" % berth.host, check=False, timeout=120)
    assert p.returncode != 0
    err = p.stderr.lower()
    assert b"manifest unknown" in err or b"not found" in err or b"name unknown" in err, p.stderr
