"""Real clients against `berth serve --auth` through the Bearer token flow:
skopeo copy --dest-creds/--src-creds into a private project and back (as a
user and as a robot), podman login + push + pull (isolated storage), and
`berth copy` with --dest-creds/--src-creds and after `berth login`. Without
credentials, or with wrong ones, each fails and leaves nothing."""
import json
import os
import shutil
import sys
import tempfile

import pytest

import authutil as au
from authutil import client_env as env  # noqa: F401  (fixture)
import copyutil as u

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402

ACCEPT = {"Accept": ct.ACCEPT_ALL}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    gen = au.module_server(tmp_path_factory)
    s = next(gen)
    s.add_project("team", public=False)
    s.add_user("dev")
    s.add_user("viewer")
    s.set_member("team", "dev", "developer")
    s.set_member("team", "viewer", "guest")
    s.ci = s.add_robot("ci", [{"project": "team", "actions": ["pull", "push"]}], expires_in_days=1)
    yield s
    try:
        next(gen)
    except StopIteration:
        pass


def creds(c):
    return "%s:%s" % c


def stored(s, repo, tag):
    return s.req("GET", "/v2/%s/manifests/%s" % (repo, tag), s.admin, headers=ACCEPT)


def test_skopeo_copy_with_creds_and_back(srv, env, tmp_path):
    ct.need("skopeo")
    s = srv
    src = images.ensure("busybox")
    desc = images.find_ref(src, "busybox")
    dest = "docker://%s/team/busybox:1" % s.host
    dev = ("dev", s.users["dev"])
    # anonymous: refused, nothing there
    p = u.skopeo("copy", "--dest-tls-verify=false", "oci:%s:busybox" % src, dest, env=env, check=False)
    assert p.returncode != 0
    assert stored(s, "team/busybox", "1").status_code == 404
    # a guest may not push
    p = u.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds(("viewer", s.users["viewer"])),
                 "oci:%s:busybox" % src, dest, env=env, check=False)
    assert p.returncode != 0
    assert stored(s, "team/busybox", "1").status_code == 404
    # the developer may
    u.skopeo("copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", creds(dev),
             "oci:%s:busybox" % src, dest, env=env)
    r = stored(s, "team/busybox", "1")
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == desc["digest"]
    # back out: anonymous fails, the guest and the robot succeed
    p = u.skopeo("inspect", "--tls-verify=false", dest, env=env, check=False)
    assert p.returncode != 0
    for who, c in (("viewer", ("viewer", s.users["viewer"])), ("robot", s.ci)):
        out = str(tmp_path / who)
        u.skopeo("copy", "--src-tls-verify=false", "--src-creds", creds(c), dest, "oci:%s:back" % out,
                 env=env)
        ct.assert_layouts_equal(src, "busybox", out, "back")
    # the robot can push too (its permissions say so)
    u.skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", creds(s.ci),
             "--dest-creds", creds(s.ci), dest, "docker://%s/team/by-robot:1" % s.host, env=env)
    assert stored(s, "team/by-robot", "1").headers["Docker-Content-Digest"] == desc["digest"]
    # wrong password: fails, names no secret
    bad = "dev:" + s.remember("wrong-" + s.users["dev"][::-1])
    p = u.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", bad, "oci:%s:busybox" % src,
                 "docker://%s/team/bad:1" % s.host, env=env, check=False)
    assert p.returncode != 0
    assert stored(s, "team/bad", "1").status_code == 404


@pytest.fixture
def podman(tmp_path, env):
    ct.need("podman")
    root = tmp_path / "podman"
    run_root = tempfile.mkdtemp(prefix="bpa-", dir="/tmp")
    base = ["podman", "--root", str(root / "root"), "--runroot", run_root, "--tmpdir", str(root / "tmp"),
            "--storage-driver", "vfs", "--events-backend", "none", "--cgroup-manager", "cgroupfs"]

    def run(*args, check=True, input=None, timeout=300):
        if input is None:
            return ct.run(base + list(args), env=env, check=check, timeout=timeout)
        e = dict(os.environ, **env)
        import subprocess
        p = subprocess.run(base + list(args), input=input, capture_output=True, env=e, timeout=timeout)
        if check and p.returncode != 0:
            pytest.fail("podman %s failed: %s" % (" ".join(args), p.stderr.decode("utf-8", "replace")))
        return p

    yield run
    run("rmi", "--all", "--force", check=False)
    shutil.rmtree(run_root, ignore_errors=True)


def test_podman_login_push_pull(srv, podman, env):
    s = srv
    src = images.ensure("busybox")
    desc = images.find_ref(src, "busybox")
    config_hex = json.loads(images.read_blob(src, desc["digest"]))["config"]["digest"].split(":", 1)[1]
    ref = "%s/team/podman:1" % s.host
    podman("pull", "oci:%s:busybox" % src)
    podman("tag", config_hex, ref)
    # not logged in: push refused
    p = podman("push", "--tls-verify=false", ref, check=False)
    assert p.returncode != 0
    assert stored(s, "team/podman", "1").status_code == 404
    # wrong password: login refused
    p = podman("login", "--tls-verify=false", "-u", "dev", "--password-stdin", s.host,
               input=s.remember("not-" + s.users["dev"]).encode() + b"\n", check=False)
    assert p.returncode != 0
    podman("login", "--tls-verify=false", "-u", "dev", "--password-stdin", s.host,
           input=s.users["dev"].encode() + b"\n")
    podman("push", "--tls-verify=false", ref)
    r = stored(s, "team/podman", "1")
    assert r.status_code == 200
    pushed = json.loads(r.content)
    assert pushed["config"]["digest"] == "sha256:" + config_hex
    podman("rmi", "--all", "--force")
    podman("pull", "--tls-verify=false", ref)
    info = json.loads(podman("image", "inspect", ref).stdout)[0]
    assert info["Id"] == config_hex
    podman("logout", s.host)
    podman("rmi", "--all", "--force")
    p = podman("pull", "--tls-verify=false", ref, check=False)
    assert p.returncode != 0, "pulled a private image after logout"


def test_berth_copy_with_creds(srv, env, tmp_path):
    s = srv
    lay = u.small_image()
    dest = "docker://%s/team/berth:1" % s.host
    p = u.berth("copy", "oci:%s:small" % lay, dest, env=env, check=False)
    u.assert_fails(p, ("unauthorized", "authentication", "credentials", "401", "denied"))
    assert stored(s, "team/berth", "1").status_code == 404
    p = u.berth("copy", "--dest-creds", creds(("viewer", s.users["viewer"])), "oci:%s:small" % lay, dest,
                env=env, check=False)
    msg = u.assert_fails(p, ("denied", "403", "unauthorized", "not allowed", "insufficient"))
    assert s.users["viewer"] not in msg
    assert stored(s, "team/berth", "1").status_code == 404
    u.berth("copy", "--dest-creds", creds(("dev", s.users["dev"])), "oci:%s:small" % lay, dest, env=env)
    assert stored(s, "team/berth", "1").status_code == 200
    u.berth("copy", "--src-creds", creds(s.ci), dest, "oci:%s:x" % (tmp_path / "o"), env=env)
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "x"), u.read_layout(lay, "small"), exact=True)


def test_berth_login_then_copy(srv, env, tmp_path):
    s = srv
    lay = u.small_image()
    dest = "docker://%s/team/login:1" % s.host
    env = dict(env, REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"))
    wrong = s.remember("bad-" + s.users["dev"][:8] + "-x")
    p = u.berth("login", "--username", "dev", "--password-stdin", s.host, env=env, check=False,
                input=(wrong + "\n").encode())
    msg = u.assert_fails(p, ("unauthorized", "credentials", "401", "denied", "login"))
    assert wrong not in msg
    u.berth("login", "--username", "dev", "--password-stdin", s.host, env=env,
            input=(s.users["dev"] + "\n").encode())
    u.berth("copy", "oci:%s:small" % lay, dest, env=env)
    assert stored(s, "team/login", "1").status_code == 200
    u.berth("copy", dest, "oci:%s:x" % (tmp_path / "o"), env=env)
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "x"), u.read_layout(lay, "small"), exact=True)
    u.berth("logout", s.host, env=env)
    p = u.berth("copy", dest, "oci:%s:y" % (tmp_path / "o2"), env=env, check=False)
    assert p.returncode != 0
