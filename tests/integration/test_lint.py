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
EXPECTED = {
    # "Bad: Multiple layers" (lines 2-5) is flagged as four RUNs that should be one (BL006 and
    # hadolint's DL3059 on each follower), with apt hygiene on each; the "Good" single-layer
    # RUN at line 8 still pins nothing (DL3008) and, in one file, follows the RUN at line 5.
    # A snippet has no FROM, so every instruction is out of order (DL3061).
    "combine-run.snippet.Dockerfile": [
        ("BL005", 2), ("DL3009", 2), ("DL3061", 2),                      # update alone
        ("BL005", 3), ("BL005", 3), ("BL006", 3), ("DL3008", 3), ("DL3015", 3),
        ("DL3059", 3), ("DL3061", 3),                                    # install: recommends, lists, pins
        ("BL005", 4), ("BL005", 4), ("BL006", 4), ("DL3008", 4), ("DL3015", 4),
        ("DL3059", 4), ("DL3061", 4),
        ("BL006", 5), ("DL3059", 5), ("DL3061", 5),                      # rm in a layer of its own
        ("BL006", 8), ("DL3008", 8), ("DL3061", 8),
    ],
    # Clean: tagged images, manifests first, distroless nonroot final stage (no shell, so no
    # HEALTHCHECK is required), exec-form ENTRYPOINT.
    "go-multistage.Dockerfile": [],
    # The builder's two last RUNs (bootJar, then layertools extract) could be one.
    "java-spring-boot-multistage.Dockerfile": [("BL006", 18), ("DL3059", 18)],
    # Single stage from an untagged "base", running as root without HEALTHCHECK, building in
    # the final image; apt without --no-install-recommends/pins/cleanup; relative COPY
    # destinations with no WORKDIR.
    "layer-order.snippet.Dockerfile": [
        ("BL001", 2), ("BL002", 2), ("BL003", 2), ("DL3006", 2),
        ("BL005", 5), ("BL005", 5), ("DL3008", 5), ("DL3009", 5), ("DL3015", 5),
        ("DL3045", 8), ("DL3045", 12), ("BL009", 13),
    ],
    # `RUN rm ...` cannot run on distroless (no /bin/sh); the nonroot tag makes it non-root.
    "minimal-attack-surface.snippet.Dockerfile": [("BL013", 5)],
    # Clean: the model the other examples are measured against.
    "node-multistage.Dockerfile": [],
    "nonroot-user.snippet.Dockerfile": [
        ("DL3061", 2), ("BL006", 6), ("DL3059", 6), ("DL3061", 6), ("DL3061", 9),
    ],
    # The global platform ARGs are not visible in the stage's RUNs (BL012: they are empty
    # there); one stage builds and ships, as root, without HEALTHCHECK; hadolint flags any
    # FROM --platform (DL3029).
    "platform-args.Dockerfile": [
        ("BL001", 6), ("BL002", 6), ("DL3029", 6),
        ("BL012", 8), ("BL012", 8),
        ("BL006", 11), ("BL009", 11), ("BL012", 11), ("BL012", 11), ("DL3059", 11),
    ],
    # The final stage (line 20 on) has a HEALTHCHECK and a non-root USER and passes every BL
    # rule; the builder installs an unpinned build-essential and has two RUNs in a row.
    "python-multistage.Dockerfile": [("DL3008", 7), ("BL006", 12)],
    "read-only-fs.snippet.Dockerfile": [("DL3061", 2), ("DL3061", 5)],
    "secret-mount.snippet.Dockerfile": [("DL3061", 4)],
}


def test_every_brief_dockerfile_is_covered():
    names = sorted(p.name for p in BRIEF.glob("*.Dockerfile"))
    assert names == sorted(EXPECTED)


def test_python_final_stage_passes_bl_rules():
    findings = lint_json(BRIEF / "python-multistage.Dockerfile")
    final = [f for f in findings if f["line"] >= 20]
    assert final == []
    text = (BRIEF / "python-multistage.Dockerfile").read_text().splitlines()
    assert text[19].startswith("FROM ") and "HEALTHCHECK" in "\n".join(text[20:])


def test_brief_with_shellcheck_adds_nothing():
    """ShellCheck runs on every RUN script; the brief's scripts give it nothing to say."""
    for name in EXPECTED:
        p = run("--format", "json", "--dockerignore", str(IGNORE), "--failure-threshold", "none",
                str(BRIEF / name))
        assert p.returncode == 0, p.stderr
        assert [f for f in json.loads(p.stdout) if f["code"].startswith("SC")] == []


def test_shellcheck_findings_come_through():
    p = run("--format", "json", "--failure-threshold", "none", "-",
            stdin="FROM alpine:3.20\nRUN echo $undefined_var\n")
    assert p.returncode == 0, p.stderr
    sc = [(f["code"], f["line"], f["level"]) for f in json.loads(p.stdout) if f["code"].startswith("SC")]
    assert sc == [("SC2086", 2, "info"), ("SC2154", 2, "warning")]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_brief_findings(name):
    got = pairs(lint_json(BRIEF / name))
    assert got == sorted(EXPECTED[name])


# ---- dockerfilelint ----

# Their problem title -> the berth rules that cover it (a match needs one of them at the
# same line). Titles dockerfilelint reports on the brief that no berth rule covers are
# listed in UNCOVERED with the reason.
MAPPING = {
    "First Command Must Be FROM or ARG": {"DL3061"},
    "apt-get update with matching cache rm": {"DL3009", "BL005"},
    "apt-get update without matching apt-get install": {"BL005"},
    "Consider `--no-install-recommends`": {"DL3015", "BL005"},
    "Base Image Missing Tag": {"DL3006", "BL003"},
}
UNCOVERED = {
    # dockerfilelint 1.8 does not know HEALTHCHECK --start-period (Docker 17.05+); BuildKit
    # accepts it, so berth has nothing to report.
    ("java-spring-boot-multistage.Dockerfile", 36, "Invalid Argument Format"),
    ("node-multistage.Dockerfile", 32, "Invalid Argument Format"),
    ("python-multistage.Dockerfile", 36, "Invalid Argument Format"),
    # dockerfilelint reads `--platform=$BUILDPLATFORM` as the image name; the image
    # (golang:1.22-alpine) is tagged.
    ("platform-args.Dockerfile", 6, "Base Image Missing Tag"),
}
EXPECTED_MATCHES = 11


def dockerfilelint():
    exe = NPM / "node_modules" / ".bin" / "dockerfilelint"
    if not exe.exists():
        pytest.fail(f"dockerfilelint is not installed in {NPM}: run scripts/npm-peers.sh")
    return exe


def test_dockerfilelint_problems_are_found_by_berth():
    exe = dockerfilelint()
    matched, uncovered = 0, set()
    for name in sorted(EXPECTED):
        p = subprocess.run([str(exe), "-o", "json", str(BRIEF / name)], capture_output=True,
                           text=True, timeout=120)
        theirs = json.loads(p.stdout)["files"][0]["issues"]
        ours = {(f["code"], f["line"]) for f in lint_json(BRIEF / name)}
        for issue in theirs:
            line, title = int(issue["line"]), issue["title"]
            rules = MAPPING.get(title)
            if rules is None or (name, line, title) in UNCOVERED:
                uncovered.add((name, line, title))
                continue
            found = {r for r in rules if (r, line) in ours}
            assert found, f"{name}:{line}: dockerfilelint '{title}' not found by berth ({rules})"
            matched += 1
    assert uncovered == UNCOVERED
    assert matched == EXPECTED_MATCHES


# ---- SARIF ----

def sarif_schema():
    path = NPM / "node_modules" / "@microsoft" / "jest-sarif" / "lib" / "schemas" / "sarif-2.1.0-rtm.5.json"
    if not path.exists():
        pytest.fail(f"SARIF schema not found at {path}: run scripts/npm-peers.sh")
    try:
        import jsonschema
    except ImportError:
        pytest.fail("python3-jsonschema is missing: apt-get install python3-jsonschema")
    return jsonschema, json.loads(path.read_text())


def test_sarif_validates_against_the_2_1_0_schema():
    jsonschema, schema = sarif_schema()
    files = [str(BRIEF / n) for n in sorted(EXPECTED)]
    p = run("--format", "sarif", "--no-shellcheck", "--dockerignore", str(IGNORE), *files)
    assert p.returncode == 1  # the brief has errors (DL3061, BL001, ...)
    doc = json.loads(p.stdout)
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(doc)
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    assert len(results) == sum(len(v) for v in EXPECTED.values())
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] <= region["endLine"]


def test_sarif_rejects_a_broken_document():
    """The validator is real: a result without a message fails."""
    jsonschema, schema = sarif_schema()
    p = run("--format", "sarif", "--no-shellcheck", "-", stdin="FROM debian\n")
    doc = json.loads(p.stdout)
    del doc["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(doc)


# ---- exit codes, options, configuration ----

def test_exit_codes_follow_the_threshold():
    src = "FROM alpine:3.20\nUSER 1000\nHEALTHCHECK CMD [\"true\"]\nRUN echo a\nRUN echo b\n"
    # findings: DL3059 (info), BL006 (warning)
    assert run("--no-shellcheck", "--failure-threshold", "error", "-", stdin=src).returncode == 0
    assert run("--no-shellcheck", "--failure-threshold", "warning", "-", stdin=src).returncode == 1
    assert run("--no-shellcheck", "--failure-threshold", "none", "-", stdin=src).returncode == 0
    assert run("--no-shellcheck", "--ignore", "BL006", "--failure-threshold", "warning", "-",
               stdin=src).returncode == 0
    assert run("--no-shellcheck", "--ignore", "BL006", "-", stdin=src).returncode == 1  # info
    assert run("--no-shellcheck", "--ignore", "BL006", "--ignore", "DL3059", "-",
               stdin=src).returncode == 0


def test_usage_errors_exit_2():
    for args in (["--bogus"], ["--format", "xml", "x"], ["--failure-threshold", "fatal", "x"],
                 ["--ignore"]):
        p = run(*args)
        assert p.returncode == 2, args
        assert p.stderr.startswith("berth lint: ")
    assert run("--help").returncode == 0


def test_config_file_and_trusted_registries(tmp_path):
    cfg = tmp_path / "h.yaml"
    cfg.write_text("ignored: [DL3006]\noverride:\n  error: [DL3059]\nfailure-threshold: error\n"
                   "trustedRegistries: [registry.company.com]\n")
    src = "FROM debian\nRUN echo a\nRUN echo b\n"
    p = run("--config", str(cfg), "--no-shellcheck", "--format", "json", "-", stdin=src)
    got = {(f["code"], f["level"]) for f in json.loads(p.stdout)}
    assert ("DL3006", "warning") not in got
    assert ("DL3059", "error") in got
    assert ("DL3026", "error") in got and ("BL004", "error") in got
    assert p.returncode == 1
    # --failure-threshold on the command line wins over the file's
    p = run("--config", str(cfg), "--no-shellcheck", "--failure-threshold", "none", "-", stdin=src)
    assert p.returncode == 0
    # ./.hadolint.yaml is read by default
    (tmp_path / ".hadolint.yaml").write_text("ignored: [DL3006, BL003]\n")
    p = run("--no-shellcheck", "--format", "json", "--failure-threshold", "none", "-", stdin="FROM debian\n",
            cwd=tmp_path)
    assert {f["code"] for f in json.loads(p.stdout)}.isdisjoint({"DL3006", "BL003"})


def test_bad_config_names_file_line_column(tmp_path):
    cfg = tmp_path / "h.yaml"
    cfg.write_text("ignored:\n  a: b\n")
    p = run("--config", str(cfg), "-", stdin="FROM alpine:3.20\n")
    assert p.returncode == 1
    assert p.stderr == f"berth lint: {cfg}:2:3: 'ignored' must be a list of strings\n"


def test_dockerignore_of_the_context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\nCOPY .env /app/\n")
    p = run("--no-shellcheck", "--format", "json", "--failure-threshold", "none",
            str(tmp_path / "Dockerfile"))
    codes = {f["code"] for f in json.loads(p.stdout)}
    assert "BL010" in codes and "BL008" in codes and "CopyIgnoredFile" not in codes
    (tmp_path / ".dockerignore").write_text(".git\n.env*\n")
    p = run("--no-shellcheck", "--format", "json", "--failure-threshold", "none",
            str(tmp_path / "Dockerfile"))
    codes = {f["code"] for f in json.loads(p.stdout)}
    assert "BL010" not in codes and "CopyIgnoredFile" in codes


# ---- bad input ----

def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("name,data,where", [
    ("heredoc", b"FROM alpine\nRUN <<EOF\necho hi\n", "2:5"),
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00", "1:8"),
    ("utf8", b"FROM alpine\nRUN echo \"\xff\xfe\"\n", "2:11"),
    ("longline", b"FROM alpine\nRUN echo " + b"a" * (2 << 20) + b"\n", "2:1048577"),
], ids=["heredoc", "binary", "utf8", "longline"])
def test_bad_input_names_file_line_column(tmp_path, name, data, where):
    path = write(tmp_path, name, data)
    p = run("--format", "json", str(path))
    assert p.returncode == 1
    assert p.stderr.startswith(f"berth lint: {path}:{where}: ")
    (f,) = json.loads(p.stdout)
    assert (f["code"], f"{f['line']}:{f['column']}") == ("parse", where)


def test_bad_file_does_not_hide_the_others(tmp_path):
    bad = write(tmp_path, "bad", b"FROM alpine\nRUN <<EOF\n")
    p = run("--format", "json", "--no-shellcheck", "--failure-threshold", "none", str(bad),
            str(BRIEF / "python-multistage.Dockerfile"))
    assert p.returncode == 1
    codes = [f["code"] for f in json.loads(p.stdout)]
    assert codes[0] == "parse" and "DL3008" in codes


def test_missing_file():
    p = run("/nonexistent/Dockerfile")
    assert p.returncode == 1
    assert p.stderr == "berth lint: /nonexistent/Dockerfile: No such file or directory\n"


# ---- documentation ----

def test_lint_rules_md_is_the_generated_table():
    p = run("--list-rules", "--format", "markdown")
    assert p.returncode == 0
    assert (SRC / "docs" / "lint-rules.md").read_text() == p.stdout
