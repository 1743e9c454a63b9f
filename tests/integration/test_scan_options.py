"""`berth scan` options end to end: images through a transport (an OCI
layout with two layers) and the database pulled from `berth serve`; the
filters (--severity, --ignore-unfixed, --pkg-types); ignore files
(.trivyignore with exp: dates, its YAML form with paths and purls); VEX
(OpenVEX, CycloneDX); exit codes (--exit-code, --fail-on, both); SARIF
validated against the SARIF 2.1.0 schema (python3-jsonschema and the schema
of the npm package @microsoft/jest-sarif, as lint's SARIF is) and CycloneDX
with vulnerabilities validated by @cyclonedx/cyclonedx-library; bad input.
"""
import json
import os
import subprocess
import tarfile

import pytest

import scanutil
from scanutil import findings, scan, scan_json
from sbomutil import BERTH_BIN, SOURCE_DIR, oci_layout, peers
from verutil import NPM_DIR


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("scanopts")
    db = scanutil.import_db(str(d / "db.sqlite"))
    root = scanutil.debian_rootfs(str(d / "deb12"))
    doc = scan_json("--db", db, root)
    return {"dir": d, "db": db, "root": root, "doc": doc, "found": findings(doc)}


def ids(doc):
    return {k[2] for k in findings(doc)}


def test_an_oci_image_gives_the_findings_of_its_rootfs(env, tmp_path):
    # Two layers: the OS first, the language packages on top.
    root = env["root"]
    layers = []
    for members in (["etc", "var"], ["usr", "opt", "srv", "app"]):
        path = tmp_path / ("layer%d.tar" % len(layers))
        with tarfile.open(path, "w") as t:
            for m in members:
                t.add(os.path.join(root, m), arcname=m)
        layers.append(str(path))
    oci_layout(str(tmp_path / "img"), layers)
    e = dict(os.environ, BERTH_ROOT=str(tmp_path / "root"))
    r = subprocess.run([BERTH_BIN, "scan", "--format", "json", "--db", env["db"],
                        "oci:%s:latest" % (tmp_path / "img")], capture_output=True, text=True, env=e)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["digest"].startswith("sha256:")
    assert findings(doc) == env["found"]
    layers_seen = {v["layer"] for res in doc["results"] for v in res["vulnerabilities"]}
    assert len(layers_seen) == 2
    # The second scan reads the catalogue cache: same answer.
    r2 = subprocess.run([BERTH_BIN, "scan", "--format", "json", "--db", env["db"],
                         "oci:%s:latest" % (tmp_path / "img")], capture_output=True, text=True, env=e)
    assert findings(json.loads(r2.stdout)) == env["found"]


def test_rescan_with_a_newer_database_reads_no_layer(env, tmp_path):
    # First scan with an older database (the Debian tracker alone): the
    # layers are catalogued into the cache. Then the layer blobs go and the
    # scan runs with the full database: every finding of the rootfs, from
    # the cache alone (a layer read would fail on the missing blobs).
    layer = tmp_path / "layer.tar"
    with tarfile.open(layer, "w") as t:
        for m in ("etc", "var", "usr", "opt", "srv", "app"):
            t.add(os.path.join(env["root"], m), arcname=m)
    _, descs, _ = oci_layout(str(tmp_path / "img"), [str(layer)])
    old = tmp_path / "old.sqlite"
    r = subprocess.run([BERTH_BIN, "db", "import", "--db", str(old),
                        os.path.join(scanutil.FIX, "debian-tracker.json")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    e = dict(os.environ, BERTH_ROOT=str(tmp_path / "root"))
    target = "oci:%s:latest" % (tmp_path / "img")

    def run(db):
        r = subprocess.run([BERTH_BIN, "scan", "--format", "json", "--db", str(db), target],
                           capture_output=True, text=True, env=e)
        assert r.returncode == 0, r.stderr
        return findings(json.loads(r.stdout))

    first = run(old)
    assert first and set(first) < set(env["found"])  # Debian findings only
    for d in descs:
        os.unlink(tmp_path / "img" / "blobs" / "sha256" / d["digest"][7:])
    assert run(env["db"]) == env["found"]
    # without the cache the missing blob is a warning and no finding: the
    # scan above did not read it
    r = subprocess.run([BERTH_BIN, "scan", "--format", "json", "--no-cache", "--db", str(env["db"]),
                        target], capture_output=True, text=True, env=e)
    assert r.returncode == 0, r.stderr
    assert "warning" in r.stderr and descs[0]["digest"] in r.stderr, r.stderr
    assert findings(json.loads(r.stdout)) == {}


def test_database_pulled_from_berth_serve(env, berth_factory, tmp_path):
    srv = berth_factory()
    ref = "%s/security/vulndb:1" % srv.host
    r = subprocess.run([BERTH_BIN, "db", "push", "--db", env["db"], ref], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    fresh = tmp_path / "empty" / "vulndb.sqlite"
    doc = scan_json("--db", fresh, "--db-repository", ref, env["root"])
    assert findings(doc) == env["found"] and len(env["found"]) > 20


# ---- filters ----

def test_severity_filter(env):
    doc = scan_json("--db", env["db"], "--severity", "HIGH,CRITICAL", env["root"])
    sev = {v["severity"] for r in doc["results"] for v in r["vulnerabilities"]}
    assert sev == {"HIGH", "CRITICAL"}
    want = {k for k, v in env["found"].items()
            if any(x["severity"] in ("HIGH", "CRITICAL") and x["id"] == k[2] and x["package"] == k[0]
                   for r in env["doc"]["results"] for x in r["vulnerabilities"])}
    assert set(findings(doc)) == want
    doc = scan_json("--db", env["db"], "--severity", "negligible", env["root"])
    assert {v["id"] for r in doc["results"] for v in r["vulnerabilities"]} == \
        {"CVE-2007-6755", "CVE-2010-4756"}


def test_ignore_unfixed_and_package_types(env):
    doc = scan_json("--db", env["db"], "--ignore-unfixed", env["root"])
    assert set(findings(doc)) == {k for k, v in env["found"].items() if v}
    assert "CVE-2023-45853" not in ids(doc)  # will-not-fix
    os_only = scan_json("--db", env["db"], "--pkg-types", "os", env["root"])
    lib_only = scan_json("--db", env["db"], "--pkg-types", "library", env["root"])
    assert {r["class"] for r in os_only["results"]} == {"os-pkgs"}
    assert {r["class"] for r in lib_only["results"]} == {"lang-pkgs"}
    assert len(findings(os_only)) + len(findings(lib_only)) == len(env["found"])


# ---- ignore files ----

def test_trivyignore_with_expiry(env, tmp_path):
    f = tmp_path / ".trivyignore"
    f.write_text("# accepted\nCVE-2023-5363\nGHSA-35jh-r3h4-6jhm exp:2999-01-01\n"
                 "CVE-2007-6755 exp:2001-01-01  # expired: reported again\n"
                 "DSA-5514-1\n")
    doc = scan_json("--db", env["db"], "--ignorefile", f, env["root"])
    got = ids(doc)
    # DSA-5514-1 is an alias of every CVE it names: all three go.
    assert {"CVE-2023-5363", "GHSA-35jh-r3h4-6jhm", "CVE-2023-4911", "CVE-2023-4527",
            "CVE-2023-4806"}.isdisjoint(got)
    assert {"CVE-2023-4911", "CVE-2023-4527", "CVE-2023-4806"} <= ids(env["doc"])
    assert "CVE-2007-6755" in got
    sup = findings(doc, suppressed=True)
    assert set(sup) | set(findings(doc)) == set(env["found"])
    assert all(v["suppressed_by"].startswith("ignore file") for v in doc["suppressed"])
    # The default file in the current directory is read too.
    r = scan("--db", env["db"], "--format", "json", env["root"], cwd=tmp_path)
    assert "CVE-2023-5363" not in ids(json.loads(r.stdout))


def test_trivyignore_yaml_with_paths_and_purls(env, tmp_path):
    f = tmp_path / "ignore.yaml"
    f.write_text("vulnerabilities:\n"
                 "  - id: GHSA-v845-jxx5-vc9f\n"
                 "    paths:\n      - usr/lib/python3/dist-packages/**\n"
                 "    statement: only the system copy\n"
                 "  - id: GHSA-xvch-5gv4-984h\n"
                 "    purls:\n      - pkg:npm/minimist@1.2.5\n"
                 "  - id: CVE-2010-4756\n    expired_at: 2000-01-01\n")
    doc = scan_json("--db", env["db"], "--ignorefile", f, env["root"])
    sup = findings(doc, suppressed=True)
    assert set(sup) == {("urllib3", "1.26.16", "GHSA-v845-jxx5-vc9f"),
                        ("minimist", "1.2.5", "GHSA-xvch-5gv4-984h")}
    left = findings(doc)
    assert ("urllib3", "2.0.0", "GHSA-v845-jxx5-vc9f") in left
    assert ("minimist", "0.2.3", "GHSA-xvch-5gv4-984h") in left
    assert any(k[2] == "CVE-2010-4756" for k in left)
    assert "only the system copy" in json.dumps(doc["suppressed"])


def test_bad_ignore_files_are_errors_naming_the_line(env, tmp_path):
    f = tmp_path / ".trivyignore"
    f.write_text("CVE-1\nCVE-2 exp:tomorrow\n")
    r = scan("--db", env["db"], "--ignorefile", f, env["root"], check=False)
    assert r.returncode == 1 and ".trivyignore:2" in r.stderr
    y = tmp_path / "x.yaml"
    y.write_text("vulnerabilities: [\n")
    r = scan("--db", env["db"], "--ignorefile", y, env["root"], check=False)
    assert r.returncode == 1 and "x.yaml" in r.stderr


# ---- VEX ----

def test_openvex_suppresses_exactly_its_statements(env, tmp_path):
    vex = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex-1",
           "author": "test", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
           "statements": [
               {"vulnerability": {"name": "CVE-2023-5363"},
                "products": [{"@id": "pkg:oci/deb12",
                              "subcomponents": [{"@id": "pkg:deb/debian/openssl"}]}],
                "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
               {"vulnerability": {"name": "GHSA-35jh-r3h4-6jhm"},
                "products": [{"@id": "pkg:npm/lodash@4.17.20"}], "status": "fixed"},
               {"vulnerability": {"name": "GHSA-j8r2-6x86-q33q"},
                "products": [{"@id": "pkg:pypi/requests@2.30.0"}], "status": "affected",
                "action_statement": "upgrade"}]}
    f = tmp_path / "vex.json"
    f.write_text(json.dumps(vex))
    doc = scan_json("--db", env["db"], "--vex", f, env["root"])
    assert set(findings(doc, suppressed=True)) == {
        ("openssl", "3.0.11-1~deb12u1+b9", "CVE-2023-5363"),
        ("lodash", "4.17.20", "GHSA-35jh-r3h4-6jhm")}
    left = findings(doc)
    assert ("libssl3", "3.0.9-1+b9", "CVE-2023-5363") in left  # another package
    assert ("lodash", "3.10.1", "GHSA-35jh-r3h4-6jhm") in left  # another version
    assert ("requests", "2.30.0", "GHSA-j8r2-6x86-q33q") in left  # affected stays
    assert "vulnerable_code_not_in_execute_path" in json.dumps(doc["suppressed"])


def test_cyclonedx_vex(env, tmp_path):
    vex = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
           "vulnerabilities": [
               {"id": "RUSTSEC-2021-0003", "analysis": {"state": "false_positive"},
                "affects": [{"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#"
                                    "pkg:cargo/smallvec@1.6.0"}]},
               {"id": "GHSA-crjr-9rc5-ghw8", "analysis": {"state": "exploitable"},
                "affects": [{"ref": "pkg:gem/nokogiri@1.13.3"}]}]}
    f = tmp_path / "vex.cdx.json"
    f.write_text(json.dumps(vex))
    doc = scan_json("--db", env["db"], "--vex", f, env["root"])
    assert set(findings(doc, suppressed=True)) == {("smallvec", "1.6.0", "RUSTSEC-2021-0003")}
    assert ("nokogiri", "1.13.3", "GHSA-crjr-9rc5-ghw8") in findings(doc)


# ---- exit codes ----

def test_exit_codes(env, tmp_path):
    db, root = env["db"], env["root"]
    assert scan("--db", db, root).returncode == 0
    assert scan("--db", db, "--exit-code", "3", root, check=False).returncode == 3
    # Nothing left after the filters: 0.
    ign = tmp_path / "all.trivyignore"
    ign.write_text("".join(k[2] + "\n" for k in env["found"]) + "DSA-5514-1\n")
    assert scan("--db", db, "--exit-code", "3", "--ignorefile", ign, root).returncode == 0
    assert scan("--db", db, "--fail-on", "critical", root, check=False).returncode == 1
    assert scan("--db", db, "--fail-on", "critical", "--exit-code", "7", root,
                check=False).returncode == 7
    # Only LOW and below in the OS packages: --fail-on MEDIUM passes there.
    assert scan("--db", db, "--pkg-types", "os", "--fail-on", "MEDIUM", "--exit-code", "7",
                root).returncode == 0
    assert scan("--db", db, "--pkg-types", "os", "--fail-on", "LOW", root,
                check=False).returncode == 1
    # NEGLIGIBLE sorts below LOW.
    assert scan("--db", db, "--severity", "NEGLIGIBLE", "--fail-on", "LOW", root).returncode == 0
    for bad in (["--fail-on", "severe"], ["--severity", "HIGH,,LOW"], ["--pkg-types", "kernel"],
                ["--format", "xml"], ["--exit-code", "300"]):
        r = scan("--db", db, *bad, root, check=False)
        assert r.returncode == 2 and r.stderr.startswith("berth scan: "), (bad, r.stderr)


# ---- documents ----

def sarif_schema():
    path = os.path.join(NPM_DIR, "node_modules", "@microsoft", "jest-sarif", "lib", "schemas",
                        "sarif-2.1.0-rtm.5.json")
    if not os.path.exists(path):
        pytest.fail("SARIF schema not found at %s: run scripts/npm-peers.sh" % path)
    try:
        import jsonschema
    except ImportError:
        pytest.fail("python3-jsonschema is missing: apt-get install python3-jsonschema")
    return jsonschema, json.load(open(path))


def test_sarif_validates_and_lists_every_finding(env, tmp_path):
    jsonschema, schema = sarif_schema()
    out = tmp_path / "scan.sarif"
    scan("--db", env["db"], "--format", "sarif", "-o", out, env["root"])
    doc = json.load(open(out))
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    assert len(run["results"]) == len(env["found"])
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for res in run["results"]:
        rule = rules[res["ruleIndex"]]
        assert rule["id"] == res["ruleId"]
        sev = rule["properties"]["tags"][2]
        assert res["level"] == {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}.get(sev, "note")
    bad = dict(doc)
    del bad["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(bad)


def test_sarif_cuts_a_long_summary_between_characters(env, tmp_path):
    # A record of our own (not a real advisory): its summary's 1,000th byte
    # is the first of a two-byte character, and so is its 1,024th. The
    # database keeps at most 1,023 bytes of a summary, the rule's
    # fullDescription at most 1,000: both without the half character (the
    # SARIF document was refused before: a JSON string must be valid UTF-8).
    db = tmp_path / "db.sqlite"
    db.write_bytes(open(env["db"], "rb").read())
    summary = "x" * 999 + "\u00e9" * 20
    rec = tmp_path / "BERTH-TEST-LONG.json"
    rec.write_text(json.dumps({
        "schema_version": "1.6.0", "id": "BERTH-TEST-LONG", "modified": "2026-01-01T00:00:00Z",
        "summary": summary,
        "affected": [{"package": {"ecosystem": "PyPI", "name": "urllib3"},
                      "ranges": [{"type": "ECOSYSTEM",
                                  "events": [{"introduced": "0"}, {"fixed": "2.0.7"}]}]}]}))
    r = subprocess.run([BERTH_BIN, "db", "import", "--db", str(db), str(rec)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(scan("--db", db, "--format", "sarif", env["root"]).stdout)
    rule = [x for x in doc["runs"][0]["tool"]["driver"]["rules"] if x["id"] == "BERTH-TEST-LONG"]
    assert rule[0]["fullDescription"]["text"] == "BERTH-TEST-LONG: " + "x" * 999
    assert rule[0]["shortDescription"]["text"] == "x" * 999 + "\u00e9" * 12


@pytest.mark.parametrize("version", ["1.6", "1.5"])
def test_cyclonedx_with_vulnerabilities_validates(env, tmp_path, version):
    _, node_path = peers()
    out = tmp_path / "scan.cdx.json"
    scan("--db", env["db"], "--format", "cyclonedx", "--cyclonedx-version", version, "-o", out,
         env["root"])
    r = subprocess.run(["node", os.path.join(SOURCE_DIR, "tests", "peers", "cdx-validate.js"),
                        str(out), version], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=node_path))
    assert r.returncode == 0 and r.stdout.strip() == "valid", r.stdout + r.stderr
    doc = json.load(open(out))
    refs = {c["bom-ref"]: c for c in doc["components"]}
    got = set()
    for v in doc["vulnerabilities"]:
        comp = refs[v["affects"][0]["ref"]]
        got.add((comp["name"], v["id"]))
    assert got == {(k[0], k[2]) for k in env["found"]}


def test_table_groups_by_target(env):
    out = scan("--db", env["db"], env["root"]).stdout
    for target in ("debian 12.2 (deb)", "Python (pypi)", "Node.js (npm)", "Java (maven)"):
        assert "\n%s\n%s\n" % (target, "=" * len(target)) in out
    assert "Total: 3 (UNKNOWN: 0, NEGLIGIBLE: 0, LOW: 0, MEDIUM: 3, HIGH: 0, CRITICAL: 0)" in out


def test_missing_database_and_bad_targets(env, tmp_path):
    r = scan("--db", tmp_path / "none.sqlite", env["root"], check=False)
    assert r.returncode == 1 and "no vulnerability database" in r.stderr
    r = scan("--db", env["db"], "oci:%s" % (tmp_path / "nothing"), check=False)
    assert r.returncode == 1 and r.stderr.startswith("berth scan: ")
    v = tmp_path / "v.json"
    v.write_text("[1]")
    r = scan("--db", env["db"], "--vex", v, env["root"], check=False)
    assert r.returncode == 1 and "v.json" in r.stderr


# ---- CVSS v4.0 ----

def test_cvss_v4_vectors_give_score_severity_and_rating_method(env, tmp_path):
    # A record of our own (not a real advisory) with only a CVSS v4.0 vector
    # (VA:H, 8.7 HIGH by FIRST's calculator), one with both (v3 is kept: 7.5)
    # and one whose v4 vector is malformed (no score, severity UNKNOWN).
    db = tmp_path / "db.sqlite"
    db.write_bytes(open(env["db"], "rb").read())
    v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N"
    v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"
    recs = {"BERTH-TEST-V4": [{"type": "CVSS_V4", "score": v4}],
            "BERTH-TEST-V3V4": [{"type": "CVSS_V4", "score": v4}, {"type": "CVSS_V3", "score": v3}],
            "BERTH-TEST-BADV4": [{"type": "CVSS_V4", "score": v4[:-5]}]}
    for ident, sev in recs.items():
        (tmp_path / (ident + ".json")).write_text(json.dumps({
            "schema_version": "1.6.0", "id": ident, "modified": "2026-01-01T00:00:00Z",
            "summary": "test record for CVSS v4.0 scoring", "severity": sev,
            "affected": [{"package": {"ecosystem": "PyPI", "name": "urllib3"},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": "2.0.7"}]}]}]}))
        r = subprocess.run([BERTH_BIN, "db", "import", "--db", str(db),
                            str(tmp_path / (ident + ".json"))], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    doc = scan_json("--db", db, env["root"])
    got = {v["id"]: v for res in doc["results"] for v in res["vulnerabilities"]
           if v["id"].startswith("BERTH-TEST") and v["installed_version"] == "2.0.0"}
    assert (got["BERTH-TEST-V4"]["cvss"], got["BERTH-TEST-V4"]["cvss_vector"],
            got["BERTH-TEST-V4"]["severity"]) == (8.7, v4, "HIGH")
    assert (got["BERTH-TEST-V3V4"]["cvss"], got["BERTH-TEST-V3V4"]["cvss_vector"],
            got["BERTH-TEST-V3V4"]["severity"]) == (7.5, v3, "HIGH")
    assert (got["BERTH-TEST-BADV4"]["cvss"], got["BERTH-TEST-BADV4"]["severity"]) == \
        (None, "UNKNOWN")
    # the v3 advisory of the fixtures keeps its vector and score
    v845 = [v for res in doc["results"] for v in res["vulnerabilities"]
            if v["id"] == "GHSA-v845-jxx5-vc9f"][0]
    assert v845["cvss"] == 5.9 and v845["cvss_vector"].startswith("CVSS:3.1/")
    # --severity and --fail-on follow the v4 severity
    high = scan_json("--db", db, "--severity", "HIGH", env["root"])
    assert "BERTH-TEST-V4" in ids(high) and "BERTH-TEST-BADV4" not in ids(high)
    # CycloneDX names the method of each rating
    r = scan("--db", db, "--format", "cyclonedx", env["root"])
    cdx = {v["id"]: v for v in json.loads(r.stdout)["vulnerabilities"]}
    assert cdx["BERTH-TEST-V4"]["ratings"][0]["method"] == "CVSSv4"
    assert cdx["BERTH-TEST-V4"]["ratings"][0]["vector"] == v4
    assert cdx["BERTH-TEST-V3V4"]["ratings"][0]["method"] == "CVSSv31"
    assert "method" not in cdx["BERTH-TEST-BADV4"]["ratings"][0]
