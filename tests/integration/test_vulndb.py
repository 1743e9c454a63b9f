"""The vulnerability database: `berth db import` of the advisory fixtures
(OSV records of every ecosystem, a zip of them, the Debian tracker JSON, an
Alpine secdb), `berth db query` findings and fixed versions, distro
releases kept apart, statuses kept, malformed records warned about, and the
round trip import -> `db push` to a real `berth serve` -> `db pull` into an
empty place -> the same findings."""
import json
import os
import subprocess
import zipfile

import pytest

from conftest import BERTH_BIN, SOURCE_DIR

FIX = os.path.join(SOURCE_DIR, "tests", "fixtures", "advisories")


def berth(*args, env=None, check=True):
    r = subprocess.run([BERTH_BIN] + list(args), capture_output=True, text=True, timeout=120,
                       env=env)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r


def query(db, eco, pkg, ver):
    r = berth("db", "query", "--db", db, "--format", "json", eco, pkg, ver)
    return {m["id"]: m for m in json.loads(r.stdout)}


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "vulndb.sqlite")
    berth("db", "import", "--db", path, os.path.join(FIX, "osv"),
          os.path.join(FIX, "debian-tracker.json"),
          os.path.join(FIX, "alpine-secdb-v3.18-main.json"))
    return path


EXPECTED = [
    # ecosystem, package, version, {id: (fixed, status, severity)}
    ("Debian:12", "openssl", "3.0.11-1~deb12u1",
     {"CVE-2023-5363": ("3.0.11-1~deb12u2", "fixed", "UNKNOWN"),
      "CVE-2007-6755": ("", "not-fixed", "NEGLIGIBLE")}),
    ("Debian:12", "openssl", "3.0.11-1~deb12u2", {"CVE-2007-6755": ("", "not-fixed", "NEGLIGIBLE")}),
    # DSA-5514-1 merges into the tracker's CVE-2023-4911; the other CVEs it
    # names (not in the tracker fixture) are reported with its fixed version.
    ("Debian:12", "glibc", "2.36-9+deb12u2",
     {"CVE-2023-4911": ("2.36-9+deb12u3", "fixed", "UNKNOWN"),
      "CVE-2023-4527": ("2.36-9+deb12u3", "fixed", "UNKNOWN"),
      "CVE-2023-4806": ("2.36-9+deb12u3", "fixed", "UNKNOWN"),
      "CVE-2010-4756": ("", "not-fixed", "NEGLIGIBLE")}),
    ("Debian:12", "zlib", "1:1.2.13.dfsg-1", {"CVE-2023-45853": ("", "will-not-fix", "LOW")}),
    ("Debian:11", "zlib", "1:1.2.11.dfsg-2+deb11u1",
     {"CVE-2022-37434": ("1:1.2.11.dfsg-2+deb11u2", "fixed", "UNKNOWN"),
      "CVE-2023-45853": ("", "will-not-fix", "LOW")}),
    ("Ubuntu:22.04", "glibc", "2.35-0ubuntu3.1", {"USN-6409-1": ("2.35-0ubuntu3.4", "fixed", "HIGH")}),
    ("Alpine:v3.18", "openssl", "3.1.3-r0",
     {"CVE-2023-5363": ("3.1.4-r0", "fixed", "UNKNOWN"),
      "CVE-2023-5678": ("3.1.4-r1", "fixed", "UNKNOWN")}),
    ("Alpine:v3.18", "busybox", "1.36.1-r0", {"CVE-2023-42363": ("1.36.1-r1", "fixed", "UNKNOWN")}),
    ("PyPI", "Requests", "2.30.0", {"GHSA-j8r2-6x86-q33q": ("2.31.0", "fixed", "MEDIUM")}),
    ("PyPI", "requests", "2.2.1", {}),
    ("PyPI", "urllib3", "1.26.16", {"GHSA-v845-jxx5-vc9f": ("1.26.17", "fixed", "MEDIUM")}),
    ("PyPI", "urllib3", "2.0.6", {}),
    ("npm", "lodash", "4.17.20", {"GHSA-35jh-r3h4-6jhm": ("4.17.21", "fixed", "HIGH")}),
    ("npm", "minimist", "1.2.5", {"GHSA-xvch-5gv4-984h": ("1.2.6", "fixed", "CRITICAL")}),
    ("npm", "minimist", "0.2.4", {}),
    ("Go", "golang.org/x/net", "v0.16.0", {"GO-2023-2102": ("v0.17.0", "fixed", "UNKNOWN")}),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1",
     {"GHSA-jfh8-c2jp-5v3q": ("2.15.0", "fixed", "CRITICAL")}),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.12.2", {}),
    ("Maven", "org.apache.logging.log4j:log4j-core", "2.0-beta8", {}),
    ("crates.io", "smallvec", "1.6.0", {"RUSTSEC-2021-0003": ("1.6.1", "fixed", "CRITICAL")}),
    ("RubyGems", "nokogiri", "1.13.3", {"GHSA-crjr-9rc5-ghw8": ("1.13.4", "fixed", "HIGH")}),
    ("Packagist", "guzzlehttp/guzzle", "7.4.4", {"GHSA-25mq-v84q-4j7r": ("7.4.5", "fixed", "MEDIUM")}),
    ("Packagist", "guzzlehttp/guzzle", "7.4.5", {}),
    ("NuGet", "Newtonsoft.Json", "12.0.3", {"GHSA-5crp-9r3c-p9vr": ("13.0.1", "fixed", "HIGH")}),
]


def check_expected(db):
    for eco, pkg, ver, want in EXPECTED:
        got = query(db, eco, pkg, ver)
        assert set(got) == set(want), (eco, pkg, ver, sorted(got))
        for i, (fixed, status, sev) in want.items():
            assert (got[i]["fixed"], got[i]["status"], got[i]["severity"]) == (fixed, status, sev), \
                (eco, pkg, ver, i, got[i])


def test_findings_fixed_versions_and_statuses(db):
    check_expected(db)


def test_distro_advisories_alias_their_cve(db):
    got = query(db, "Debian:12", "openssl", "3.0.11-1~deb12u1")
    assert "DSA-5532-1" in got["CVE-2023-5363"]["aliases"].split(",")


def test_debian_11_advisory_does_not_match_debian_12(db):
    # DSA-5218-1 is bullseye's; bookworm's zlib answer comes from the tracker's
    # bookworm entry (fixed 1:1.2.11.dfsg-4.1), never from the bullseye DSA.
    got = query(db, "Debian:12", "zlib", "1:1.2.11.dfsg-2+deb11u1")
    assert got["CVE-2022-37434"]["fixed"] == "1:1.2.11.dfsg-4.1"
    assert "DSA-5218-1" not in got and "DSA-5218-1" not in got["CVE-2022-37434"]["aliases"]
    assert query(db, "Debian:13", "zlib", "1:1.2.11.dfsg-2+deb11u1") == {}


def test_severity_computed_from_cvss_when_the_source_has_no_rating(db):
    # urllib3's record has a CVSS 3.1 vector (AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:H/A:N
    # = 5.9) and no rating; RUSTSEC's vector scores 9.8.
    assert query(db, "PyPI", "urllib3", "2.0.0")["GHSA-v845-jxx5-vc9f"]["severity"] == "MEDIUM"
    assert query(db, "crates.io", "smallvec", "0.6.3")["RUSTSEC-2021-0003"]["severity"] == "CRITICAL"


def test_info_counts_ecosystems_and_sources(db):
    info = json.loads(berth("db", "info", "--db", db, "--format", "json").stdout)
    assert info["schema"] == 1 and info["advisories"] > 20
    for eco in ["Debian:12", "Debian:11", "Ubuntu:22.04", "Alpine:3.18", "PyPI", "npm", "Go",
                "Maven", "crates.io", "RubyGems", "Packagist", "NuGet"]:
        assert info["ecosystems"].get(eco, 0) > 0, eco
    assert len(info["sources"]) == 3


def test_zip_archive_imports_like_the_directory(tmp_path):
    z = tmp_path / "all.zip"
    with zipfile.ZipFile(z, "w") as f:
        for n in sorted(os.listdir(os.path.join(FIX, "osv"))):
            f.write(os.path.join(FIX, "osv", n), n)
        f.writestr("broken.json", "{not json")
        f.writestr("notes.txt", "ignored")
    path = str(tmp_path / "z.sqlite")
    r = berth("db", "import", "--db", path, str(z))
    assert "15 advisories" in r.stdout and "1 skipped" in r.stdout, r.stdout
    assert "broken.json" in r.stderr and "not valid JSON" in r.stderr
    assert "GHSA-35jh-r3h4-6jhm" in query(path, "npm", "lodash", "4.17.20")


def test_malformed_records_warn_and_the_rest_imports(tmp_path):
    d = tmp_path / "osv"
    d.mkdir()
    (d / "good.json").write_text(open(os.path.join(FIX, "osv", "GHSA-35jh-r3h4-6jhm.json")).read())
    (d / "noid.json").write_text('{"affected": [], "modified": "2024-01-01T00:00:00Z"}')
    (d / "noaffected.json").write_text('{"id": "X-1", "modified": "2024-01-01T00:00:00Z"}')
    (d / "trunc.json").write_text('{"id": "X-2", "affected": [')
    path = str(tmp_path / "m.sqlite")
    r = berth("db", "import", "--db", path, str(d))
    assert "1 advisories" in r.stdout and "3 skipped" in r.stdout, (r.stdout, r.stderr)
    for n in ("noid.json", "noaffected.json", "trunc.json"):
        assert n in r.stderr, r.stderr
    # A single source file that is no advisory format is an error.
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = berth("db", "import", "--db", path, str(bad), check=False)
    assert r.returncode == 1 and "not an OSV record" in r.stderr


def test_reimport_replaces_instead_of_duplicating(db):
    before = json.loads(berth("db", "info", "--db", db, "--format", "json").stdout)
    berth("db", "import", "--db", db, os.path.join(FIX, "osv"), os.path.join(FIX, "debian-tracker.json"))
    after = json.loads(berth("db", "info", "--db", db, "--format", "json").stdout)
    assert (after["advisories"], after["affected"]) == (before["advisories"], before["affected"])
    check_expected(db)


def test_old_database_warns(db):
    time_warn = "older than --max-age"
    r2 = berth("db", "info", "--db", db, "--max-age", "7d")
    assert time_warn not in r2.stderr
    import time
    time.sleep(1.1)
    r = berth("db", "info", "--db", db, "--max-age", "0s")
    assert time_warn in r.stderr, r.stderr
    r = berth("db", "info", "--db", db, "--max-age", "soon", check=False)
    assert r.returncode == 2


def test_invalid_query_version_is_a_usage_error(db):
    r = berth("db", "query", "--db", db, "PyPI", "requests", "not a version", check=False)
    assert r.returncode == 2 and "invalid pep440 version" in r.stderr


def test_missing_database_is_a_clear_error(tmp_path):
    r = berth("db", "info", "--db", str(tmp_path / "none.sqlite"), check=False)
    assert r.returncode == 1 and "no vulnerability database" in r.stderr


def test_default_path_follows_berth_root(tmp_path):
    env = dict(os.environ, BERTH_ROOT=str(tmp_path / "root"))
    berth("db", "import", os.path.join(FIX, "osv"), env=env)
    assert os.path.exists(tmp_path / "root" / "vulndb.sqlite")
    env = {k: v for k, v in os.environ.items() if k != "BERTH_ROOT"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    berth("db", "import", os.path.join(FIX, "osv"), env=env)
    assert os.path.exists(tmp_path / "xdg" / "berth" / "vulndb.sqlite")


def test_push_pull_round_trip_through_berth_serve(db, berth_factory, tmp_path):
    srv = berth_factory()
    ref = "%s/security/vulndb:1" % srv.host
    r = berth("db", "push", "--db", db, ref)
    assert "pushed" in r.stdout
    # The manifest is an artifact of our type with a zstd layer and annotations.
    import requests
    m = requests.get("%s/v2/security/vulndb/manifests/1" % srv.url,
                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    assert m["artifactType"] == "application/vnd.berth.vulndb.v1"
    assert m["layers"][0]["mediaType"] == "application/vnd.berth.vulndb.layer.v1.sqlite+zstd"
    assert m["annotations"]["dev.berth.vulndb.schema"] == "1"
    assert "debian-tracker.json" in m["annotations"]["dev.berth.vulndb.sources"]
    blob = requests.get("%s/v2/security/vulndb/blobs/%s" % (srv.url, m["layers"][0]["digest"])).content
    assert blob[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    # An empty machine: a fresh directory, nothing there before the pull.
    empty = tmp_path / "elsewhere" / "data"
    pulled = str(empty / "vulndb.sqlite")
    berth("db", "pull", "--db", pulled, ref)
    assert os.path.getsize(pulled) > 0
    check_expected(pulled)
    g = query(pulled, "Debian:11", "glibc", "2.31-13+deb11u6")["CVE-2023-4911"]
    assert g["fixed"] == "2.31-13+deb11u7" and "DSA-5514-1" in g["aliases"].split(",")
    assert [f for f in os.listdir(empty) if f != "vulndb.sqlite"] == []  # no scratch files left


def test_pull_refuses_other_artifacts(berth_factory, tmp_path):
    srv = berth_factory()
    import requests
    cfg = b"{}"
    import hashlib
    dg = "sha256:" + hashlib.sha256(cfg).hexdigest()
    up = requests.post("%s/v2/other/thing/blobs/uploads/?digest=%s" % (srv.url, dg), data=cfg)
    assert up.status_code in (201, 202), up.status_code
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "artifactType": "application/vnd.example.other",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": dg, "size": 2},
           "layers": []}
    r = requests.put("%s/v2/other/thing/manifests/x" % srv.url, data=json.dumps(man),
                     headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    target = tmp_path / "v.sqlite"
    r = berth("db", "pull", "--db", str(target), "%s/other/thing:x" % srv.host, check=False)
    assert r.returncode == 1 and "not a berth vulnerability database" in r.stderr
    assert not target.exists()
