"""
test_dockerfile_cli.py - `berth dockerfile parse|context` as a user runs
them: exit codes (0 ok, 1 failure, 2 usage), the compiler-style error with
file:line:column, source line and caret, standard input, --expand with
build args and a target, and `context --explain` naming the pattern that
left a file out.
"""
import json
import os
import subprocess

BIN = os.environ.get("BERTH_BIN", "build/dev/berth")


def run(*args, stdin=None):
    return subprocess.run([BIN, "dockerfile", *args], input=stdin, capture_output=True,
                          text=True)


def test_help_and_usage():
    assert run("--help").returncode == 0
    assert "berth dockerfile parse [options] FILE" in run("--help").stdout
    assert "berth dockerfile context [options] DIR" in run("--help").stdout
    r = run("nope")
    assert r.returncode == 2 and r.stderr.startswith("berth dockerfile: unknown subcommand")
    assert run("parse").returncode == 2
    assert run("parse", "x", "--target", "t").returncode == 2  # --target needs --expand


def test_error_shows_position_line_and_caret(tmp_path):
    f = tmp_path / "Dockerfile"
    f.write_text("FROM alpine\nRUN <<EOF\nnever closed\n")
    r = run("parse", str(f))
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0] == "berth dockerfile: %s:2:5: unterminated heredoc: no line \"EOF\" ends it " \
                       "before the end of the file" % f
    assert lines[1] == "    RUN <<EOF"
    assert lines[2] == "        ^"


def test_check_flag_and_stdin():
    r = run("parse", "--check", "-", stdin="FROM a\nCOPY --nope a b\n")
    assert r.returncode == 1
    assert "<stdin>:2:6: unknown flag: nope" in r.stderr
    r = run("parse", "--format", "json", "-", stdin="FROM a\nRUN echo hi\n")
    assert r.returncode == 0
    tree = json.loads(r.stdout)
    assert tree["file"] == "<stdin>"
    assert [i["kind"] for i in tree["instructions"]] == ["FROM", "RUN"]


def test_expand_with_build_args_and_target(tmp_path):
    f = tmp_path / "Dockerfile"
    f.write_text("ARG V=1\nFROM img:$V AS a\nARG V\nENV X=$V\n"
                 "FROM img AS b\nCOPY --from=a /x /y\n")
    r = run("parse", "--expand", "--format", "json", "--build-arg", "V=7", "--target", "a",
            str(f))
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["target"] == 0
    assert plan["stages"][0]["base"] == "img:7"
    assert plan["stages"][0]["instructions"][1]["kvs"][0]["value"] == "7"
    assert [s["needed"] for s in plan["stages"]] == [True, False]
    r = run("parse", "--expand", "--target", "missing", str(f))
    assert r.returncode == 1 and "target stage missing could not be found" in r.stderr


def test_context_explain(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.c").write_text("int main;\n")
    (tmp_path / "notes.md").write_text("x\n")
    (tmp_path / "README.md").write_text("x\n")
    (tmp_path / ".dockerignore").write_text("# docs\n*.md\n!README.md\n")
    r = run("context", "--explain", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "excluded notes.md by %s/.dockerignore:2: *.md" % tmp_path in r.stdout
    paths = [l.split()[-1] for l in r.stdout.splitlines() if l[:1] in "-dl"]
    assert paths == [".dockerignore", "README.md", "src", "src/main.c"]
    r = run("context", "--format", "json", str(tmp_path))
    ctx = json.loads(r.stdout)
    assert [e["path"] for e in ctx["entries"]] == paths
    assert run("context", str(tmp_path / "missing")).returncode == 1
