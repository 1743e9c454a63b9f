"""berth build, everything about RUN: --mount of every type (secret, cache,
bind, tmpfs, ssh with a real ssh-agent), heredocs as BuildKit runs them
(checked against BuildKit's documented results: Docker Engine 20.10's
BuildKit refuses heredocs), --add-host / --shm-size / --ulimit, and the
bad input that must fail with one message naming the Dockerfile line.

The secrets test puts a random per-run secret (and its base64 form) through
file and environment secrets and then looks for both in every decompressed
layer, the config and history, the cache records, every file of the build
store and the build log. The cache-mount test counts the RUN commands the
builder executed (the log's last line) and what a cache mount accumulated.

One busybox base image is made offline (tests/fixtures/images.py, cached per
build directory) and pushed to a `berth serve` per test. Needs root,
busybox-static, umoci, openssh-client.
"""
import base64
import gzip
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import io

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import clienttools as ct  # noqa: E402
import images  # noqa: E402

BERTH = os.environ.get("BERTH_BIN", "berth")


@pytest.fixture
def base(berth):
    ref = "%s/library/busybox:1" % berth.host
    src = images.ensure("busybox")
    ct.skopeo("copy", "--dest-tls-verify=false", "oci:%s:busybox" % src, "docker://" + ref)
    return ref


def build(tmp_path, ctx, *args, check=True, env=None):
    e = dict(os.environ, BERTH_ROOT=str(tmp_path / "store"))
    e.update(env or {})
    p = subprocess.run([BERTH, "build"] + list(args) + [str(ctx)], env=e, capture_output=True,
                       timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("berth build failed (%d):\n%s" % (p.returncode, p.stderr.decode()))
    return p


def runs(p):
    """The number of RUN commands the build executed (the log's last line)."""
    m = re.search(r"#  (\d+) RUN commands? executed", p.stderr.decode())
    assert m, p.stderr.decode()
    return int(m.group(1))


def built_tags(tmp_path):
    """The tags of built images in the store's layout (base images are tagged base-*)."""
    idx = json.load(open(tmp_path / "store" / "content" / "index.json"))
    tags = [m.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
            for m in idx["manifests"]]
    return [t for t in tags if not t.startswith("base-")]


def make_ctx(tmp_path, dockerfile, files=None):
    d = tmp_path / "ctx"
    d.mkdir(exist_ok=True)
    (d / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)
    return d


def layout_blobs(lay):
    """Every blob of an OCI layout, gzip layers decompressed."""
    out = {}
    bdir = os.path.join(lay, "blobs", "sha256")
    for name in os.listdir(bdir):
        data = open(os.path.join(bdir, name), "rb").read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        out[name] = data
    return out


def image_files(lay):
    """path -> bytes (None for directories) of the image in a layout, layers applied."""
    blobs = layout_blobs(lay)
    idx = json.load(open(os.path.join(lay, "index.json")))
    man = json.loads(blobs[idx["manifests"][0]["digest"].split(":")[1]])
    cfg = json.loads(blobs[man["config"]["digest"].split(":")[1]])
    files = {}
    for l in man["layers"]:
        with tarfile.open(fileobj=io.BytesIO(blobs[l["digest"].split(":")[1]])) as t:
            for m in t.getmembers():
                name = m.name.lstrip("./").rstrip("/")
                base_ = os.path.basename(name)
                if base_.startswith(".wh."):
                    gone = os.path.join(os.path.dirname(name), base_[4:])
                    files = {k: v for k, v in files.items()
                             if k != gone and not k.startswith(gone + "/")}
                    continue
                files[name] = t.extractfile(m).read() if m.isfile() else None
    return files, cfg


def export(tmp_path, ctx, *args, **kw):
    lay = tmp_path / ("lay%d" % len(list(tmp_path.glob("lay*"))))
    p = build(tmp_path, ctx, "-o", "type=oci,dest=%s,tar=false" % lay, *args, **kw)
    files, cfg = image_files(str(lay))
    return p, files, cfg, lay


# ---- secrets ----

SECRET_DF = """\
FROM {base}
RUN --mount=type=secret,id=tok,mode=0440,uid=1000 \\
    sha256sum /run/secrets/tok | cut -d' ' -f1 > /tok.sha && \\
    stat -c '%a %u' /run/secrets/tok > /tok.mode
RUN --mount=type=secret,id=envtok,env=TOK,target=/etc/envtok \\
    printf %s "$TOK" | sha256sum | cut -d' ' -f1 > /env.sha && \\
    cmp -s /etc/envtok /dev/null; echo $? > /envfile.cmp
RUN --mount=type=secret,id=absent ls /run/secrets > /absent.ls 2>&1; echo $? >> /absent.ls
"""


def test_a_secret_reaches_the_run_and_nothing_else(tmp_path, base):
    value = secrets.token_hex(24)
    b64 = base64.b64encode(value.encode()).decode()
    sha = __import__("hashlib").sha256(value.encode()).hexdigest()
    sfile = tmp_path / "secret.txt"
    sfile.write_text(value)
    ctx = make_ctx(tmp_path, SECRET_DF.format(base=base))
    env = {"BERTH_TEST_TOKEN": value}
    args = ["--secret", "id=tok,src=%s" % sfile, "--secret", "id=envtok,env=BERTH_TEST_TOKEN"]
    p, files, cfg, lay = export(tmp_path, ctx, *args, env=env)
    assert files["tok.sha"].decode().strip() == sha
    assert files["tok.mode"].decode().strip() == "440 1000"
    assert files["env.sha"].decode().strip() == sha
    assert files["envfile.cmp"].decode().strip() == "1"  # the file has the value too
    assert files["absent.ls"].decode().splitlines()[-1] != "0"  # not required: no mount
    # The mount points were stubs: gone from the image.
    assert not any(f.startswith("run") for f in files), sorted(files)
    assert "etc/envtok" not in files
    again = build(tmp_path, ctx, *args, env=env)  # all cached
    assert runs(again) == 0

    needles = [value.encode(), b64.encode()]
    for name, data in layout_blobs(str(lay)).items():
        for n in needles:
            assert n not in data, "secret in exported blob %s" % name
    history = json.dumps(cfg["history"])
    assert "BERTH_TEST_TOKEN" not in history and value not in history
    for out in (p.stdout, p.stderr, again.stdout, again.stderr):
        for n in needles:
            assert n not in out, "secret in the build log"
    store = tmp_path / "store"
    assert list((store / "cache").glob("*.json")), "no cache records to check"
    checked = 0
    for dirpath, _, names in os.walk(store):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            data = open(path, "rb").read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            checked += 1
            for n in needles:
                assert n not in data, "secret in the store: %s" % path
    assert checked > 10
    # No temporary mount directory is left behind.
    assert not list((store / "tmp").glob("run-*"))


def test_a_missing_required_secret_fails_naming_the_line(tmp_path, base):
    ctx = make_ctx(tmp_path, "FROM %s\nRUN echo before > /b\n"
                   "RUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc\n" % base)
    p = build(tmp_path, ctx, check=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("berth build: ") and "Dockerfile:3: RUN:" in last, last
    assert "secret npmrc: not provided" in last, last
    assert built_tags(tmp_path) == []  # nothing tagged
    # Secrets given with a bad value are usage errors of the flag itself.
    p = build(tmp_path, ctx, "--secret", "id=npmrc,src=/nonexistent/file", check=False)
    assert p.returncode == 1 and "cannot read /nonexistent/file" in p.stderr.decode()


# ---- cache mounts ----

CACHE_DF = """\
FROM {base}
{extra}RUN --mount=type=cache,target=/cache,id=counter \\
    echo run >> /cache/count && wc -l < /cache/count > /seen
RUN --mount=type=cache,target=/owned,mode=0700,uid=1000,gid=1000,sharing=locked \\
    stat -c '%a %u %g' /owned > /owned.txt
"""

PROBE_DF = """\
FROM {base}
RUN --mount=type=cache,target=/c,id=counter,sharing=private echo "probe {n} count=$(wc -l < /c/count)"
"""
PROBES = [0]


def cache_count(tmp_path, ctx, base):
    """What the cache mount holds, read by a RUN never run before (not cached)."""
    PROBES[0] += 1
    (ctx / "Probe").write_text(PROBE_DF.format(base=base, n=PROBES[0]))
    p = build(tmp_path, ctx, "-f", str(ctx / "Probe"))
    return int(re.search(r"count=(\d+)", p.stderr.decode()).group(1))


def test_a_cache_mount_persists_and_a_rebuild_runs_nothing(tmp_path, base):
    ctx = make_ctx(tmp_path, CACHE_DF.format(base=base, extra=""))
    p, files, _, _ = export(tmp_path, ctx)
    assert runs(p) == 2
    assert files["seen"] == b"1\n"
    assert files["owned.txt"] == b"700 1000 1000\n"
    assert "cache" not in files and "owned" not in files  # mount stubs removed
    assert cache_count(tmp_path, ctx, base) == 1
    # No change: no RUN runs, the cache mount's count does not move.
    again = build(tmp_path, ctx)
    assert runs(again) == 0
    assert cache_count(tmp_path, ctx, base) == 1
    # A change before the RUN reruns it: the mount kept its content.
    (ctx / "Dockerfile").write_text(CACHE_DF.format(base=base, extra="ENV X=1\n"))
    p, files, _, _ = export(tmp_path, ctx)
    assert runs(p) == 2 and files["seen"] == b"2\n"
    assert cache_count(tmp_path, ctx, base) == 2
    # --no-cache starts cache mounts afresh, as BuildKit (20.10 seen doing it) does.
    p, files, _, _ = export(tmp_path, ctx, "--no-cache")
    assert runs(p) == 2 and files["seen"] == b"1\n"
    assert cache_count(tmp_path, ctx, base) == 1


def test_cache_mount_from_a_stage_starts_with_its_files(tmp_path, base):
    df = ("FROM {b} AS seed\nRUN mkdir -p /s && echo seeded > /s/f\n"
          "FROM {b}\nRUN --mount=type=cache,target=/c,from=seed,source=/s "
          "cat /c/f > /got && echo more >> /c/f\n").format(b=base)
    ctx = make_ctx(tmp_path, df)
    _, files, _, _ = export(tmp_path, ctx)
    assert files["got"] == b"seeded\n"
    # The seed stage is untouched by the cache mount's writes.
    (ctx / "Dockerfile").write_text(df.replace("FROM %s\nRUN --mount" % base,
                                               "FROM %s\nENV X=2\nRUN --mount" % base))
    _, files, _, _ = export(tmp_path, ctx)
    assert files["got"] == b"seeded\nmore\n"


# ---- bind and tmpfs ----

BIND_DF = """\
FROM {base} AS gen
RUN mkdir /out && echo generated > /out/g.txt
FROM {base}
RUN --mount=type=bind,from=gen,source=/out,target=/g cat /g/g.txt > /from-stage
RUN --mount=target=/ctx cat /ctx/data/x.txt > /from-ctx
RUN --mount=type=bind,source=data,target=/d,rw \\
    sh -c 'echo scratch > /d/x.txt && echo new > /d/new && cat /d/x.txt > /rw-saw'
RUN --mount=type=bind,source=data,target=/d sh -c 'touch /d/y 2>/dev/null; echo $? > /ro-status'
RUN --mount=type=tmpfs,target=/t,size=2m \\
    sh -c 'df -k /t | tail -1 | awk "{{print \\$2}}" > /tmpfs-kb && echo x > /t/f'
"""


def test_bind_mounts_from_a_stage_and_the_context_and_a_tmpfs(tmp_path, base):
    ctx = make_ctx(tmp_path, BIND_DF.format(base=base), {"data/x.txt": "ctx\n"})
    p, files, _, _ = export(tmp_path, ctx)
    assert files["from-stage"] == b"generated\n"
    assert files["from-ctx"] == b"ctx\n"
    assert files["rw-saw"] == b"scratch\n"
    assert files["ro-status"] != b"0\n"
    assert files["tmpfs-kb"] == b"2048\n"
    # rw writes were thrown away; nothing of the mounts is in the image.
    assert (ctx / "data" / "x.txt").read_text() == "ctx\n" and not (ctx / "data" / "new").exists()
    for gone in ("g", "ctx", "d", "t"):
        assert gone not in files, sorted(files)
    # The key hashes what a bind reads: a change in data/ reruns the RUNs that bind it.
    (ctx / "data" / "x.txt").write_text("changed\n")
    p2, files, _, _ = export(tmp_path, ctx)
    assert files["from-ctx"] == b"changed\n"
    assert runs(p2) == 4  # from-ctx, rw, ro, and the tmpfs one after them
    lines = [l for l in p2.stderr.decode().splitlines() if "from-stage" in l]
    assert lines and lines[0].endswith("CACHED"), lines


# ---- heredocs ----

HEREDOC_DF = """\
FROM {base}
ENV GREETING=hi
RUN <<EOF
echo one > /h1
echo two >> /h1
EOF
RUN <<-EOF
\techo "tabbed $GREETING" > /h2
\tEOF
RUN cat > /h3 <<'EOF'
literal $GREETING
EOF
RUN cat > /h4 <<EOF
expanded $GREETING
EOF
RUN <<EOF
#!/bin/sh
echo "script $0" > /h5
EOF
RUN cat <<A > /h6 && cat <<B >> /h6
first
A
second
B
RUN awk -f /dev/stdin > /h7 <<'EOF'
BEGIN {{ print "awk " 6*7 }}
EOF
"""


def test_heredocs_run_as_buildkit_documents(tmp_path, base):
    ctx = make_ctx(tmp_path, HEREDOC_DF.format(base=base))
    p, files, cfg, _ = export(tmp_path, ctx)
    assert files["h1"] == b"one\ntwo\n"
    assert files["h2"] == b"tabbed hi\n"
    assert files["h3"] == b"literal $GREETING\n"  # quoted delimiter: no expansion
    assert files["h4"] == b"expanded hi\n"
    assert files["h5"] == b"script /dev/pipes/EOF\n"  # a #! body runs as a file
    assert files["h6"] == b"first\nsecond\n"
    assert files["h7"] == b"awk 42\n"  # the `RUN python3 <<EOF` form
    assert runs(p) == 7
    assert runs(build(tmp_path, ctx)) == 0
    # A changed body is a changed step.
    (ctx / "Dockerfile").write_text(HEREDOC_DF.format(base=base).replace("second", "2nd"))
    _, files, _, _ = export(tmp_path, ctx)
    assert files["h6"] == b"first\n2nd\n"


# ---- ssh ----

def host_tool_dir(dst, tool):
    """A directory holding `tool` and the libraries it loads (for a busybox image)."""
    dst.mkdir()
    exe = shutil.which(tool)
    shutil.copy(exe, dst / tool)
    out = subprocess.run(["ldd", exe], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.search(r"(/\S+)", line.split("=>")[-1])
        if m:
            lib = m.group(1)
            name = "ld.so" if "ld-linux" in lib else os.path.basename(lib)
            shutil.copy(lib, dst / name)


def test_ssh_mount_forwards_a_real_agent(tmp_path, base):
    for tool in ("ssh-agent", "ssh-add", "ssh-keygen"):
        assert shutil.which(tool), "apt-get install openssh-client"
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            __import__("time").sleep(0.05)
        key = tmp_path / "id"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-test",
                        "-f", str(key)], check=True)
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run(["ssh-add", str(key)], env=env, check=True, capture_output=True)
        want = subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True,
                              check=True).stdout
        df = ("FROM %s\nRUN --mount=type=ssh --mount=type=bind,source=tools,target=/tools "
              "sh -c 'echo $SSH_AUTH_SOCK > /sock; "
              "/tools/ld.so --library-path /tools /tools/ssh-add -l > /keys'\n"
              "RUN --mount=type=ssh,id=deploy,required=true true\n" % base)
        ctx = make_ctx(tmp_path, df)
        host_tool_dir(ctx / "tools", "ssh-add")
        _, files, _, _ = export(tmp_path, ctx, "--ssh", "default", "--ssh",
                                "deploy=%s" % sock, env={"SSH_AUTH_SOCK": str(sock)})
        assert files["sock"] == b"/run/buildkit/ssh_agent.0\n"
        assert files["keys"].decode() == want and "berth-test" in want
        # A required agent that was not given fails naming the line.
        p = build(tmp_path, ctx, "--ssh", "default", "--no-cache", check=False,
                  env={"SSH_AUTH_SOCK": str(sock)})
        last = p.stderr.decode().strip().splitlines()[-1]
        assert p.returncode == 1 and "Dockerfile:3: RUN:" in last and "deploy" in last, last
    finally:
        agent.terminate()
        agent.wait()


# ---- --add-host, --shm-size, --ulimit ----

def test_add_host_shm_size_and_ulimit_reach_run(tmp_path, base):
    df = ("FROM %s\nRUN cat /etc/hosts > /hosts && df -k /dev/shm | tail -1 | "
          "awk '{print $2}' > /shm && ulimit -n > /nofile && ulimit -Hn >> /nofile\n" % base)
    ctx = make_ctx(tmp_path, df)
    _, files, _, _ = export(tmp_path, ctx, "--add-host", "db.internal:10.1.2.3",
                            "--add-host", "v6.internal=fd00::1", "--shm-size", "16m",
                            "--ulimit", "nofile=512:1024")
    hosts = files["hosts"].decode()
    assert "10.1.2.3\tdb.internal\n" in hosts and "fd00::1\tv6.internal\n" in hosts, hosts
    assert "127.0.0.1\tlocalhost" in hosts
    assert files["shm"] == b"16384\n"
    assert files["nofile"] == b"512\n1024\n"
    assert "etc/hosts" not in files  # the generated file is a mount, not content
    # A different limit is a different step.
    p = build(tmp_path, ctx, "--add-host", "db.internal:10.1.2.3", "--add-host",
              "v6.internal=fd00::1", "--shm-size", "16m", "--ulimit", "nofile=256:1024")
    assert runs(p) == 1


@pytest.mark.parametrize("line,flags,message", [
    ("RUN --mount=type=nfs,target=/x true", [], 'unsupported mount type "nfs"'),
    ("RUN --mount=type=cache,target=/x,colour=red true", [], "unexpected key 'colour'"),
    ("RUN --mount=type=tmpfs,target=/x,size=huge true", [], "invalid value for size"),
    ("RUN --security=insecure true", [], "security.insecure entitlement"),
    ("RUN --mount=type=bind,source=nothere,target=/x true", [], '"nothere": not found'),
])
def test_bad_run_flags_fail_naming_the_line(tmp_path, base, line, flags, message):
    ctx = make_ctx(tmp_path, "FROM %s\nRUN echo ok > /ok\n%s\n" % (base, line))
    p = build(tmp_path, ctx, *flags, check=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("berth build: ") and "Dockerfile:3: RUN:" in last and message in last, last
    assert built_tags(tmp_path) == []
    assert not list((tmp_path / "store" / "tmp").glob("run-*"))


@pytest.mark.parametrize("flags,message", [
    (["--ulimit", "bogus=1"], "invalid ulimit type 'bogus'"),
    (["--ulimit", "nofile=2048:1024"], "soft limit is above the hard limit"),
    (["--add-host", "nohost"], "expected NAME:IP"),
    (["--add-host", "h:300.1.1.1"], "invalid IP address"),
    (["--secret", "src=/etc/hostname"], "needs id="),
    (["--ssh", "x=/a,/b"], "one socket per id"),
])
def test_bad_flag_values_are_one_clear_error(tmp_path, base, flags, message):
    ctx = make_ctx(tmp_path, "FROM %s\nRUN true\n" % base)
    p = build(tmp_path, ctx, *flags, check=False)
    err = p.stderr.decode().strip()
    assert p.returncode == 1 and len(err.splitlines()) == 1, err
    assert err.startswith("berth build: ") and message in err, err
