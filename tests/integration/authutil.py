"""Helpers for the access-control tests, tests/integration/test_auth_*.py.

- AuthServer: `berth serve --auth --admin-password-file F` (optionally with
  --tls-cert/--tls-key, on any listen address), ready when GET /healthz
  answers 200 (/v2/ answers 401 with access control on). Every secret a test
  uses through it (passwords, robot secrets, tokens, Basic strings) is
  remembered, and the `auth_factory` fixture greps the server's log for each
  of them when the server stops: none may appear.
- credentials: None (anonymous), (user, password) for Basic, a str for Bearer.
- admin API calls (users, projects, members, robots), tokens from GET and
  POST /token, pushing small unique images, expiring a robot in the database.
- JWT: decode, re-encode with an edited header/payload (keeping the old
  signature), sign ES256 with any EC P-256 key (python3-cryptography), find
  the server's signing key in its data directory, libtrust key ids.
- WWW-Authenticate challenges and OCI error bodies.
- a test CA and a server certificate made with openssl.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import pytest
import requests
import urllib3

import conftest
import ocitools as oci

BERTH_BIN = conftest.BERTH_BIN
ADMIN = "admin"
ERR_CODES = {401: ("UNAUTHORIZED",), 403: ("DENIED",), 400: ("INVALID", "UNSUPPORTED"),
             404: ("NOT_FOUND", "NAME_UNKNOWN", "MANIFEST_UNKNOWN"), 409: ("CONFLICT",),
             429: ("TOOMANYREQUESTS",)}

urllib3.disable_warnings()


def rand_secret(prefix="pw"):
    """A long random secret: long enough that finding it in a log is never chance."""
    return "%s-%s" % (prefix, secrets.token_urlsafe(24))


def basic_header(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def auth_headers(cred):
    """Authorization header for a credential: None, (user, password) or a Bearer token."""
    if cred is None:
        return {}
    if isinstance(cred, tuple):
        return {"Authorization": basic_header(*cred)}
    return {"Authorization": "Bearer " + cred}


# ---------------------------------------------------------------- the server

class AuthServer(conftest.BerthServer):
    """`berth serve` with access control on (or off: auth=False)."""

    def __init__(self, data_dir, extra_args=None, port=None, listen="127.0.0.1", tls=None,
                 auth=True, admin_password=None, env=None, connect_host="127.0.0.1"):
        super().__init__(data_dir, extra_args, port)
        self.listen = "%s:%d" % (listen, self.port)
        self.tls = tls
        self.auth = auth
        self.env = env or {}
        self.admin_password = admin_password or rand_secret("admin")
        self.secret_dir = tempfile.mkdtemp(prefix="berth-auth-secrets-")
        self.pwfile = os.path.join(self.secret_dir, "admin-password")
        self.scheme = "https" if tls else "http"
        self.host = "%s:%d" % (connect_host, self.port)
        self.url = "%s://%s" % (self.scheme, self.host)
        self.verify = tls.ca if tls else True
        self.secrets = set()
        self.users = {}      # name -> password
        self.admin = (ADMIN, self.admin_password)
        self.remember(self.admin_password)

    # secrets used through this server; none may appear in its log
    def remember(self, secret):
        if secret:
            self.secrets.add(secret)
        return secret

    def remember_basic(self, user, password):
        self.remember(password)
        self.remember(basic_header(user, password).split(" ", 1)[1])

    def remember_token(self, tok):
        self.remember(tok)
        parts = tok.split(".")
        if len(parts) == 3 and len(parts[2]) >= 40:
            self.remember(parts[2])   # the signature alone identifies the token

    def args(self):
        a = [BERTH_BIN, "serve", "--listen", self.listen, "--data", self.data]
        if self.auth:
            a += ["--auth", "--admin-password-file", self.pwfile]
        if self.tls:
            a += ["--tls-cert", self.tls.cert, "--tls-key", self.tls.key]
        return a + self.extra_args

    def environ(self):
        e = dict(os.environ)
        e.pop("BERTH_ADMIN_PASSWORD", None)
        e.update(self.env)
        return e

    def start(self, timeout=20):
        with open(self.pwfile, "w") as f:
            f.write(self.admin_password + "\n")
        os.chmod(self.pwfile, 0o600)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=self.environ())
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("berth serve exited with %d:\n%s" % (self.proc.returncode,
                                                                        self.read_log()))
            try:
                if requests.get(self.url + "/healthz", timeout=1, verify=self.verify).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("berth serve did not answer in %ds:\n%s" % (timeout, self.read_log()))

    def cleanup(self):
        shutil.rmtree(self.secret_dir, ignore_errors=True)

    # ------------------------------------------------------------ HTTP
    def req(self, method, path, cred=None, headers=None, source=None, **kw):
        """One request as `cred` (see auth_headers); `source` binds the client
        address (any 127.x.y.z) to act as another client for throttling."""
        h = auth_headers(cred)
        h.update(headers or {})
        kw.setdefault("timeout", 60)
        kw.setdefault("allow_redirects", False)
        url = path if path.startswith("http") else self.url + path
        if source:
            with requests.Session() as s:
                s.mount("http://", SourceAdapter(source))
                s.mount("https://", SourceAdapter(source))
                return s.request(method, url, headers=h, verify=self.verify, **kw)
        return requests.request(method, url, headers=h, verify=self.verify, **kw)

    def api(self, method, path, body=None, cred="admin", expect=None, **kw):
        """Admin API call (`cred` "admin" = the system administrator); with
        `expect`, assert that status."""
        if cred == "admin":
            cred = self.admin
        if body is not None:
            kw["data"] = body if isinstance(body, (bytes, str)) else json.dumps(body)
            kw.setdefault("headers", {})["Content-Type"] = "application/json"
        r = self.req(method, "/api/v1" + path, cred, **kw)
        if expect is not None:
            assert r.status_code == expect, "%s /api/v1%s: want %d, got %d %r" % (
                method, path, expect, r.status_code, r.content[:500])
        return r

    # ------------------------------------------------------------ model
    def add_user(self, name, password=None, sysadmin=False):
        password = password or rand_secret("pw-" + name)
        self.remember_basic(name, password)
        body = {"name": name, "password": password}
        if sysadmin:
            body["sysadmin"] = True
        r = self.api("POST", "/users", body, expect=201)
        got = r.json()
        assert got["name"] == name and bool(got["sysadmin"]) == sysadmin, got
        self.users[name] = password
        return (name, password)

    def add_project(self, name, public=False):
        self.api("POST", "/projects", {"name": name, "public": public}, expect=201)

    def set_member(self, project, user, role, cred="admin"):
        self.api("PUT", "/projects/%s/members/%s" % (project, user), {"role": role}, cred=cred,
                 expect=204)

    def add_robot(self, name, permissions, expires_in_days=None):
        """Create robot `name`; returns its (login, secret) credential."""
        body = {"name": name, "permissions": permissions}
        if expires_in_days is not None:
            body["expires_in_days"] = expires_in_days
        r = self.api("POST", "/robots", body, expect=201)
        got = r.json()
        assert got["name"] == "robot$" + name, got
        assert isinstance(got["secret"], str) and len(got["secret"]) >= 16, got
        self.remember_basic(got["name"], got["secret"])
        return (got["name"], got["secret"])

    def expire_robot(self, login):
        """Make robot `login` expired, in the database (the admin API has no
        way to set a past expiry): every column of the robot table whose name
        mentions "expir" is set to a time in the past, of the stored type."""
        db = os.path.join(self.data, "berth.db")
        con = sqlite3.connect(db, timeout=30)
        try:
            tables = [r[0] for r in con.execute(
                "select name from sqlite_master where type='table' and name like '%robot%'")]
            changed = 0
            short = login.split("$", 1)[-1]
            for t in tables:
                cols = [r[1] for r in con.execute("pragma table_info(%s)" % t)]
                exp = [c for c in cols if "expir" in c.lower()]
                if not exp or "name" not in cols:
                    continue
                for c in exp:
                    for (v,) in con.execute("select %s from %s where name in (?, ?)" % (c, t),
                                            (login, short)).fetchall():
                        past = (int(time.time()) - 86400) if isinstance(v, (int, float)) or v is None \
                            else "2001-01-01T00:00:00Z"
                        if isinstance(v, int) and v > 10 ** 11:   # milliseconds
                            past *= 1000
                        cur = con.execute("update %s set %s = ? where name in (?, ?)" % (t, c),
                                          (past, login, short))
                        changed += cur.rowcount
            con.commit()
        finally:
            con.close()
        assert changed, "found no robot expiry column for %s in %s" % (login, db)

    # ------------------------------------------------------------ tokens
    def token(self, cred=None, scopes=(), post=False, service="berth", expect=200):
        """A token from the token service (GET with Basic, or the OAuth2
        password grant with post=True). Returns the parsed JSON answer."""
        if post:
            form = {"grant_type": "password", "service": service, "client_id": "berth-tests",
                    "scope": " ".join(scopes)}
            if cred:
                form["username"], form["password"] = cred
            r = self.req("POST", "/token", data=form)
        else:
            params = [("service", service)] + [("scope", s) for s in scopes]
            r = self.req("GET", "/token", cred, params=params)
        assert r.status_code == expect, "token: want %d, got %d %r" % (expect, r.status_code,
                                                                       r.content[:500])
        if expect != 200:
            return r
        body = r.json()
        self.remember_token(body["token"])
        if "access_token" in body:
            self.remember_token(body["access_token"])
        return body

    def bearer(self, cred, *scopes, post=False):
        return self.token(cred, scopes, post=post)["token"]

    # ------------------------------------------------------------ images
    def push(self, repo, tag, cred, seed=None, stop_on_error=True, source=None):
        """Push a small unique image (config + layer + manifest) as `cred`.
        Returns (responses, manifest digest): every response must be 201 for
        a success; with stop_on_error the first other status ends it."""
        seed = seed or secrets.token_hex(8)
        config = oci.image_config(seed)
        layer = ("layer-%s-" % seed).encode() + os.urandom(64)
        resps = []
        for blob in (config, layer):
            r = self.req("POST", "/v2/%s/blobs/uploads/" % repo, cred, source=source,
                         params={"digest": oci.sha256(blob)}, data=blob,
                         headers={"Content-Type": "application/octet-stream"})
            resps.append(r)
            if r.status_code == 202:   # no monolithic upload: finish with a PUT
                loc = r.headers["Location"]
                r = self.req("PUT", loc if loc.startswith("http") else self.url + loc, cred,
                             source=source, params={"digest": oci.sha256(blob)}, data=blob,
                             headers={"Content-Type": "application/octet-stream"})
                resps.append(r)
            if stop_on_error and r.status_code != 201:
                return resps, None
        man = oci.manifest(config, [layer])
        r = self.req("PUT", "/v2/%s/manifests/%s" % (repo, tag), cred, source=source, data=man,
                     headers={"Content-Type": oci.OCI_MANIFEST})
        resps.append(r)
        return resps, oci.sha256(man)

    def seed(self, repo, tag="1", cred="admin"):
        """Push an image as the system administrator; returns its manifest digest
        and its layer digest."""
        resps, digest = self.push(repo, tag, self.admin if cred == "admin" else cred)
        for r in resps:
            assert r.status_code in (201, 202), "seed %s:%s: %d %r" % (repo, tag, r.status_code,
                                                                       r.content[:300])
        m = json.loads(self.req("GET", "/v2/%s/manifests/%s" % (repo, digest), self.admin,
                                headers={"Accept": oci.OCI_MANIFEST}).content)
        return digest, m["layers"][0]["digest"]


class SourceAdapter(requests.adapters.HTTPAdapter):
    """Bind the client side of connections to one local address."""

    def __init__(self, source, **kw):
        self.source = (source, 0)
        super().__init__(**kw)

    def init_poolmanager(self, *a, **kw):
        kw["source_address"] = self.source
        return super().init_poolmanager(*a, **kw)


def assert_no_secrets(server, extra=()):
    """None of the secrets used through `server` appears in its log."""
    log = server.read_log()
    found = [s for s in set(server.secrets) | set(extra) if s and s in log]
    assert not found, "secrets in the server log (%d): %s" % (
        len(found), ", ".join(s[:12] + "..." for s in found))


@pytest.fixture
def auth_factory():
    """Make auth servers: auth_factory(**AuthServer kwargs). Stopped after the
    test; a clean exit is required and no remembered secret may be in the log."""
    made = []
    dirs = []

    def make(start=True, **kw):
        if "data_dir" not in kw:
            d = tempfile.TemporaryDirectory(prefix="berth-auth-")
            dirs.append(d)
            kw["data_dir"] = d.name
        s = AuthServer(**kw)
        made.append(s)
        return s.start() if start else s

    yield make
    for s in made:
        rc = s.stop()
        assert rc in (0, None), "server exit code %r\n%s" % (rc, s.read_log()[-4000:])
        assert_no_secrets(s)
        s.cleanup()
    for d in dirs:
        d.cleanup()


@pytest.fixture
def client_env(tmp_path):
    """Environment for client tools with no credentials anywhere but where a
    test puts them (HOME, DOCKER_CONFIG, XDG dirs; REGISTRY_AUTH_FILE unset)."""
    e = {"HOME": str(tmp_path / "home"), "DOCKER_CONFIG": str(tmp_path / "home" / ".docker"),
         "XDG_RUNTIME_DIR": str(tmp_path / "xdg"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
         "REGISTRY_AUTH_FILE": ""}
    for k in ("HOME", "XDG_RUNTIME_DIR", "DOCKER_CONFIG"):
        os.makedirs(e[k], mode=0o700, exist_ok=True)
    # podman stats $DOCKER_CONFIG/config.json and fails if it is missing.
    with open(os.path.join(e["DOCKER_CONFIG"], "config.json"), "w") as f:
        f.write('{"auths": {}}\n')
    return e


def module_server(tmp_path_factory, **kw):
    """A started AuthServer for a module-scoped fixture (a generator: yield from it)."""
    s = AuthServer(str(tmp_path_factory.mktemp("berth-auth")), **kw).start()
    try:
        yield s
    finally:
        rc = s.stop()
        s.cleanup()
        assert rc in (0, None), "server exit code %r\n%s" % (rc, s.read_log()[-4000:])
        assert_no_secrets(s)


# ---------------------------------------------------------------- responses

_PARAM = re.compile(r'\s*([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",\s]*))\s*(?:,|$)')


def parse_challenge(value):
    """'Bearer realm="x",service="y"' -> ("bearer", {"realm": "x", ...})."""
    assert value, "no WWW-Authenticate header"
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        assert m, "malformed challenge %r at %d" % (value, pos)
        params[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
        pos = m.end()
    return scheme.lower(), params


def oci_codes(r):
    """The error codes of an OCI error body (asserting its shape)."""
    return [e["code"] for e in oci.errors(r)]


def assert_status(r, want, what=""):
    """Status `want` (int or tuple); an error status needs an OCI error body
    with the matching code."""
    wants = want if isinstance(want, tuple) else (want,)
    assert r.status_code in wants, "%s: want %s, got %d %r" % (what or r.request.method + " " + r.url,
                                                               wants, r.status_code, r.content[:400])
    if r.status_code >= 400 and r.request.method != "HEAD":
        codes = oci_codes(r)
        ok = ERR_CODES.get(r.status_code)
        if ok:
            assert any(c in ok for c in codes), "%s: %d with codes %s" % (what, r.status_code, codes)
    return r


def assert_challenge(server, r, scope_repo=None, action=None):
    """A 401 with a Bearer challenge naming the realm <base>/token, service
    berth and, for a repository, a scope holding `action`."""
    assert r.status_code == 401, (r.status_code, r.content[:300])
    scheme, p = parse_challenge(r.headers.get("WWW-Authenticate"))
    assert scheme == "bearer", r.headers.get("WWW-Authenticate")
    assert p.get("realm") == server.url + "/token", p
    assert p.get("service") == "berth", p
    if scope_repo:
        scope = p.get("scope", "")
        typ, _, rest = scope.partition(":")
        name, _, acts = rest.rpartition(":")
        assert typ == "repository" and name == scope_repo, p
        assert action in acts.split(","), "scope %r lacks %s" % (scope, action)
    return p


# ---------------------------------------------------------------- JWT

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_decode(tok):
    """(header dict, payload dict, signature bytes) without verifying."""
    h, p, s = tok.split(".")
    return json.loads(unb64url(h)), json.loads(unb64url(p)), unb64url(s)


def jwt_encode(header, payload, signature=b""):
    return "%s.%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                         b64url(json.dumps(payload, separators=(",", ":")).encode()),
                         b64url(signature))


def jwt_resign(tok, header=None, payload=None):
    """The token with a new header/payload and its old signature."""
    h, p, _ = tok.split(".")
    if header is not None:
        h = b64url(json.dumps(header, separators=(",", ":")).encode())
    if payload is not None:
        p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    return "%s.%s.%s" % (h, p, tok.split(".")[2])


def _crypto():
    try:
        from cryptography.hazmat.primitives import hashes, serialization  # noqa: F401
        from cryptography.hazmat.primitives.asymmetric import ec, utils  # noqa: F401
    except ImportError:
        pytest.fail("python3-cryptography is not installed: install it with "
                    "'apt-get install python3-cryptography' (scripts/deps.sh does)", pytrace=False)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, utils
    return hashes, serialization, ec, utils


def new_ec_key():
    _, _, ec, _ = _crypto()
    return ec.generate_private_key(ec.SECP256R1())


def jwt_sign_es256(key, header, payload):
    """Compact JWS signed ES256 (raw r||s) with `key`."""
    hashes, _, ec, utils = _crypto()
    signing_input = "%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                               b64url(json.dumps(payload, separators=(",", ":")).encode()))
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    if s > n // 2:   # the low-S form, the only one berth accepts (as JOSE libraries sign)
        s = n - s
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def jwt_verify_es256(public_key, tok):
    """True if `tok` is a valid ES256 signature by `public_key`."""
    hashes, _, ec, utils = _crypto()
    from cryptography.exceptions import InvalidSignature
    h, p, s = tok.split(".")
    sig = unb64url(s)
    if len(sig) != 64:
        return False
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public_key.verify(der, ("%s.%s" % (h, p)).encode(), ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def libtrust_kid(public_key):
    """libtrust key id: sha256 of the DER SubjectPublicKeyInfo, first 240
    bits, base32, in 12 groups of 4 joined by ':'."""
    _, serialization, _, _ = _crypto()
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(b32[i:i + 4] for i in range(0, 48, 4))


def find_signing_key(data_dir):
    """The server's EC P-256 token signing key: the one PEM private key file
    under its data directory (the contract does not name the file)."""
    _, serialization, ec, _ = _crypto()
    found = []
    for root, _, files in os.walk(data_dir):
        for f in files:
            path = os.path.join(root, f)
            try:
                if os.path.getsize(path) > 16384:
                    continue
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if b"PRIVATE KEY-----" not in data:
                continue
            try:
                k = serialization.load_pem_private_key(data, password=None)
            except ValueError:
                continue
            if isinstance(k, ec.EllipticCurvePrivateKey):
                found.append((path, k))
    assert len(found) == 1, "want one EC signing key under %s, found %s" % (
        data_dir, [p for p, _ in found])
    return found[0][1]


def access_of(tok, repo):
    """Set of actions the token's access claims grant on repository `repo`."""
    _, p, _ = jwt_decode(tok)
    acts = set()
    for a in p.get("access") or []:
        if a.get("type") == "repository" and a.get("name") == repo:
            acts |= set(a.get("actions") or [])
    return acts


# ---------------------------------------------------------------- TLS material

class TestCA:
    """A CA and a server certificate for 127.0.0.1, localhost and `ips`, made
    with openssl in `d`. cert_dir holds only ca.crt (for --cert-dir style
    options)."""
    __test__ = False

    def __init__(self, d, ips=()):
        self.dir = str(d)
        self.ca = os.path.join(self.dir, "ca.crt")
        self.ca_key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "server.crt")
        self.key = os.path.join(self.dir, "server.key")
        self.cert_dir = os.path.join(self.dir, "certs.d")
        os.makedirs(self.cert_dir, exist_ok=True)
        run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)  # noqa: E731
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=berth test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr = os.path.join(self.dir, "server.csr")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", self.key, "-out", csr, "-subj", "/CN=localhost")
        san = ",".join(["DNS:localhost", "IP:127.0.0.1"] + ["IP:%s" % i for i in ips])
        ext = os.path.join(self.dir, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
        run("openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
            "-CAcreateserial", "-out", self.cert, "-days", "2", "-extfile", ext)
        shutil.copy(self.ca, os.path.join(self.cert_dir, "ca.crt"))


def non_loopback_ipv4():
    """A global IPv4 address of this host, or None."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, timeout=10).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else None


def stop_quietly(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
