"""`berth scan --format table` checked against `--format json` of the same
scan: the target line, then per result of the JSON (Trivy's grouping: the
OS packages, then each language) its title underlined with "=", a Total
line counting that result's severities, the column header, and one row per
finding with the JSON's package, id, severity, status, installed and fixed
versions and its title: the summary's first line, at most 60 characters,
never cut inside a UTF-8 sequence. Columns start where their header titles
start. Inputs: the scan tests' Debian 12 rootfs and advisory fixtures
(scanutil), plus two records of our own (not real advisories) whose
summaries have a two-byte character at the cut and a terminal escape. A bad
--format is a one-line usage error (exit 2)."""
import json
import re
import subprocess

import pytest

import scanutil
from scanutil import scan, scan_json
from sbomutil import BERTH_BIN

HEADER = ("Library", "Vulnerability", "Severity", "Status", "Installed Version",
          "Fixed Version", "Title")
SEVERITIES = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
SUMMARIES = {
    "BERTH-TEST-UTF8": "x" * 59 + "\u00e9t\u00e9 " * 10,  # é is the 60th character
    "BERTH-TEST-CONTROL": "first line \x1b[31m in red\nsecond line",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("scantable")
    db = scanutil.import_db(str(d / "db.sqlite"))
    for ident, summary in SUMMARIES.items():
        path = d / (ident + ".json")
        path.write_text(json.dumps({
            "schema_version": "1.6.0", "id": ident, "modified": "2026-01-01T00:00:00Z",
            "summary": summary,
            "affected": [{"package": {"ecosystem": "PyPI", "name": "urllib3"},
                          "ranges": [{"type": "ECOSYSTEM",
                                      "events": [{"introduced": "0"}, {"fixed": "2.0.7"}]}]}]}))
        r = subprocess.run([BERTH_BIN, "db", "import", "--db", db, str(path)],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    root = scanutil.debian_rootfs(str(d / "deb12"))
    return db, root


def title(summary):
    """The summary's first line (up to its first control character), at most 60 characters."""
    return re.split(r"[\x00-\x1f\x7f]", summary)[0][:60]


def parse_rows(header, rows):
    starts = [header.index(h) for h in HEADER]
    assert starts[0] == 0 and starts == sorted(starts), header
    out = []
    for row in rows:
        cells = [row[a:b] for a, b in zip(starts, starts[1:] + [len(row)])]
        # a cell fills its column up to at least one space before the next
        assert all(c[-1:] == " " for c in cells[:-1]), row
        out.append(tuple(c.rstrip(" ") for c in cells[:-1]) + (cells[-1],))
    return out


def test_table_matches_json(env):
    db, root = env
    raw = subprocess.run([BERTH_BIN, "scan", "--db", db, root], capture_output=True)
    assert raw.returncode == 0, raw.stderr
    text = raw.stdout.decode("utf-8")  # valid UTF-8 throughout
    doc = scan_json("--db", db, root)
    assert text.startswith("%s\n\n" % doc["target"])
    blocks = text[len(doc["target"]) + 2:].split("\n\n")
    assert blocks[-1] == ""
    blocks = blocks[:-1]
    # per result: "TITLE\n===\nTotal: ..." then "HEADER\nROWS..."
    assert len(blocks) == 2 * len(doc["results"]), blocks
    seen = set()
    for res, head, body in zip(doc["results"], blocks[::2], blocks[1::2]):
        vulns = res["vulnerabilities"]
        counts = {s: sum(v["severity"] == s for v in vulns) for s in SEVERITIES}
        assert head == "%s\n%s\nTotal: %d (%s)" % (
            res["target"], "=" * len(res["target"]), len(vulns),
            ", ".join("%s: %d" % (s, counts[s]) for s in SEVERITIES)), head
        lines = body.split("\n")
        rows = parse_rows(lines[0], lines[1:])
        want = [(v["package"], v["id"], v["severity"], v["status"], v["installed_version"],
                 v["fixed_version"], title(v["title"])) for v in vulns]
        assert sorted(rows) == sorted(want)
        seen |= {r[1] for r in rows}
    assert {"CVE-2023-4911", "GHSA-v845-jxx5-vc9f"} | set(SUMMARIES) <= seen
    # the two records of our own: cut after the é, and at the escape (the
    # database keeps the summary's first line, escape included)
    assert title(SUMMARIES["BERTH-TEST-UTF8"]).endswith("x\u00e9")
    assert any(v["title"] == "first line \x1b[31m in red" for res in doc["results"]
               for v in res["vulnerabilities"])
    assert " first line \n" in text and "\x1b" not in text


def test_bad_format(env):
    db, root = env
    r = scan("--db", db, "--format", "xml", root, check=False)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("berth scan: option --format takes table, json, sarif or cyclonedx, "
                        "not 'xml'\n"), r.stderr
