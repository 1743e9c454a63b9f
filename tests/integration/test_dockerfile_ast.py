"""
test_dockerfile_ast.py - berth's Dockerfile parser against an independent
one: the npm package dockerfile-ast (installed by scripts/npm-peers.sh)
parses the same files — the grammar corpus, the brief's Dockerfiles — and
for every file both accept, each instruction's keyword, line range,
arguments and flags must agree.

"Accept": berth parses the file and BuildKit's checks pass
(`berth dockerfile parse --check`); dockerfile-ast parses it without an
exception and reads only known instruction keywords (it is a tolerant
editor parser: a keyword it does not know means it misread the file, e.g.
heredoc bodies it does not recognise). The set of files both accept is
asserted, so a change in either parser shows up here.

How the two are compared: dockerfile-ast splits arguments at whitespace
(JSON arrays and heredoc bodies included) and keeps quotes; berth keeps a
shell-form command as one string. So berth's side is the whitespace split
of the argument text after its flags, followed by each heredoc's body and
terminator; flags are compared with quote characters removed (berth
removes quotes as BuildKit does, dockerfile-ast keeps them), and arguments
with backslashes removed (dockerfile-ast's Argument.getValue() applies
escapes, berth keeps the text as written for the expander).

Two disagreements are by design and pinned in KNOWN_DIFFERENCES: each is a
place where berth follows BuildKit and dockerfile-ast does not.
"""
import glob
import json
import os
import subprocess

import pytest

SRC = os.environ.get("BERTH_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("BERTH_BIN", os.path.join(SRC, "build", "dev", "berth"))
NPM_DIR = os.environ.get("BERTH_NPM_DIR", os.path.join(SRC, "build", "npm"))

KEYWORDS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
    "WORKDIR",
}

# Files of the corpus and the brief that both parsers accept. The others:
#   12-heredocs: dockerfile-ast does not know "3<<FD" (a heredoc on a file
#     descriptor) and reads its body lines as instructions;
#   the brief's snippets without FROM: BuildKit's checks refuse them
#     ("no build stage in current context").
BOTH_ACCEPT = {
    "01-directives.Dockerfile", "02-escape-backtick.Dockerfile",
    "03-late-directive-is-comment.Dockerfile", "04-continuations.Dockerfile",
    "05-case-insensitive.Dockerfile", "06-json-vs-shell.Dockerfile", "07-from.Dockerfile",
    "08-arg.Dockerfile", "09-env-label.Dockerfile", "10-copy-add-flags.Dockerfile",
    "11-run-flags.Dockerfile", "13-heredoc-shebang.Dockerfile", "14-onbuild.Dockerfile",
    "15-healthcheck.Dockerfile", "16-expose.Dockerfile", "17-misc-instructions.Dockerfile",
    "18-comments.Dockerfile", "19-whitespace.Dockerfile", "20-crlf.Dockerfile",
    "21-bom.Dockerfile", "22-no-final-newline.Dockerfile", "23-multistage-graph.Dockerfile",
    "24-unicode.Dockerfile", "25-expansion.Dockerfile", "26-empty-continuation-only.Dockerfile",
    "27-quotes-in-flags.Dockerfile",
    "go-multistage.Dockerfile", "java-spring-boot-multistage.Dockerfile",
    "layer-order.snippet.Dockerfile", "minimal-attack-surface.snippet.Dockerfile",
    "node-multistage.Dockerfile", "platform-args.Dockerfile", "python-multistage.Dockerfile",
}


# (file, line) -> why berth (= BuildKit) and dockerfile-ast differ there.
KNOWN_DIFFERENCES = {
    ("26-empty-continuation-only.Dockerfile", 2):
        "a continuation running into the end of the file: BuildKit ends the instruction on the "
        "last line read (3); dockerfile-ast on the empty position after the final newline (4)",
    ("27-quotes-in-flags.Dockerfile", 4):
        "'RUN -- --x': BuildKit's flag parser stops at '--' and '--x' is the command; "
        "dockerfile-ast reads both words as flags",
}


def files():
    corpus = sorted(glob.glob(os.path.join(SRC, "tests/fixtures/dockerfile/corpus/*.Dockerfile")))
    brief = sorted(glob.glob(os.path.join(SRC, "tests/fixtures/brief/*.Dockerfile")))
    return corpus + brief


def peer_dump(paths):
    mod = os.path.join(NPM_DIR, "node_modules", "dockerfile-ast", "package.json")
    if not os.path.exists(mod):
        pytest.fail("dockerfile-ast is not installed: run scripts/npm-peers.sh "
                    "(npm install dockerfile-ast@0.7.1 into %s)" % NPM_DIR)
    script = os.path.join(SRC, "tests/integration/dockerfile_ast_dump.js")
    out = subprocess.run(["node", script, NPM_DIR] + paths, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def berth_parse(path):
    r = subprocess.run([BIN, "dockerfile", "parse", "--check", "--format", "json", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def strip_quotes(s):
    return s.replace('"', "").replace("'", "")


def unescape(words):
    return [w.replace("\\", "") for w in words]


def berth_view(ins):
    words = ins["args_text"].split()
    for h in ins["heredocs"]:
        words += h["body"].split() + [h["name"]]
    if ins["sub"] is not None:
        for h in ins["sub"]["heredocs"]:
            words += h["body"].split() + [h["name"]]
    return {
        "keyword": ins["name"].upper(),
        "start": ins["line"],
        "end": ins["end_line"],
        "args": unescape(words),
        "flags": [strip_quotes(f["raw"]) for f in ins["flags"]],
    }


def peer_view(ins):
    return {
        "keyword": ins["keyword"],
        "start": ins["start"],
        "end": ins["end"],
        "args": unescape([w for a in ins["args"] for w in a.split()]),
        "flags": [strip_quotes(f) for f in ins["flags"]],
    }


def test_both_parsers_agree_on_every_file_both_accept():
    paths = files()
    assert len(paths) >= 38, "corpus or brief fixtures missing"
    peer = peer_dump(paths)
    accepted = set()
    mismatches = []
    known = set()
    compared = 0
    for p in paths:
        name = os.path.basename(p)
        ours = berth_parse(p)
        theirs = peer[name]
        peer_ok = "error" not in theirs and all(
            i["keyword"] in KEYWORDS for i in theirs["instructions"])
        if ours is None or not peer_ok:
            continue
        accepted.add(name)
        a = [berth_view(i) for i in ours["instructions"]]
        b = [peer_view(i) for i in theirs["instructions"]]
        if len(a) != len(b):
            mismatches.append("%s: %d instructions vs %d" % (name, len(a), len(b)))
            continue
        for x, y in zip(a, b):
            compared += 1
            if x != y and (name, x["start"]) in KNOWN_DIFFERENCES:
                known.add((name, x["start"]))
            elif x != y:
                mismatches.append("%s line %d:\n  berth %s\n  peer  %s" % (name, x["start"], x, y))
    assert not mismatches, "\n".join(mismatches)
    assert known == set(KNOWN_DIFFERENCES), "known differences changed: %s" % sorted(
        set(KNOWN_DIFFERENCES) ^ known)
    assert accepted == BOTH_ACCEPT, "accepted by both changed: +%s -%s" % (
        sorted(accepted - BOTH_ACCEPT), sorted(BOTH_ACCEPT - accepted))
    assert compared >= 200
