"""berth build --sbom=true --provenance=mode=min|max: a busybox build pushed
to a real `berth serve` carries BuildKit-shaped attestation manifests in its
index (platform unknown/unknown, vnd.docker.reference.type
attestation-manifest, in-toto layers with in-toto.io/predicate-type), read
back with skopeo inspect --raw and the registry API: the SPDX SBOM lists the
package the image holds, the SLSA v0.2 provenance names the base image's
digest, and mode=max adds the build arguments and the Dockerfile.

berth's catalogue has no binary classifier, so the static busybox of the
fixture is declared the way a distribution declares it (a dpkg status
stanza copied in by the Dockerfile); the SBOM must then list it.
Needs root (berth build does) and skopeo."""
import base64
import json
import os
import subprocess
import sys

import requests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", "berth")
INTOTO = "application/vnd.in-toto+json"
ACCEPT = ",".join(["application/vnd.oci.image.index.v1+json",
                   "application/vnd.oci.image.manifest.v1+json"])

DOCKERFILE = """\
FROM {base}
COPY status /var/lib/dpkg/status
ARG NOTE=plain
RUN echo "$NOTE" > /note
"""

STATUS = """\
Package: busybox
Status: install ok installed
Priority: optional
Section: utils
Maintainer: Debian Busybox Maintainers <busybox-maint@lists.alioth.debian.org>
Architecture: amd64
Version: 1:1.35.0-4
Description: Tiny utilities for small and embedded systems
"""


def build(tmp_path, *args):
    env = dict(os.environ, BERTH_ROOT=str(tmp_path / "store"))
    p = subprocess.run([BERTH, "build"] + [str(a) for a in args], env=env, capture_output=True,
                       timeout=600)
    assert p.returncode == 0, "berth build failed (%d):\n%s" % (p.returncode, p.stderr.decode())
    return p


def context(tmp_path, berth):
    base = "%s/library/busybox:1" % berth.host
    ct.skopeo("copy", "--dest-tls-verify=false", "oci:%s:busybox" % images.ensure("busybox"),
              "docker://" + base)
    d = tmp_path / "ctx"
    d.mkdir()
    (d / "Dockerfile").write_text(DOCKERFILE.format(base=base))
    (d / "status").write_text(STATUS)
    r = requests.head("%s/v2/library/busybox/manifests/1" % berth.url,
                      headers={"Accept": ACCEPT})
    return d, r.headers["Docker-Content-Digest"]


def get(berth, repo, ref, blob=False):
    r = requests.get("%s/v2/%s/%s/%s" % (berth.url, repo, "blobs" if blob else "manifests", ref),
                     headers={"Accept": ACCEPT})
    assert r.status_code == 200, (ref, r.status_code)
    return r.json()


def statements(berth, repo, tag):
    """The index (as skopeo reads it), the image descriptor and {predicateType: statement}."""
    raw = ct.skopeo("inspect", "--raw", "--tls-verify=false",
                    "docker://%s/%s:%s" % (berth.host, repo, tag))
    idx = json.loads(raw.stdout if hasattr(raw, "stdout") else raw)
    assert idx["mediaType"] == "application/vnd.oci.image.index.v1+json"
    image, att = idx["manifests"]
    assert image["platform"]["os"] == "linux"
    assert att["platform"] == {"architecture": "unknown", "os": "unknown"}
    assert att["annotations"] == {"vnd.docker.reference.type": "attestation-manifest",
                                  "vnd.docker.reference.digest": image["digest"]}
    man = get(berth, repo, att["digest"])
    out = {}
    for layer in man["layers"]:
        assert layer["mediaType"] == INTOTO
        st = get(berth, repo, layer["digest"], blob=True)
        assert st["predicateType"] == layer["annotations"]["in-toto.io/predicate-type"]
        assert st["_type"] == "https://in-toto.io/Statement/v0.1"
        subject, = st["subject"]
        assert subject["digest"]["sha256"] == image["digest"].split(":")[1]
        assert subject["name"].startswith("pkg:docker/%s/%s@%s" % (berth.host, repo, tag))
        out[st["predicateType"]] = st
    return idx, image, out


def test_sbom_and_max_provenance_are_attestation_manifests(tmp_path, berth):
    ctx, base_digest = context(tmp_path, berth)
    ref = "%s/att/app:max" % berth.host
    build(tmp_path, "-t", ref, "--push", "--sbom=true", "--provenance=mode=max",
          "--build-arg", "NOTE=from-test", "--progress", "quiet", ctx)
    idx, image, st = statements(berth, "att/app", "max")
    assert set(st) == {"https://spdx.dev/Document", "https://slsa.dev/provenance/v0.2"}
    sbom = st["https://spdx.dev/Document"]["predicate"]
    assert sbom["spdxVersion"] == "SPDX-2.3"
    assert "busybox" in [p["name"] for p in sbom["packages"]], sbom["packages"]
    prov = st["https://slsa.dev/provenance/v0.2"]["predicate"]
    assert prov["buildType"] == "https://mobyproject.org/buildkit@v1"
    assert prov["invocation"]["configSource"]["entryPoint"] == "Dockerfile"
    assert prov["invocation"]["environment"]["platform"].startswith("linux/")
    material, = prov["materials"]
    assert material["digest"]["sha256"] == base_digest.split(":")[1]
    assert material["uri"].startswith("pkg:docker/%s/library/busybox@1" % berth.host)
    assert prov["invocation"]["parameters"]["args"] == {"build-arg:NOTE": "from-test"}
    info, = prov["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]["source"]["infos"]
    assert base64.b64decode(info["data"]).decode() == (ctx / "Dockerfile").read_text()
    for k in ("buildInvocationID", "buildStartedOn", "buildFinishedOn", "completeness"):
        assert k in prov["metadata"], k
    # The image itself is the one berth built, pullable by its digest.
    assert get(berth, "att/app", image["digest"])["config"]


def test_min_provenance_leaves_out_arguments_and_dockerfile(tmp_path, berth):
    ctx, base_digest = context(tmp_path, berth)
    ref = "%s/att/app:min" % berth.host
    build(tmp_path, "-t", ref, "--push", "--provenance=mode=min", "--build-arg", "NOTE=secretish",
          "--progress", "quiet", ctx)
    _, _, st = statements(berth, "att/app", "min")
    assert set(st) == {"https://slsa.dev/provenance/v0.2"}
    prov = st["https://slsa.dev/provenance/v0.2"]["predicate"]
    assert "args" not in prov["invocation"]["parameters"]
    assert "https://mobyproject.org/buildkit@v1#metadata" not in prov["metadata"]
    assert b"secretish" not in json.dumps(prov).encode()
    assert prov["materials"][0]["digest"]["sha256"] == base_digest.split(":")[1]
    # Without the flags the pushed tag is the image itself, as before.
    build(tmp_path, "-t", "%s/att/app:plain" % berth.host, "--push", "--progress", "quiet", ctx)
    assert get(berth, "att/app", "plain")["mediaType"] == \
        "application/vnd.oci.image.manifest.v1+json"


def test_sign_key_signs_the_index_its_images_and_attestations(tmp_path, berth):
    """--sign-key: after the push, the index and every manifest it lists (the
    image and the attestation manifest) carry a cosign .sig signature that
    `berth verify` and openssl accept; `berth download attestation` prints the
    statements BuildKit-style attestations keep inside the index."""
    import signutil as su
    key, pub = su.keypair(tmp_path)
    ctx, _ = context(tmp_path, berth)
    ref = "%s/att/signed:v1" % berth.host
    env = dict(os.environ, BERTH_ROOT=str(tmp_path / "store"), COSIGN_PASSWORD=su.PASSWORD)
    p = subprocess.run([BERTH, "build", "-t", ref, "--push", "--sbom=true",
                        "--provenance=mode=min", "--sign-key", str(key), "--progress", "quiet",
                        str(ctx)], env=env, capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr.decode()
    idx, image, st = statements(berth, "att/signed", "v1")
    index = requests.head("%s/v2/att/signed/manifests/v1" % berth.url,
                          headers={"Accept": ACCEPT}).headers["Docker-Content-Digest"]
    digests = [index] + [m["digest"] for m in idx["manifests"]]
    assert len(digests) == 3
    for n, d in enumerate(digests):
        (desc, payload), = su.sig_layers(berth, "att/signed", d)
        claims = json.loads(payload)["critical"]
        assert claims["image"]["docker-manifest-digest"] == d
        assert claims["identity"]["docker-reference"] == "%s/att/signed" % berth.host
        # openssl checks the signature over the exact payload bytes, independently of berth.
        (tmp_path / ("p%d" % n)).write_bytes(payload)
        (tmp_path / ("s%d" % n)).write_bytes(
            base64.b64decode(desc["annotations"]["dev.cosignproject.cosign/signature"]))
        o = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(pub), "-signature",
                            str(tmp_path / ("s%d" % n)), str(tmp_path / ("p%d" % n))],
                           capture_output=True)
        assert o.returncode == 0, o.stdout + o.stderr
        su.berth("verify", "--key", pub, "%s/att/signed@%s" % (berth.host, d))
    # Another key's public half verifies none of them.
    _, other = su.keypair(tmp_path, "other")
    v = su.berth("verify", "--key", other, ref, check=False)
    assert v.returncode == 1, v.stderr.decode()
    # download attestation: one line per in-index statement, the registry's own bytes.
    out = su.berth("download", "attestation", ref).stdout.decode().splitlines()
    got = {json.loads(line)["predicateType"]: json.loads(line) for line in out}
    assert got == st and len(out) == 2
    # The image alone (by digest) keeps no in-index attestation: nothing to print, exit 1.
    none = su.berth("download", "attestation", "%s/att/signed@%s" % (berth.host, image["digest"]),
                    check=False)
    su.assert_refused(none, "no attestation")


def test_sign_key_refuses_bad_use_before_building(tmp_path, berth):
    """--sign-key without a push is a usage error; a wrong password fails
    with the key's error before anything is built or pushed."""
    import signutil as su
    key, _ = su.keypair(tmp_path)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM %s/nothing/here:1\n" % berth.host)
    env = dict(os.environ, BERTH_ROOT=str(tmp_path / "store"), COSIGN_PASSWORD=su.PASSWORD)
    p = subprocess.run([BERTH, "build", "--sign-key", str(key), str(ctx)], env=env,
                       capture_output=True, timeout=60)
    assert p.returncode == 2 and b"--sign-key needs --push" in p.stderr, p.stderr
    env["COSIGN_PASSWORD"] = "wrong"
    p = subprocess.run([BERTH, "build", "-t", "%s/att/never:1" % berth.host, "--push",
                        "--sign-key", str(key), str(ctx)], env=env, capture_output=True,
                       timeout=60)
    err = p.stderr.decode()
    assert p.returncode == 1 and "berth build: %s" % key in err, err
    assert "nothing/here" not in err  # refused before the build looked for its base
    assert requests.get("%s/v2/att/never/tags/list" % berth.url).status_code == 404
