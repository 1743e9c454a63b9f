"""OCI distribution protocol: tags list and _catalog (bytewise order, n / last
pagination, Link header), tag deletion, pagination errors, unknown names."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from ocitools import Client, assert_error, image_config, manifest

LINK_RE = re.compile(r'^<([^>]+)>;\s*rel="?next"?$')


@pytest.fixture
def c(berth):
    return Client(berth)


def tag_all(c, name, tags):
    cfg = image_config("tags-" + name)
    c.push_blob(name, cfg)
    body = manifest(cfg, [])
    for t in tags:
        c.put_manifest(name, t, body)


def next_link(r, prefix):
    link = r.headers.get("Link")
    if link is None:
        return None
    m = LINK_RE.match(link.strip())
    assert m, link
    url = m.group(1)
    parts = urlsplit(url)
    assert parts.path == prefix, url
    q = parse_qs(parts.query)
    return url, int(q["n"][0]), q["last"][0]


def walk(c, path, key, n):
    """Follow Link headers from path?n=<n>; returns (pages, lasts)."""
    pages = []
    url = "%s?n=%d" % (path, n)
    lasts = []
    while url is not None:
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code, r.content)
        assert r.headers["Content-Type"].split(";")[0] == "application/json"
        page = r.json()[key] or []
        assert len(page) <= n
        pages.append(page)
        nl = next_link(r, path)
        if nl is None:
            url = None
        else:
            url, ln, last = nl
            assert ln == n
            assert last == page[-1]
            lasts.append(last)
            assert len(pages) < 100
    return pages, lasts


TAGS = ["v1.9", "v1.10", "latest", "Latest", "A", "_x", "a", "b-1", "b.1", "b_1", "0", "9"]


def test_tags_sorted_bytewise(c):
    tag_all(c, "repo", TAGS)
    r = c.get("/v2/repo/tags/list")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "repo"
    assert body["tags"] == sorted(TAGS, key=lambda t: t.encode())
    assert "Link" not in r.headers


@pytest.mark.parametrize("n", [1, 3, 5, 12, 13])
def test_tags_pagination_follows_links(c, n):
    tag_all(c, "team/repo", TAGS)
    want = sorted(TAGS, key=lambda t: t.encode())
    pages, lasts = walk(c, "/v2/team/repo/tags/list", "tags", n)
    flat = [t for p in pages for t in p]
    assert flat == want
    # Full pages except possibly the last; a Link only while more remain.
    for p in pages[:-1]:
        assert len(p) == n
    assert len(pages) == max(1, -(-len(want) // n))
    assert len(lasts) == len(pages) - 1


def test_tags_n_and_last(c):
    tag_all(c, "repo", ["a", "b", "c", "d"])
    def tags(q):
        r = c.get("/v2/repo/tags/list" + q)
        assert r.status_code == 200, (q, r.status_code)
        assert r.json()["name"] == "repo"
        return r.json()["tags"]
    assert tags("?n=2") == ["a", "b"]
    assert tags("?n=2&last=b") == ["c", "d"]
    assert tags("?last=b") == ["c", "d"]
    assert tags("?last=bb") == ["c", "d"]          # last need not be a tag
    assert tags("?last=0") == ["a", "b", "c", "d"]  # before everything
    assert tags("?n=10&last=d") == []
    assert tags("?last=zzz") == []
    assert tags("?n=0") == []
    assert tags("?n=100") == ["a", "b", "c", "d"]
    r = c.get("/v2/repo/tags/list?n=2&last=a")
    assert r.json()["tags"] == ["b", "c"]
    assert next_link(r, "/v2/repo/tags/list")[1:] == (2, "c")
    r = c.get("/v2/repo/tags/list?n=2&last=b")
    assert "Link" not in r.headers  # nothing remains


@pytest.mark.parametrize("n", ["-1", "abc", "1.5", ""])
def test_pagination_number_invalid(c, n):
    tag_all(c, "repo", ["a"])
    if n == "":
        # An empty n is either ignored or refused; never a server error.
        r = c.get("/v2/repo/tags/list?n=")
        assert r.status_code in (200, 400)
        return
    assert_error(c.get("/v2/repo/tags/list?n=" + n), 400, "PAGINATION_NUMBER_INVALID")
    assert_error(c.get("/v2/_catalog?n=" + n), 400, "PAGINATION_NUMBER_INVALID")


def test_tags_of_unknown_repository(c):
    tag_all(c, "known", ["a"])
    assert_error(c.get("/v2/unknown/tags/list"), 404, "NAME_UNKNOWN")
    assert_error(c.get("/v2/known/sub/tags/list"), 404, "NAME_UNKNOWN")


def test_tag_deletion_updates_list(c):
    tag_all(c, "repo", ["one", "two", "three"])
    assert c.delete("/v2/repo/manifests/two").status_code == 202
    assert c.get("/v2/repo/tags/list").json()["tags"] == ["one", "three"]
    assert_error(c.get("/v2/repo/manifests/two"), 404, "MANIFEST_UNKNOWN")
    assert c.get("/v2/repo/manifests/one").status_code == 200


REPOS = ["zeta", "alpha", "alpha/one", "alpha.x", "beta-x", "a0", "alpha/one/two", "b_b"]


def test_catalog(c):
    assert c.get("/v2/_catalog").json()["repositories"] == []
    for name in REPOS:
        tag_all(c, name, ["t"])
    want = sorted(REPOS, key=lambda s: s.encode())
    r = c.get("/v2/_catalog")
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    assert r.json()["repositories"] == want
    for n in (1, 3, 8):
        pages, _ = walk(c, "/v2/_catalog", "repositories", n)
        assert [x for p in pages for x in p] == want
    r = c.get("/v2/_catalog", params={"n": 2, "last": "alpha.x"})
    assert r.json()["repositories"] == ["alpha/one", "alpha/one/two"]
    url, n, last = next_link(r, "/v2/_catalog")
    assert (n, last) == (2, "alpha/one/two")
    assert c.get("/v2/_catalog?n=0").json()["repositories"] == []
    assert c.get("/v2/_catalog", params={"last": "zeta"}).json()["repositories"] == []
