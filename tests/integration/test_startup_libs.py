"""Which shared libraries a berth process loads (src/util/lazy.h).

berth links only libc and libm: libcurl, libarchive, libmicrohttpd, libcrypto,
sqlite3, libsodium, libcrypt, libyaml, zlib, libzstd, libisal, libdeflate, jansson and libpq are loaded at
first use by the forwarders of src/util/lazy_*.c. This test asserts, from the
dynamic loader's own trace (LD_DEBUG=files), that

- the binary names none of them as NEEDED;
- parsing and linting a Dockerfile with text output loads none of them (the
  start-up cost of the 5,000-instruction bench rows, docs/PERFORMANCE.md);
- each format or option that needs one loads exactly that one (JSON output:
  jansson; a .hadolint.yaml: libyaml; a context walk: libcrypto for its
  hashes, and not jansson, as its JSON listing is written directly; the digests are checked against hashlib's, so the forwarders
  return the real thing; a server on SQLite never loads libpq, one on
  PostgreSQL does, and its forwarders reach the real libpq: the connection
  error text is libpq's own).
"""
import hashlib
import json
import os
import pathlib
import re
import subprocess

BERTH = os.environ.get("BERTH_BIN", "berth")
SRC = pathlib.Path(os.environ.get("BERTH_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
BRIEF = SRC / "tests" / "fixtures" / "brief"

# Short names of the libraries loaded lazily, by the prefix of their SONAME.
LAZY = {"libcurl": "curl", "libarchive": "archive", "libmicrohttpd": "microhttpd",
        "libcrypto": "crypto", "libsqlite3": "sqlite3", "libsodium": "sodium",
        "libcrypt": "crypt", "libyaml-0": "yaml", "libz": "z", "libzstd": "zstd", "libisal": "isal",
        "libdeflate": "deflate",
        "libjansson": "jansson", "libpq": "pq"}


def lazy_name(soname):
    stem = soname.split(".so")[0]
    return LAZY.get(stem)


def loaded(*args, cwd=None, env=None):
    """(the lazy libraries the process loaded, its CompletedProcess)."""
    env = dict(env or os.environ, LD_DEBUG="files")
    p = subprocess.run([BERTH, *args], capture_output=True, text=True, env=env, cwd=cwd,
                       timeout=120)
    names = set()
    for m in re.finditer(r"^\s*\d+:\s+file=(\S+) \[\d+\];", p.stderr, re.M):
        name = lazy_name(os.path.basename(m.group(1)))
        if name:
            names.add(name)
    return names, p


def test_binary_needs_no_lazy_library():
    out = subprocess.run(["readelf", "-dW", BERTH], capture_output=True, text=True, check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)
    assert "libc.so.6" in needed
    assert [n for n in needed if lazy_name(n)] == []


def test_parse_and_lint_text_load_none():
    node = str(BRIEF / "node-multistage.Dockerfile")
    for args in (["lint", "--no-shellcheck", "--failure-threshold", "none", node],
                 ["lint", "--no-shellcheck", "--failure-threshold", "none",
                  str(BRIEF / "python-multistage.Dockerfile"),
                  str(BRIEF / "go-multistage.Dockerfile")],
                 ["dockerfile", "parse", node],
                 ["dockerfile", "parse", "--expand", "--build-arg", "NODE_VERSION=20", node],
                 ["lint", "--help"]):
        names, p = loaded(*args)
        assert p.returncode == 0, (args, p.stderr[-2000:])
        assert p.stdout, args
        assert names == set(), args


def test_json_output_loads_jansson_only():
    node = str(BRIEF / "node-multistage.Dockerfile")
    for args in (["lint", "--no-shellcheck", "--failure-threshold", "none",
                  "--format", "json", node],
                 ["lint", "--no-shellcheck", "--failure-threshold", "none",
                  "--format", "sarif", node],
                 ["dockerfile", "parse", "--format", "json", node]):
        names, p = loaded(*args)
        assert p.returncode == 0, (args, p.stderr[-2000:])
        json.loads(p.stdout)
        assert names == {"jansson"}, args


def test_hadolint_config_loads_yaml(tmp_path):
    cfg = tmp_path / ".hadolint.yaml"
    cfg.write_text("ignored:\n  - DL3006\n")
    df = tmp_path / "Dockerfile"
    df.write_text("FROM debian\nRUN echo hi\n")
    names, p = loaded("lint", "--no-shellcheck", "--failure-threshold", "none",
                      "--config", str(cfg), str(df))
    assert p.returncode == 0, p.stderr[-2000:]
    assert "DL3006" not in p.stdout
    assert names == {"yaml"}
    names, p = loaded("lint", "--no-shellcheck", "--failure-threshold", "none", str(df))
    assert "DL3006" in p.stdout  # the configuration above did take effect
    assert names == set()


def test_context_walk_hashes_through_libcrypto(tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    data = os.urandom(200000)
    (ctx / "blob.bin").write_bytes(data)
    names, p = loaded("dockerfile", "context", "--format", "json", str(ctx))
    assert p.returncode == 0, p.stderr[-2000:]
    assert names == {"crypto"}
    doc = json.loads(p.stdout)
    files = {f["path"]: f for f in doc["entries"]}
    assert files["blob.bin"]["content"] == hashlib.sha256(data).hexdigest()


def test_postgres_metadata_loads_libpq_sqlite_does_not(tmp_path):
    env = dict(os.environ, LD_DEBUG="files",
               BERTH_DATABASE_URL="postgres://127.0.0.1:1/berth?connect_timeout=2")
    # Nothing listens on port 1: serve fails at its database, after libpq answered.
    p = subprocess.run([BERTH, "serve", "--listen", "127.0.0.1:0", "--data", str(tmp_path / "pg")],
                       capture_output=True, text=True, env=env, timeout=120)
    names = {lazy_name(os.path.basename(m.group(1)))
             for m in re.finditer(r"^\s*\d+:\s+file=(\S+) \[\d+\];", p.stderr, re.M)}
    assert p.returncode != 0
    assert "pq" in names and "sqlite3" not in names, names
    assert "PostgreSQL" in p.stderr and "127.0.0.1" in p.stderr, p.stderr[-2000:]
    # The same start on SQLite (a database path that cannot be created): libsqlite3, never libpq.
    env = dict(os.environ, LD_DEBUG="files",
               BERTH_DATABASE_URL="sqlite:///nonexistent-dir-berth/x/meta.db")
    p = subprocess.run([BERTH, "serve", "--listen", "127.0.0.1:0", "--data", str(tmp_path / "sq")],
                       capture_output=True, text=True, env=env, timeout=120)
    names = {lazy_name(os.path.basename(m.group(1)))
             for m in re.finditer(r"^\s*\d+:\s+file=(\S+) \[\d+\];", p.stderr, re.M)}
    assert p.returncode != 0
    assert "sqlite3" in names and "pq" not in names, names


def test_a_local_build_loads_what_it_uses(tmp_path):
    """A build from scratch with one COPY and an OCI archive output: the
    context hash, the layer (archive, its compressors), JSON; never the
    HTTP client or server, a database or YAML (a build once loaded every
    lazy library up front)."""
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a").write_text("a\n")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY a /a\n")
    env = dict(os.environ, BERTH_ROOT=str(tmp_path / "store"))
    names, p = loaded("build", "-o", "type=oci,dest=%s" % (tmp_path / "out.tar"), str(ctx),
                      env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    assert {"archive", "crypto", "jansson"} <= names, names
    assert not names & {"curl", "microhttpd", "pq", "sqlite3", "yaml", "crypt"}, names
