"""
test_build_call.py - `berth build --call outline|targets|check` (and
--check): BuildKit's subrequests answered from the Dockerfile alone, printed
as `docker buildx build --call` prints them (text tables, warnings with the
source excerpt; BuildKit's result.json field names with format=json), with
no root, no build store and no solve. Expected values follow BuildKit's
rules (dockerfile2llb outline.go, instructions.getComment, subrequests
lint/outline/targets): descriptions are the comment line starting with the
name, global ARGs count only when a needed stage's FROM uses them, check
runs BuildKit's family only and exits 1 on a finding.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile

BIN = os.environ.get("BERTH_BIN", "build/dev/berth")
SRC = os.environ.get("BERTH_SOURCE_DIR", ".")

DOCKERFILE = """\
ARG GO_VERSION=1.22
ARG UNUSED_GLOBAL=1
# base sets up the toolchain
FROM golang:${GO_VERSION} AS base
# APP the program to build
ARG APP=hello
ARG OUT=/out/${APP}
RUN --mount=type=secret,id=gh,required=true --mount=type=ssh true
FROM alpine:3.20 AS tools
ARG NOT_NEEDED=1
# release the final image
FROM scratch AS release
COPY --from=base /out /out
CMD ["/out/hello"]
"""


def berth(*args):
    return subprocess.run([BIN, "build", *args], capture_output=True, text=True)


def ctx(tmp_path, text=DOCKERFILE, ignore=None):
    (tmp_path / "Dockerfile").write_text(text)
    if ignore is not None:
        (tmp_path / ".dockerignore").write_text(ignore)
    return str(tmp_path)


def test_targets_text_and_json(tmp_path):
    d = ctx(tmp_path)
    r = berth("--call", "targets", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("TARGET            DESCRIPTION\n"
                        "base              sets up the toolchain\n"
                        "tools             \n"
                        "release (default) the final image\n")
    r = berth("--call=targets,format=json", d)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [t.get("name") for t in doc["targets"]] == ["base", "tools", "release"]
    assert doc["targets"][0] == {"name": "base", "description": "sets up the toolchain",
                                 "base": "golang:${GO_VERSION}",
                                 "location": {"ranges": [{"start": {"line": 4},
                                                          "end": {"line": 4}}]}}
    assert doc["targets"][2]["default"] is True and "default" not in doc["targets"][1]
    assert base64.b64decode(doc["sources"][0]).decode() == DOCKERFILE


def test_outline_args_secrets_ssh(tmp_path):
    d = ctx(tmp_path)
    r = berth("--call", "outline", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("TARGET:      release\n"
                        "DESCRIPTION: the final image\n"
                        "\n"
                        "BUILD ARG    VALUE        DESCRIPTION\n"
                        "GO_VERSION   1.22         \n"
                        "APP          hello        the program to build\n"
                        "OUT          /out/hello   \n"
                        "\n"
                        "SECRET   REQUIRED\n"
                        "gh       true\n"
                        "\n"
                        "SSH       REQUIRED\n"
                        "default   \n"
                        "\n")
    # build args replace defaults (and what depends on them); another target
    r = berth("--call=outline,format=json", "--target", "base", "--build-arg", "APP=web", d)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["name"] == "base" and doc["description"] == "sets up the toolchain"
    assert [(a["name"], a.get("value")) for a in doc["args"]] == [
        ("GO_VERSION", "1.22"), ("APP", "web"), ("OUT", "/out/web")]
    assert doc["args"][1]["description"] == "the program to build"
    assert doc["secrets"] == [{"name": "gh", "required": True, "location": {
        "ranges": [{"start": {"line": 8}, "end": {"line": 8}}]}}]
    r = berth("--call=outline,format=json", "--target", "tools", d)
    doc = json.loads(r.stdout)
    assert [a["name"] for a in doc["args"]] == ["NOT_NEEDED"]
    assert "secrets" not in doc and "ssh" not in doc
    r = berth("--call", "outline", "--target", "nope", d)
    assert r.returncode == 1 and 'target stage "nope" could not be found' in r.stderr


def test_check_warnings_exit_1_and_excerpt(tmp_path):
    d = ctx(tmp_path, "FROM alpine:3.20 AS Build\nRUN true\nCMD echo hi\n"
                      "RUN apt-get install curl\n")
    r = berth("--check", d)
    assert r.returncode == 1
    assert r.stdout.startswith("Check complete, 2 warnings have been found!\n\n"
                               "WARNING: StageNameCasing - "
                               "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/\n"
                               "Stage name 'Build' should be lowercase\n"
                               "Dockerfile:1\n"
                               "--------------------\n"
                               "   1 | >>> FROM alpine:3.20 AS Build\n"
                               "   2 |     RUN true\n"
                               "   3 |     CMD echo hi\n"
                               "--------------------\n")
    assert "DL3008" not in r.stdout and "BL0" not in r.stdout  # BuildKit's checks only
    r = berth("--call=check,format=json", d)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert [w["ruleName"] for w in doc["warnings"]] == ["StageNameCasing",
                                                        "JSONArgsRecommended"]
    w = doc["warnings"][1]
    assert w["url"] == "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/"
    assert w["detail"] == ("JSON arguments recommended for CMD to prevent unintended "
                           "behavior related to OS signals")
    assert w["location"] == {"ranges": [{"start": {"line": 3}, "end": {"line": 3}}]}
    assert doc["sources"][0]["filename"] == "Dockerfile"
    assert berth("--call=check,ignorestatus=true", d).returncode == 0


def test_check_directive_build_arg_and_experimental(tmp_path):
    body = "FROM alpine:3.20 AS Build\nCOPY secret.txt /\n"
    d = ctx(tmp_path, "# check=skip=StageNameCasing\n" + body, ignore="secret.txt\n")
    r = berth("--check", d)
    assert r.returncode == 0, r.stdout
    assert r.stdout == "Check complete, no warnings found.\n"
    # the build argument replaces the directive
    r = berth("--check", "--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=none", d)
    assert r.returncode == 1 and "StageNameCasing" in r.stdout
    # CopyIgnoredFile is experimental in BuildKit: only when named
    d = ctx(tmp_path, "# check=experimental=CopyIgnoredFile\n" + body, ignore="secret.txt\n")
    r = berth("--call=check,format=json", d)
    rules = [w["ruleName"] for w in json.loads(r.stdout)["warnings"]]
    assert rules == ["StageNameCasing", "CopyIgnoredFile"]


def test_check_build_error(tmp_path):
    d = ctx(tmp_path, "FROM alpine\nCOPY --nope a b\n")
    r = berth("--check", d)
    assert r.returncode == 1
    assert r.stdout.startswith("unknown flag: nope\nDockerfile:2\n")
    r = berth("--call=check,format=json", d)
    doc = json.loads(r.stdout)
    assert doc["buildError"]["message"] == "unknown flag: nope"
    assert doc["buildError"]["location"] == {"ranges": [{"start": {"line": 2},
                                                         "end": {"line": 2}}]}
    assert r.returncode == 1


def test_no_root_no_store_and_usage(tmp_path):
    # a context an unprivileged user can read (pytest's tmp dirs are 0700)
    d = tempfile.mkdtemp(prefix="berth-call-")
    try:
        os.chmod(d, 0o755)
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write(DOCKERFILE)
        store = os.path.join(d, "store")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            BIN, "build", "--call", "targets", d], capture_output=True,
                           text=True, env=dict(os.environ, BERTH_ROOT=store))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("TARGET ")
        assert not os.path.exists(store)
    finally:
        shutil.rmtree(d)
    d = ctx(tmp_path)
    r = berth("--call", "nope", d)
    assert r.returncode == 2 and r.stderr.startswith("berth build: --call nope: unknown method")
    r = berth("--call", "outline,format=yaml", d)
    assert r.returncode == 2
    assert berth("--call", "outline", str(tmp_path / "missing")).returncode == 1


def test_brief_examples(tmp_path):
    brief = os.path.join(SRC, "tests", "fixtures", "brief")
    r = berth("--call=targets,format=json", "-f",
              os.path.join(brief, "node-multistage.Dockerfile"), str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert [(t["name"], t.get("default", False)) for t in json.loads(r.stdout)["targets"]] == [
        ("builder", False), ("production", True)]
    r = berth("--call=outline", "-f", os.path.join(brief, "platform-args.Dockerfile"),
              str(tmp_path))
    assert r.returncode == 0, r.stderr
    # the FROM line uses the global BUILDPLATFORM, declared without a default
    assert "BUILDPLATFORM" in r.stdout and "TARGETOS" not in r.stdout
