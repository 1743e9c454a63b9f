"""berth build's cache keys for what a step reads besides its parent:
COPY --from=<stage> and RUN --mount=from=<stage> keyed on the content they
read (BuildKit's content keys: a first stage rebuilt with the same output
keeps them, with other output changes them; mtimes never count), image
sources keyed on the digest the reference resolves to (a re-tagged image
misses), two equal steps of parallel stages run once (in-flight dedupe).
test_build_cache_buildkit.py compares the hit/miss pattern with BuildKit's.

One registry (a real `berth serve`) with the busybox fixture pushed is
shared by the module; every build store is a temporary directory. Needs
root (berth build does) and skopeo."""
import http.server
import os
import re
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, HERE)
from buildutil import run_build, runs, busybox_registry  # noqa: E402


@pytest.fixture(scope="module")
def registry():
    """A registry holding busybox as <host>/library/busybox:1."""
    with busybox_registry("berth-keys-") as s:
        yield s


# The first stage's RUN reruns whenever NONCE changes (a build arg it sees);
# its output is CONTENT, with an mtime that NONCE sets (touch -t), so two
# runs never give the same layer even within one second. Shared with
# test_build_cache_buildkit.py.
CONTENT_DF = """\
FROM {base} AS gen
ARG NONCE
ARG CONTENT
RUN mkdir /out && echo "$CONTENT" > /out/f && ln -s f /out/l && touch -t "$NONCE" /out/f /out
FROM {base}
COPY --from=gen /out /out
RUN --mount=type=bind,from=gen,source=/out,target=/m cat /m/f > /via-mount
RUN cat /out/f > /got
"""
# the steps of the second stage whose CACHED the tests compare
SECOND = ["COPY --from=gen /out /out",
          "RUN --mount=type=bind,from=gen,source=/out,target=/m cat /m/f > /via-mount",
          "RUN cat /out/f > /got"]
ROUNDS = [("200001010000", "same"),   # first build: everything runs
          ("200101010000", "same"),   # gen reruns, same output (other mtimes): hits
          ("200201010000", "other")]  # gen reruns, other output: misses


def content_ctx(path, base):
    path.mkdir()
    (path / "Dockerfile").write_text(CONTENT_DF.format(base=base))
    return path


def cached_steps(log, steps):
    """Which of `steps` the build log says were CACHED (berth's log lines
    name a step without its flags: "#2 [stage 1] COPY /out /out CACHED")."""
    out = []
    for s in steps:
        bare = re.sub(r"^(\w+) (--\S+ )+", r"\1 ", s)
        assert re.search(r"^#\d+ \[stage \d+\] %s( CACHED)?$" % re.escape(bare), log, re.M), \
            (bare, log)
        out.append(bool(re.search(r"\] %s CACHED$" % re.escape(bare), log, re.M)))
    return out


def test_copy_from_stage_keys_on_content(tmp_path, registry):
    ctx = content_ctx(tmp_path / "ctx", registry.host + "/library/busybox:1")
    store, seen, logs = tmp_path / "store", [], []
    for nonce, content in ROUNDS:
        lay = tmp_path / ("out-" + nonce)
        p = run_build(store, "--build-arg", "NONCE=" + nonce, "--build-arg",
                      "CONTENT=" + content, "-o", "type=local,dest=%s" % lay, ctx)
        seen.append((runs(p), cached_steps(p.stderr.decode(), SECOND)))
        logs.append(p.stderr.decode())
        assert (lay / "got").read_text() == content + "\n"
        assert (lay / "via-mount").read_text() == content + "\n"
    assert seen == [(3, [False, False, False]),
                    (1, [True, True, True]),
                    (3, [False, False, False])], (seen, logs)


def test_image_sources_key_on_the_resolved_digest(tmp_path, registry):
    """A re-tagged image misses (COPY --from=IMAGE and RUN --mount from=IMAGE)."""
    tool = registry.host + "/lib/tool:1"
    tctx = tmp_path / "tool"
    tctx.mkdir()
    (tctx / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\n")
    df = ("FROM %s/library/busybox:1\n"
          "COPY --from=%s /marker /copied\n"
          "RUN --mount=type=bind,from=%s,target=/t cat /t/marker > /mounted\n") % (
              registry.host, tool, tool)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(df)
    store = tmp_path / "store"
    got = []
    for i, marker in enumerate(["v1\n", "v2\n"]):
        (tctx / "marker").write_text(marker)
        run_build(tmp_path / "tstore", "-t", tool, "--push", tctx)
        lay = tmp_path / ("out%d" % i)
        p = run_build(store, "--pull", "-o", "type=local,dest=%s" % lay, ctx)
        err = p.stderr.decode()
        got.append((runs(p), "COPY --from=%s /marker /copied CACHED" % tool in err,
                    (lay / "copied").read_text(), (lay / "mounted").read_text()))
    # the same reference, another digest: both steps miss and see the new image
    assert got == [(1, False, "v1\n", "v1\n"), (1, False, "v2\n", "v2\n")], got
    # and the same digest again hits
    p = run_build(store, "--pull", ctx)
    assert runs(p) == 0, p.stderr.decode()


DEDUPE_DF = """\
FROM {base} AS a
RUN cat /proc/sys/kernel/random/uuid > /made && sleep 1
FROM {base} AS b
RUN cat /proc/sys/kernel/random/uuid > /made && sleep 1
FROM {base}
COPY --from=a /made /a
COPY --from=b /made /b
"""


@pytest.mark.parametrize("flags", [[], ["--no-cache"]])
def test_equal_steps_of_parallel_stages_run_once(tmp_path, registry, flags):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DEDUPE_DF.format(base=registry.host + "/library/busybox:1"))
    lay = tmp_path / "out"
    p = run_build(tmp_path / "store", "--jobs", "2", *flags, "-o", "type=local,dest=%s" % lay,
                  ctx)
    err = p.stderr.decode()
    assert runs(p) == 1, err
    # one of the two stages took the other's result (it waited, or came after)
    assert len(re.findall(r"RUN cat /proc/sys/kernel/random/uuid > /made && sleep 1 CACHED$",
                          err, re.M)) == 1, err
    assert (lay / "a").read_text() == (lay / "b").read_text()


# ---- ADD URL: fetched once per build ----

class _Counting(http.server.SimpleHTTPRequestHandler):
    gets = []

    def do_GET(self):
        _Counting.gets.append(self.path)
        return super().do_GET()

    def log_message(self, *a):
        pass


def test_add_url_is_fetched_once(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    handler = lambda *a, **k: _Counting(*a, directory=str(www), **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/tool.sh" % srv.server_address[1]
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        # twice in one build: still one download (the key and both copies share it)
        (ctx / "Dockerfile").write_text("FROM scratch\nADD %s /a\nADD %s /b\n" % (url, url))
        lay = tmp_path / "out"
        _Counting.gets.clear()
        run_build(tmp_path / "store", "-o", "type=local,dest=%s" % lay, ctx)
        assert _Counting.gets == ["/tool.sh"], _Counting.gets
        assert (lay / "a").read_text() == (lay / "b").read_text() == "#!/bin/sh\necho tool\n"
        # a rebuild fetches it again (the key needs its content), once
        _Counting.gets.clear()
        p = run_build(tmp_path / "store", ctx)
        assert _Counting.gets == ["/tool.sh"], _Counting.gets
        assert p.stderr.decode().count("CACHED") == 2, p.stderr.decode()
    finally:
        srv.shutdown()


# ---- context binds see the context without its .dockerignored files ----

def test_context_bind_leaves_out_dockerignored_files(tmp_path, registry):
    ctx = tmp_path / "ctx"
    (ctx / "logs").mkdir(parents=True)
    (ctx / "sub").mkdir()
    for f in ["app.txt", "secret.txt", "logs/today.log", "sub/a.tmp", "sub/keep.tmp",
              "sub/b.txt"]:
        (ctx / f).write_text(f + "\n")
    (ctx / ".dockerignore").write_text("secret.txt\nlogs\n**/*.tmp\n!sub/keep.tmp\n")
    (ctx / "Dockerfile").write_text(
        "FROM %s/library/busybox:1\n"
        "RUN --mount=target=/ctx cd /ctx && find . | sort > /listing\n"
        "RUN --mount=target=/ctx,rw cd /ctx && rm -f app.txt && find . | sort > /rw-listing\n"
        % registry.host)
    lay = tmp_path / "out"
    run_build(tmp_path / "store", "-o", "type=local,dest=%s" % lay, ctx)
    want = [".", "./.dockerignore", "./Dockerfile", "./app.txt", "./sub", "./sub/b.txt",
            "./sub/keep.tmp"]
    assert (lay / "listing").read_text().split() == want
    assert (lay / "rw-listing").read_text().split() == [w for w in want if w != "./app.txt"]
    assert (ctx / "app.txt").exists()  # the rw bind wrote nothing back
    # an ignored file changes nothing: both RUNs hit
    (ctx / "secret.txt").write_text("other\n")
    p = run_build(tmp_path / "store", ctx)
    assert runs(p) == 0, p.stderr.decode()



# ---- hard links: linking two equal files changes the layer, so the key ----

HARDLINK_ROUNDS = [False, True, False]  # d/b a file of its own, a link of d/a, its own again


def hardlink_ctx(path, content="same\n"):
    """A context whose Dockerfile copies d/ (d/a and d/b: equal content, mode
    and mtime), and a function that makes d/b its own file or a hard link of
    d/a: the only difference between the rounds."""
    (path / "d").mkdir(parents=True)
    (path / "Dockerfile").write_text("FROM scratch\nCOPY d /d\n")
    a, b = path / "d" / "a", path / "d" / "b"

    def make(linked):
        for f in (a, b):
            if f.exists():
                f.unlink()
            f.write_text(content)
            os.chmod(f, 0o644)
            os.utime(f, (1000000000, 1000000000))
        if linked:
            b.unlink()
            os.link(a, b)
    return make


def layer_entries(lay):
    """name -> (type, linkname) of d/'s entries in the one layer of a FROM
    scratch image in an OCI layout directory."""
    import json
    import tarfile
    blobs = os.path.join(lay, "blobs", "sha256")
    idx = json.load(open(os.path.join(lay, "index.json")))
    man = json.load(open(os.path.join(blobs, idx["manifests"][0]["digest"].split(":")[1])))
    assert len(man["layers"]) == 1, man
    with tarfile.open(os.path.join(blobs, man["layers"][0]["digest"].split(":")[1])) as t:
        return {m.name: (m.type, m.linkname) for m in t.getmembers() if m.name.startswith("d/")}


def test_copy_keys_on_hard_links_among_its_files(tmp_path):
    import tarfile
    ctx = tmp_path / "ctx"
    make = hardlink_ctx(ctx)
    store, got = tmp_path / "store", []
    for i, linked in enumerate(HARDLINK_ROUNDS):
        make(linked)
        lay = tmp_path / ("out%d" % i)
        p = run_build(store, "-o", "type=oci,dest=%s,tar=false" % lay, ctx)
        got.append((cached_steps(p.stderr.decode(), ["COPY d /d"])[0],
                    layer_entries(lay)["d/b"]))
    # linked: the step misses and its layer has the link; unlinked again: round 1's hit
    assert got == [(False, (tarfile.REGTYPE, "")), (False, (tarfile.LNKTYPE, "d/a")),
                   (True, (tarfile.REGTYPE, ""))], got
