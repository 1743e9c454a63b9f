"""berth build's engine around the steps: parallel stages (--jobs), one
store shared by concurrent builds (locks, kill -9), registries.conf
rewriting of base images.

One registry (a real `berth serve`) with the busybox fixture pushed is
shared by the module; every test has its own build store. Needs root
(berth build does) and skopeo."""
import datetime
import json
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, HERE)
import clienttools as ct  # noqa: E402
from buildutil import BERTH, run_build, busybox_registry  # noqa: E402


@pytest.fixture(scope="module")
def registry():
    """A registry holding busybox as <host>/library/busybox:1."""
    with busybox_registry("berth-engine-") as s:
        yield s


def unpack(tmp_path, layout, name="un"):
    """The root file system of the image `latest` of an OCI layout (umoci)."""
    ct.need("umoci")
    out = tmp_path / name
    subprocess.run(["umoci", "unpack", "--image", "%s:latest" % layout, str(out)], check=True,
                   capture_output=True)
    return out / "rootfs"


# ---- parallel stages ----

PARALLEL = """\
FROM {base} AS a
RUN echo a > /name && cut -d" " -f1 /proc/uptime > /start && sleep 2 && cut -d" " -f1 /proc/uptime > /end

FROM {base} AS b
RUN echo b > /name && cut -d" " -f1 /proc/uptime > /start && sleep 2 && cut -d" " -f1 /proc/uptime > /end

FROM {base}
COPY --from=a /start /a.start
COPY --from=a /end /a.end
COPY --from=b /start /b.start
COPY --from=b /end /b.end
"""


def test_independent_stages_run_at_the_same_time(tmp_path, registry):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(PARALLEL.format(base=registry.host + "/library/busybox:1"))
    lay = tmp_path / "lay"
    p = run_build(tmp_path / "store", "--jobs", "2", "-o", "type=oci,dest=%s,tar=false" % lay,
                  ctx)
    root = unpack(tmp_path, lay)
    a = (float((root / "a.start").read_text()), float((root / "a.end").read_text()))
    b = (float((root / "b.start").read_text()), float((root / "b.end").read_text()))
    assert a[0] < a[1] and b[0] < b[1], (a, b)
    # The two RUN steps' intervals overlap: each started before the other ended.
    assert a[0] < b[1] and b[0] < a[1], (a, b)
    # Every log line is whole: step lines and output lines, never two in one.
    for line in p.stderr.decode().splitlines():
        assert line.count("#") <= 1 or not line.startswith("#"), line


def test_a_waiting_stage_does_not_hold_the_worker_two_later_stages_need(tmp_path, registry):
    """a and b are built FROM deps, the final stage reads both: with --jobs 2 the
    final stage does not start before them (it would wait holding a worker), so
    a and b still run at the same time once deps is built."""
    base = registry.host + "/library/busybox:1"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    df = PARALLEL.format(base="deps").replace(
        "FROM deps AS a", "FROM %s AS deps\nRUN echo deps > /deps\n\nFROM deps AS a" % base)
    (ctx / "Dockerfile").write_text(df.replace("FROM deps\nCOPY", "FROM %s\nCOPY" % base))
    lay = tmp_path / "lay"
    run_build(tmp_path / "store", "--jobs", "2", "-o", "type=oci,dest=%s,tar=false" % lay, ctx)
    root = unpack(tmp_path, lay)
    a = (float((root / "a.start").read_text()), float((root / "a.end").read_text()))
    b = (float((root / "b.start").read_text()), float((root / "b.end").read_text()))
    assert a[0] < b[1] and b[0] < a[1], (a, b)


def test_jobs_1_builds_one_stage_at_a_time(tmp_path, registry):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(PARALLEL.format(base=registry.host + "/library/busybox:1")
                                    .replace("sleep 2", "sleep 1"))
    lay = tmp_path / "lay"
    run_build(tmp_path / "store", "--jobs", "1", "-o", "type=oci,dest=%s,tar=false" % lay, ctx)
    root = unpack(tmp_path, lay)
    a = (float((root / "a.start").read_text()), float((root / "a.end").read_text()))
    b = (float((root / "b.start").read_text()), float((root / "b.end").read_text()))
    assert a[1] <= b[0] or b[1] <= a[0], (a, b)


def test_a_failing_stage_stops_the_build_with_its_error(tmp_path, registry):
    base = registry.host + "/library/busybox:1"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM %s AS a\nRUN sleep 1 && exit 7\n\n"
        "FROM %s AS b\nRUN sleep 3\nRUN touch /never\n\n"
        "FROM %s\nCOPY --from=a / /a\nCOPY --from=b / /b\n" % (base, base, base))
    p = run_build(tmp_path / "store", "--jobs", "2", ctx, check=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert "Dockerfile:2:" in last and "exit code: 7" in last, last
    # Stage b stopped at its next step: its second RUN never ran.
    assert "RUN touch /never" not in err, err


def test_a_stage_pulls_its_base_while_the_stage_it_copies_from_runs(tmp_path, registry):
    """Only the step that reads stage a waits for it: the next stage's FROM is
    resolved while a's RUN still runs (BuildKit resolves every FROM at once);
    with --jobs 1 the one worker builds a first."""
    base = registry.host + "/library/busybox:1"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM %s AS a\nRUN echo YY$((1+1))YY && sleep 2 && echo ZZ$((40+2))ZZ | tee /f\n\n"
        "FROM %s\nWORKDIR /w\nCOPY --from=a /f /f\n" % (base, base))
    for jobs in ("2", "1"):
        lay = tmp_path / ("lay" + jobs)
        p = run_build(tmp_path / ("store" + jobs), "--jobs", jobs, "--progress", "plain",
                      "-o", "type=oci,dest=%s,tar=false" % lay, ctx)
        lines = p.stderr.decode().splitlines()
        froms = [i for i, line in enumerate(lines) if line == "#  FROM " + base]
        slept = [i for i, line in enumerate(lines) if line.endswith("ZZ42ZZ")]
        assert len(froms) == 2 and len(slept) == 1, lines
        if jobs == "2":  # the second FROM came while a's RUN slept
            assert froms[1] < slept[0], lines
        else:
            assert froms[1] > slept[0], lines
        assert (unpack(tmp_path, lay, "un" + jobs) / "f").read_text() == "ZZ42ZZ\n"
    # rawjson: the wait is no step's time (the log says "#  [stage 1]: waits ...",
    # which ends the step before it), and the COPY starts once a is built.
    p = run_build(tmp_path / "store-json", "--jobs", "2", "--progress", "rawjson", ctx)
    t = {}
    for line in p.stderr.decode().splitlines():
        for v in json.loads(line).get("vertexes", []):
            if v.get("completed"):
                t[v["name"]] = (v["started"], v["completed"])
    secs = lambda s: datetime.datetime.fromisoformat(s[:26]).timestamp()  # noqa: E731
    run = next(v for k, v in t.items() if k.startswith("[stage 0] RUN"))
    workdir = t["[stage 1] WORKDIR /w"]
    copy = t["[stage 1] COPY /f /f"]
    assert secs(workdir[1]) - secs(workdir[0]) < 1.0, t
    assert secs(copy[0]) - secs(run[0]) >= 2.0, t  # after a's RUN slept its 2 s


def test_stages_in_a_circle_through_a_from_fail_and_do_not_hang(tmp_path, registry):
    """a copies from b, b is built FROM a: neither may start first, however many workers."""
    base = registry.host + "/library/busybox:1"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM %s AS a\nCOPY --from=b /x /x\n\nFROM a AS b\nRUN touch /x\n" % base)
    p = subprocess.run([BERTH, "build", "--jobs", "4", "--target", "a", str(ctx)],
                       env=dict(os.environ, BERTH_ROOT=str(tmp_path / "store")),
                       capture_output=True, timeout=120)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert "circle" in err.strip().splitlines()[-1] or "circular" in err, err


# ---- one store, several builds ----

SHARED = """\
FROM {base}
ARG WHO
RUN echo "hello $WHO" > /hello && sleep 1
COPY f.txt /f.txt
"""


def make_ctx(tmp_path, text, name="ctx", files=None):
    ctx = tmp_path / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    for k, v in (files or {}).items():
        (ctx / k).write_text(v)
    return ctx


def test_two_builds_at_once_on_one_store_are_both_right(tmp_path, registry):
    base = registry.host + "/library/busybox:1"
    ctx = make_ctx(tmp_path, SHARED.format(base=base), files={"f.txt": "f\n"})
    store = tmp_path / "store"
    env = dict(os.environ, BERTH_ROOT=str(store))
    procs = []
    for who in ("one", "two", "one"):
        lay = tmp_path / ("lay-%d" % len(procs))
        procs.append((who, lay, subprocess.Popen(
            [BERTH, "build", "--build-arg", "WHO=" + who, "-o",
             "type=oci,dest=%s,tar=false" % lay, str(ctx)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    digests = []
    for who, lay, p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
        digests.append(out.decode().strip())
        root = unpack(tmp_path, lay, "un-" + lay.name)
        assert (root / "hello").read_text() == "hello %s\n" % who
        assert (root / "f.txt").read_text() == "f\n"
    assert digests[0] != digests[1]
    # Every build committed its tag: index.json lost none of the concurrent updates.
    index = json.loads((store / "content" / "index.json").read_text())
    names = [m.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
             for m in index["manifests"]]
    assert sum(1 for n in names if n.startswith("build-")) == 3, names
    # A rebuild of each now hits the cache for every step.
    for who in ("one", "two"):
        p = run_build(store, "--build-arg", "WHO=" + who, ctx)
        steps = [l for l in p.stderr.decode().splitlines()
                 if l.startswith("#") and "] " in l and "] ARG " not in l]
        assert steps and all(l.endswith(" CACHED") for l in steps), steps


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if str(path) in l]


def test_a_build_killed_mid_run_leaves_nothing_that_breaks_the_next(tmp_path, registry):
    base = registry.host + "/library/busybox:1"
    ctx = make_ctx(tmp_path, "FROM %s\nARG NAP=0\nRUN echo done > /done && sleep $NAP\n"
                   "COPY f.txt /f.txt\n" % base, files={"f.txt": "f\n"})
    store = tmp_path / "store"
    env = dict(os.environ, BERTH_ROOT=str(store))
    p = subprocess.Popen([BERTH, "build", "--build-arg", "NAP=60", str(ctx)], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        seen = []
        for line in p.stderr:
            seen.append(line.decode())
            if "] RUN " in seen[-1]:
                break
        assert any("] RUN " in l for l in seen), "".join(seen)
        # The step runs: its working root exists.
        work = store / "snapshots" / "work"
        for _ in range(100):
            if os.listdir(work):
                break
            time.sleep(0.1)
        assert os.listdir(work)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert p.returncode == -signal.SIGKILL
    # The build's mounts lived in its own mount namespace: none is left on the host.
    assert mounts_under(store) == []
    lay = tmp_path / "lay"
    run_build(store, "-o", "type=oci,dest=%s,tar=false" % lay, ctx)
    root = unpack(tmp_path, lay)
    assert (root / "done").read_text() == "done\n" and (root / "f.txt").read_text() == "f\n"
    # The rebuild swept what the killed build left.
    assert os.listdir(store / "snapshots" / "work") == []
    left = [n for d in ("cache", "content", "content/blobs/sha256", "snapshots/layers")
            for n in os.listdir(store / d) if n.startswith(".tmp") or ".tmp." in n]
    assert left == [], left
    assert mounts_under(store) == []


# ---- registries.conf ----

def test_base_image_names_are_rewritten_as_registries_conf_says(tmp_path, registry):
    conf = tmp_path / "registries.conf"
    conf.write_text(
        'unqualified-search-registries = ["docker.io"]\n'
        "[[registry]]\n"
        'prefix = "registry.company.com/base"\n'
        'location = "%s/library"\n'
        "insecure = true\n"
        "[[registry.mirror]]\n"
        'location = "127.0.0.1:1/unreachable"\n'
        "insecure = true\n"
        "[[registry]]\n"
        'prefix = "blocked.example.com"\n'
        "blocked = true\n" % registry.host)
    ctx = make_ctx(tmp_path, "FROM registry.company.com/base/busybox:1\n"
                   "RUN echo rewritten > /r\n")
    lay = tmp_path / "lay"
    p = run_build(tmp_path / "store", "--registries-conf", conf, "-o",
                  "type=oci,dest=%s,tar=false" % lay, ctx)
    err = p.stderr.decode()
    # The mirror was tried first, then the location answered.
    assert "127.0.0.1:1/unreachable/busybox:1 (mirror)" in err, err
    assert "%s/library/busybox:1" % registry.host in err, err
    root = unpack(tmp_path, lay)
    assert (root / "r").read_text() == "rewritten\n"
    assert (root / "bin" / "busybox").exists()
    # The image names its base as the Dockerfile wrote it.
    index = json.loads((lay / "index.json").read_text())
    man = json.loads((lay / "blobs" / "sha256" /
                      index["manifests"][0]["digest"].split(":")[1]).read_text())
    assert man["annotations"]["org.opencontainers.image.base.name"] == \
        "registry.company.com/base/busybox:1", man["annotations"]
    # The same through the environment variable podman and skopeo read.
    p = run_build(tmp_path / "store2", ctx, env={"CONTAINERS_REGISTRIES_CONF": str(conf)})
    assert p.stdout.decode().startswith("sha256:")
    # A blocked registry is refused with one message.
    (ctx / "Dockerfile").write_text("FROM blocked.example.com/x:1\n")
    p = run_build(tmp_path / "store", "--registries-conf", conf, ctx, check=False)
    last = p.stderr.decode().strip().splitlines()[-1]
    assert p.returncode == 1 and "blocked by registries.conf" in last, last
    # A registries.conf that does not parse is an error naming its line.
    conf.write_text("[[registry]]\nprefix = \"a\nlocation = \"b\"\n")
    p = run_build(tmp_path / "store", "--registries-conf", conf, ctx, check=False)
    last = p.stderr.decode().strip().splitlines()[-1]
    assert p.returncode == 1 and "registries.conf:2: unterminated string" in last, last


def test_copy_pulls_through_registries_conf_too(tmp_path, registry):
    conf = tmp_path / "registries.conf"
    conf.write_text('[[registry]]\nprefix = "registry.company.com/base"\n'
                    'location = "%s/library"\ninsecure = true\n'
                    '[[registry.mirror]]\nlocation = "127.0.0.1:1/gone"\n' % registry.host)
    out = tmp_path / "lay"
    p = subprocess.run([BERTH, "copy", "-q", "--registries-conf", str(conf),
                        "docker://registry.company.com/base/busybox:1", "oci:%s:x" % out],
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    assert "trying %s/library/busybox:1" % registry.host in p.stderr.decode()
    # skopeo reads the same file: the same image arrives.
    ct.need("skopeo")
    sk = subprocess.run(["skopeo", "--registries-conf", str(conf), "inspect", "--raw",
                         "docker://registry.company.com/base/busybox:1"],
                        capture_output=True, timeout=120)
    assert sk.returncode == 0, sk.stderr.decode()
    index = json.loads((out / "index.json").read_text())
    import hashlib
    assert index["manifests"][0]["digest"] == "sha256:" + hashlib.sha256(sk.stdout).hexdigest()


# ---- flags ----

def test_label_metadata_file_and_a_dockerfile_from_stdin(tmp_path, registry):
    base = registry.host + "/library/busybox:1"
    ctx = make_ctx(tmp_path, "FROM scratch\n")  # not read: the Dockerfile comes on stdin
    lay = tmp_path / "lay"
    meta = tmp_path / "meta.json"
    text = "FROM %s\nLABEL team=a keep=1\nRUN echo in > /in\n" % base
    p = run_build(tmp_path / "store", "-f", "-", "--label", "team=b", "--label", "new=x=y",
                  "-t", "example.com/a:1", "-t", "example.com/a:2", "--metadata-file", meta,
                  "-o", "type=oci,dest=%s,tar=false" % lay, ctx, stdin=text.encode())
    digest = p.stdout.decode().strip()
    index = json.loads((lay / "index.json").read_text())
    assert index["manifests"][0]["digest"] == digest
    blob = lambda d: (lay / "blobs" / "sha256" / d.split(":")[1]).read_bytes()  # noqa: E731
    man = json.loads(blob(digest))
    cfg = json.loads(blob(man["config"]["digest"]))
    assert cfg["config"]["Labels"] == {"team": "b", "keep": "1", "new": "x=y"}
    assert unpack(tmp_path, lay).joinpath("in").read_text() == "in\n"
    m = json.loads(meta.read_text())
    assert m["containerimage.digest"] == digest
    assert m["containerimage.config.digest"] == man["config"]["digest"]
    assert m["containerimage.descriptor"] == {
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
        "size": len(blob(digest))}
    assert m["image.name"] == "example.com/a:1,example.com/a:2"
    p = run_build(tmp_path / "store", "--label", "novalue", ctx, check=False)
    assert p.returncode == 1 and "--label novalue: expected KEY=VALUE" in p.stderr.decode()
