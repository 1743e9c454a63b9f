"""`berth scan` against independent computations over the same advisories.

The database is imported from the advisory fixtures (tests/fixtures/
advisories: real identifiers and ranges of Debian, Alpine and OSV records).
Root filesystems are written by scanutil.py with packages at versions on
both sides of each fix. The expected findings are computed by this test
from the advisory files themselves, with each ecosystem's own
implementation deciding the order: `dpkg --compare-versions` for Debian
source versions, python3-packaging for PyPI, npm's `semver` for npm. apk
(no implementation here) and the ecosystems of OTHERS use tables read off
the records (scanutil.APK_EXPECTED, scanutil.OTHERS_EXPECTED).
"""
import glob
import json
import os
import shutil
import subprocess

import pytest

import scanutil
from scanutil import FIX, findings, scan, scan_json
from verutil import NPM_DIR


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("scan")
    db = scanutil.import_db(str(d / "db.sqlite"))
    deb = scanutil.debian_rootfs(str(d / "deb12"))
    alp = scanutil.alpine_rootfs(str(d / "alpine"))
    doc = scan_json("--db", db, deb)
    return {"dir": d, "db": db, "deb": deb, "alpine": alp, "doc": doc,
            "found": findings(doc)}


def osv_records():
    for path in sorted(glob.glob(os.path.join(FIX, "osv", "*.json"))):
        with open(path) as f:
            yield json.load(f)


def affected(events, lt):
    """OSV range evaluation with the peer's order (lt(a, b): a < b)."""
    hit = False
    for e in events:  # the fixtures list events in order
        if "introduced" in e:
            hit = e["introduced"] == "0" or not lt(VERSION, e["introduced"])
        elif "fixed" in e and not lt(VERSION, e["fixed"]):
            hit = False
    return hit


VERSION = None


def expect_osv(ecosystem, package, version, lt, norm=lambda s: s):
    """[(record, fixed)] of the OSV fixtures for one package version, decided by lt."""
    global VERSION
    VERSION = version
    out = []
    for rec in osv_records():
        for aff in rec["affected"]:
            p = aff["package"]
            if p["ecosystem"].split(":")[0] != ecosystem.split(":")[0]:
                continue
            if ":" in ecosystem and p["ecosystem"].split(":")[1] != ecosystem.split(":")[1]:
                continue
            if norm(p["name"]) != norm(package):
                continue
            for r in aff.get("ranges", []):
                if affected(r["events"], lt):
                    fixes = [e["fixed"] for e in r["events"] if "fixed" in e
                             and lt(version, e["fixed"])]
                    out.append((rec, fixes[0] if fixes else ""))
    return out


# ---- Debian: dpkg --compare-versions ----

def dpkg_lt(a, b):
    if not shutil.which("dpkg"):
        pytest.fail("dpkg is missing: apt-get install dpkg")
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0


def expect_debian(source, version, codename="bookworm", release="12"):
    with open(os.path.join(FIX, "debian-tracker.json")) as f:
        tracker = json.load(f)
    out = {}
    for cve, entry in tracker.get(source, {}).items():
        rel = entry["releases"].get(codename)
        if not rel:
            continue
        fixed = rel.get("fixed_version")
        if rel["status"] == "resolved":
            if fixed == "0" or not dpkg_lt(version, fixed):
                continue
            out[cve] = fixed
        else:
            out[cve] = ""
    # A DSA that names a CVE the tracker reports merges into it; the other
    # CVEs it names are reported with its fixed version.
    for rec, fixed in expect_osv("Debian:" + release, source, version, dpkg_lt):
        cves = [a for a in rec.get("aliases", []) if a.startswith("CVE-")]
        if not any(c in out for c in cves):
            out[rec["id"]] = fixed
            continue
        for c in cves:
            if c not in out or (not out[c] and fixed):
                out[c] = fixed
    return out


def test_debian_findings_are_what_dpkg_says(env):
    got = {k: v for k, v in env["found"].items()
           if k[0] in scanutil.DEB}
    want = {}
    for binary, (source, version) in scanutil.DEB.items():
        installed = [v["installed_version"] for r in env["doc"]["results"]
                     for v in r["vulnerabilities"] if v["package"] == binary]
        for cve, fixed in expect_debian(source, version).items():
            assert installed, (binary, cve)
            want[(binary, installed[0], cve)] = fixed
    assert got == want
    # Both sides of the fixes are covered, so the comparison says something.
    assert ("libc-dev-bin", "2.36-9+deb12u3", "CVE-2023-4911") not in got
    assert got[("libc-bin", "2.36-9+deb12u2", "CVE-2023-4911")] == "2.36-9+deb12u3"
    assert got[("zlib1g", "1:1.2.11.dfsg-2+deb11u1", "CVE-2022-37434")] == "1:1.2.11.dfsg-4.1"


def test_distro_statuses_and_matching_by_source_package(env):
    vulns = [v for r in env["doc"]["results"] for v in r["vulnerabilities"]]
    by = {(v["package"], v["id"]): v for v in vulns}
    z = by[("zlib1g-dev", "CVE-2023-45853")]
    assert (z["status"], z["fixed_version"], z["severity"]) == ("will-not-fix", "", "LOW")
    assert (z["matched_package"], z["ecosystem"]) == ("zlib", "Debian:12")
    o = by[("openssl", "CVE-2023-5363")]
    assert "DSA-5532-1" in o["aliases"] and o["matched_version"] == "3.0.11-1~deb12u1"
    assert by[("libssl3", "CVE-2007-6755")]["severity"] == "NEGLIGIBLE"
    assert not any(v["package"] == "bash" for v in vulns)


def test_debian_11_advisory_never_matches_debian_12(env, tmp_path):
    pkgs = {"zlib1g": ("zlib", "1:1.2.11.dfsg-2+deb11u1")}
    d11 = scanutil.debian_rootfs(str(tmp_path / "d11"), "11", "11.7", pkgs, languages=False)
    d12 = scanutil.debian_rootfs(str(tmp_path / "d12"), "12", "12.2", pkgs, languages=False)
    v11 = [v for r in scan_json("--db", env["db"], d11)["results"] for v in r["vulnerabilities"]]
    v12 = [v for r in scan_json("--db", env["db"], d12)["results"] for v in r["vulnerabilities"]]
    f11 = {v["id"]: v for v in v11}
    f12 = {v["id"]: v for v in v12}
    assert f11["CVE-2022-37434"]["fixed_version"] == "1:1.2.11.dfsg-2+deb11u2"
    assert "DSA-5218-1" in f11["CVE-2022-37434"]["aliases"]
    assert f12["CVE-2022-37434"]["fixed_version"] == "1:1.2.11.dfsg-4.1"
    assert all("DSA-5218-1" not in v["aliases"] and v["id"] != "DSA-5218-1" for v in v12)
    assert expect_debian("zlib", "1:1.2.11.dfsg-2+deb11u1", "bullseye", "11") == \
        {k: v["fixed_version"] for k, v in f11.items()}


# ---- PyPI: python3-packaging ----

def test_pypi_findings_are_what_packaging_says(env):
    try:
        from packaging.version import Version
    except ImportError:
        pytest.fail("python3-packaging is missing: apt-get install python3-packaging")

    def lt(a, b):
        return Version(a) < Version(b)

    def norm(s):
        return s.lower().replace("_", "-")

    want = {}
    for _, name, ver in scanutil.PYPI:
        for rec, fixed in expect_osv("PyPI", name, ver, lt, norm):
            want[(name, ver, rec["id"])] = fixed
    got = {k: v for k, v in env["found"].items() if k[0] in ("requests", "urllib3")}
    assert got == want and len(want) == 3


# ---- npm: node semver ----

def test_npm_findings_are_what_node_semver_says(env):
    if not shutil.which("node"):
        pytest.fail("node is missing: apt-get install nodejs")
    mod = os.path.join(NPM_DIR, "node_modules", "semver")
    if not os.path.isdir(mod):
        pytest.fail("npm package semver is missing in %s: run scripts/npm-peers.sh" % NPM_DIR)
    pairs = []
    for rec in osv_records():
        for aff in rec["affected"]:
            if aff["package"]["ecosystem"] == "npm":
                for r in aff["ranges"]:
                    for e in r["events"]:
                        for _, n, v in scanutil.NPM:
                            pairs.append((v, list(e.values())[0]))
    js = ("const s=require('semver');const p=JSON.parse(require('fs').readFileSync(0));"
          "console.log(JSON.stringify(p.map(([a,b])=>b==='0'?false:s.lt(a,b))))")
    r = subprocess.run(["node", "-e", js], input=json.dumps(pairs), capture_output=True,
                       text=True, env=dict(os.environ, NODE_PATH=os.path.join(NPM_DIR, "node_modules")))
    assert r.returncode == 0, r.stderr
    table = {tuple(p): lt for p, lt in zip(pairs, json.loads(r.stdout))}

    def lt(a, b):
        return table[(a, b)]

    want = {}
    for _, name, ver in scanutil.NPM:
        for rec, fixed in expect_osv("npm", name, ver, lt):
            want[(name, ver, rec["id"])] = fixed
    got = {k: v for k, v in env["found"].items() if k[0] in ("lodash", "minimist")}
    assert got == want and len(want) == 4


def test_other_ecosystems_match_the_advisory_ranges(env):
    names = {n for n, _ in scanutil.OTHERS_EXPECTED}
    got = {}
    for (pkg, ver, i), fixed in env["found"].items():
        if pkg in names:
            got.setdefault((pkg, ver), {})[i] = fixed
    want = {k: v for k, v in scanutil.OTHERS_EXPECTED.items() if v}
    assert got == want


def test_alpine_matches_by_origin_and_release(env):
    doc = scan_json("--db", env["db"], env["alpine"])
    got = {}
    for r in doc["results"]:
        assert r["target"] == "alpine 3.18.4 (apk)"
        for v in r["vulnerabilities"]:
            got.setdefault(v["package"], {})[v["id"]] = v["fixed_version"]
            assert v["ecosystem"] == "Alpine:v3.18"
    assert got == {k: v for k, v in scanutil.APK_EXPECTED.items() if v}


# ---- inputs: SBOM files (berth's and Trivy's), directories ----

def test_sbom_files_give_the_findings_of_the_rootfs(env, tmp_path):
    want = {(k[0], k[2]): v for k, v in env["found"].items()}
    for fmt in ("cyclonedx-json", "spdx-json"):
        out = tmp_path / ("sbom-" + fmt + ".json")
        r = subprocess.run([scanutil.BERTH_BIN, "sbom", "--format", fmt, "-o", str(out),
                            "--no-cache", "rootfs:" + env["deb"]], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        doc = scan_json("--db", env["db"], out)
        got = {(k[0], k[2]): v for k, v in findings(doc).items()}
        if fmt == "spdx-json":
            # SPDX has no place for the source package: binaries whose name is
            # not their source's are matched by their own name there.
            want_spdx = {k: v for k, v in want.items()
                         if k[0] not in scanutil.DEB or scanutil.DEB[k[0]][0] == k[0]}
            assert set(got) >= set(want_spdx), fmt
        else:
            assert got == want, fmt


def test_trivy_sbom_of_the_rootfs_gives_the_same_findings(env, tmp_path):
    """Trivy's CycloneDX (its aquasecurity:trivy:Src* properties carry the
    source packages) scanned by berth gives what berth's own catalogue gives."""
    from test_sbom_trivy import trivy_cache, trivy_sbom
    from test_scan_trivy import synthetic_rootfs
    # env["deb"]'s content, written once under build/peers: Trivy's document
    # of it is then made once per input (sbomutil.trivy_run)
    out = tmp_path / "trivy.cdx.json"
    with open(out, "w") as f:
        json.dump(trivy_sbom(synthetic_rootfs(), trivy_cache()), f)
    got = {(k[0], k[2]): v for k, v in findings(scan_json("--db", env["db"], out)).items()}
    want = {(k[0], k[2]): v for k, v in env["found"].items()}
    # Trivy in rootfs mode skips Gemfile.lock (it reads installed gemspecs
    # only there): that finding is berth's only.
    trivy_skips = {"nokogiri"}
    assert got == {k: v for k, v in want.items() if k[0] not in trivy_skips}
    assert sum(1 for k in got if k[0] in scanutil.DEB) > 10


def test_a_file_that_is_no_sbom_is_refused(env, tmp_path):
    f = tmp_path / "notes.json"
    f.write_text('{"hello": 1}')
    r = scan("--db", env["db"], f, check=False)
    assert r.returncode == 1 and "not a CycloneDX or SPDX JSON SBOM" in r.stderr
