"""`berth serve --tls-cert/--tls-key` with a test CA (made with openssl for
127.0.0.1, localhost and this host's non-loopback address): curl with
--cacert, skopeo copy with --dest-cert-dir/--src-cert-dir into a private
project and back, `berth copy` over https (loopback hosts are spoken to in
plain http by berth's client, so it uses the non-loopback address); the
token realm is https; TLS 1.1 is refused (openssl s_client -tls1_1 with
SECLEVEL=0, which does speak TLS 1.1 to a server that allows it) while
TLS 1.2 works; plain http on the TLS port gets nothing."""
import os
import re
import subprocess

import pytest
import requests

import authutil as au
import copyutil as u
from authutil import client_env as env  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    ip = au.non_loopback_ipv4()
    c = au.TestCA(tmp_path_factory.mktemp("ca"), ips=[ip] if ip else [])
    c.ip = ip
    return c


@pytest.fixture(scope="module")
def srv(tmp_path_factory, ca):
    gen = au.module_server(tmp_path_factory, tls=ca, listen="0.0.0.0")
    s = next(gen)
    s.add_project("team", public=False)
    s.add_user("dev")
    s.set_member("team", "dev", "developer")
    yield s
    try:
        next(gen)
    except StopIteration:
        pass


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "20"] + list(args), capture_output=True, timeout=60)


def test_curl_with_the_ca(srv, ca):
    s = srv
    p = curl("--cacert", ca.ca, "-D", "-", "-o", "/dev/null", s.url + "/v2/")
    assert p.returncode == 0, p.stderr
    head = p.stdout.decode()
    assert re.search(r"^HTTP/\S+ 401", head, re.M), head
    m = re.search(r'^www-authenticate: *Bearer (.*)$', head, re.M | re.I)
    assert m and 'realm="%s/token"' % s.url in m.group(1), head
    assert s.url.startswith("https://")
    p = curl("--cacert", ca.ca, "-o", "/dev/null", "-w", "%{http_code}", "-u", "dev:" + s.users["dev"],
             s.url + "/v2/")
    assert p.stdout == b"200", (p.stdout, p.stderr)
    # without the CA: the certificate is not trusted
    p = curl("-o", "/dev/null", s.url + "/v2/")
    assert p.returncode == 60, (p.returncode, p.stderr)
    # the token realm answers over https
    body = s.token(("dev", s.users["dev"]), ["repository:team/app:pull,push"])
    assert au.access_of(body["token"], "team/app") == {"pull", "push"}


def test_plain_http_on_the_tls_port_gets_nothing(srv):
    try:
        r = requests.get("http://%s/v2/" % srv.host, timeout=5)
    except requests.RequestException:
        return
    assert r.status_code >= 400, r.status_code


def s_client(port, version):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, version,
                        "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "localhost"],
                       input=b"Q\n", capture_output=True, timeout=30)
    out = p.stdout.decode("utf-8", "replace")
    # s_client prints the protocol it offered even when the handshake is
    # refused; the negotiated cipher tells whether a session was set up.
    m = re.search(r"Protocol\s*:\s*(\S+)", out)
    c = re.search(r"Cipher\s*:\s*(\S+)", out)
    negotiated = bool(c) and c.group(1) not in ("0000", "(NONE)") and "Cipher is (NONE)" not in out
    return p.returncode, (m.group(1) if m and negotiated else None)


def test_tls_minimum_is_1_2(srv):
    rc, proto = s_client(srv.port, "-tls1_1")
    assert rc != 0 and proto is None, "TLS 1.1 accepted (%s)" % proto
    rc, proto = s_client(srv.port, "-tls1")
    assert rc != 0 and proto is None, "TLS 1.0 accepted (%s)" % proto
    rc, proto = s_client(srv.port, "-tls1_2")
    assert rc == 0 and proto == "TLSv1.2", (rc, proto)


def test_skopeo_over_https_with_the_ca(srv, ca, env, tmp_path):
    u.need("skopeo")
    import images
    s = srv
    src = images.ensure("busybox")
    dest = "docker://%s/team/tls:1" % s.host
    dev = "dev:" + s.users["dev"]
    # without the CA, verification fails and nothing is written
    p = u.skopeo("copy", "--dest-creds", dev, "oci:%s:busybox" % src, dest, env=env, check=False)
    assert p.returncode != 0
    assert b"certificate" in p.stderr or b"x509" in p.stderr, p.stderr[-500:]
    u.skopeo("copy", "--preserve-digests", "--dest-cert-dir", ca.cert_dir, "--dest-creds", dev,
             "oci:%s:busybox" % src, dest, env=env)
    r = s.req("GET", "/v2/team/tls/manifests/1", s.admin, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 200
    assert r.headers["Docker-Content-Digest"] == images.find_ref(src, "busybox")["digest"]
    out = str(tmp_path / "back")
    u.skopeo("copy", "--src-cert-dir", ca.cert_dir, "--src-creds", dev, dest, "oci:%s:back" % out, env=env)
    import clienttools as ct
    ct.assert_layouts_equal(src, "busybox", out, "back")


def _berth_https_host(srv, ca):
    assert ca.ip, ("this host has no non-loopback IPv4 address, which the test needs (berth "
                   "speaks plain http to loopback hosts): give it one, e.g. "
                   "'ip addr add 10.254.0.1/32 dev lo'")
    return "%s:%d" % (ca.ip, srv.port)


def test_berth_copy_over_https_tls_verify_false(srv, ca, env, tmp_path):
    """Only TLS is spoken on the port, so a working copy went over https."""
    s = srv
    host = _berth_https_host(s, ca)
    lay = u.small_image()
    dev = "dev:" + s.users["dev"]
    u.berth("copy", "--dest-tls-verify=false", "--dest-creds", dev, "oci:%s:small" % lay,
            "docker://%s/team/bc-noverify:1" % host, env=env)
    r = s.req("GET", "/v2/team/bc-noverify/manifests/1", s.admin,
              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 200
    # verifying without the CA fails: the test CA is not trusted by default
    p = u.berth("copy", "--dest-creds", dev, "oci:%s:small" % lay,
                "docker://%s/team/bc-untrusted:1" % host, env=env, check=False)
    u.assert_fails(p, ("certificate", "tls", "ssl", "verify"))
    assert s.req("GET", "/v2/team/bc-untrusted/tags/list", s.admin).status_code == 404


def test_berth_copy_over_https_with_the_ca(srv, ca, env, tmp_path):
    s = srv
    host = _berth_https_host(s, ca)
    lay = u.small_image()
    dev = "dev:" + s.users["dev"]
    dest = "docker://%s/team/bc-ca:1" % host
    u.berth("copy", "--dest-cert-dir", ca.cert_dir, "--dest-creds", dev, "oci:%s:small" % lay, dest, env=env)
    u.berth("copy", "--src-cert-dir", ca.cert_dir, "--src-creds", dev, dest, "oci:%s:x" % (tmp_path / "o"),
            env=env)
    u.assert_same_image(u.read_layout(str(tmp_path / "o"), "x"), u.read_layout(lay, "small"), exact=True)


def test_tls_key_not_readable_refuses_start(tmp_path, ca):
    """A missing key file stops the server with one line, before it listens."""
    pw = tmp_path / "pw"
    pw.write_text(au.rand_secret() + "\n")
    p = subprocess.run([au.BERTH_BIN, "serve", "--auth", "--admin-password-file", str(pw),
                        "--listen", "127.0.0.1:%d" % au.conftest.free_port(), "--data", str(tmp_path / "d"),
                        "--tls-cert", ca.cert, "--tls-key", str(tmp_path / "missing.key")],
                       capture_output=True, timeout=20, env={k: v for k, v in os.environ.items()
                                                             if k != "BERTH_ADMIN_PASSWORD"})
    assert p.returncode != 0
    lines = [l for l in p.stderr.decode().splitlines() if l.strip()]
    assert len(lines) == 1 and "key" in lines[0].lower(), p.stderr
