"""SBOM documents against their specifications: CycloneDX 1.6 and 1.5 with
@cyclonedx/cyclonedx-library's strict JSON schema validator; SPDX 2.3 with
spdx23.check (written from the spec). Each validator is first shown to
reject a broken document, so a pass means something. Inputs: the Debian 12
rootfs (shared, built once) and a layered image with licences that are and
are not SPDX identifiers, duplicate PURLs, and every ecosystem."""
import copy
import json
import os
import subprocess

import spdx23
from sbomutil import SOURCE_DIR, berth_sbom, oci_layout, peers, rootfs, tar_bytes

VALIDATOR = os.path.join(SOURCE_DIR, "tests", "peers", "cdx-validate.js")


def cdx_valid(path, version):
    _, node_path = peers()
    r = subprocess.run(["node", VALIDATOR, str(path), version], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=node_path))
    return r.returncode == 0 and r.stdout.strip() == "valid", r.stdout + r.stderr


def mixed_image(tmp_path):
    layer = tar_bytes([
        ("etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
        ("var/lib/dpkg/status", b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
                                b"Version: 2.36-9+deb12u4\nSource: glibc\n"),
        ("a/node_modules/x/package.json", b'{"name":"x","version":"1.0.0","license":"(MIT OR Apache-2.0)"}'),
        ("b/node_modules/x/package.json", b'{"name":"x","version":"1.0.0","license":"Custom Licence v2!"}'),
        ("c/node_modules/@s/y/package.json", b'{"name":"@s/y","version":"2.0.0-beta+1","license":"mit"}'),
        ("p/a_b-1.0.dist-info/METADATA", b"Name: A_B\nVersion: 1.0\nLicense: GPLv2+\n\n"),
        ("r/Cargo.lock", b'[[package]]\nname = "serde"\nversion = "1.0.0"\n'),
        ("g/go.mod", b"module m\nrequire github.com/a/b v1.2.3\n"),
        ("ruby/specifications/rake-13.0.6.gemspec", b's.name = "rake"\ns.version = "13.0.6"\n'),
        ("php/composer.lock", b'{"packages":[{"name":"psr/log","version":"3.0.0"}]}'),
        ("net/app.deps.json", b'{"libraries":{"N.J/13.0.3":{"type":"package"}}}'),
    ])
    oci_layout(str(tmp_path / "img"), [layer])
    return "oci:%s" % (tmp_path / "img")


def test_validators_reject_broken_documents(tmp_path):
    target = mixed_image(tmp_path)
    out = tmp_path / "c.json"
    berth_sbom(["--format", "cyclonedx-json", "-o", str(out), target], env={"BERTH_ROOT": str(tmp_path)})
    doc = json.load(open(out))
    bad = copy.deepcopy(doc)
    bad["components"][0]["type"] = "not-a-type"
    bad_path = tmp_path / "bad.json"
    json.dump(bad, open(bad_path, "w"))
    ok, msg = cdx_valid(bad_path, "1.6")
    assert not ok, "the CycloneDX validator accepted a bad component type"
    spdx_out = tmp_path / "s.json"
    berth_sbom(["--format", "spdx-json", "-o", str(spdx_out), target], env={"BERTH_ROOT": str(tmp_path)})
    sdoc = json.load(open(spdx_out))
    for mutate in (lambda d: d["packages"][1].__setitem__("SPDXID", "SPDXRef-bad id"),
                   lambda d: d["relationships"].append({"spdxElementId": "SPDXRef-Root",
                                                        "relationshipType": "CONTAINS",
                                                        "relatedSpdxElement": "SPDXRef-missing"}),
                   lambda d: d["packages"][2].__setitem__("licenseDeclared", "LicenseRef-undefined"),
                   lambda d: d["packages"][0].__setitem__("checksums", [{"algorithm": "SHA256", "checksumValue": "abc"}]),
                   lambda d: d.__setitem__("dataLicense", "MIT"),
                   lambda d: d["packages"].append(dict(d["packages"][-1], SPDXID="SPDXRef-orphan"))):
        b = copy.deepcopy(sdoc)
        mutate(b)
        assert spdx23.check(b), "spdx23.check accepted a broken document"


def test_cyclonedx_16_and_15_are_schema_valid(tmp_path):
    target = mixed_image(tmp_path)
    for ver in ("1.6", "1.5"):
        out = tmp_path / ("c%s.json" % ver)
        berth_sbom(["--format", "cyclonedx-json", "--cyclonedx-version", ver, "-o", str(out), target],
                   env={"BERTH_ROOT": str(tmp_path)})
        ok, msg = cdx_valid(out, ver)
        assert ok, msg
        doc = json.load(open(out))
        assert doc["specVersion"] == ver
        comps = doc["components"]
        refs = [c["bom-ref"] for c in comps]
        assert len(refs) == len(set(refs))  # the duplicate x@1.0.0 got its own ref
        by = {(c["name"], c.get("purl")): c for c in comps}
        assert by[("@s/y", "pkg:npm/%40s/y@2.0.0-beta%2B1")]["licenses"] == [{"expression": "MIT"}]
        assert by[("A_B", "pkg:pypi/a-b@1.0")]["licenses"] == [{"expression": "GPL-2.0-or-later"}]
        assert [c for c in comps if c["type"] == "operating-system"][0]["name"] == "debian"
        deps = doc["dependencies"][0]
        assert deps["ref"] == doc["metadata"]["component"]["bom-ref"]
        assert set(deps["dependsOn"]) == set(refs)


def test_spdx_23_follows_the_spec(tmp_path):
    target = mixed_image(tmp_path)
    out = tmp_path / "s.json"
    berth_sbom(["--format", "spdx-json", "-o", str(out), target], env={"BERTH_ROOT": str(tmp_path)})
    doc = json.load(open(out))
    assert spdx23.check(doc) == []
    pk = {p["name"]: p for p in doc["packages"]}
    assert pk["x"]["externalRefs"][0]["referenceLocator"] == "pkg:npm/x@1.0.0"
    declared = sorted(p["licenseDeclared"] for p in doc["packages"] if p["name"] == "x")
    assert declared[0] == "(MIT OR Apache-2.0)"
    assert declared[1].startswith("LicenseRef-")
    root = [p for p in doc["packages"] if p["SPDXID"] == "SPDXRef-Root"][0]
    assert root["primaryPackagePurpose"] == "CONTAINER"
    assert root["checksums"][0]["algorithm"] == "SHA256"
    # 10 packages, the OS and the root, each contained by the root
    assert len(doc["packages"]) == 12


def test_debian_rootfs_documents_are_valid(tmp_path):
    _, root = rootfs("debian")
    cdx, spdx = tmp_path / "c.json", tmp_path / "s.json"
    berth_sbom(["--format", "cyclonedx-json", "-o", str(cdx), "rootfs:" + root])
    berth_sbom(["--format", "spdx-json", "-o", str(spdx), "rootfs:" + root])
    ok, msg = cdx_valid(cdx, "1.6")
    assert ok, msg
    doc = json.load(open(spdx))
    assert spdx23.check(doc) == []
    assert len(doc["packages"]) > 90
