"""`berth copy --with-signatures`: an image and a multi-arch index, signed
(legacy .sig and OCI 1.1 bundle referrers), attested (.att and referrer)
and with an SBOM attached (.sbom), are copied from one `berth serve` to
another berth and to Distribution 2.8 (no referrers API: the referrers tag
schema); `berth verify`, `verify-attestation`, `download sbom` and `tree`
then succeed at the destination. Without the flag nothing attached is
copied, and the flag refuses what would change digests."""
import json
import os
import sys

import pytest

import conftest
import signutil as s
from signutil import reg  # noqa: F401  (module fixture: the source)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from distribution import Distribution  # noqa: E402
import replutil  # noqa: E402

BUNDLE_MT = "application/vnd.dev.sigstore.bundle.v0.3+json"


class Signed:
    """The source's signed image and index, made once for the module."""

    def __init__(self, reg, tmp):
        self.key, self.pub = s.keypair(tmp)
        self.one = s.push_fixture(reg, "busybox", "v1", repo="one")
        self.multi = s.push_fixture(reg, "multiarch", "v1", repo="multi", all_=True)
        self.children = [m["digest"]
                         for m in s.manifest(reg, "multi", self.multi).json()["manifests"]]
        self.sbom = tmp / "sbom.spdx.json"
        self.sbom.write_text(json.dumps({"spdxVersion": "SPDX-2.3", "name": "busybox"}))
        pred = tmp / "pred.json"
        pred.write_text(json.dumps({"spdxVersion": "SPDX-2.3"}))
        one = "%s/one:v1" % reg.host
        s.berth("sign", "--key", self.key, one)
        s.berth("sign", "--key", self.key, "--new-bundle-format", one)
        s.berth("attest", "--key", self.key, "--predicate", pred, "--type", "spdxjson", one)
        s.berth("attest", "--key", self.key, "--predicate", pred, "--type", "vuln",
                "--new-bundle-format", one)
        s.berth("attach", "sbom", "--sbom", self.sbom, "--type", "spdx", one)
        multi = "%s/multi:v1" % reg.host
        s.berth("sign", "--key", self.key, "--recursive", multi)
        s.berth("sign", "--key", self.key, "--recursive", "--new-bundle-format", multi)
        s.berth("attach", "sbom", "--sbom", self.sbom, "--type", "spdx", multi)


@pytest.fixture(scope="module")
def signed(reg, tmp_path_factory):  # noqa: F811
    return Signed(reg, tmp_path_factory.mktemp("signed"))


@pytest.fixture(scope="module", params=["berth", "distribution"])
def dest(request, tmp_path_factory):
    work = str(tmp_path_factory.mktemp("dest-" + request.param))
    if request.param == "berth":
        d = conftest.BerthServer(work)
        d.start()
    else:
        replutil.need_distribution()
        d = Distribution(work).start()
    yield request.param, d
    d.stop()


def claims(pub, image):
    out = s.berth("verify", "--key", pub, "--format", "json", image).stdout
    return json.loads(out)


def test_image_travels_with_its_signatures_attestations_and_sbom(reg, signed, dest):  # noqa: F811
    kind, d = dest
    s.berth("copy", "-q", "--with-signatures", "docker://%s/one:v1" % reg.host,
            "docker://%s/one:v1" % d.host)
    image = "%s/one:v1" % d.host
    # The legacy signature and the bundle referrer both verify there.
    got = claims(signed.pub, image)
    assert len(got) == 2, got
    assert {c["critical"]["type"] for c in got} == {"cosign container image signature",
                                                    "https://sigstore.dev/cosign/sign/v1"}
    for c in got:
        assert c["critical"]["image"]["docker-manifest-digest"] == signed.one
    for t in ("spdxjson", "vuln"):
        out = s.berth("verify-attestation", "--key", signed.pub, "--type", t, image).stdout
        assert out.strip(), t
    assert s.berth("download", "sbom", image).stdout == signed.sbom.read_bytes()
    tree = s.berth("tree", image).stdout.decode()
    for want in (s.sig_tag(signed.one, "sig"), s.sig_tag(signed.one, "att"),
                 s.sig_tag(signed.one, "sbom"), BUNDLE_MT):
        assert want in tree, (want, tree)
    if kind == "distribution":
        # No referrers API there: the referrers tag schema lists both bundles.
        idx = s.manifest(d, "one", signed.one.replace(":", "-")).json()
        assert len(idx["manifests"]) == 2
        assert {m["artifactType"] for m in idx["manifests"]} == {BUNDLE_MT}
    else:
        assert len(s.referrers(d, "one", signed.one)) == 2
    # Copying again adds nothing twice.
    s.berth("copy", "-q", "--with-signatures", "docker://%s/one:v1" % reg.host,
            "docker://%s/one:v1" % d.host)
    assert len(claims(signed.pub, image)) == 2


def test_every_platform_of_an_index_carries_its_signatures(reg, signed, dest):  # noqa: F811
    kind, d = dest
    s.berth("copy", "-q", "--all", "--with-signatures", "docker://%s/multi:v1" % reg.host,
            "docker://%s/multi:v1" % d.host)
    for dg in [signed.multi] + signed.children:
        got = claims(signed.pub, "%s/multi@%s" % (d.host, dg))
        assert len(got) == 2, (dg, got)
        assert all(c["critical"]["image"]["docker-manifest-digest"] == dg for c in got)
    assert s.berth("download", "sbom", "%s/multi:v1" % d.host).stdout == \
        signed.sbom.read_bytes()


def test_referrers_of_referrers_travel_two_levels_down(reg, dest):  # noqa: F811
    kind, d = dest
    dg = s.push_fixture(reg, "busybox", "v1", repo="chain")
    chain = replutil.put_referrers_chain(reg, "chain", dg, 3)
    s.berth("copy", "-q", "--with-signatures", "docker://%s/chain:v1" % reg.host,
            "docker://%s/chain:v1" % d.host)
    assert [s.manifest(d, "chain", r).status_code for r in chain] == [200, 200, 404]
    # The second level is listed under its subject: the API, or the tag schema without one.
    if kind == "distribution":
        assert [m["digest"] for m in s.manifest(d, "chain", chain[0].replace(":", "-"))
                .json()["manifests"]] == [chain[1]]
    else:
        assert [m["digest"] for m in s.referrers(d, "chain", chain[0])] == [chain[1]]


def test_without_the_flag_nothing_attached_is_copied(reg, signed, dest):  # noqa: F811
    kind, d = dest
    s.berth("copy", "-q", "--all", "docker://%s/multi:v1" % reg.host,
            "docker://%s/bare:v1" % d.host)
    image = "%s/bare:v1" % d.host
    s.assert_refused(s.berth("verify", "--key", signed.pub, image, check=False),
                     "no valid signatures")
    assert "No Supply Chain Security Related Artifacts" in s.berth("tree", image).stdout.decode()
    for dg in signed.children:
        assert s.manifest(d, "bare", s.sig_tag(dg, "sig")).status_code == 404


def test_the_flag_refuses_what_would_change_digests(reg, signed, tmp_path):  # noqa: F811
    src = "docker://%s/one:v1" % reg.host
    s.assert_refused(s.berth("copy", "-q", "--with-signatures", "--format", "v2s2", src,
                             "docker://%s/conv:v1" % reg.host, check=False), "--format")
    s.assert_refused(s.berth("copy", "-q", "--with-signatures", src,
                             "oci:%s:v1" % (tmp_path / "lay"), check=False), "docker://")
    assert s.manifest(reg, "conv", "v1").status_code == 404


def test_bundles_signed_at_a_registry_without_the_referrers_api(signed, dest):
    """`sign`/`attest --new-bundle-format` straight to the destination: on
    Distribution (no referrers API) the signer keeps the referrers tag
    schema itself, so verify finds the bundles there; on berth the referrers
    API lists them and no such tag is written."""
    kind, d = dest
    dg = s.push_fixture(d, "busybox", "v1", repo="direct")
    image = "%s/direct:v1" % d.host
    pred = signed.sbom
    s.berth("sign", "--key", signed.key, "--new-bundle-format", image)
    s.berth("attest", "--key", signed.key, "--predicate", pred, "--type", "spdxjson",
            "--new-bundle-format", image)
    got = claims(signed.pub, image)
    assert [c["critical"]["image"]["docker-manifest-digest"] for c in got] == [dg]
    assert s.berth("verify-attestation", "--key", signed.pub, "--type", "spdxjson",
                   image).stdout.strip()
    fallback = s.manifest(d, "direct", dg.replace(":", "-"))
    if kind == "distribution":
        idx = fallback.json()
        assert len(idx["manifests"]) == 2, idx
        assert {m["artifactType"] for m in idx["manifests"]} == {BUNDLE_MT}
        # Signing again adds a bundle; the index lists each digest once.
        s.berth("sign", "--key", signed.key, "--new-bundle-format", image)
        idx = s.manifest(d, "direct", dg.replace(":", "-")).json()
        digests = [m["digest"] for m in idx["manifests"]]
        assert len(digests) == len(set(digests)) == 3, idx
    else:
        assert fallback.status_code == 404
        assert len(s.referrers(d, "direct", dg)) == 2
