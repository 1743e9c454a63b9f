"""The admin API (/api/v1/) as the system administrator and as users
acting on themselves: users, passwords, projects and their visibility,
members, robots (secret shown once), the audit log (push, pull, delete,
login failure, admin change: who, what, when, from where, result; newest
first; limit and before); and the `berth admin` CLI that drives it,
including `user import htpasswd`."""
import crypt  # noqa: deprecated in 3.11, present until 3.13: bcrypt hashes for htpasswd
import datetime
import json
import secrets
import warnings

import pytest

import authutil as au
from authutil import auth_factory, client_env as env  # noqa: F401  (fixtures)
import ocitools as oci
import copyutil as u

warnings.filterwarnings("ignore", category=DeprecationWarning)
ACCEPT = {"Accept": oci.OCI_MANIFEST}


@pytest.fixture
def srv(auth_factory):
    s = auth_factory()
    s.add_project("team")
    return s


def test_users_lifecycle(srv):
    s = srv
    c = s.add_user("alice")
    users = {x["name"]: x for x in s.api("GET", "/users", expect=200).json()}
    assert users["alice"]["sysadmin"] is False
    created = datetime.datetime.fromisoformat(users["alice"]["created_at"].replace("Z", "+00:00"))
    assert abs(created.timestamp() - datetime.datetime.now().timestamp()) < 120
    assert all("password" not in x and not any(str(v).startswith("$2") for v in x.values())
               for x in users.values()), users
    au.assert_status(s.req("GET", "/v2/", c), 200)
    # alice changes her own password; bob may not change hers
    new = s.remember(au.rand_secret("new"))
    s.remember_basic("alice", new)
    bob = s.add_user("bob")
    au.assert_status(s.api("PUT", "/users/alice/password", {"password": au.rand_secret()}, cred=bob), 403)
    au.assert_status(s.api("PUT", "/users/alice/password", {"password": new}, cred=c), 400)
    au.assert_status(s.api("PUT", "/users/alice/password",
                           {"password": new, "current_password": c[1]}, cred=c), 204)
    au.assert_status(s.req("GET", "/v2/", c, source="127.0.9.1"), 401)
    au.assert_status(s.req("GET", "/v2/", ("alice", new)), 200)
    # a non-sysadmin cannot list or create users
    au.assert_status(s.api("GET", "/users", cred=bob), 403)
    au.assert_status(s.api("POST", "/users", {"name": "eve", "password": au.rand_secret()}, cred=bob), 403)
    # delete
    s.api("DELETE", "/users/alice", expect=204)
    assert "alice" not in [x["name"] for x in s.api("GET", "/users", expect=200).json()]
    au.assert_status(s.req("GET", "/v2/", ("alice", new), source="127.0.9.2"), 401)
    # a second system administrator
    root2 = s.add_user("root2", sysadmin=True)
    au.assert_status(s.api("GET", "/users", cred=root2), 200)


def test_project_visibility_switch(srv):
    s = srv
    s.seed("team/app")
    au.assert_status(s.req("GET", "/v2/team/app/manifests/1", headers=ACCEPT), 401)
    assert s.api("GET", "/projects/team", expect=200).json() == {"name": "team", "public": False}
    s.api("PUT", "/projects/team", {"public": True}, expect=204)
    au.assert_status(s.req("GET", "/v2/team/app/manifests/1", headers=ACCEPT), 200)
    assert s.api("GET", "/projects/team", cred=None, expect=200).json()["public"] is True
    s.api("PUT", "/projects/team", {"public": False}, expect=204)
    au.assert_status(s.req("GET", "/v2/team/app/manifests/1", headers=ACCEPT), 401)
    # delete a project: its repositories are no longer served to anyone but... nobody
    s.add_project("gone", public=True)
    s.seed("gone/app")
    s.api("DELETE", "/projects/gone", expect=204)
    assert s.api("GET", "/projects/gone").status_code == 404
    assert "gone" not in [p["name"] for p in s.api("GET", "/projects", expect=200).json()]


def test_members(srv):
    s = srv
    s.add_user("m1")
    s.add_user("m2")
    s.set_member("team", "m1", "admin")
    s.set_member("team", "m2", "guest")
    got = sorted((m["user"], m["role"]) for m in s.api("GET", "/projects/team/members", expect=200).json())
    assert got == [("m1", "admin"), ("m2", "guest")], got
    # the project admin promotes m2, then removes it
    s.set_member("team", "m2", "maintainer", cred=("m1", s.users["m1"]))
    got = dict((m["user"], m["role"]) for m in s.api("GET", "/projects/team/members", expect=200).json())
    assert got["m2"] == "maintainer"
    s.api("DELETE", "/projects/team/members/m2", cred=("m1", s.users["m1"]), expect=204)
    got = [m["user"] for m in s.api("GET", "/projects/team/members", expect=200).json()]
    assert got == ["m1"]
    # one role per user per project: setting again replaces
    s.set_member("team", "m1", "developer")
    got = s.api("GET", "/projects/team/members", expect=200).json()
    assert got == [{"user": "m1", "role": "developer"}], got


def test_robot_secret_shown_once(srv):
    s = srv
    login, secret = s.add_robot("builder", [{"project": "team", "actions": ["pull", "push"]}], expires_in_days=7)
    lst = s.api("GET", "/robots", expect=200).text
    assert secret not in lst
    robots = json.loads(lst)
    r = [x for x in robots if x["name"] in (login, "builder")]
    assert len(r) == 1, robots
    r = r[0]
    assert "secret" not in r
    exp = datetime.datetime.fromisoformat(r["expires_at"].replace("Z", "+00:00")).timestamp()
    assert abs(exp - (datetime.datetime.now().timestamp() + 7 * 86400)) < 3600, r
    assert r["permissions"][0]["project"] == "team"
    assert sorted(r["permissions"][0]["actions"]) == ["pull", "push"]
    au.assert_status(s.req("GET", "/v2/", (login, secret)), 200)
    resps, _ = s.push("team/robot", "1", (login, secret))
    au.assert_status(resps[-1], 201)
    # a second robot of the same name: 409
    au.assert_status(s.api("POST", "/robots", {"name": "builder", "permissions": [
        {"project": "team", "actions": ["pull"]}]}), 409)
    # the database never holds the secret or any password in clear
    import glob
    import os
    for f in glob.glob(os.path.join(s.data, "*.db*")):
        with open(f, "rb") as fh:
            data = fh.read()
        for x in (secret, s.admin_password):
            assert x.encode() not in data, "a secret in clear in %s" % f


def _audit(s, **params):
    return s.api("GET", "/audit", params=params, expect=200).json()


def test_audit_log(srv):
    s = srv
    dev = s.add_user("dev")
    s.set_member("team", "dev", "maintainer")
    resps, digest = s.push("team/app", "1", dev)
    au.assert_status(resps[-1], 201)
    au.assert_status(s.req("GET", "/v2/team/app/manifests/1", dev, headers=ACCEPT), 200)
    au.assert_status(s.req("DELETE", "/v2/team/app/manifests/%s" % digest, dev), 202)
    au.assert_status(s.req("GET", "/v2/", ("dev", "wrong-password-xyz"), source="127.0.9.9"), 401)
    s.add_user("audited")

    entries = _audit(s, limit=200)
    for e in entries:
        assert set(e) >= {"id", "time", "who", "action", "resource", "address", "result"}, e
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True), "not newest first"

    def find(who, action_word, resource_word, address=None):
        for e in entries:
            if e["who"] == who and action_word in e["action"].lower() and resource_word in str(e["resource"]) \
                    and (address is None or e["address"] == address):
                return e
        raise AssertionError("no audit entry %s/%s/%s in:\n%s" % (
            who, action_word, resource_word, "\n".join(json.dumps(x) for x in entries)))

    push = find("dev", "push", "team/app", "127.0.0.1")
    pull = find("dev", "pull", "team/app", "127.0.0.1")
    dele = find("dev", "delete", "team/app", "127.0.0.1")
    fail = find("dev", "login", "", "127.0.9.9")
    assert fail["result"] != push["result"], (fail, push)
    admin_change = find("admin", "user", "audited")
    assert admin_change["id"] > dele["id"] > pull["id"] > push["id"]
    t = datetime.datetime.fromisoformat(push["time"].replace("Z", "+00:00")).timestamp()
    assert abs(t - datetime.datetime.now().timestamp()) < 300
    # limit and before
    two = _audit(s, limit=2)
    assert [e["id"] for e in two] == ids[:2]
    older = _audit(s, limit=3, before=ids[1])
    assert [e["id"] for e in older] == ids[2:5]
    # the audit log never holds a password
    raw = s.api("GET", "/audit", params={"limit": 500}, expect=200).text
    assert "wrong-password-xyz" not in raw and s.users["dev"] not in raw


# ---------------------------------------------------------------- the CLI

def admin_cli(s, env, *args, check=True, input=None):
    return u.berth("admin", "--server", s.url, *args, env=env, check=check, input=input)


@pytest.fixture
def cli(srv, env, tmp_path):
    env = dict(env, REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"))
    u.berth("login", "--username", "admin", "--password-stdin", srv.host, env=env,
            input=(srv.admin_password + "\n").encode())
    return env


def test_cli_drives_the_api(srv, cli):
    s, env = srv, cli
    pw = s.remember(au.rand_secret("cli"))
    s.remember_basic("carol", pw)
    admin_cli(s, env, "user", "add", "carol", "--password-stdin", input=(pw + "\n").encode())
    au.assert_status(s.req("GET", "/v2/", ("carol", pw)), 200)
    users = json.loads(admin_cli(s, env, "--format", "json", "user", "list").stdout)
    assert "carol" in [x["name"] for x in users]
    admin_cli(s, env, "project", "create", "cliproj")
    admin_cli(s, env, "member", "add", "cliproj", "carol", "developer")
    got = s.api("GET", "/projects/cliproj/members", expect=200).json()
    assert got == [{"user": "carol", "role": "developer"}]
    admin_cli(s, env, "project", "set", "cliproj", "--public=true")
    assert s.api("GET", "/projects/cliproj", expect=200).json()["public"] is True
    p = admin_cli(s, env, "--format", "json", "robot", "create", "clibot", "--permission", "cliproj:pull,push",
                  "--expires-days", "3")
    bot = json.loads(p.stdout)
    s.remember_basic(bot["name"], bot["secret"])
    assert bot["name"] == "robot$clibot"
    au.assert_status(s.req("GET", "/v2/", (bot["name"], bot["secret"])), 200)
    audit = json.loads(admin_cli(s, env, "--format", "json", "audit", "--limit", "5").stdout)
    assert len(audit) == 5 and audit[0]["id"] > audit[-1]["id"]
    admin_cli(s, env, "member", "remove", "cliproj", "carol")
    admin_cli(s, env, "robot", "delete", "robot$clibot")
    admin_cli(s, env, "user", "delete", "carol")
    au.assert_status(s.req("GET", "/v2/", ("carol", pw), source="127.0.9.20"), 401)
    # errors: one line, exit 1, no secret in it
    p = admin_cli(s, env, "member", "add", "cliproj", "nobody", "guest", check=False)
    msg = u.assert_fails(p, ("nobody", "not found", "unknown"))
    assert s.admin_password not in msg


def test_cli_imports_htpasswd(srv, cli, tmp_path):
    s, env = srv, cli
    pw_b, pw_s = au.rand_secret("imp"), au.rand_secret("imp")
    for n, p in (("hb", pw_b), ("hs", pw_s)):
        s.remember_basic(n, p)
    salt = "".join(secrets.choice("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                   for _ in range(21)) + "O"   # the last salt char carries 2 bits: keep it valid
    hb = crypt.crypt(pw_b, "$2y$05$" + salt)
    hs = crypt.crypt(pw_s, crypt.mksalt(crypt.METHOD_SHA512))
    assert hb and hb.startswith("$2y$") and hs.startswith("$6$")
    f = tmp_path / "htpasswd"
    f.write_text("# imported\nhb:%s\n\nhs:%s\n" % (hb, hs))
    admin_cli(s, env, "user", "import", "htpasswd", str(f))
    au.assert_status(s.req("GET", "/v2/", ("hb", pw_b)), 200)
    au.assert_status(s.req("GET", "/v2/", ("hs", pw_s)), 200)
    # an unsupported scheme fails the whole file, naming the line, importing nothing
    bad = tmp_path / "bad"
    bad.write_text("ok1:%s\nmd5:$apr1$abcdefgh$0123456789abcdefghijkl\n" % hb)
    p = admin_cli(s, env, "user", "import", "htpasswd", str(bad), check=False)
    u.assert_fails(p, "2")
    assert "ok1" not in [x["name"] for x in s.api("GET", "/users", expect=200).json()]
