"""Copies against Distribution 2.8 with htpasswd Basic auth and through a
Bearer token server (the Docker token flow) in front of berth serve; wrong
credentials fail with one clear line and leave no image; `berth login` /
`berth logout` write and erase the credentials the next copy uses."""
import json
import os

import pytest

import conftest
import copyutil as u
from distribution import Distribution
from proxy import Proxy
from tokenserver import TokenServer

USER, PW = "alice", "s3cret-pw"


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    u.need("docker-registry")
    u.need("skopeo")
    d = Distribution(str(tmp_path_factory.mktemp("dist")), users={USER: PW})
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    s = conftest.BerthServer(str(tmp_path_factory.mktemp("berth-reg")))
    s.start()
    yield s
    s.stop()


@pytest.fixture
def noauth_env(tmp_path):
    """An environment with no credentials anywhere (HOME, DOCKER_CONFIG, XDG)."""
    env = {"HOME": str(tmp_path / "home"), "DOCKER_CONFIG": str(tmp_path / "home" / ".docker"),
           "XDG_RUNTIME_DIR": str(tmp_path / "xdg"), "REGISTRY_AUTH_FILE": ""}
    os.makedirs(env["HOME"])
    os.makedirs(env["XDG_RUNTIME_DIR"])
    return env


AUTH = (USER, PW)


def test_htpasswd_push_pull_matches_skopeo(dist, noauth_env, tmp_path):
    lay = u.small_image()
    creds = "%s:%s" % AUTH
    u.skopeo("copy", "--dest-tls-verify=false", "--dest-creds", creds, "oci:%s:small" % lay,
             "docker://%s/p2/sk:1" % dist.host, env=noauth_env)
    u.berth("copy", "--dest-creds", creds, "oci:%s:small" % lay, "docker://%s/p2/b:1" % dist.host,
            env=noauth_env)
    got = u.read_registry(dist.url, "p2/b", "1", AUTH)
    u.assert_same_image(got, u.read_registry(dist.url, "p2/sk", "1", AUTH), exact=True)
    # pull it back with --src-creds
    u.berth("copy", "--src-creds", creds, "docker://%s/p2/b:1" % dist.host, "oci:%s:x" % (tmp_path / "o"),
            env=noauth_env)
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "x"), u.read_layout(lay, "small"), exact=True)


def test_distribution_to_berth_and_back(dist, reg, noauth_env, tmp_path):
    lay = u.multi_image()
    creds = "%s:%s" % AUTH
    d1 = "docker://%s/p2/m:1" % dist.host
    b1 = "docker://%s/p2/from-dist:1" % reg.host
    u.berth("copy", "--all", "--dest-creds", creds, "oci:%s:multi" % lay, d1, env=noauth_env)
    u.berth("copy", "--all", "--src-creds", creds, d1, b1, env=noauth_env)
    u.berth("copy", "--all", "--dest-creds", creds, b1, "docker://%s/p2/back:1" % dist.host, env=noauth_env)
    src = u.read_layout(lay, "multi")
    u.assert_same_image(u.read_image(b1), src, exact=True)
    u.assert_same_image(u.read_registry(dist.url, "p2/back", "1", AUTH), src, exact=True)


def test_distribution_cross_repo_copy(dist, noauth_env):
    """registry -> same registry, another repository: the result is exact (mount or copy)."""
    lay = u.small_image()
    creds = "%s:%s" % AUTH
    u.berth("copy", "--dest-creds", creds, "oci:%s:small" % lay, "docker://%s/p2/x1:1" % dist.host,
            env=noauth_env)
    u.berth("copy", "--src-creds", creds, "--dest-creds", creds, "docker://%s/p2/x1:1" % dist.host,
            "docker://%s/p2/x2:1" % dist.host, env=noauth_env)
    u.assert_same_image(u.read_registry(dist.url, "p2/x2", "1", AUTH), u.read_layout(lay, "small"), exact=True)


@pytest.mark.parametrize("creds", [None, "%s:Wr0ngPassw0rd" % USER, "mallory:%s" % PW])
def test_htpasswd_bad_credentials(creds, dist, noauth_env):
    lay = u.small_image()
    args = ["copy"] + (["--dest-creds", creds] if creds else []) + \
        ["oci:%s:small" % lay, "docker://%s/p2/denied:1" % dist.host]
    p = u.berth(*args, env=noauth_env, check=False)
    msg = u.assert_fails(p, ("unauthorized", "authentication", "credentials", "401", "denied"))
    assert PW not in msg and "Wr0ngPassw0rd" not in msg, "a password in the error: %r" % msg
    assert dist.host in msg or "p2/denied" in msg
    u.assert_registry_no_image(dist.url, "p2/denied", "1", AUTH,
                               digests=[d for _, d, _ in u.read_layout(lay, "small").layers])


# ---------------------------------------------------------------- Bearer

@pytest.fixture
def bearer(reg):
    ts = TokenServer({USER: PW}).start()
    p = Proxy(reg.url, "bearer", tokens=ts).start()
    yield ts, p
    p.stop()
    ts.stop()


def test_bearer_flow_push_and_pull(bearer, reg, noauth_env, tmp_path):
    ts, p = bearer
    lay = u.big_image()
    creds = "%s:%s" % AUTH
    dst = "docker://%s/p2/tok:1" % p.host
    u.berth("copy", "--dest-creds", creds, "oci:%s:big" % lay, dst, env=noauth_env)
    src = u.read_layout(lay, "big")
    u.assert_same_image(u.read_image("docker://%s/p2/tok:1" % reg.host), src, exact=True)
    # the token was fetched for the realm's service and the repository's scope
    assert any("repository:p2/tok:" in s and "push" in s for s in ts.scopes_seen), ts.scopes_seen
    # pull through the token flow
    u.berth("copy", "--src-creds", creds, dst, "oci:%s:b" % (tmp_path / "o"), env=noauth_env)
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "b"), src, exact=True)


@pytest.mark.parametrize("parallel", [1, 4])
def test_bearer_tokens_cached(parallel, bearer, noauth_env):
    """Tokens are cached per scope: one sequential push fetches at most one
    token per scope (pull, then pull+push); with parallel workers, far fewer
    fetches than requests (at most a pair per worker)."""
    ts, p = bearer
    lay = u.many_image()
    u.berth("copy", "--parallel", parallel, "--dest-creds", "%s:%s" % AUTH, "oci:%s:many" % lay,
            "docker://%s/p2/cache-%d:1" % (p.host, parallel), env=noauth_env)
    ok = [r for r in p.requests if r[2] != 401]
    assert len(ok) >= 26  # 13 HEADs, 13 pushes, the manifest
    limit = 3 if parallel == 1 else 2 * parallel
    assert ts.fetches <= limit, "%d token fetches (scopes %s) for %d requests, --parallel %d" % (
        ts.fetches, ts.scopes_seen, len(ok), parallel)


def test_bearer_refetch_after_revocation(bearer, reg, noauth_env):
    """A cached token that starts being refused (401) is fetched again once."""
    ts, p = bearer
    lay = u.small_image()
    creds = "%s:%s" % AUTH
    revoked = []
    orig = p.check_bearer

    def check(h, path):
        ok = orig(h, path)
        if ok and not revoked and "/blobs/" in path:
            revoked.append(path)
            ts.revoke_all()
        return ok
    p.check_bearer = check
    u.berth("copy", "--dest-creds", creds, "oci:%s:small" % lay, "docker://%s/p2/rev:1" % p.host,
            env=noauth_env)
    assert revoked and ts.fetches >= 2
    u.assert_same_image(u.read_image("docker://%s/p2/rev:1" % reg.host), u.read_layout(lay, "small"), exact=True)


def test_bearer_wrong_password(bearer, reg, noauth_env):
    ts, p = bearer
    lay = u.small_image()
    r = u.berth("copy", "--dest-creds", "%s:nope" % USER, "oci:%s:small" % lay,
                "docker://%s/p2/tokbad:1" % p.host, env=noauth_env, check=False)
    u.assert_fails(r, ("unauthorized", "authentication", "credentials", "401", "token", "denied"))
    assert ts.fetches == 0 and ts.refused >= 1
    u.assert_registry_no_image(reg.url, "p2/tokbad", "1")


# ---------------------------------------------------------------- login / logout

def test_login_copy_logout(dist, noauth_env, tmp_path):
    authfile = tmp_path / "auth.json"
    env = dict(noauth_env, REGISTRY_AUTH_FILE=str(authfile))
    lay = u.small_image()
    # wrong password: refused, nothing written
    p = u.berth("login", "--username", USER, "--password-stdin", dist.host, env=env, check=False,
                input=b"bad\n")
    u.assert_fails(p, ("unauthorized", "authentication", "credentials", "401", "denied"))
    assert not authfile.exists() or USER not in authfile.read_text()
    u.berth("login", "--username", USER, "--password-stdin", dist.host, env=env, input=(PW + "\n").encode())
    doc = json.loads(authfile.read_text())
    assert oct(authfile.stat().st_mode & 0o777) == "0o600"
    assert doc["auths"][dist.host]["auth"] == u.basic(USER, PW)
    # skopeo reads what berth wrote
    u.skopeo("copy", "--dest-tls-verify=false", "oci:%s:small" % lay, "docker://%s/p2/li-sk:1" % dist.host, env=env)
    u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/li:1" % dist.host, env=env)
    assert u.registry_tags(dist.url, "p2/li", AUTH) == ["1"]
    u.berth("logout", dist.host, env=env)
    assert dist.host not in json.loads(authfile.read_text()).get("auths", {})
    p = u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/lo:1" % dist.host, env=env, check=False)
    u.assert_fails(p, ("unauthorized", "authentication", "credentials", "401", "denied"))
    p = u.berth("logout", dist.host, env=env, check=False)
    u.assert_fails(p, dist.host)


def test_login_through_token_server(bearer, reg, noauth_env, tmp_path):
    """login checks the credentials with the token flow; the next copy uses them."""
    ts, p = bearer
    env = dict(noauth_env)
    cfg = os.path.join(env["DOCKER_CONFIG"], "config.json")
    r = u.berth("login", "--username", USER, "--password-stdin", p.host, env=env, check=False, input=b"nope\n")
    u.assert_fails(r, ("unauthorized", "authentication", "credentials", "401", "token", "denied"))
    assert not os.path.exists(cfg) or p.host not in open(cfg).read()
    u.berth("login", "--username", USER, "--password-stdin", p.host, env=env, input=(PW + "\n").encode())
    assert ts.fetches >= 1
    # no containers auth.json exists here, so berth writes ~/.docker/config.json
    assert json.load(open(cfg))["auths"][p.host]["auth"] == u.basic(USER, PW)
    lay = u.small_image()
    u.berth("copy", "oci:%s:small" % lay, "docker://%s/p2/after-login:1" % p.host, env=env)
    u.assert_same_image(u.read_image("docker://%s/p2/after-login:1" % reg.host), u.read_layout(lay, "small"),
                        exact=True)
