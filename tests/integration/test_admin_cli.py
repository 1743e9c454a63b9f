"""`berth admin`: the CLI of the admin API (docs/access-control.md).

Two halves:
- against an in-process fake of the /api/v1/ contract (a small Python HTTP
  server that keeps users, projects, members and robots in memory and
  records every request): what the CLI sends (methods, paths, JSON bodies,
  whose Basic credentials, the global vs the command's --password-stdin),
  how it prints (aligned tables, the API's JSON, a robot secret once),
  how it fails (one line "berth admin: <server message>", exit 1; usage
  errors exit 2; --help at every level) and that no password leaks;
- against the real `berth serve --auth`:
  the same commands end to end, with text output.
test_auth_admin.py drives the CLI against the real server too.
"""
import base64
import crypt  # noqa: deprecated in 3.11, present until 3.13: hashes for htpasswd files
import datetime
import http.server
import json
import re
import threading
import warnings

import pytest

import authutil as au
from authutil import auth_factory, client_env as env  # noqa: F401  (fixtures)
import copyutil as u

warnings.filterwarnings("ignore", category=DeprecationWarning)

ADMIN_PW = "Adm1n-" + au.rand_secret("fake")


def oci_error(code, message):
    return {"errors": [{"code": code, "message": message}]}


class FakeAdminAPI:
    """The /api/v1/ contract in memory (sysadmin checks only: enough for the CLI)."""

    def __init__(self):
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.users = {"admin": {"password": ADMIN_PW, "sysadmin": True, "created_at": now}}
        self.projects = {"library": True}
        self.members = {}
        self.robots = {}
        self.audit = [{"id": i, "time": now, "who": "admin", "action": "user.create",
                       "resource": "u%d" % i, "address": "127.0.0.1", "result": "ok"}
                      for i in range(1, 31)]
        self.requests = []   # (method, path with query, parsed body or None, basic user)
        self.lock = threading.Lock()
        self.now = now

    def handle(self, method, path, raw, authz):
        user = None
        if authz and authz.startswith("Basic "):
            user, _, pw = base64.b64decode(authz[6:]).decode().partition(":")
            if user not in self.users or self.users[user].get("password") != pw:
                return 401, oci_error("UNAUTHORIZED", "invalid credentials")
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, oci_error("INVALID", "bad JSON")
        self.requests.append((method, path, body, user))
        if path == "/v2/":
            return (200, {}) if user else (401, oci_error("UNAUTHORIZED", "authentication required"))
        if not path.startswith("/api/v1/"):
            return 404, oci_error("NOT_FOUND", "no such endpoint")
        if user is None:
            return 401, oci_error("UNAUTHORIZED", "authentication required")
        if not self.users[user]["sysadmin"]:
            return 403, oci_error("DENIED", "system administrators only")
        p = path[len("/api/v1"):]
        p, _, query = p.partition("?")
        parts = p.strip("/").split("/")
        noun, rest = parts[0], parts[1:]
        if noun == "users":
            if method == "GET" and not rest:
                return 200, [{"name": n, "sysadmin": v["sysadmin"], "created_at": v["created_at"]}
                             for n, v in sorted(self.users.items())]
            if method == "POST" and not rest:
                n = body.get("name")
                if n in self.users:
                    return 409, oci_error("CONFLICT", "user %s already exists" % n)
                if ("password" in body) == ("password_hash" in body):
                    return 400, oci_error("INVALID", "give password or password_hash")
                self.users[n] = {"password": body.get("password"), "hash": body.get("password_hash"),
                                 "sysadmin": bool(body.get("sysadmin")), "created_at": self.now}
                return 201, {"name": n, "sysadmin": self.users[n]["sysadmin"]}
            if rest and rest[0] not in self.users:
                return 404, oci_error("NOT_FOUND", "user %s does not exist" % rest[0])
            if method == "DELETE" and len(rest) == 1:
                del self.users[rest[0]]
                return 204, None
            if method == "PUT" and rest[1:] == ["password"]:
                self.users[rest[0]]["password"] = body["password"]
                return 204, None
        if noun == "projects":
            if method == "GET" and not rest:
                return 200, [{"name": n, "public": v} for n, v in sorted(self.projects.items())]
            if method == "POST" and not rest:
                if body["name"] in self.projects:
                    return 409, oci_error("CONFLICT", "project %s already exists" % body["name"])
                self.projects[body["name"]] = bool(body.get("public"))
                return 201, {"name": body["name"], "public": self.projects[body["name"]]}
            if rest and rest[0] not in self.projects:
                return 404, oci_error("NOT_FOUND", "project %s does not exist" % rest[0])
            if len(rest) == 1 and method == "PUT":
                self.projects[rest[0]] = body["public"]
                return 204, None
            if len(rest) == 1 and method == "DELETE":
                del self.projects[rest[0]]
                return 204, None
            if rest[1:] == ["members"] and method == "GET":
                return 200, [{"user": k[1], "role": v} for k, v in sorted(self.members.items())
                             if k[0] == rest[0]]
            if len(rest) == 3 and rest[1] == "members":
                if rest[2] not in self.users:
                    return 404, oci_error("NOT_FOUND", "user %s does not exist" % rest[2])
                if method == "PUT":
                    self.members[(rest[0], rest[2])] = body["role"]
                    return 204, None
                if method == "DELETE":
                    if self.members.pop((rest[0], rest[2]), None) is None:
                        return 404, oci_error("NOT_FOUND", "%s is not a member" % rest[2])
                    return 204, None
        if noun == "robots":
            if method == "GET" and not rest:
                return 200, [{"name": n, "expires_at": v["expires_at"], "permissions": v["permissions"]}
                             for n, v in sorted(self.robots.items())]
            if method == "POST" and not rest:
                n = "robot$" + body["name"]
                if n in self.robots:
                    return 409, oci_error("CONFLICT", "robot %s already exists" % n)
                secret = au.rand_secret("robot")
                exp = body.get("expires_in_days")
                self.robots[n] = {"expires_at": exp and "2099-01-0%dT00:00:00Z" % min(exp, 9),
                                  "permissions": body["permissions"], "secret": secret}
                return 201, {"name": n, "secret": secret, "expires_at": self.robots[n]["expires_at"]}
            if method == "DELETE" and len(rest) == 1:
                # this fake knows robots only by their login name
                if self.robots.pop(rest[0], None) is None:
                    return 404, oci_error("NOT_FOUND", "robot %s does not exist" % rest[0])
                return 204, None
        if noun == "audit" and method == "GET":
            q = dict(x.split("=", 1) for x in query.split("&") if "=" in x)
            got = [e for e in reversed(self.audit) if "before" not in q or e["id"] < int(q["before"])]
            return 200, got[:int(q.get("limit", 100))]
        return 405, oci_error("UNSUPPORTED", "%s %s" % (method, path))


@pytest.fixture
def fake():
    api = FakeAdminAPI()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _any(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            with api.lock:
                status, obj = api.handle(self.command, self.path, raw,
                                         self.headers.get("Authorization"))
            data = b"" if obj is None else json.dumps(obj).encode()
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", 'Basic realm="fake"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    api.host = "127.0.0.1:%d" % srv.server_address[1]
    api.url = "http://" + api.host
    yield api
    srv.shutdown()
    srv.server_close()


def admin(url, env, *args, check=True, input=None, pw=ADMIN_PW):
    """berth admin as the administrator (-u admin, password on stdin's first line)."""
    glob = ["--server", url]
    if pw is not None:
        glob += ["-u", "admin", "--password-stdin"]
        input = (pw + "\n").encode() + (input or b"")
    return u.berth("admin", *glob, *args, env=env, check=check, input=input)


def out(p):
    return p.stdout.decode()


def no_secret(p, *secrets_):
    text = (p.stdout + p.stderr).decode("utf-8", "replace")
    for s in secrets_:
        assert s not in text, "a secret in berth admin's output"


# ---------------------------------------------------------------- help and usage

def test_help_at_every_level(env):
    for args in (["--help"], ["help"], ["user", "--help"], ["user", "add", "--help"],
                 ["user", "import", "--help"], ["project", "-h"], ["project", "set", "--help"],
                 ["member", "--help"], ["member", "add", "--help"], ["robot", "create", "--help"],
                 ["audit", "--help"]):
        p = u.berth("admin", *args, env=env, check=False)
        assert p.returncode == 0, (args, p.stderr)
        assert b"usage: berth admin" in p.stdout, args
    top = out(u.berth("admin", "--help", env=env))
    for word in ("--server", "--password-stdin", "--format", "user", "project", "member",
                 "robot", "audit", "BEFORE the noun"):
        assert word in top, word
    assert "--password-stdin" in out(u.berth("admin", "user", "--help", env=env))
    assert "admin, maintainer, developer" in out(u.berth("admin", "member", "--help", env=env))
    # `berth help admin` and the command table know it
    assert b"usage: berth admin" in u.berth("help", "admin", env=env).stdout
    assert b"admin" in u.berth("--help", env=env).stdout


@pytest.mark.parametrize("args,words", [
    ([], ("usage",)),
    (["frob"], ("unknown", "frob")),
    (["user"], ("usage",)),
    (["user", "frob"], ("unknown", "frob")),
    (["user", "add"], ("NAME",)),
    (["user", "delete", "a", "b"], ("NAME",)),
    (["user", "add", "a/b", "--password-stdin"], ("a/b", "valid")),
    (["user", "import", "csv", "f"], ("htpasswd",)),
    (["member", "add", "team", "bob", "owner"], ("owner", "role")),
    (["member", "add", "team", "bob"], ("PROJECT USER ROLE",)),
    (["project", "set", "team"], ("--public",)),
    (["project", "set", "team", "--public=maybe"], ("true or false",)),
    (["robot", "create", "ci"], ("--permission",)),
    (["robot", "create", "ci", "--permission", "team"], ("PROJECT",)),
    (["robot", "create", "ci", "--permission", "team:pull,fly"], ("fly",)),
    (["robot", "create", "ci", "--permission", "team:pull", "--expires-days", "x"], ("--expires-days",)),
    (["audit", "--limit", "0"], ("--limit",)),
    (["--format", "xml", "user", "list"], ("json or text",)),
    (["user", "list", "--server", "http://x"], ("takes no arguments",)),
    (["--bogus", "user", "list"], ("--bogus",)),
    (["--server", "ftp://h", "user", "list"], ("http",)),
    (["--password-stdin", "user", "list"], ("-u",)),
])
def test_usage_errors_exit_2_with_one_line(env, fake, args, words):
    argv = args if "--server" in args else ["--server", fake.url] + args
    p = u.berth("admin", *argv, env=env, check=False, input=b"")
    if args in ([], ["user"]):
        # no command: the help, on stderr
        assert p.returncode == 2 and b"usage: berth admin" in p.stderr, p.stderr
    else:
        u.assert_fails(p, *words, code=2)
    # nothing reached the server
    assert fake.requests == []


# ---------------------------------------------------------------- against the fake API

def test_password_stdin_is_told_apart_by_position(env, fake):
    bob_pw = au.rand_secret("bob")
    p = admin(fake.url, env, "user", "add", "bob", "--sysadmin", "--password-stdin",
              input=(bob_pw + "\n").encode())
    method, path, body, who = fake.requests[-1]
    assert (method, path, who) == ("POST", "/api/v1/users", "admin")
    assert body == {"name": "bob", "password": bob_pw, "sysadmin": True}
    assert "bob" in out(p)
    no_secret(p, bob_pw, ADMIN_PW)
    # and the new password from a file, for passwd
    new = au.rand_secret("new")
    f = env["HOME"] + "/pw"
    with open(f, "w") as fh:
        fh.write(new + "\n")
    p = admin(fake.url, env, "user", "passwd", "bob", "--password-file", f)
    assert fake.requests[-1][:3] == ("PUT", "/api/v1/users/bob/password", {"password": new})
    no_secret(p, new, ADMIN_PW)
    # bob, now a system administrator, acts with his own (new) password
    p = admin(fake.url, env, "user", "list", pw=None, check=False)
    u.assert_fails(p, ("berth login", "credentials"))
    p = u.berth("admin", "--server", fake.url, "-u", "bob", "--password-stdin", "user", "list",
                env=env, input=(new + "\n").encode())
    assert fake.requests[-1][3] == "bob"


def test_stored_credentials_from_berth_login(env, fake, tmp_path):
    e = dict(env, REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"))
    u.berth("login", "--username", "admin", "--password-stdin", fake.host, env=e,
            input=(ADMIN_PW + "\n").encode())
    p = u.berth("admin", "--server", fake.url, "project", "list", env=e)
    assert fake.requests[-1][:2] == ("GET", "/api/v1/projects") and fake.requests[-1][3] == "admin"
    assert "library" in out(p)
    # $BERTH_SERVER is the default server
    p = u.berth("admin", "project", "list", env=dict(e, BERTH_SERVER=fake.url))
    assert "library" in out(p)
    no_secret(p, ADMIN_PW)


def _columns(line, headers):
    return [line.index(h) for h in headers]


def test_text_tables_are_aligned_and_json_is_the_apis(env, fake):
    for n in ("a", "a-much-longer-user-name"):
        admin(fake.url, env, "user", "add", n, "--password-stdin", input=b"pw-123456\n")
    text = out(admin(fake.url, env, "user", "list")).splitlines()
    assert re.match(r"NAME\s+SYSADMIN\s+CREATED$", text[0]), text[0]
    cols = _columns(text[0], ["NAME", "SYSADMIN", "CREATED"])
    rows = {line.split()[0]: line for line in text[1:]}
    assert set(rows) == {"admin", "a", "a-much-longer-user-name"}
    for line in text[1:]:
        # every value starts under its header
        assert line[cols[1] - 2:cols[1]] == "  " and line[cols[1]] != " ", (text, line)
        assert line[cols[2] - 2:cols[2]] == "  " and line[cols[2]] != " ", (text, line)
    assert rows["admin"].split()[1] == "yes" and rows["a"].split()[1] == "no"
    got = json.loads(out(admin(fake.url, env, "--format", "json", "user", "list")))
    assert got == [{"name": n, "sysadmin": v["sysadmin"], "created_at": v["created_at"]}
                   for n, v in sorted(fake.users.items())]


def test_projects_and_members(env, fake):
    admin(fake.url, env, "project", "create", "team")
    assert fake.requests[-1][:3] == ("POST", "/api/v1/projects", {"name": "team", "public": False})
    admin(fake.url, env, "project", "create", "open", "--public")
    assert fake.requests[-1][2] == {"name": "open", "public": True}
    admin(fake.url, env, "project", "set", "team", "--public=true")
    assert fake.requests[-1][:3] == ("PUT", "/api/v1/projects/team", {"public": True})
    admin(fake.url, env, "project", "set", "team", "--public=false")
    assert fake.requests[-1][2] == {"public": False}
    listing = out(admin(fake.url, env, "project", "list")).splitlines()
    assert re.match(r"NAME\s+PUBLIC$", listing[0])
    assert {tuple(x.split()) for x in listing[1:]} == {("library", "yes"), ("open", "yes"), ("team", "no")}
    admin(fake.url, env, "user", "add", "dev", "--password-stdin", input=b"pw-abcdef\n")
    admin(fake.url, env, "member", "add", "team", "dev", "maintainer")
    assert fake.requests[-1][:3] == ("PUT", "/api/v1/projects/team/members/dev", {"role": "maintainer"})
    m = out(admin(fake.url, env, "member", "list", "team")).splitlines()
    assert [x.split() for x in m] == [["USER", "ROLE"], ["dev", "maintainer"]]
    assert json.loads(out(admin(fake.url, env, "--format", "json", "member", "list", "team"))) == \
        [{"user": "dev", "role": "maintainer"}]
    admin(fake.url, env, "member", "remove", "team", "dev")
    assert fake.requests[-1][:2] == ("DELETE", "/api/v1/projects/team/members/dev")
    admin(fake.url, env, "project", "delete", "open")
    assert "open" not in fake.projects


def test_errors_are_one_line_with_the_servers_message(env, fake):
    p = admin(fake.url, env, "member", "add", "library", "nobody", "guest", check=False)
    msg = u.assert_fails(p, "nobody")
    assert msg == "berth admin: user nobody does not exist", msg
    assert p.stdout == b""
    p = admin(fake.url, env, "project", "create", "library", check=False)
    assert u.assert_fails(p, "exists") == "berth admin: project library already exists"
    wrong = au.rand_secret("wrong")
    p = admin(fake.url, env, "user", "list", pw=wrong, check=False)
    u.assert_fails(p, ("invalid credentials", "rejected"))
    no_secret(p, wrong, ADMIN_PW)
    # a server that is not there
    p = admin("http://127.0.0.1:1", env, "user", "list", check=False)
    u.assert_fails(p, "127.0.0.1:1")


def test_robot_secret_is_printed_once(env, fake):
    p = admin(fake.url, env, "robot", "create", "ci", "--permission", "team:pull,push",
              "--permission", "team/app/x:pull,delete", "--expires-days", "3")
    method, path, body, _ = fake.requests[-1]
    assert (method, path) == ("POST", "/api/v1/robots")
    assert body == {"name": "ci", "expires_in_days": 3, "permissions": [
        {"project": "team", "actions": ["pull", "push"]},
        {"project": "team", "repository": "team/app/x", "actions": ["pull", "delete"]}]}
    secret = fake.robots["robot$ci"]["secret"]
    text = out(p)
    assert text.count(secret) == 1 and "robot$ci" in text and "only" in text
    # the secret is on a line of its own, to copy
    assert secret in text.splitlines()
    lst = admin(fake.url, env, "robot", "list")
    no_secret(lst, secret)
    rows = out(lst).splitlines()
    assert re.match(r"NAME\s+EXPIRES\s+PERMISSIONS$", rows[0])
    assert "robot$ci" in rows[1] and "team:pull,push team/app/x:pull,delete" in rows[1]
    # json: the API's answer, secret included (it is the creation)
    p = admin(fake.url, env, "--format", "json", "robot", "create", "ci2", "--permission", "team:pull")
    assert json.loads(out(p))["secret"] == fake.robots["robot$ci2"]["secret"]
    assert "expires_in_days" not in fake.requests[-1][2]
    # delete by either spelling
    admin(fake.url, env, "robot", "delete", "ci")
    admin(fake.url, env, "robot", "delete", "robot$ci2")
    assert fake.robots == {}
    p = admin(fake.url, env, "robot", "delete", "ci", check=False)
    u.assert_fails(p, ("does not exist", "not found"))


def test_audit_limit_and_before(env, fake):
    rows = out(admin(fake.url, env, "audit", "--limit", "3")).splitlines()
    assert fake.requests[-1][1] == "/api/v1/audit?limit=3"
    assert re.match(r"ID\s+TIME\s+WHO\s+ACTION\s+RESOURCE\s+ADDRESS\s+RESULT$", rows[0])
    assert [r.split()[0] for r in rows[1:]] == ["30", "29", "28"]
    got = json.loads(out(admin(fake.url, env, "--format", "json", "audit", "--limit", "2",
                               "--before", "10")))
    assert fake.requests[-1][1] == "/api/v1/audit?limit=2&before=10"
    assert [e["id"] for e in got] == [9, 8]


def _hashes(pw1, pw2):
    salt = "abcdefghijklmnopqrstuO"
    hb = crypt.crypt(pw1, "$2y$05$" + salt)
    hs = crypt.crypt(pw2, crypt.mksalt(crypt.METHOD_SHA512))
    assert hb and hb.startswith("$2y$"), (
        "python3's crypt made no bcrypt hash: it needs libcrypt1 (libxcrypt) with bcrypt, "
        "Debian's default ('apt-get install libcrypt1')")
    return hb, hs


def test_htpasswd_import_sends_hashes(env, fake, tmp_path):
    hb, hs = _hashes("pw-one", "pw-two")
    f = tmp_path / "htpasswd"
    f.write_text("# team\nu1:%s\n\nu2:%s\n" % (hb, hs))
    p = admin(fake.url, env, "user", "import", "htpasswd", str(f))
    posts = [r for r in fake.requests if r[0] == "POST"]
    assert [r[2] for r in posts] == [{"name": "u1", "password_hash": hb},
                                     {"name": "u2", "password_hash": hs}]
    assert "2" in out(p)
    no_secret(p, hb, hs)
    # existing users are skipped and reported; the others still come in
    f.write_text("u1:%s\nu3:%s\n" % (hb, hs))
    p = admin(fake.url, env, "user", "import", "htpasswd", str(f), check=False)
    u.assert_fails(p, "u1", "exist")
    assert "u3" in fake.users
    # a file with an unsupported scheme: nothing is sent, the line is named
    n = len(fake.requests)
    f.write_text("ok:%s\nmd5:$apr1$abcdefgh$0123456789abcdefghijkl\n" % hb)
    p = admin(fake.url, env, "user", "import", "htpasswd", str(f), check=False)
    u.assert_fails(p, "line 2")
    assert [r for r in fake.requests[n:] if r[0] == "POST"] == []
    # duplicates in the file: nothing is sent either
    f.write_text("d:%s\nd:%s\n" % (hb, hs))
    p = admin(fake.url, env, "user", "import", "htpasswd", str(f), check=False)
    u.assert_fails(p, "more than once")
    assert "d" not in fake.users
    p = admin(fake.url, env, "user", "import", "htpasswd", str(tmp_path / "missing"), check=False)
    u.assert_fails(p, "missing")


# ---------------------------------------------------------------- against berth serve --auth

@pytest.fixture
def real(auth_factory, env):
    s = auth_factory()
    assert s.api("GET", "/users").status_code == 200, "berth serve --auth answers no /api/v1/users"
    return s


def real_admin(s, env, *args, check=True, input=None):
    return admin(s.url, env, *args, check=check, input=input, pw=s.admin_password)


def test_real_server_end_to_end(real, env):
    s = real
    pw = s.remember(au.rand_secret("dave"))
    s.remember_basic("dave", pw)
    p = real_admin(s, env, "user", "add", "dave", "--password-stdin", input=(pw + "\n").encode())
    no_secret(p, pw, s.admin_password)
    au.assert_status(s.req("GET", "/v2/", ("dave", pw)), 200)
    rows = out(real_admin(s, env, "user", "list")).splitlines()
    assert re.match(r"NAME\s+SYSADMIN\s+CREATED$", rows[0])
    assert {r.split()[0] for r in rows[1:]} >= {"admin", "dave"}
    real_admin(s, env, "project", "create", "crew")
    real_admin(s, env, "member", "add", "crew", "dave", "guest")
    assert out(real_admin(s, env, "member", "list", "crew")).split()[2:] == ["dave", "guest"]
    p = real_admin(s, env, "robot", "create", "bot", "--permission", "crew:pull")
    login = "robot$bot"
    secret = [x for x in out(p).splitlines() if x and " " not in x][-1]
    s.remember(secret)
    s.remember_basic(login, secret)
    au.assert_status(s.req("GET", "/v2/", (login, secret)), 200)
    no_secret(real_admin(s, env, "robot", "list"), secret)
    # dave changes his own password with the CLI, acting as himself
    new = s.remember(au.rand_secret("dave2"))
    s.remember_basic("dave", new)
    u.berth("admin", "--server", s.url, "-u", "dave", "--password-stdin", "user", "passwd", "dave",
            "--password-stdin", env=env, input=("%s\n%s\n" % (pw, new)).encode())
    au.assert_status(s.req("GET", "/v2/", ("dave", new)), 200)
    # dave may not list users: the server's 403, one line
    p = u.berth("admin", "--server", s.url, "-u", "dave", "--password-stdin", "user", "list",
                env=env, input=(new + "\n").encode(), check=False)
    u.assert_fails(p)
    no_secret(p, new, pw)
    rows = out(real_admin(s, env, "audit", "--limit", "3")).splitlines()
    assert len(rows) == 4 and rows[0].split()[0] == "ID"
    real_admin(s, env, "robot", "delete", login)
    real_admin(s, env, "user", "delete", "dave")
    au.assert_status(s.req("GET", "/v2/", ("dave", new), source="127.0.9.30"), 401)
