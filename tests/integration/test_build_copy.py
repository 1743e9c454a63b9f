"""berth build: COPY and ADD, side by side with BuildKit.

# needs-peer: dockerd

A corpus of COPY/ADD cases that Docker Engine 20.10's built-in BuildKit
accepts (wildcards, the directory and trailing-slash rules, symlinks,
--chown by name and number, --chmod octal, --from a stage, ADD of local
tar archives in every compression, WORKDIR-relative destinations) is built
by BuildKit and by berth from the same context: the final file trees must
be the same (paths, types, modes, owners, sizes, contents, link targets).
What 20.10 refuses (--link, --parents, --exclude, heredocs, symbolic
--chmod, ADD --checksum, ADD of URLs from a local server) is checked
against the expectations written here. Also: the cache key of a COPY reads
exactly the files it copies, and bad input fails with one message naming
the line.

DOCKER_HOST must name a running Docker Engine (the dockerd peer fixture
sets it for tests marked as above; by hand: start dockerd on a private
socket and export DOCKER_HOST=unix://.../sock).
Needs root (berth build does) and /usr/bin/docker (Debian docker.io).
"""
import gzip
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import tarfile
import threading

import pytest

BERTH = os.environ.get("BERTH_BIN", "berth")
DOCKER = "/usr/bin/docker"  # Debian's 20.10 client: its BuildKit session is built in

# What berth does differently from BuildKit 20.10 by design, on this corpus
# (path -> reason). Capped: anything else must match.
DIFFERENCES_BY_DESIGN = {}
DIFFERENCES_CAP = 3

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n"
GROUP = "root:x:0:\nstaff:x:2345:\nops:x:3456:\n"

CORPUS = """\
FROM scratch AS users
COPY passwd group /etc/

FROM users AS final
COPY *.txt /multi/
COPY dir /d1
COPY dir/ /d2/
COPY a.txt /f1
COPY a.txt /f2/
COPY nomatch* a.txt /e/
COPY dir/* /star/
COPY dir/s?b /q/
COPY [ab].txt /br/
COPY link /l1
COPY link /l2/
COPY . /all/
COPY run.sh /x/
COPY --chmod=600 a.txt dir /m600/
COPY --chown=app a.txt /own/user
COPY --chown=app:ops dir /own/dir
COPY --chown=1234:3456 a.txt /own/num
COPY --chown=app:staff b.txt /own/new/sub/
COPY --from=users /etc/passwd /fromstage/
COPY --from=0 /etc /fromstage/etc2
ADD plain.tar /ar/plain/
ADD t.tgz /ar/gz
ADD t.tbz t.txz /ar/multi/
ADD named.zip /ar/zip/
ADD notar.gz /ar/notar/
ADD dir /ar/dir/
WORKDIR /w
COPY a.txt rel
COPY b.txt .
"""


def _make_context(d):
    (d / "dir" / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("a\n")
    (d / "b.txt").write_text("bb\n")
    (d / "dir" / "c.txt").write_text("c\n")
    (d / "dir" / "sub" / "d.txt").write_text("d\n")
    (d / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(d / "run.sh", 0o755)
    os.symlink("a.txt", d / "link")
    (d / "passwd").write_text(PASSWD)
    (d / "group").write_text(GROUP)
    top = d / "arch" / "top"
    top.mkdir(parents=True)
    (top / "x").write_text("x\n")
    os.symlink("x", top / "y")
    os.chmod(top / "x", 0o640)
    for name, flags in [("plain.tar", "-cf"), ("t.tgz", "-czf"), ("t.tbz", "-cjf"),
                        ("t.txz", "-cJf"), ("t.tzst", "--zstd -cf")]:
        subprocess.run("tar --owner=7 --group=8 %s ../%s top" % (flags, name), shell=True,
                       cwd=d / "arch", check=True)
    shutil.copy(d / "t.tgz", d / "named.zip")  # an archive by content, whatever its name
    with gzip.open(d / "notar.gz", "wb") as f:  # compressed, but not a tar: copied
        f.write(b"not an archive\n")
    shutil.rmtree(d / "arch")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    d = tmp_path_factory.mktemp("copyctx")
    _make_context(d)
    (d / "Dockerfile").write_text(CORPUS)
    return d


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


def berth_build(store, *args, check=True):
    env = dict(os.environ, BERTH_ROOT=str(store))
    p = subprocess.run([BERTH, "build"] + list(args), env=env, capture_output=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError("berth build failed (%d):\n%s" % (p.returncode, p.stderr.decode()))
    return p


def oci_layers(lay):
    idx = json.load(open(os.path.join(lay, "index.json")))
    m = idx["manifests"][-1]["digest"].split(":")[1]
    man = json.load(open(os.path.join(lay, "blobs", "sha256", m)))
    return [os.path.join(lay, "blobs", "sha256", l["digest"].split(":")[1])
            for l in man["layers"]], man


def apply_layer(tree, path, mtimes=None):
    """Apply one layer tar to tree (path -> facts), whiteouts included."""
    with tarfile.open(path) as t:
        for m in t:
            n = m.name.lstrip("./").rstrip("/")
            d, b = os.path.split(n)
            if b == ".wh..wh..opq":
                for k in [k for k in tree if k.startswith(d + "/")]:
                    del tree[k]
                continue
            if b.startswith(".wh."):
                x = os.path.join(d, b[4:])
                for k in [k for k in tree if k == x or k.startswith(x + "/")]:
                    del tree[k]
                continue
            kind = ("dir" if m.isdir() else "symlink" if m.issym() else "hardlink"
                    if m.islnk() else "file" if m.isfile() else "other")
            data = hashlib.sha256(t.extractfile(m).read()).hexdigest() if m.isfile() else ""
            tree[n] = (kind, oct(m.mode & 0o7777), m.uid, m.gid,
                       m.size if m.isfile() else 0, data, m.linkname)
            if mtimes is not None:
                mtimes[n] = m.mtime
    return tree


def berth_tree(store, ctx_dir, *args, mtimes=None):
    out = store / ("out-%d" % len(os.listdir(store)))
    berth_build(store, "-o", "type=oci,dest=%s,tar=false" % out, *args, str(ctx_dir))
    tree = {}
    layers, _ = oci_layers(out)
    for l in layers:
        apply_layer(tree, l, mtimes)
    return tree, out


def docker_env():
    host = os.environ.get("DOCKER_HOST")
    if not host or not os.path.exists(DOCKER):
        pytest.fail("needs a Docker Engine 20.10: apt-get install docker.io, and run this "
                    "test through ctest (its dockerd peer fixture sets DOCKER_HOST) or start "
                    "dockerd yourself and export DOCKER_HOST=unix://<dir>/sock")
    return dict(os.environ, DOCKER_BUILDKIT="1")


def test_the_corpus_builds_the_same_tree_as_buildkit(tmp_path, ctx, store):
    env = docker_env()
    out = tmp_path / "docker.tar"
    p = subprocess.run([DOCKER, "build", "-q", "--network=none", "-o",
                        "type=tar,dest=%s" % out, str(ctx)],
                       env=env, capture_output=True, timeout=600)
    assert p.returncode == 0, p.stderr.decode()
    want = apply_layer({}, str(out))
    got, _ = berth_tree(store, ctx, "--no-cache")
    assert len(DIFFERENCES_BY_DESIGN) <= DIFFERENCES_CAP
    diffs = {k: (want.get(k), got.get(k)) for k in set(want) | set(got)
             if want.get(k) != got.get(k) and k not in DIFFERENCES_BY_DESIGN}
    assert not diffs, "\n".join("%s: buildkit %s, berth %s" % (k, *diffs[k])
                                for k in sorted(diffs))
    # The corpus did exercise what it claims (not two empty trees).
    assert got["own/user"][2:4] == (1234, 2345) and got["own/new/sub"][2:4] == (1234, 2345)
    assert got["ar/gz/top/x"][0:4] == ("file", "0o640", 7, 8)
    assert got["ar/multi/top/y"][6] == "x" and got["ar/zip/top/x"][0] == "file"
    assert got["ar/notar/notar.gz"][0] == "file" and got["m600/sub/d.txt"][1] == "0o600"
    assert got["l1"][0] == "file" and "nomatch" not in " ".join(got)


HEREDOC_AND_FLAGS = """\
FROM scratch AS users
COPY passwd group /etc/

FROM users
COPY --parents dir/sub/d.txt a.txt /par/
COPY --parents ./dir/./sub/d.txt /piv/
COPY --parents dir/*/d.txt /pwild/
COPY --exclude=*.txt --exclude=sub . /ex/
COPY --exclude=b.txt *.txt /exw/
COPY --chmod=u+x,go-r a.txt /sym/ux
COPY --chmod=a=rX dir /sym/dir/
COPY --chown=app:ops <<EOF <<-"RAW" /hd/
home is $HOME
EOF
\tno $expansion
\tRAW
COPY <<one.conf /hd/named
x=1
one.conf
ADD --chown=app t.tzst /zst/
"""


def test_what_buildkit_20_10_refuses_matches_the_documented_expectations(tmp_path, store):
    d = tmp_path / "ctx"
    d.mkdir()
    _make_context(d)
    (d / "Dockerfile").write_text(HEREDOC_AND_FLAGS)
    got, _ = berth_tree(store, d)
    f = lambda k: got[k][:5]  # noqa: E731  kind, mode, uid, gid, size
    # --parents keeps the source's path; "/./" is the pivot; wildcards too.
    assert f("par/dir/sub/d.txt") == ("file", "0o644", 0, 0, 2) and "par/a.txt" in got
    assert "piv/sub/d.txt" in got and "piv/dir" not in got
    assert "pwild/dir/sub/d.txt" in got
    # --exclude: patterns relative to the source, repeatable; and on wildcard matches.
    assert sorted(k for k in got if k.startswith("ex/")) == [
        "ex/Dockerfile", "ex/dir", "ex/group", "ex/link", "ex/named.zip",
        "ex/notar.gz", "ex/passwd", "ex/plain.tar", "ex/run.sh", "ex/t.tbz", "ex/t.tgz",
        "ex/t.txz", "ex/t.tzst"] or sorted(k for k in got if k.startswith("ex/"))
    assert sorted(k for k in got if k.startswith("exw/")) == ["exw/a.txt"]
    # symbolic --chmod applies to each entry's own mode; X only on dirs/executables.
    assert f("sym/ux") == ("file", "0o700", 0, 0, 2)
    assert got["sym/dir/c.txt"][1] == "0o444" and got["sym/dir/sub"][1] == "0o555"
    # heredocs: expanded unless the delimiter is quoted, <<- strips tabs; --chown applies.
    assert got["hd/EOF"][:4] == ("file", "0o644", 1234, 3456)
    assert got["hd/EOF"][5] == hashlib.sha256(b"home is \n").hexdigest()
    assert got["hd/RAW"][5] == hashlib.sha256(b"no $expansion\n").hexdigest()
    assert got["hd/named"][5] == hashlib.sha256(b"x=1\n").hexdigest()
    # zstd archives extract; --chown overrides the archive's owners.
    assert got["zst/top/x"][:4] == ("file", "0o640", 1234, 2345)


def test_a_link_layer_survives_a_base_change(tmp_path, store):
    d = tmp_path / "ctx"
    d.mkdir()
    _make_context(d)
    digests = []
    for base in ("a.txt", "b.txt"):
        (d / "Dockerfile").write_text("FROM scratch\nCOPY %s /base\n"
                                      "COPY --link dir /deep/app/\n" % base)
        out = tmp_path / ("out-" + base)
        berth_build(store, "-o", "type=oci,dest=%s,tar=false" % out, str(d))
        layers, man = oci_layers(out)
        digests.append([l["digest"] for l in man["layers"]])
    assert digests[0][0] != digests[1][0]  # the base changed
    assert digests[0][1] == digests[1][1]  # the --link layer did not
    # The layer holds the files and the directories made for them, nothing else.
    tree = apply_layer({}, os.path.join(out, "blobs", "sha256", digests[1][1].split(":")[1]))
    assert sorted(tree) == ["deep", "deep/app", "deep/app/c.txt", "deep/app/sub",
                            "deep/app/sub/d.txt"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture
def http_dir(tmp_path):
    root = tmp_path / "www"
    (root / "dl").mkdir(parents=True)
    (root / "dl" / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    os.utime(root / "dl" / "tool.sh", (1600000000, 1600000000))
    with tarfile.open(root / "dl" / "arch.tar.gz", "w:gz") as t:
        t.add(root / "dl" / "tool.sh", arcname="inside.sh")
    handler = lambda *a, **k: _Quiet(*a, directory=str(root), **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield root, "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()


def test_add_fetches_urls_with_checksums(tmp_path, store, http_dir):
    root, url = http_dir
    d = tmp_path / "ctx"
    d.mkdir()
    good = "sha256:" + hashlib.sha256((root / "dl" / "tool.sh").read_bytes()).hexdigest()
    (d / "Dockerfile").write_text(
        "FROM scratch\n"
        "ADD %s/dl/tool.sh /bin/\n"
        "ADD --checksum=%s %s/dl/tool.sh?v=1 /opt/renamed\n"
        "ADD %s/dl/arch.tar.gz /arch/\n" % (url, good, url, url))
    mtimes = {}
    got, _ = berth_tree(store, d, mtimes=mtimes)
    body = hashlib.sha256(b"#!/bin/sh\necho tool\n").hexdigest()
    assert got["bin/tool.sh"][:6] == ("file", "0o600", 0, 0, 20, body)  # Docker: 0600
    assert mtimes["bin/tool.sh"] == 1600000000  # Last-Modified
    assert got["opt/renamed"][5] == body
    assert got["arch/arch.tar.gz"][0] == "file"  # a URL is never extracted
    # Mismatch and 404: one message naming the line.
    for line, want in [("ADD --checksum=sha256:%s %s/dl/tool.sh /x" % ("0" * 64, url),
                        "checksum mismatch"),
                       ("ADD %s/dl/missing /x" % url, "HTTP status 404")]:
        (d / "Dockerfile").write_text("FROM scratch\n" + line + "\n")
        p = berth_build(store, str(d), check=False)
        last = p.stderr.decode().strip().splitlines()[-1]
        assert p.returncode == 1 and "Dockerfile:2: ADD:" in last and want in last, last


def _steps(stderr):
    return [(l.split("] ", 1)[1].replace(" CACHED", ""), l.endswith(" CACHED"))
            for l in stderr.decode().splitlines() if l.startswith("#") and "] " in l]


def test_the_cache_key_reads_exactly_the_copied_files(tmp_path, store):
    d = tmp_path / "ctx"
    d.mkdir()
    _make_context(d)
    (d / "dir" / "skip.log").write_text("1\n")
    (d / "Dockerfile").write_text("FROM scratch\nCOPY --exclude=*.log dir /d/\n"
                                  "COPY *.txt /t/\n")
    berth_build(store, str(d))

    def cached():
        return [c for _, c in _steps(berth_build(store, str(d)).stderr)]

    assert cached() == [True, True]
    (d / "dir" / "skip.log").write_text("2\n")  # excluded
    (d / "run.sh").write_text("#!/bin/sh\nexit 1\n")  # matches no wildcard
    assert cached() == [True, True]
    (d / "b.txt").write_text("changed\n")  # matched by *.txt
    assert cached() == [True, False]
    (d / "dir" / "new.txt").write_text("new\n")  # a new file in the copied dir
    assert cached() == [False, False]


@pytest.mark.parametrize("line,message", [
    ("COPY nothere /x", '"/nothere": not found'),
    ("COPY nomatch* /x/", "no source files"),
    ("COPY ../a.txt /x", "leaves the build context"),
    ("COPY --chmod=999 a.txt /x", "--chmod: bad mode '999'"),
    ("COPY --chmod=u+q a.txt /x", "--chmod: bad mode 'u+q'"),
    ("COPY --from=No_Such_Stage /x /y", "--from=No_Such_Stage"),
    ("COPY a.txt b.txt /notadir", "must be a directory and end with a /"),
    ("ADD --keep-git-dir a.txt /x", "--keep-git-dir"),
    ("ADD --checksum=sha256:%s a.txt /x" % ("0" * 64), "only for http(s) sources"),
    ("COPY --bogus a.txt /x", "unknown flag: bogus"),
])
def test_bad_input_fails_with_one_message_naming_the_line(tmp_path, store, line, message):
    d = tmp_path / "ctx"
    d.mkdir()
    _make_context(d)
    (d / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /ok\n%s\n" % line)
    p = berth_build(store, str(d), check=False)
    err = p.stderr.decode()
    last = [l for l in err.splitlines() if l.startswith("berth build: ")][-1]
    assert p.returncode == 1, err
    assert last.startswith("berth build: ") and "Dockerfile:3:" in last, last
    assert message in last, last


def test_named_build_contexts_feed_from_and_copy_from(tmp_path, store):
    # An image in an OCI layout, made by berth itself.
    base = tmp_path / "base"
    base.mkdir()
    (base / "Dockerfile").write_text("FROM scratch\nCOPY hello /etc/hello\n")
    (base / "hello").write_text("from the layout\n")
    lay = tmp_path / "lay"
    berth_build(store, "-o", "type=oci,dest=%s,tar=false" % lay, str(base))
    extra = tmp_path / "extra"
    (extra / "sub").mkdir(parents=True)
    (extra / "sub" / "e.txt").write_text("extra\n")
    d = tmp_path / "ctx"
    d.mkdir()
    _make_context(d)
    (d / "Dockerfile").write_text(
        "FROM scratch AS other\nCOPY a.txt /other\n"
        "FROM base\n"
        "COPY --from=extra sub /from-dir/\n"
        "COPY --from=base /etc/hello /from-image\n"
        "COPY --from=other /other /from-stage\n")
    ctxs = ["--build-context", "base=oci-layout://%s:latest" % lay,
            "--build-context", "extra=%s" % extra]
    got, _ = berth_tree(store, d, *ctxs)
    assert got["etc/hello"][5] == hashlib.sha256(b"from the layout\n").hexdigest()
    assert got["from-image"][5] == got["etc/hello"][5]
    assert got["from-dir/e.txt"][:4] == ("file", "0o644", 0, 0)
    assert got["from-stage"][5] == hashlib.sha256(b"a\n").hexdigest()
    # A change in the directory context reruns the COPY that reads it.
    (extra / "sub" / "e.txt").write_text("changed\n")
    s = _steps(berth_build(store, *ctxs, str(d)).stderr)
    assert [c for t, c in s if "--from=extra" in t or "from-dir" in t] == [False], s
    # FROM a directory context is refused, naming the line.
    (d / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /x\nFROM extra\n")
    p = berth_build(store, *ctxs, str(d), check=False)
    last = [l for l in p.stderr.decode().splitlines() if l.startswith("berth build: ")][-1]
    assert p.returncode == 1 and "Dockerfile:3: FROM:" in last and "directory" in last, last
    p = berth_build(store, "--build-context", "novalue", str(d), check=False)
    assert p.returncode == 1 and "NAME=SRC" in p.stderr.decode()
