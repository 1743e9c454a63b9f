"""OCI distribution protocol: manifests (GET / HEAD / PUT / DELETE by tag and
digest), media types (OCI manifest and index, Docker schema2 and manifest
list), byte-exact storage, Accept negotiation, subject / OCI-Subject,
referenced-content checks and the size cap, against a real `berth serve`."""
import json

import pytest

from ocitools import (DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, Client,
                      assert_error, descriptor, image_config, index, manifest, odd_json,
                      raw_request, sha256)

MiB = 1024 * 1024


@pytest.fixture
def c(berth):
    return Client(berth)


def check_manifest(c, name, ref, body, media_type):
    for method in ("GET", "HEAD"):
        r = c.req(method, "/v2/%s/manifests/%s" % (name, ref))
        assert r.status_code == 200, (method, ref, r.status_code, r.content[:300])
        assert r.headers["Docker-Content-Digest"] == sha256(body)
        assert r.headers["Content-Type"] == media_type
        assert int(r.headers["Content-Length"]) == len(body)
        if method == "GET":
            assert r.content == body  # byte for byte
        else:
            assert r.content == b""


def test_put_get_head_by_tag_and_digest(c):
    cfg = image_config("a")
    layer = b"layer-a" * 50
    c.push_blob("repo", cfg)
    c.push_blob("repo", layer)
    body = manifest(cfg, [layer], annotations={"z": "last", "a": "first", "m": "\u00e9t\u00e9"})
    assert b"\r\n\t" in body  # odd formatting on purpose
    r = c.put_manifest("repo", "v1", body)
    d = sha256(body)
    assert r.headers["Docker-Content-Digest"] == d
    loc = r.headers["Location"]
    assert "/v2/repo/manifests/" in loc
    assert c.get(loc).content == body
    check_manifest(c, "repo", "v1", body, OCI_MANIFEST)
    check_manifest(c, "repo", d, body, OCI_MANIFEST)


def test_put_by_digest(c):
    cfg = image_config("bd")
    c.push_blob("repo", cfg)
    body = manifest(cfg, [])
    d = sha256(body)
    r = c.put_manifest("repo", d, body)
    assert r.headers["Docker-Content-Digest"] == d
    check_manifest(c, "repo", d, body, OCI_MANIFEST)
    # No tag was created.
    assert c.get("/v2/repo/tags/list").json()["tags"] in ([], None)
    # Digest mismatch.
    other = manifest(cfg, [], annotations={"x": "y"})
    assert_error(c.put_manifest("repo", d, other, expect=None), 400, "DIGEST_INVALID")
    assert_error(c.get("/v2/repo/manifests/" + sha256(other)), 404, "MANIFEST_UNKNOWN")


def test_retag_moves_tag(c):
    b1, d1 = c.push_image("repo", "latest", seed="one")
    b2, d2 = c.push_image("repo", "latest", seed="two")
    assert d1 != d2
    check_manifest(c, "repo", "latest", b2, OCI_MANIFEST)
    check_manifest(c, "repo", d1, b1, OCI_MANIFEST)  # the old one stays by digest


def test_docker_schema2_and_manifest_list(c):
    b1, d1 = c.push_image("dock", "amd", seed="d1", media_type=DOCKER_MANIFEST)
    b2, d2 = c.push_image("dock", "arm", seed="d2", media_type=DOCKER_MANIFEST)
    check_manifest(c, "dock", "amd", b1, DOCKER_MANIFEST)
    lst = index([(DOCKER_MANIFEST, b1), (DOCKER_MANIFEST, b2)], media_type=DOCKER_LIST)
    r = c.put_manifest("dock", "multi", lst, DOCKER_LIST)
    assert r.headers["Docker-Content-Digest"] == sha256(lst)
    check_manifest(c, "dock", "multi", lst, DOCKER_LIST)
    check_manifest(c, "dock", sha256(lst), lst, DOCKER_LIST)


def test_oci_index(c):
    b1, _ = c.push_image("oci", "a", seed="i1")
    b2, _ = c.push_image("oci", "b", seed="i2", nlayers=3)
    idx = index([(OCI_MANIFEST, b1), (OCI_MANIFEST, b2)], annotations={"k": "v"})
    c.put_manifest("oci", "multi", idx, OCI_INDEX)
    check_manifest(c, "oci", "multi", idx, OCI_INDEX)
    # An index of indexes.
    top = index([(OCI_INDEX, idx), (OCI_MANIFEST, b1)])
    c.put_manifest("oci", "top", top, OCI_INDEX)
    check_manifest(c, "oci", "top", top, OCI_INDEX)


def test_manifest_without_media_type_field_keeps_content_type(c):
    cfg = image_config("nomt")
    c.push_blob("repo", cfg)
    body = manifest(cfg, [], with_media_type=False)
    assert b"mediaType\" :  \"application/vnd.oci.image.manifest" not in body
    c.put_manifest("repo", "t", body, OCI_MANIFEST)
    check_manifest(c, "repo", "t", body, OCI_MANIFEST)


def test_accept_negotiation(c):
    body, d = c.push_image("repo", "oci", seed="acc")
    path = "/v2/repo/manifests/oci"
    served = [None, "*/*", OCI_MANIFEST,
              "%s, %s" % (DOCKER_MANIFEST, OCI_MANIFEST),
              "%s;q=0.9, %s;q=0.5" % (DOCKER_LIST, OCI_MANIFEST),
              "application/*"]
    for accept in served:
        headers = {"Accept": accept} if accept else {}
        r = c.get(path, headers=headers)
        if accept == "application/*" and r.status_code == 404:
            continue  # a media range with a subtype wildcard is optional
        assert r.status_code == 200, (accept, r.status_code)
        assert r.content == body
        assert r.headers["Content-Type"] == OCI_MANIFEST
    for accept in [DOCKER_MANIFEST, "%s, %s" % (DOCKER_MANIFEST, DOCKER_LIST), "text/plain"]:
        assert_error(c.get(path, headers={"Accept": accept}), 404, "MANIFEST_UNKNOWN")
        assert_error(c.head(path, headers={"Accept": accept}), 404, "MANIFEST_UNKNOWN")
    # By digest: always served, whatever the Accept header says.
    r = c.get("/v2/repo/manifests/" + d, headers={"Accept": DOCKER_MANIFEST})
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["Content-Type"] == OCI_MANIFEST


def test_accept_repeated_header_lines(c, berth):
    """skopeo, podman and buildah send one Accept line per media type: all count."""
    import http.client
    body, d = c.push_image("repo", "multi", seed="multi-accept")

    def get(accepts):
        conn = http.client.HTTPConnection("127.0.0.1", berth.port, timeout=10)
        conn.putrequest("GET", "/v2/repo/manifests/multi")
        for a in accepts:
            conn.putheader("Accept", a)
        conn.endheaders()
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data

    status, data = get([DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST])
    assert status == 200 and data == body
    status, _ = get([DOCKER_MANIFEST, DOCKER_LIST])
    assert status == 404


def test_subject_answers_oci_subject(c):
    base, bd = c.push_image("repo", "base", seed="subj")
    cfg = image_config("sbom")
    c.push_blob("repo", cfg)
    body = manifest(cfg, [], subject=descriptor(OCI_MANIFEST, base), artifact_type="application/x.sbom")
    r = c.put_manifest("repo", sha256(body), body)
    assert r.headers["OCI-Subject"] == bd
    # Without subject: no OCI-Subject header.
    r = c.put_manifest("repo", "plain", manifest(cfg, [], annotations={"n": "1"}))
    assert "OCI-Subject" not in r.headers
    # A subject that does not exist (yet) is accepted.
    ghost = manifest(image_config("ghost"), [])
    body2 = manifest(cfg, [], subject=descriptor(OCI_MANIFEST, ghost), artifact_type="application/x.sig")
    r = c.put_manifest("repo", sha256(body2), body2)
    assert r.headers["OCI-Subject"] == sha256(ghost)
    check_manifest(c, "repo", sha256(body2), body2, OCI_MANIFEST)


def test_missing_blobs_are_refused(c):
    cfg = image_config("miss")
    layer = b"missing layer"
    # Config missing.
    body = manifest(cfg, [])
    e = assert_error(c.put_manifest("repo", "t", body, expect=None), 400, "MANIFEST_BLOB_UNKNOWN")
    assert sha256(cfg) in json.dumps(e.get("detail"))
    # Config present, layer missing.
    c.push_blob("repo", cfg)
    body = manifest(cfg, [layer])
    e = assert_error(c.put_manifest("repo", "t", body, expect=None), 400, "MANIFEST_BLOB_UNKNOWN")
    assert sha256(layer) in json.dumps(e.get("detail"))
    assert_error(c.get("/v2/repo/manifests/t"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get("/v2/repo/manifests/" + sha256(body)), 404, "MANIFEST_UNKNOWN")
    # Blob only present in another repository: still unknown here.
    c.push_blob("other", layer)
    assert_error(c.put_manifest("repo", "t", body, expect=None), 400, "MANIFEST_BLOB_UNKNOWN")
    # Docker schema2 too.
    dbody = manifest(cfg, [layer], media_type=DOCKER_MANIFEST)
    assert_error(c.put_manifest("repo", "d", dbody, DOCKER_MANIFEST, expect=None), 400,
                 "MANIFEST_BLOB_UNKNOWN")
    # Once pushed, accepted.
    c.push_blob("repo", layer)
    c.put_manifest("repo", "t", body)
    check_manifest(c, "repo", "t", body, OCI_MANIFEST)


def test_index_with_missing_child_is_refused(c):
    b1, _ = c.push_image("repo", "a", seed="child")
    ghost = manifest(image_config("ghost-child"), [])
    idx = index([(OCI_MANIFEST, b1), (OCI_MANIFEST, ghost)])
    e = assert_error(c.put_manifest("repo", "idx", idx, OCI_INDEX, expect=None), 400,
                     "MANIFEST_BLOB_UNKNOWN")
    assert sha256(ghost) in json.dumps(e.get("detail"))
    assert_error(c.get("/v2/repo/manifests/idx"), 404, "MANIFEST_UNKNOWN")
    lst = index([(DOCKER_MANIFEST, ghost)], media_type=DOCKER_LIST)
    assert_error(c.put_manifest("repo", "lst", lst, DOCKER_LIST, expect=None), 400,
                 "MANIFEST_BLOB_UNKNOWN")


def test_delete_by_digest(c):
    body, d = c.push_image("repo", "v1", seed="del")
    c.put_manifest("repo", "v1-alias", body)
    r = c.delete("/v2/repo/manifests/" + d)
    assert r.status_code == 202, (r.status_code, r.content)
    assert_error(c.get("/v2/repo/manifests/" + d), 404, "MANIFEST_UNKNOWN")
    assert_error(c.head("/v2/repo/manifests/" + d), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get("/v2/repo/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get("/v2/repo/manifests/v1-alias"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.delete("/v2/repo/manifests/" + d), 404, "MANIFEST_UNKNOWN")


def test_delete_by_tag(c):
    body, d = c.push_image("repo", "keep", seed="tagdel")
    c.put_manifest("repo", "drop", body)
    r = c.delete("/v2/repo/manifests/drop")
    assert r.status_code == 202, (r.status_code, r.content)
    assert_error(c.get("/v2/repo/manifests/drop"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.delete("/v2/repo/manifests/drop"), 404, "MANIFEST_UNKNOWN")
    check_manifest(c, "repo", d, body, OCI_MANIFEST)
    check_manifest(c, "repo", "keep", body, OCI_MANIFEST)
    assert c.get("/v2/repo/tags/list").json()["tags"] == ["keep"]
    # The last tag too: still fetchable by digest.
    assert c.delete("/v2/repo/manifests/keep").status_code == 202
    check_manifest(c, "repo", d, body, OCI_MANIFEST)


def test_unknown_manifest(c):
    c.push_image("repo", "exists", seed="unk")
    assert_error(c.get("/v2/repo/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.head("/v2/repo/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.delete("/v2/repo/manifests/" + sha256(b"nope")), 404, "MANIFEST_UNKNOWN")
    # Manifests are scoped to their repository.
    assert_error(c.get("/v2/elsewhere/manifests/exists"), 404, ("MANIFEST_UNKNOWN", "NAME_UNKNOWN"))


def _padded(cfg, total):
    """A valid manifest of exactly `total` bytes (padding in an unknown field)."""
    body = manifest(cfg, [], extra={"x-pad": ""})
    pad = total - len(body)
    assert pad >= 0
    body = manifest(cfg, [], extra={"x-pad": "p" * pad})
    assert len(body) == total
    return body


def test_size_cap(c):
    cfg = image_config("big")
    c.push_blob("repo", cfg)
    ok = _padded(cfg, 4 * MiB)
    r = c.put_manifest("repo", "at-cap", ok)
    assert r.headers["Docker-Content-Digest"] == sha256(ok)
    assert c.get("/v2/repo/manifests/at-cap").content == ok
    over = _padded(cfg, 4 * MiB + 1)
    st, hd, bd = raw_request(c.server, "PUT", "/v2/repo/manifests/over-cap",
                             {"Content-Type": OCI_MANIFEST}, over)
    assert st == 413, (st, bd[:300])
    assert json.loads(bd)["errors"][0]["code"] == "SIZE_INVALID"
    assert_error(c.get("/v2/repo/manifests/over-cap"), 404, "MANIFEST_UNKNOWN")
    assert_error(c.get("/v2/repo/manifests/" + sha256(over)), 404, "MANIFEST_UNKNOWN")
    # Far over (8 MiB), and a body announced far over the cap but never sent:
    # refused from the Content-Length alone.
    huge = _padded(cfg, 8 * MiB)
    st, _, bd = raw_request(c.server, "PUT", "/v2/repo/manifests/huge",
                            {"Content-Type": OCI_MANIFEST}, huge)
    assert st == 413, (st, bd[:300])
    st, _, bd = raw_request(c.server, "PUT", "/v2/repo/manifests/huge",
                            {"Content-Type": OCI_MANIFEST, "Content-Length": str(1 << 40)}, b"")
    assert st == 413, (st, bd[:300])
    assert json.loads(bd)["errors"][0]["code"] == "SIZE_INVALID"
    assert c.get("/v2/").status_code == 200


def test_large_annotations_never_a_server_error(c):
    # A manifest within the size cap carrying 2 MiB of annotations: stored, or
    # refused as MANIFEST_INVALID -- never a 500.
    cfg = image_config("ann")
    c.push_blob("repo", cfg)
    body = manifest(cfg, [], annotations={"big": "a" * (2 * MiB)})
    r = c.put_manifest("repo", "ann", body, expect=None)
    if r.status_code == 201:
        assert c.get("/v2/repo/manifests/ann").content == body
    else:
        assert_error(r, 400, "MANIFEST_INVALID")
        assert_error(c.get("/v2/repo/manifests/ann"), 404, "MANIFEST_UNKNOWN")


def test_manifests_survive_restart(c, berth):
    body, d = c.push_image("repo", "v1", seed="restart")
    idx = index([(OCI_MANIFEST, body)])
    c.put_manifest("repo", "idx", idx, OCI_INDEX)
    berth.restart()
    c2 = Client(berth)
    check_manifest(c2, "repo", "v1", body, OCI_MANIFEST)
    check_manifest(c2, "repo", "idx", idx, OCI_INDEX)


def test_odd_json_is_valid_json():
    # Guard for the helper itself: the odd formatting is still valid JSON.
    obj = {"b": [1, {"c": {}}], "a": "x", "e": []}
    assert json.loads(odd_json(obj)) == obj
