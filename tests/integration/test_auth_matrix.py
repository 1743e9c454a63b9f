"""The authorization matrix: every kind of caller (system administrators,
project admin, maintainer, developer, guest, a non-member, robots with
pull-only / pull+push / repository-scoped / delete / expired permissions,
anonymous) x every registry action (pull manifest, pull blob, push, delete,
tags list, catalog) and admin action (create project, add member, project
settings, create robot, read audit) x public and private projects, through
Basic credentials on /v2/, Bearer tokens from GET /token and from POST /token
(OAuth2 password grant). Each gets exactly the expected 2xx / 401 / 403 with
an OCI error body and, on 401, a Bearer challenge (realm, service, scope); a
token's access claims are exactly what the caller may do."""
import json
import secrets

import pytest

import authutil as au
from authutil import auth_factory  # noqa: F401  (fixture)
import ocitools as oci

ALL = frozenset(("pull", "push", "delete"))
ROLE = {"admin": ALL, "maintainer": ALL, "developer": frozenset(("pull", "push")),
        "guest": frozenset(("pull",))}
PUBLIC = {"library": True, "pub": True, "priv": False}
REPOS = ["library/base", "pub/app", "priv/app", "priv/other"]
MEMBERS = {"padmin": "admin", "maint": "maintainer", "dev": "developer", "guest": "guest"}
ROBOTS = {
    "rpull": [{"project": "priv", "actions": ["pull"]}],
    "rpush": [{"project": "priv", "actions": ["pull", "push"]}],
    "rrepo": [{"project": "priv", "repository": "priv/app", "actions": ["pull", "push"]}],
    "rdel": [{"project": "priv", "actions": ["pull", "push", "delete"]}],
    "rexp": [{"project": "priv", "actions": ["pull", "push"]}],
}
WHO = ["admin", "sysadmin2", "padmin", "maint", "dev", "guest", "pubdev", "outsider",
       "rpull", "rpush", "rrepo", "rdel", "rexp", "anonymous"]
# Public projects allow anonymous pull, so robots may pull from them too (as
# in Harbor). docs/access-control.md does not say it for robots explicitly.
ROBOT_PULLS_PUBLIC = True
# Requests of the expired robot come from their own client address: the
# server may count them as failed logins, which must not throttle the others.
EXPIRED_SOURCE = "127.0.0.99"


def allowed(who, repo):
    """The actions `who` may perform on `repo`, from the contract."""
    project = repo.split("/")[0]
    public = PUBLIC[project]
    if who in ("admin", "sysadmin2"):
        return ALL
    if who == "anonymous" or who == "outsider":
        return frozenset(("pull",)) if public else frozenset()
    if who in MEMBERS:
        acts = set(ROLE[MEMBERS[who]]) if project in ("pub", "priv") else set()
        if public:
            acts.add("pull")
        return frozenset(acts)
    if who == "pubdev":
        return ROLE["developer"] if project == "pub" else frozenset(("pull",)) if public else frozenset()
    if who in ROBOTS:
        acts = set()
        for p in ROBOTS[who]:
            if p["project"] == project and p.get("repository", repo) == repo:
                acts |= set(p["actions"])
        if public and ROBOT_PULLS_PUBLIC:
            acts.add("pull")
        return frozenset(acts)
    raise AssertionError(who)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    gen = au.module_server(tmp_path_factory)
    srv = next(gen)
    creds = {"admin": srv.admin, "anonymous": None}
    creds["sysadmin2"] = srv.add_user("sysadmin2", sysadmin=True)
    for name in list(MEMBERS) + ["pubdev", "outsider", "bystander"]:
        creds[name] = srv.add_user(name)
    srv.add_project("pub", public=True)
    srv.add_project("priv", public=False)
    for project in ("pub", "priv"):
        for user, role in MEMBERS.items():
            srv.set_member(project, user, role)
    srv.set_member("pub", "pubdev", "developer")
    for name, perms in ROBOTS.items():
        creds[name] = srv.add_robot(name, perms, expires_in_days=30)
    srv.expire_robot(creds["rexp"][0])
    layers = {}
    for repo in REPOS:
        _, layers[repo] = srv.seed(repo, "1")
    srv.creds = creds
    srv.layers = layers
    yield srv
    try:
        next(gen)
    except StopIteration:
        pass


def source_of(who):
    return EXPIRED_SOURCE if who == "rexp" else None


def check_denied(srv, r, mode, who, repo, action, what):
    """The shape of a refusal for this caller and credential mode."""
    if who == "rexp":
        # An expired robot: its credentials may be refused outright (401),
        # it may be denied (403), or throttled after repeated refusals (429).
        au.assert_status(r, (401, 403, 429), what)
        return
    if mode == "basic" and who == "anonymous":
        au.assert_status(r, 401, what)
        au.assert_challenge(srv, r, repo, action)
        return
    if mode == "basic":
        au.assert_status(r, 403, what)
        return
    au.assert_status(r, (401, 403), what)
    if r.status_code == 401:
        p = au.assert_challenge(srv, r, repo, action)
        assert p.get("error") == "insufficient_scope", "%s: challenge %s" % (what, p)


def cred_for(srv, who, mode, repo):
    """The credential to send: Basic, or a token asked for every action on `repo`."""
    c = srv.creds[who]
    if mode == "basic":
        return c
    scopes = ["repository:%s:pull,push,delete" % repo]
    if who == "anonymous":
        if mode == "post":
            return None   # the password grant needs a user; anonymous uses GET
        body = srv.token(None, scopes)
    elif who == "rexp":
        r = srv.req("GET", "/token", c, params=[("service", "berth"), ("scope", scopes[0])],
                    source=EXPIRED_SOURCE)
        if r.status_code != 200:
            au.assert_status(r, (401, 429), "token for an expired robot")
            return c   # no token: try its Basic credentials instead
        body = r.json()
        srv.remember_token(body["token"])
        assert au.access_of(body["token"], repo) == set(), body
        return body["token"]
    else:
        body = srv.token(c, scopes, post=(mode == "post"))
    tok = body["token"]
    got = au.access_of(tok, repo)
    assert got == set(allowed(who, repo)), "%s's token for %s grants %s, want %s" % (
        who, repo, sorted(got), sorted(allowed(who, repo)))
    return tok


@pytest.mark.parametrize("mode", ["basic", "get", "post"])
@pytest.mark.parametrize("repo", REPOS)
@pytest.mark.parametrize("who", WHO)
def test_registry_actions(world, who, repo, mode):
    srv = world
    if mode == "post" and who == "anonymous":
        # The OAuth2 password grant has no anonymous form: without a user
        # name the token service refuses, and gives no token.
        r = srv.req("POST", "/token", data={"grant_type": "password", "service": "berth",
                                            "client_id": "berth-tests",
                                            "scope": "repository:%s:pull,push,delete" % repo},
                    source=source_of(who))
        assert r.status_code in (400, 401), (r.status_code, r.content[:300])
        try:
            body = r.json()
        except ValueError:
            body = None
        assert not (isinstance(body, dict) and ("token" in body or "access_token" in body)), body
        return
    cred = cred_for(srv, who, mode, repo)
    want = allowed(who, repo) if who != "rexp" else frozenset()
    src = source_of(who)
    problems = []

    def expect(action, r, ok_status, what):
        try:
            if action in want:
                au.assert_status(r, ok_status, what)
            else:
                check_denied(srv, r, mode, who, repo, action, what)
        except AssertionError as e:
            problems.append(str(e))

    # pull: manifest, blob, tags list
    r = srv.req("GET", "/v2/%s/manifests/1" % repo, cred, source=src,
                headers={"Accept": oci.OCI_MANIFEST})
    expect("pull", r, 200, "GET manifest")
    r = srv.req("GET", "/v2/%s/blobs/%s" % (repo, srv.layers[repo]), cred, source=src)
    expect("pull", r, 200, "GET blob")
    r = srv.req("GET", "/v2/%s/tags/list" % repo, cred, source=src)
    expect("pull", r, 200, "GET tags/list")
    if r.status_code == 200 and "pull" in want:
        if "1" not in r.json().get("tags", []):
            problems.append("tags list lacks '1': %r" % r.content[:300])

    # push: blobs then manifest, under a fresh tag
    tag = "push-%s-%s-%s" % (who, mode, secrets.token_hex(3))
    resps, _ = srv.push(repo, tag, cred, source=src)
    expect("push", resps[-1], 201, "push (%d requests)" % len(resps))
    stored = srv.req("GET", "/v2/%s/manifests/%s" % (repo, tag), srv.admin,
                     headers={"Accept": oci.OCI_MANIFEST}).status_code
    if ("push" in want) != (stored == 200):
        problems.append("after the push, the tag is %s" % ("there" if stored == 200 else "absent"))

    # delete: a victim manifest pushed by the system administrator
    vdigest, _ = srv.seed(repo, "victim-%s" % secrets.token_hex(4))
    r = srv.req("DELETE", "/v2/%s/manifests/%s" % (repo, vdigest), cred, source=src)
    expect("delete", r, 202, "DELETE manifest")
    left = srv.req("GET", "/v2/%s/manifests/%s" % (repo, vdigest), srv.admin,
                   headers={"Accept": oci.OCI_MANIFEST}).status_code
    if ("delete" in want) != (left == 404):
        problems.append("after the delete, the manifest answers %d" % left)

    assert not problems, "%s on %s (%s):\n  %s" % (who, repo, mode, "\n  ".join(problems))


def catalog(srv, cred, source=None):
    return srv.req("GET", "/v2/_catalog", cred, params={"n": 1000}, source=source)


@pytest.mark.parametrize("who", WHO)
def test_catalog_shows_only_pullable(world, who):
    srv = world
    want = sorted(r for r in REPOS if "pull" in allowed(who, r)) if who != "rexp" else []
    r = catalog(srv, srv.creds[who], source_of(who))
    if who == "rexp":
        au.assert_status(r, (200, 401, 403, 429))
        if r.status_code == 200:
            assert [x for x in r.json()["repositories"] if x in REPOS] == []
        return
    if who == "anonymous" and r.status_code == 401:
        # The contract does not say whether anonymous callers may list the
        # catalog; if not, it is a proper challenge.
        au.assert_challenge(srv, r)
        return
    au.assert_status(r, 200, "catalog as %s" % who)
    got = sorted(x for x in r.json()["repositories"] if x in REPOS)
    assert got == want, "%s sees %s, want %s" % (who, got, want)


@pytest.mark.parametrize("who", [w for w in WHO if w not in ("anonymous", "rexp")])
def test_catalog_with_bearer(world, who):
    """With a token for registry:catalog:*, a caller sees only what they may
    pull (or is refused the catalog altogether): never more."""
    srv = world
    tok = srv.bearer(srv.creds[who], "registry:catalog:*")
    r = catalog(srv, tok)
    au.assert_status(r, (200, 401, 403))
    if r.status_code == 200:
        got = sorted(x for x in r.json()["repositories"] if x in REPOS)
        assert got == sorted(x for x in REPOS if "pull" in allowed(who, x)), (who, got)
    else:
        assert who not in ("admin", "sysadmin2"), "a system administrator may list the catalog"


# ---------------------------------------------------------------- admin actions

SYSADMINS = ("admin", "sysadmin2")


def admin_expect(who, ok, allowed_for):
    if who in allowed_for:
        return ok
    if who == "anonymous":
        return 401
    if who == "rexp":
        return (401, 403, 429)
    return 403


@pytest.mark.parametrize("who", WHO)
def test_admin_create_project(world, who):
    srv = world
    name = "np-%s" % secrets.token_hex(4)
    r = srv.api("POST", "/projects", {"name": name, "public": False}, cred=srv.creds[who],
                source=source_of(who))
    au.assert_status(r, admin_expect(who, 201, SYSADMINS), "create project as %s" % who)
    exists = srv.api("GET", "/projects/%s" % name).status_code
    assert exists == (200 if who in SYSADMINS else 404), exists


@pytest.mark.parametrize("project", ["pub", "priv"])
@pytest.mark.parametrize("who", WHO)
def test_admin_members_and_settings(world, who, project):
    srv = world
    cred = srv.creds[who]
    allowed_for = SYSADMINS + ("padmin",)
    path = "/projects/%s/members/bystander" % project
    r = srv.api("PUT", path, {"role": "guest"}, cred=cred, source=source_of(who))
    au.assert_status(r, admin_expect(who, 204, allowed_for), "add member as %s" % who)
    members = srv.api("GET", "/projects/%s/members" % project, expect=200).json()
    has = any(m["user"] == "bystander" and m["role"] == "guest" for m in members)
    assert has == (who in allowed_for), members
    r = srv.api("GET", "/projects/%s/members" % project, cred=cred, source=source_of(who))
    au.assert_status(r, admin_expect(who, 200, allowed_for), "list members as %s" % who)
    if not has:
        srv.api("PUT", path, {"role": "guest"}, expect=204)
    r = srv.api("DELETE", path, cred=cred, source=source_of(who))
    au.assert_status(r, admin_expect(who, 204, allowed_for), "remove member as %s" % who)
    if who not in allowed_for:
        srv.api("DELETE", path, expect=204)
    members = srv.api("GET", "/projects/%s/members" % project, expect=200).json()
    assert not any(m["user"] == "bystander" for m in members), members
    # settings: set the project's visibility to what it already is
    r = srv.api("PUT", "/projects/%s" % project, {"public": PUBLIC[project]}, cred=cred,
                source=source_of(who))
    au.assert_status(r, admin_expect(who, 204, allowed_for), "project settings as %s" % who)
    assert srv.api("GET", "/projects/%s" % project, expect=200).json()["public"] == PUBLIC[project]


@pytest.mark.parametrize("who", WHO)
def test_admin_create_robot_and_read_audit(world, who):
    srv = world
    cred = srv.creds[who]
    name = "rb%s" % secrets.token_hex(4)
    r = srv.api("POST", "/robots", {"name": name, "expires_in_days": 1,
                                    "permissions": [{"project": "pub", "actions": ["pull"]}]},
                cred=cred, source=source_of(who))
    au.assert_status(r, admin_expect(who, 201, SYSADMINS), "create robot as %s" % who)
    if r.status_code == 201:
        srv.remember_basic(r.json()["name"], r.json()["secret"])
    names = [x["name"] for x in srv.api("GET", "/robots", expect=200).json()]
    listed = ("robot$" + name) in names or name in names
    assert listed == (who in SYSADMINS), names
    r = srv.api("GET", "/audit", cred=cred, params={"limit": 5}, source=source_of(who))
    au.assert_status(r, admin_expect(who, 200, SYSADMINS), "read audit as %s" % who)
    r = srv.api("GET", "/users", cred=cred, source=source_of(who))
    au.assert_status(r, admin_expect(who, 200, SYSADMINS), "list users as %s" % who)


def test_admin_api_with_bearer_token(world):
    srv = world
    tok = srv.bearer(srv.admin)
    au.assert_status(srv.api("GET", "/users", cred=tok), 200)
    tok = srv.bearer(srv.creds["dev"])
    au.assert_status(srv.api("GET", "/users", cred=tok), 403)
    au.assert_status(srv.api("GET", "/projects/priv", cred=tok), 200)


# ---------------------------------------------------------------- details

def test_v2_base_challenge_and_basic(world):
    srv = world
    r = srv.req("GET", "/v2/")
    au.assert_status(r, 401)
    p = au.assert_challenge(srv, r)
    assert "scope" not in p, p
    for who in ("admin", "guest", "outsider", "rpull"):
        au.assert_status(srv.req("GET", "/v2/", srv.creds[who]), 200, "/v2/ as %s" % who)
    r = srv.req("GET", "/v2/", ("guest", "not-" + srv.creds["guest"][1]), source="127.0.0.98")
    au.assert_status(r, 401)
    au.assert_challenge(srv, r)
    # the realm works, anonymously: a token with only public pulls
    tok = srv.bearer(None, "repository:pub/app:pull,push", "repository:priv/app:pull")
    assert au.access_of(tok, "pub/app") == {"pull"}
    assert au.access_of(tok, "priv/app") == set()


def test_library_exists_and_is_public(world):
    srv = world
    r = srv.api("GET", "/projects/library", cred=None)
    au.assert_status(r, 200)
    assert r.json()["public"] is True
    names = {p["name"]: p["public"] for p in srv.api("GET", "/projects", cred=None, expect=200).json()}
    assert names.get("library") is True and names.get("pub") is True
    assert "priv" not in names, "anonymous callers see the private project"
    names = {p["name"] for p in srv.api("GET", "/projects", cred=srv.creds["outsider"], expect=200).json()}
    assert "priv" not in names
    names = {p["name"] for p in srv.api("GET", "/projects", cred=srv.creds["guest"], expect=200).json()}
    assert "priv" in names


def test_push_into_missing_project(world):
    srv = world
    name = "nope%s" % secrets.token_hex(3)
    resps, _ = srv.push("%s/app" % name, "1", srv.creds["dev"])
    r = au.assert_status(resps[-1], 403)
    assert "does not exist" in r.json()["errors"][0]["message"].lower(), r.json()
    assert srv.api("GET", "/projects/%s" % name).status_code == 404
    # a system administrator's push creates it, private
    resps, _ = srv.push("%s/app" % name, "1", srv.creds["sysadmin2"])
    au.assert_status(resps[-1], 201)
    got = srv.api("GET", "/projects/%s" % name, expect=200).json()
    assert got["public"] is False, got
    au.assert_status(srv.req("GET", "/v2/%s/app/tags/list" % name), 401)
    srv.api("DELETE", "/projects/%s" % name, expect=204)


def test_mount_needs_pull_on_the_source(world):
    """pubdev may push to pub but not pull from priv: mounting a priv blob
    into pub must not give it the blob."""
    srv = world
    layer = srv.layers["priv/app"]
    r = srv.req("POST", "/v2/pub/app/blobs/uploads/", srv.creds["pubdev"],
                params={"mount": layer, "from": "priv/app"})
    assert r.status_code in (202, 401, 403), (r.status_code, r.content[:300])
    r = srv.req("HEAD", "/v2/pub/app/blobs/%s" % layer, srv.creds["pubdev"])
    assert r.status_code == 404, r.status_code
    # the maintainer of both may mount it
    r = srv.req("POST", "/v2/pub/app/blobs/uploads/", srv.creds["maint"],
                params={"mount": layer, "from": "priv/app"})
    au.assert_status(r, (201, 202))


def test_role_change_takes_effect(world):
    srv = world
    user = srv.add_user("mover")
    srv.set_member("priv", "mover", "guest")
    resps, _ = srv.push("priv/app", "mover", user)
    au.assert_status(resps[-1], 403)
    srv.set_member("priv", "mover", "developer")
    resps, _ = srv.push("priv/app", "mover", user)
    au.assert_status(resps[-1], 201)
    srv.api("DELETE", "/projects/priv/members/mover", expect=204)
    au.assert_status(srv.req("GET", "/v2/priv/app/manifests/mover", user,
                             headers={"Accept": oci.OCI_MANIFEST}), 403)
    assert json.loads(srv.req("GET", "/v2/priv/app/manifests/mover", srv.admin,
                              headers={"Accept": oci.OCI_MANIFEST}).content)["schemaVersion"] == 2
