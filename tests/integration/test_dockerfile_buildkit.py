# needs-peer: dockerd
"""
test_dockerfile_buildkit.py - berth's reading of a build context and of
variables, side by side with BuildKit (Docker Engine 20.10's built-in
BuildKit, the ctest fixture "dockerd": tests/peers/dockerd-start.sh).

.dockerignore: each case is a context and a .dockerignore; BuildKit builds
`FROM scratch` + `COPY . /` and exports the result to a directory
(`-o type=local`); `berth dockerfile context --format json` must list
exactly those paths, with the same types, modes, symlink targets and
content digests. A COPY of an excluded path fails in BuildKit and the path
is absent from berth's context.

Expansion: Dockerfiles FROM scratch whose LABEL/ENV/WORKDIR/USER/EXPOSE/
STOPSIGNAL/VOLUME words use the ${} forms 20.10 supports (${v}, ${v:-w},
${v:+w}, ${v:?m}, nested defaults), quotes and escapes, ARG before FROM,
ENV chaining, --build-arg and defaults; BuildKit's image config
(`docker image inspect`) must equal `berth dockerfile parse --expand`.
The forms 20.10 does not know yet (${v-w}, ${v+w}, ${v#p}, ${v%p},
${v/p/r}) are asserted refused by it, so the corpus states the gap.

The audit of every instruction and flag against 20.10's BuildKit, and of
the test covering each, is at the top of test_build_corpus_buildkit.py.
"""
import hashlib
import json
import os
import posixpath
import shutil
import stat
import subprocess

import pytest

from buildutil import docker

BIN = os.environ.get("BERTH_BIN", "build/dev/berth")
SRC = os.environ.get("BERTH_SOURCE_DIR", ".")






def berth(*args):
    r = subprocess.run([BIN, "dockerfile", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def make_tree(root, files):
    """files: path -> str (content), ("link", target), ("dir",), ("exec", content)."""
    os.makedirs(root)
    for path, v in files.items():
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(v, tuple) and v[0] == "link":
            os.symlink(v[1], p)
        elif isinstance(v, tuple) and v[0] == "dir":
            os.makedirs(p, exist_ok=True)
        else:
            body = v[1] if isinstance(v, tuple) else v
            with open(p, "w") as f:
                f.write(body)
            os.chmod(p, 0o755 if isinstance(v, tuple) else 0o644)


def tree_of(root):
    """{path: (type, mode & 0o777, content sha256 | link target | None)} below root."""
    out = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", None, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, None)
            else:
                with open(p, "rb") as f:
                    out[rel] = ("file", st.st_mode & 0o777, hashlib.sha256(f.read()).hexdigest())
    return out


def berth_tree(ctx):
    doc = berth("context", "--format", "json", ctx)
    out = {}
    for e in doc["entries"]:
        if e["type"] == "symlink":
            out[e["path"]] = ("symlink", None, e["link"])
        elif e["type"] == "dir":
            out[e["path"]] = ("dir", None, None)
        else:
            out[e["path"]] = ("file", e["mode"] & 0o777, e["content"])
    return out


BASE_FILES = {
    "a.txt": "a", "b.txt": "b", "c.txt": "c", "README.md": "readme", "notes.md": "notes",
    "Dockerfile": "FROM scratch\nCOPY . /\n", "run.sh": ("exec", "#!/bin/sh\n"),
    "docs/guide.md": "g", "docs/img/logo.png": "png", "docs/draft1.txt": "d1",
    "src/main.c": "int main;", "src/lib/util.c": "u", "src/lib/util.o": "o",
    "src/tmp/scratch.txt": "s", "build/out.bin": "bin", "build/keep/me.txt": "k",
    "logs/app.log": "l", "logs/sub/deep.log": "dl", "x/y/z/tmp/t.txt": "t",
    ".git/config": "cfg", ".env": "E=1", ".env.local": "E=2", "node_modules/m/index.js": "m",
    "file1.txt": "f1", "fileA.txt": "fa", "ax.txt": "ax", "cx.txt": "cx", "star*.txt": "st",
    "spaced.txt": "sp", "empty/.keep": "", "link-a": ("link", "a.txt"),
    "link-dangling": ("link", "nowhere"), "link-dir": ("link", "src"),
}

IGNORE_CASES = {
    "none": "",
    "globs_and_exception": "*.md\n!README.md\n*.log\n",
    "double_star": "**/*.log\n**/tmp\ndocs/**/*.png\n",
    "leading_slash_dot_and_clean": "/a.txt\n./b.txt\nsrc/../c.txt\n/src/lib/*.o\n",
    "trailing_slash": "build/\nlogs/\n",
    "reopen_directory": "build\n!build/keep\nsrc/*\n!src/lib\n",
    "everything_but": "*\n!src\n!Dockerfile\n",
    "itself_and_dockerfile": "Dockerfile\n.dockerignore\n",
    "classes_and_question": "file?.txt\n[ab].txt\n[!c]x.txt\nstar\\*.txt\n",
    "comments_blanks_spaces": "# a comment\n\n   spaced.txt   \n\t\n#notes.md\n",
    "exception_order": "!a.txt\na.txt\n*.txt\n!c.txt\n",
    "hidden_and_modules": ".git\n.env*\nnode_modules\n",
    "symlinks": "link-a\nsrc\n",
    "empty_dirs": "empty/.keep\ndocs/*\n",
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("buildkit")
    yield d
    shutil.rmtree(str(d), ignore_errors=True)


def buildkit_tree(ctx, out):
    docker("build", "--network=none", "-q", "-o", "type=local,dest=%s" % out, ctx)
    return tree_of(out)


@pytest.mark.parametrize("case", sorted(IGNORE_CASES))
def test_dockerignore_like_buildkit(work, case):
    ctx = str(work / ("ctx-" + case))
    make_tree(ctx, BASE_FILES)
    with open(os.path.join(ctx, ".dockerignore"), "w") as f:
        f.write(IGNORE_CASES[case])
    theirs = buildkit_tree(ctx, str(work / ("out-" + case)))
    ours = berth_tree(ctx)
    assert sorted(ours) == sorted(theirs)
    assert ours == theirs


def test_brief_dockerignore_like_buildkit(work):
    ctx = str(work / "ctx-brief")
    files = dict(BASE_FILES)
    files.update({"docker-compose.yml": "c", "LICENSE": "l", ".vscode/s.json": "{}",
                  "__pycache__/m.pyc": "p", "pkg/mod.pyc": "p", "coverage/lcov": "c",
                  "tests/t.py": "t", "app/Thumbs.db": "t", ".DS_Store": "d"})
    make_tree(ctx, files)
    shutil.copy(os.path.join(SRC, "tests", "fixtures", "brief", "dockerignore"),
                os.path.join(ctx, ".dockerignore"))
    theirs = buildkit_tree(ctx, str(work / "out-brief"))
    assert "README.md" in theirs and "notes.md" not in theirs and "tests" not in theirs
    assert berth_tree(ctx) == theirs


def test_copy_of_excluded_paths(work):
    ctx = str(work / "ctx-excluded")
    make_tree(ctx, {"keep.txt": "k", "secret.txt": "s", "other.txt": "o"})
    with open(os.path.join(ctx, ".dockerignore"), "w") as f:
        f.write("secret.txt\n")
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM scratch\nCOPY secret.txt /\n")
    r = docker("build", "--network=none", "-q", ctx, check=False)
    assert r.returncode != 0 and "not found" in r.stderr
    assert "secret.txt" not in berth_tree(ctx)
    # a wildcard COPY takes what is left: the same set on both sides
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM scratch\nCOPY *.txt /\n")
    out = str(work / "out-excluded")
    theirs = buildkit_tree(ctx, out)
    assert sorted(theirs) == ["keep.txt", "other.txt"]
    ours = {p for p, v in berth_tree(ctx).items() if p.endswith(".txt")}
    assert ours == set(theirs)


# ---- variable expansion ----

EXPAND = r"""ARG BASE=scratch
ARG GLOBAL_ONLY=g
FROM ${BASE}
ARG V=abc
ARG E=
ARG U
ARG W
ARG FROM_CLI=default
ARG GLOBAL_ONLY
ENV A=${V:-d} B="$V and ${U:-unset}" C=${E:-empty}
ENV D=$A-$B CHAIN=${D}/${C}
ENV LEGACY value with  spaces
LABEL l01=${V:-d} l02=${U:-d} l03=${V:+set} l04=${U:+set} l05=${E:+set} l06=${V:?m}
LABEL l07=$V$V l08='$V' l09="$V" l10=\$V l11=${V}x l12=$Vx
LABEL l13=${U:-${W:-z}} l14=\${V} l15=a\ b l16="${U:-q r}" l17=${FROM_CLI}
LABEL l18=${GLOBAL_ONLY} l19="${A}" l20="it's" l21='say "hi"' l22=${CHAIN}
LABEL "l23"="quoted key" l24=x\\y l25=${NOPE}end
WORKDIR /w/$A
WORKDIR sub/${C}
USER ${V}:${E:-0}
EXPOSE ${PORT:-8080}/tcp 9000
STOPSIGNAL SIG${SIG:-TERM}
VOLUME /data/$V ["/vol/${A}"]
"""

ESCAPE = """# escape=`
FROM scratch
ARG V=abc
ENV P=C:`\\dir`\\$V Q=`$V
LABEL a=`$V b=${V}`tail c="x`"y"
"""

REFUSED_BY_2010 = ["${V-d}", "${V+a}", "${V#a}", "${V%c}", "${V/b/x}"]


def build_config(work, name, text, *build_args):
    ctx = work / ("x-" + name)
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    args = []
    for a in build_args:
        args += ["--build-arg", a]
    tag = "berth-test/%s:%d" % (name, os.getpid())
    docker("build", "--network=none", "-q", "-t", tag, *args, str(ctx))
    cfg = json.loads(docker("image", "inspect", tag).stdout)[0]["Config"]
    docker("rmi", "-f", tag)
    plan = berth("parse", "--expand", "--format", "json",
                 *[x for a in build_args for x in ("--build-arg", a)], str(ctx / "Dockerfile"))
    return cfg, plan


def berth_config(plan):
    """The image config fields berth's expanded plan implies for the last stage."""
    st = plan["stages"][-1]
    labels, workdir, user, ports, signal, volumes = {}, "/", "", [], None, []
    for ins in st["instructions"]:
        k, w = ins["kind"], ins["words"]
        if k == "LABEL":
            labels.update({kv["key"]: kv["value"] for kv in ins["kvs"]})
        elif k == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, w[0]))
        elif k == "USER":
            user = w[0]
        elif k == "EXPOSE":
            ports += [p if "/" in p else p + "/tcp" for p in w]
        elif k == "STOPSIGNAL":
            signal = w[0]
        elif k == "VOLUME":
            volumes += w
    return {"env": st["env"], "labels": labels, "workdir": workdir, "user": user,
            "ports": sorted(ports), "signal": signal, "volumes": sorted(volumes)}


def docker_config(cfg):
    env = dict(e.split("=", 1) for e in cfg.get("Env") or [])
    env.pop("PATH", None)  # BuildKit gives every image a default PATH
    return {"env": env, "labels": cfg.get("Labels") or {}, "workdir": cfg.get("WorkingDir"),
            "user": cfg.get("User") or "", "ports": sorted(cfg.get("ExposedPorts") or {}),
            "signal": cfg.get("StopSignal"), "volumes": sorted(cfg.get("Volumes") or {})}


def test_expansion_like_buildkit(work):
    cfg, plan = build_config(work, "expand", EXPAND)
    theirs, ours = docker_config(cfg), berth_config(plan)
    assert theirs["labels"]["l12"] == "" and theirs["labels"]["l15"] == "a b"  # sanity
    assert ours == theirs


def test_expansion_with_build_args_like_buildkit(work):
    cfg, plan = build_config(work, "expand-args", EXPAND, "V=from cli", "U=u", "E=e",
                             "FROM_CLI=given", "GLOBAL_ONLY=G", "BASE=scratch")
    theirs, ours = docker_config(cfg), berth_config(plan)
    assert theirs["labels"]["l17"] == "given" and theirs["env"]["A"] == "from cli"
    assert ours == theirs


def test_escape_directive_like_buildkit(work):
    cfg, plan = build_config(work, "escape", ESCAPE)
    assert berth_config(plan) == docker_config(cfg)


@pytest.mark.parametrize("form", REFUSED_BY_2010)
def test_forms_20_10_refuses(work, form):
    ctx = work / ("refused-%d" % REFUSED_BY_2010.index(form))
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nARG V=abc\nLABEL x=%s\n" % form)
    r = docker("build", "--network=none", "-q", str(ctx), check=False)
    assert r.returncode != 0  # newer BuildKit (and berth) expand these
    plan = berth("parse", "--expand", "--format", "json", str(ctx / "Dockerfile"))
    assert plan["stages"][0]["instructions"][-1]["kvs"][0]["key"] == "x"


# ---- config instructions: berth build's image config vs BuildKit's ----

CONFIG = r"""FROM scratch AS base
LABEL stage=base
ONBUILD LABEL from-onbuild=yes
ONBUILD ENV OB=1

FROM scratch
ARG PORTS="8000-8002/udp"
MAINTAINER Jane Doe <jane@example.com>
LABEL multi.a=1 "multi.b"="two words" \
      multi.c=3
ENV LEGACY legacy value  with spaces
ENV E1=one E2="two $E1" E3=${E1:-x}
EXPOSE 80 443/tcp 53/udp ${PORTS}
EXPOSE 9000/TCP
VOLUME ["/data", "/logs"]
VOLUME /cache /tmp/x
WORKDIR /srv
WORKDIR app
USER 1001:1001
STOPSIGNAL SIGQUIT
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=4 \
  CMD wget -qO- http://localhost/health || exit 1
ONBUILD COPY . /src
ONBUILD RUN make -C /src
ENTRYPOINT echo "entry $E1"
CMD ["--flag", "value with space"]
"""

# The second corpus: exec-form ENTRYPOINT, shell-form CMD (under the
# default shell), HEALTHCHECK NONE and an empty CMD.
CONFIG2 = r"""FROM scratch
HEALTHCHECK CMD ["/bin/true"]
HEALTHCHECK NONE
ENTRYPOINT ["/app", "--serve"]
CMD run --fast
USER nobody
"""

CONFIG3 = r"""FROM scratch
CMD ["one"]
ENTRYPOINT ["/bin/x"]
CMD []
HEALTHCHECK --retries=2 CMD curl -f http://x/
"""

CONFIG_KEYS = ["Cmd", "Entrypoint", "Env", "ExposedPorts", "Healthcheck", "Labels", "OnBuild",
               "Shell", "StopSignal", "User", "Volumes", "WorkingDir"]


def normal_config(cfg):
    """The config fields both builders write, empty values dropped (Docker's
    inspect shows null where the OCI config omits the key). PATH and
    WorkingDir "/" included: BuildKit's empty image has both."""
    out = {}
    for k in CONFIG_KEYS:
        v = cfg.get(k)
        if v in (None, "", [], {}):
            continue
        out[k] = v
    return out


def berth_build_config(work, name, text):
    ctx = work / ("bc-" + name)
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    out = work / ("bc-out-" + name)
    env = dict(os.environ, BERTH_ROOT=str(work / "berth-store"))
    r = subprocess.run([BIN, "build", "--progress", "plain", "-o",
                        "type=oci,dest=%s,tar=false" % out, str(ctx)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]

    def blob(d):
        with open(out / "blobs" / "sha256" / d.split(":", 1)[1]) as f:
            return json.load(f)

    with open(out / "index.json") as f:
        desc = json.load(f)["manifests"][0]
    doc = blob(desc["digest"])
    if "manifests" in doc:  # an index around the one platform
        doc = blob(doc["manifests"][0]["digest"])
    return blob(doc["config"]["digest"]).get("config") or {}


@pytest.mark.parametrize("name,text", [("full", CONFIG), ("none", CONFIG2), ("empty", CONFIG3)])
def test_config_instructions_like_buildkit(work, name, text):
    ctx = work / ("cfg-" + name)
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    tag = "berth-test/cfg-%s:%d" % (name, os.getpid())
    docker("build", "--network=none", "-q", "-t", tag, str(ctx))
    theirs = normal_config(json.loads(docker("image", "inspect", tag).stdout)[0]["Config"])
    docker("rmi", "-f", tag)
    ours = normal_config(berth_build_config(work, name, text))
    if name == "full":  # the corpus exercised what it means to
        assert theirs["Healthcheck"]["Retries"] == 4 and len(theirs["OnBuild"]) == 2
        assert "8001/udp" in theirs["ExposedPorts"] and "9000/tcp" in theirs["ExposedPorts"]
    assert ours == theirs
