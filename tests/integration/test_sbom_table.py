"""`berth sbom --format table` checked against `--format json` of the same
input: the "OS: ID VERSION" line, a header whose column titles start where
the columns start, one row per package of the JSON catalogue in the same
order (name with the Maven group, version with the dpkg epoch, type,
path), every column as wide as its widest cell (names capped at 60 and
versions at 40 characters: a longer cell overflows and its row keeps two
spaces before the next field, and the rest of its row moves right). Inputs: a synthetic image with an epoch, a
Maven group, an over-long name and version, and the brief's python image
(briefutil.brief_image, built once per source tree). Bad formats and
outputs: a one-line error and exit 2 (usage) or 1, nothing on stdout."""
import json
import re
import subprocess

import pytest

from briefutil import brief_image
from sbomutil import BERTH_BIN, berth_json, berth_sbom, oci_layout, tar_bytes
from scanutil import jar

LONG_NAME = "a-package-name-that-is-far-longer-than-the-sixty-characters-of-the-column"
LONG_VERSION = "1.0.0-" + "prerelease" * 5


def synthetic(tmp_path):
    layer = tar_bytes([
        ("etc/os-release", b"ID=debian\nVERSION_ID=12\n"),
        ("var/lib/dpkg/status",
         b"Package: bsdutils\nStatus: install ok installed\nArchitecture: amd64\n"
         b"Version: 1:2.38.1-5+deb12u3\nSource: util-linux (2.38.1-5+deb12u3)\n\n"
         b"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
         b"Version: 2.36-9+deb12u4\nSource: glibc\n"),
        ("app/node_modules/%s/package.json" % LONG_NAME,
         json.dumps({"name": LONG_NAME, "version": "2.0.0"}).encode()),
        ("app/node_modules/long/package.json",
         json.dumps({"name": "long", "version": LONG_VERSION}).encode()),
        ("app/lib/commons-text-1.10.0.jar", jar("org.apache.commons", "commons-text", "1.10.0")),
    ])
    oci_layout(str(tmp_path / "img"), [layer])
    return "oci:%s" % (tmp_path / "img")


def expected_rows(cat):
    rows = []
    for p in cat["packages"]:
        name = p["group"] + ":" + p["name"] if "group" in p else p["name"]
        version = "%d:%s" % (p["epoch"], p["version"]) if "epoch" in p else p["version"]
        rows.append((name, version, p["type"], p["path"]))
    return rows


def check_table(text, cat):
    """The table against the JSON catalogue; returns the parsed rows."""
    lines = text.split("\n")
    assert lines[-1] == "", "the table ends with a newline"
    lines = lines[:-1]
    os_ = cat.get("os")
    if os_:
        assert lines[:2] == ["OS: %s %s" % (os_["id"], os_.get("version", "")), ""], lines[:2]
        lines = lines[2:]
    header, rows = lines[0], lines[1:]
    m = re.fullmatch(r"(NAME +)(VERSION +)(TYPE +)PATH", header)
    assert m, header
    cols = [0, len(m.group(1)), len(m.group(1)) + len(m.group(2)),
            len(m.group(1)) + len(m.group(2)) + len(m.group(3))]
    want = expected_rows(cat)
    assert len(rows) == len(want) == len(cat["packages"])
    got = []
    for row, exp in zip(rows, want):
        fields = re.split(r"  +", row, maxsplit=3)
        assert tuple(fields) == exp, (row, exp)
        got.append(tuple(fields))
        # each field starts at its column, unless a cell before it overflowed
        # its (capped) column: then the rest of the row moves right with it
        at = 0
        for i, f in enumerate(fields):
            assert row.startswith(f, at) and (i == 0 or row[at - 2:at] == "  "), (row, i)
            if i < 3:
                at += max(len(f), cols[i + 1] - cols[i] - 2) + 2
        if all(len(f) <= cols[i + 1] - cols[i] - 2 for i, f in enumerate(fields[:3])):
            assert [row.index(f, c) for f, c in zip(fields, cols)] == cols, row
    # a column is as wide as its widest cell (within the caps), plus two spaces
    name_w = max([4] + [min(len(r[0]), 60) for r in want])
    ver_w = max([7] + [min(len(r[1]), 40) for r in want])
    assert (cols[1], cols[2] - cols[1], cols[3] - cols[2]) == (name_w + 2, ver_w + 2, 10), cols
    return got


def table_and_json(target, tmp_path):
    cat = berth_json(target, tmp_path)
    r = berth_sbom(["--format", "table", target], env={"BERTH_ROOT": str(tmp_path / "root")})
    return r.stdout, cat


def test_synthetic_table_matches_json(tmp_path):
    target = synthetic(tmp_path)
    text, cat = table_and_json(target, tmp_path)
    rows = check_table(text, cat)
    names = {r[0] for r in rows}
    assert ("bsdutils", "1:2.38.1-5+deb12u3", "deb", "/var/lib/dpkg/status") in rows
    assert LONG_NAME in names and any(r[1] == LONG_VERSION for r in rows)
    assert any(n.endswith(":commons-text") and "." in n for n in names), names
    # -o writes the same table
    out = tmp_path / "t.txt"
    berth_sbom(["--format", "table", "-o", str(out), target],
               env={"BERTH_ROOT": str(tmp_path / "root")})
    assert out.read_text() == text


def test_brief_python_image_table_matches_json(tmp_path):
    target = "oci:%s:latest" % brief_image("python")
    text, cat = table_and_json(target, tmp_path)
    rows = check_table(text, cat)
    assert len(rows) >= 90 and {r[2] for r in rows} == {"deb", "pypi"}


@pytest.mark.parametrize("args,code,msg", [
    (["--format", "xml"], 2, "berth sbom: unknown format 'xml' (spdx-json, cyclonedx-json, table, json)"),
    (["--format", ""], 2, "berth sbom: unknown format '' (spdx-json, cyclonedx-json, table, json)"),
    (["--format", "table", "-o", "/nonexistent/dir/t.txt"], 1, "berth sbom: "),
])
def test_bad_format_and_output(tmp_path, args, code, msg):
    target = synthetic(tmp_path)
    r = subprocess.run([BERTH_BIN, "sbom", "-q"] + args + [target], capture_output=True, text=True,
                       env={"BERTH_ROOT": str(tmp_path / "root"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == code, r.stderr
    assert r.stdout == "" and r.stderr.count("\n") == 1 and r.stderr.startswith(msg), r.stderr
