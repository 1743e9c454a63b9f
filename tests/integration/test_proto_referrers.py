"""OCI distribution protocol: the referrers API GET /v2/<name>/referrers/<digest>
(descriptors, artifactType filter and OCI-Filters-Applied, unknown subjects,
deletion, repository scoping), against a real `berth serve`."""
import pytest

from ocitools import (EMPTY_JSON, OCI_INDEX, OCI_MANIFEST, Client, artifact, assert_error,
                      descriptor, image_config, index, manifest, sha256, sha512)

SBOM = "application/spdx+json"
SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
CUSTOM_CONFIG = "application/vnd.example.config.v1+json"


@pytest.fixture
def c(berth):
    return Client(berth)


def referrers(c, name, digest, artifact_type=None):
    params = {"artifactType": artifact_type} if artifact_type else None
    r = c.get("/v2/%s/referrers/%s" % (name, digest), params=params)
    assert r.status_code == 200, (r.status_code, r.content)
    assert r.headers["Content-Type"].split(";")[0] == OCI_INDEX
    body = r.json()
    assert body["schemaVersion"] == 2
    assert body.get("mediaType", OCI_INDEX) == OCI_INDEX
    assert isinstance(body["manifests"], list)
    return r, body["manifests"]


def by_digest(descs):
    out = {}
    for d in descs:
        assert d["digest"] not in out, "duplicate referrer %s" % d["digest"]
        out[d["digest"]] = d
    return out


def setup_graph(c, name="repo"):
    base, bd = c.push_image(name, "base", seed="ref-base")
    c.push_blob(name, EMPTY_JSON)
    subj = descriptor(OCI_MANIFEST, base)
    sbom_payload = b'{"spdxVersion":"SPDX-2.3"}'
    sig_payload = b'{"critical":{}}'
    c.push_blob(name, sbom_payload)
    c.push_blob(name, sig_payload)
    sbom = artifact(OCI_MANIFEST, base, SBOM, sbom_payload,
                    annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z",
                                 "x.kind": "sbom"})
    sig = artifact(OCI_MANIFEST, base, SIG, sig_payload)
    # No artifactType: the config's media type stands in for it.
    cfg = b'{"custom":true}'
    c.push_blob(name, cfg)
    plain = manifest(cfg, [], config_type=CUSTOM_CONFIG, subject=subj)
    # An index can be a referrer too.
    idx = index([(OCI_MANIFEST, sig)], subject=subj, artifact_type="application/x.bundle",
                annotations={"k": "v"})
    out = {}
    for body, mt, atype, ann in [(sbom, OCI_MANIFEST, SBOM, {"org.opencontainers.image.created": "2024-01-01T00:00:00Z", "x.kind": "sbom"}),
                                 (sig, OCI_MANIFEST, SIG, None),
                                 (plain, OCI_MANIFEST, CUSTOM_CONFIG, None),
                                 (idx, OCI_INDEX, "application/x.bundle", {"k": "v"})]:
        r = c.put_manifest(name, sha256(body), body, mt)
        assert r.headers["OCI-Subject"] == bd
        out[sha256(body)] = (body, mt, atype, ann)
    return bd, out


def test_referrers_list(c):
    bd, expected = setup_graph(c)
    r, descs = referrers(c, "repo", bd)
    assert "OCI-Filters-Applied" not in r.headers
    got = by_digest(descs)
    assert set(got) == set(expected)
    for d, (body, mt, atype, ann) in expected.items():
        desc = got[d]
        assert desc["mediaType"] == mt
        assert desc["size"] == len(body)
        assert desc["artifactType"] == atype
        if ann:
            assert desc["annotations"] == ann
        else:
            assert not desc.get("annotations")
    # An artifact nobody refers to has an empty list.
    _, descs = referrers(c, "repo", sha256(expected[next(iter(expected))][0]))
    assert descs == []


def test_referrers_filter(c):
    bd, expected = setup_graph(c)
    r, descs = referrers(c, "repo", bd, SBOM)
    assert r.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["artifactType"] for d in descs] == [SBOM]
    r, descs = referrers(c, "repo", bd, CUSTOM_CONFIG)
    assert r.headers["OCI-Filters-Applied"] == "artifactType"
    assert len(descs) == 1 and descs[0]["artifactType"] == CUSTOM_CONFIG
    r, descs = referrers(c, "repo", bd, "application/x.nothing")
    assert r.headers["OCI-Filters-Applied"] == "artifactType"
    assert descs == []


def test_referrers_unknown_subject_is_empty_index(c):
    c.push_image("repo", "base", seed="x")
    for d in (sha256(b"never"), sha512(b"never")):
        r, descs = referrers(c, "repo", d)
        assert descs == []
    # Unknown repository: still an empty index.
    r, descs = referrers(c, "no/such/repo", sha256(b"never"))
    assert descs == []


def test_referrer_before_its_subject(c):
    ghost = manifest(image_config("later"), [])
    c.push_blob("repo", EMPTY_JSON)
    c.push_blob("repo", b"payload")
    a = artifact(OCI_MANIFEST, ghost, SBOM, b"payload")
    c.put_manifest("repo", sha256(a), a)
    _, descs = referrers(c, "repo", sha256(ghost))
    assert [d["digest"] for d in descs] == [sha256(a)]


def test_referrers_are_scoped_to_repository(c):
    bd, _ = setup_graph(c, "repo")
    _, descs = referrers(c, "other", bd)
    assert descs == []


def test_deleted_referrer_disappears(c):
    bd, expected = setup_graph(c)
    victim = next(d for d, v in expected.items() if v[2] == SIG)
    assert c.delete("/v2/repo/manifests/" + victim).status_code == 202
    _, descs = referrers(c, "repo", bd)
    assert set(by_digest(descs)) == set(expected) - {victim}
    _, descs = referrers(c, "repo", bd, SIG)
    assert descs == []


def test_referrers_invalid_input(c):
    assert_error(c.get("/v2/repo/referrers/sha256:abc"), 400, "DIGEST_INVALID")
    assert_error(c.get("/v2/repo/referrers/latest"), 400, "DIGEST_INVALID")
    assert_error(c.get("/v2/Bad/referrers/" + sha256(b"x")), 400, "NAME_INVALID")
