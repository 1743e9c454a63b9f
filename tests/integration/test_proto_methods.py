"""HTTP method semantics of every endpoint, against a real `berth serve`: a 405
names the methods the resource has in an Allow header (RFC 9110 15.5.6), and
HEAD is answered wherever GET is, with the same status and headers and no body
(RFC 9110 9.3.2): the API base, catalog, tags list, referrers, manifests,
blobs, upload sessions, /healthz, /metrics, /token and the admin API."""
import pytest
import requests

from authutil import auth_factory, auth_headers  # noqa: F401  (fixture)
from ocitools import EMPTY_JSON, Client, artifact, sha256

# Headers whose values legitimately differ between two answers to one request.
PER_RESPONSE = {"date", "x-request-id", "connection", "keep-alive"}


def allow_set(r):
    assert "Allow" in r.headers, "405 without Allow: %r" % dict(r.headers)
    return {m.strip() for m in r.headers["Allow"].split(",")}


def assert_head_matches_get(c, path, want_status=200, **kw):
    g = c.get(path, **kw)
    h = c.head(path, **kw)
    assert g.status_code == want_status, (path, g.status_code, g.content[:300])
    assert h.status_code == g.status_code, (path, h.status_code, g.status_code)
    assert h.content == b"", (path, h.content[:100])
    gh = {k.lower(): v for k, v in g.headers.items() if k.lower() not in PER_RESPONSE}
    hh = {k.lower(): v for k, v in h.headers.items() if k.lower() not in PER_RESPONSE}
    assert hh == gh, (path, hh, gh)
    if g.content:
        assert int(h.headers["Content-Length"]) == len(g.content), path
    return g


@pytest.fixture
def c(berth):
    return Client(berth)


@pytest.fixture
def graph(c):
    """team/app:1 with one referrer, and a second tag: enough for n=1 paging."""
    body, digest = c.push_image("team/app", "1", seed="methods")
    c.push_image("team/app", "2", seed="methods-2")
    c.push_image("other/app", "1", seed="methods-3")
    c.push_blob("team/app", EMPTY_JSON)
    c.push_blob("team/app", b"signature")
    sig = artifact("application/vnd.oci.image.manifest.v1+json", body,
                   "application/vnd.example.sig", b"signature")
    c.put_manifest("team/app", sha256(sig), sig)
    return body, digest


def test_head_answers_like_get_on_lists(c, graph):
    _, digest = graph
    assert_head_matches_get(c, "/v2/")
    assert_head_matches_get(c, "/v2/_catalog")
    g = assert_head_matches_get(c, "/v2/_catalog", params={"n": "1"})
    assert "Link" in g.headers
    assert_head_matches_get(c, "/v2/team/app/tags/list")
    g = assert_head_matches_get(c, "/v2/team/app/tags/list", params={"n": "1"})
    assert 'rel="next"' in g.headers["Link"]
    g = assert_head_matches_get(c, "/v2/team/app/referrers/" + digest)
    assert len(g.json()["manifests"]) == 1
    assert_head_matches_get(c, "/v2/team/app/referrers/" + digest,
                            params={"artifactType": "application/vnd.example.sig"})
    assert_head_matches_get(c, "/v2/team/app/manifests/1")
    # Errors too: the same status and headers, no body.
    assert_head_matches_get(c, "/v2/ghost/tags/list", want_status=404)
    assert_head_matches_get(c, "/v2/_catalog", want_status=400, params={"n": "x"})


def test_head_answers_like_get_on_an_upload_session(c):
    loc = c.start_upload("team/up").headers["Location"]
    g = c.get(loc)
    h = c.head(loc)
    assert g.status_code == h.status_code == 204
    for k in ("Location", "Range", "Docker-Upload-UUID"):
        assert h.headers.get(k) == g.headers.get(k), k
    assert h.content == b""


@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/v2/", {"GET", "HEAD"}),
    ("DELETE", "/v2/_catalog", {"GET", "HEAD"}),
    ("POST", "/v2/repo/tags/list", {"GET", "HEAD"}),
    ("PUT", "/v2/repo/referrers/" + sha256(b"x"), {"GET", "HEAD"}),
    ("POST", "/v2/repo/manifests/latest", {"GET", "HEAD", "PUT", "DELETE"}),
    ("PATCH", "/v2/repo/manifests/latest", {"GET", "HEAD", "PUT", "DELETE"}),
    ("PUT", "/v2/repo/blobs/" + sha256(b"x"), {"GET", "HEAD", "DELETE"}),
    ("GET", "/v2/repo/blobs/uploads/", {"POST"}),
    ("POST", "/v2/repo/blobs/uploads/some-id", {"GET", "HEAD", "PATCH", "PUT", "DELETE"}),
    ("POST", "/healthz", {"GET", "HEAD"}),
    ("DELETE", "/metrics", {"GET", "HEAD"}),
])
def test_405_names_the_allowed_methods(c, method, path, allow):
    r = c.req(method, path, data=b"")
    assert r.status_code == 405, (method, path, r.status_code)
    assert allow_set(r) == allow
    # Every listed method is really served (not 405) on that resource.
    for m in allow - {"POST", "PUT", "PATCH", "DELETE"}:
        assert c.req(m, path).status_code != 405, (m, path)


@pytest.fixture
def auth_server(auth_factory):
    return auth_factory()


def test_405_names_the_allowed_methods_of_the_auth_endpoints(auth_server):
    s = auth_server
    admin = auth_headers(s.admin)
    s.remember_basic(*s.admin)
    r = requests.delete(s.url + "/token", timeout=30)
    assert r.status_code == 405
    assert allow_set(r) == {"GET", "HEAD", "POST"}
    for method, path, allow in [
            ("PUT", "/api/v1/users", {"GET", "HEAD", "POST"}),
            ("POST", "/api/v1/projects/library", {"GET", "HEAD", "PUT", "DELETE"}),
            ("POST", "/api/v1/audit", {"GET", "HEAD"}),
            ("GET", "/api/v1/users/admin", {"PUT", "DELETE"})]:
        r = requests.request(method, s.url + path, headers=admin, data=b"{}", timeout=30)
        assert r.status_code == 405, (method, path, r.status_code)
        assert allow_set(r) == allow, (method, path)


def test_head_answers_like_get_on_the_auth_endpoints(auth_server):
    s = auth_server
    admin = auth_headers(s.admin)
    s.remember_basic(*s.admin)
    for path in ["/api/v1/users", "/api/v1/projects", "/api/v1/projects/library",
                 "/api/v1/projects/library/members", "/api/v1/projects/ghost"]:
        g = requests.get(s.url + path, headers=admin, timeout=30)
        h = requests.head(s.url + path, headers=admin, timeout=30)
        assert h.status_code == g.status_code, (path, h.status_code, g.status_code)
        assert h.content == b""
        assert h.headers["Content-Type"] == g.headers["Content-Type"], path
        assert int(h.headers["Content-Length"]) == len(g.content), path
    # The token endpoint: a fresh token each time, so compare the shape only.
    g = requests.get(s.url + "/token", params={"service": "berth"}, timeout=30)
    h = requests.head(s.url + "/token", params={"service": "berth"}, timeout=30)
    assert g.status_code == h.status_code == 200
    assert h.content == b"" and int(h.headers["Content-Length"]) > 0
    assert h.headers["Content-Type"] == g.headers["Content-Type"]
    s.remember_token(g.json()["token"])
