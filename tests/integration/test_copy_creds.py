"""Where berth finds registry credentials, each case first checked with
skopeo (same environment) so the setup is known-good: ~/.docker/config.json
with `auth`, with a credential helper (credsStore and credHelpers), the
containers auth.json ($REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/),
an explicit --authfile, and which file wins."""
import json
import os
import stat

import pytest

import copyutil as u
from distribution import Distribution

USER, PW = "bob", "hunter2-creds"
AUTH = (USER, PW)


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    u.need("docker-registry")
    u.need("skopeo")
    d = Distribution(str(tmp_path_factory.mktemp("dist")), users={USER: PW})
    d.start()
    yield d
    d.stop()


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (tmp_path / "xdg").mkdir()
    (tmp_path / "bin").mkdir()
    return {"HOME": str(home), "DOCKER_CONFIG": str(home / ".docker"), "XDG_RUNTIME_DIR": str(tmp_path / "xdg"),
            "REGISTRY_AUTH_FILE": "", "PATH": "%s:%s" % (tmp_path / "bin", os.environ["PATH"])}


def write_json(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f)


def helper(env, name, user, pw):
    """Install docker-credential-<name> that answers `get` for any host and logs its input."""
    path = os.path.join(env["PATH"].split(":")[0], "docker-credential-" + name)
    log = path + ".log"
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "read host\n"
                "echo \"$1 $host\" >> %s\n"
                "[ \"$1\" = get ] || exit 1\n"
                "printf '{\"ServerURL\":\"%%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}\\n' \"$host\"\n"
                % (log, user, pw))
    os.chmod(path, stat.S_IRWXU)
    return log


def push_both(dist, env, tag, extra=(), with_skopeo=True):
    """skopeo, then berth, push the small image with no --creds; both must succeed."""
    lay = u.small_image()
    if with_skopeo:
        u.skopeo("copy", "--dest-tls-verify=false", *extra, "oci:%s:small" % lay,
                 "docker://%s/p2/sk-%s:1" % (dist.host, tag), env=env)
    u.berth("copy", *extra, "oci:%s:small" % lay, "docker://%s/p2/b-%s:1" % (dist.host, tag), env=env)
    assert u.read_registry(dist.url, "p2/b-%s" % tag, "1", AUTH).digest == u.read_layout(lay, "small").digest


def test_docker_config_auth(dist, env):
    write_json(os.path.join(env["DOCKER_CONFIG"], "config.json"),
               {"auths": {dist.host: {"auth": u.basic(USER, PW)}}})
    push_both(dist, env, "cfg")


def test_docker_config_creds_store_helper(dist, env):
    log = helper(env, "p2store", USER, PW)
    write_json(os.path.join(env["DOCKER_CONFIG"], "config.json"), {"credsStore": "p2store"})
    # skopeo 1.9 (containers/image) ignores credsStore, so berth alone here
    push_both(dist, env, "store", with_skopeo=False)
    calls = open(log).read().split("\n")
    assert any(l.startswith("get ") and dist.host in l for l in calls), calls


def test_docker_config_cred_helpers_per_host(dist, env):
    log = helper(env, "p2host", USER, PW)
    bad = helper(env, "p2bad", USER, "not-it")  # the credsStore, which must not be asked
    write_json(os.path.join(env["DOCKER_CONFIG"], "config.json"),
               {"credsStore": "p2bad", "credHelpers": {dist.host: "p2host"},
                "auths": {dist.host: {"auth": u.basic(USER, "not-it-either")}}})
    push_both(dist, env, "helpers")
    assert dist.host in open(log).read()
    assert not os.path.exists(bad), "credsStore helper asked although credHelpers names one for the host"


def test_auth_json_registry_auth_file(dist, env, tmp_path):
    af = tmp_path / "auth.json"
    write_json(str(af), {"auths": {dist.host: {"auth": u.basic(USER, PW)}}})
    # a wrong entry in config.json must not win over auth.json
    write_json(os.path.join(env["DOCKER_CONFIG"], "config.json"),
               {"auths": {dist.host: {"auth": u.basic(USER, "stale")}}})
    push_both(dist, dict(env, REGISTRY_AUTH_FILE=str(af)), "raf")


def test_auth_json_xdg_runtime_dir(dist, env):
    write_json(os.path.join(env["XDG_RUNTIME_DIR"], "containers", "auth.json"),
               {"auths": {dist.host: {"auth": u.basic(USER, PW)}}})
    push_both(dist, env, "xdg")


def test_explicit_authfile(dist, env, tmp_path):
    af = tmp_path / "elsewhere.json"
    write_json(str(af), {"auths": {dist.host: {"auth": u.basic(USER, PW)}}})
    push_both(dist, env, "explicit", extra=("--authfile", str(af)))


def test_wrong_stored_credentials_fail_cleanly(dist, env):
    write_json(os.path.join(env["DOCKER_CONFIG"], "config.json"),
               {"auths": {dist.host: {"auth": u.basic(USER, "s3cr3t-but-wrong")}}})
    lay = u.small_image()
    p = u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/wrong:1" % dist.host, env=env, check=False)
    msg = u.assert_fails(p, ("unauthorized", "authentication", "credentials", "401", "denied"))
    assert "s3cr3t-but-wrong" not in p.stderr.decode() + p.stdout.decode(), msg
    u.assert_registry_no_image(dist.url, "p2/wrong", "1", AUTH)


def test_missing_helper_is_named(dist, env):
    write_json(os.path.join(env["DOCKER_CONFIG"], "config.json"), {"credsStore": "p2-not-installed"})
    lay = u.small_image()
    p = u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/nohelper:1" % dist.host, env=env, check=False)
    u.assert_fails(p, ("p2-not-installed", "unauthorized", "authentication"))
    u.assert_registry_no_image(dist.url, "p2/nohelper", "1", AUTH)
