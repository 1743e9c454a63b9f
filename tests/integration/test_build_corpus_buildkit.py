# needs-peer: dockerd
"""berth build side by side with BuildKit (Docker Engine 20.10's built-in
BuildKit 0.8 and its Dockerfile frontend 1.2; the ctest fixture "dockerd":
tests/peers/dockerd-start.sh gives DOCKER_HOST): a corpus of Dockerfiles
over one busybox base (pulled by both from one `berth serve`) is built by
both; BuildKit's image is read from `docker save`, berth's from an OCI
layout. The final file trees (paths, types, modes with setuid/setgid/
sticky bits, owners, sizes, contents, symlink targets, hard-link groups,
xattrs and file capabilities; whiteouts and opaque directories applied),
the number of layers, the image config (every field) and the history
(created_by, empty_layer, comment; not the times) must be the same, but for
the differences by design listed in BY_DESIGN (capped).

Audit: every instruction and flag of the Dockerfile reference that
20.10's BuildKit accepts, and the test that compares it with BuildKit
(file tree, config and history) or, where 20.10 refuses it, checks berth
against written expectations. Files are tests/integration/; "corpus:X" is
the test of case X in this module. History entries (created_by) are
compared for every case of this module.

  FROM image / AS name / FROM stage ....... corpus:onbuild, corpus:copy
  FROM --platform=$BUILDPLATFORM|literal .. corpus:platform
  FROM scratch ............................ test_build_copy (the COPY corpus)
  RUN shell form / exec form .............. corpus:env, corpus:layers
  RUN --mount=type=bind (from, source,
      target, rw; the context) ............ test_build_run_buildkit, corpus:xattrs
  RUN --mount=type=cache (id, target, mode,
      uid, gid; counts over rebuilds) ..... test_build_run_buildkit
  RUN --mount=type=cache sharing, from,
      source .............................. test_build_run (own expectations)
  RUN --mount=type=tmpfs (target) ......... test_build_run_buildkit
  RUN --mount=type=tmpfs size ............. test_build_run
  RUN --mount=type=secret (id, target,
      mode, uid, gid, required, missing) .. test_build_run_buildkit
  RUN --mount=type=secret env= ............ test_build_run (20.10 refuses env=)
  RUN --mount=type=ssh .................... test_build_run (a real ssh-agent)
  RUN --network=none|host|default,
      --security=sandbox|insecure ......... refused by 20.10 (labs only): own
                                            expectations in
                                            corpus:run_network_and_security
  mount stubs in RUN layers ............... test_build_run_stubs
  CMD / ENTRYPOINT exec and shell forms,
      the CMD reset rule, ArgsEscaped ..... test_dockerfile_buildkit (config),
                                            corpus:entrypoint (over a base
                                            with a Cmd), corpus:env
  SHELL ................................... corpus:env (RUN under it),
                                            test_dockerfile_buildkit (config)
  ENV both forms, in RUN, over an ARG ..... corpus:env, test_dockerfile_buildkit
  ARG global / per stage / default /
      --build-arg / predefined TARGET*,
      BUILD* (values in RUN, history) ..... corpus:env, test_dockerfile_buildkit
  LABEL, EXPOSE (ranges, /udp), VOLUME
      (both forms), STOPSIGNAL,
      MAINTAINER .......................... corpus:env, test_dockerfile_buildkit
  HEALTHCHECK every option, NONE .......... corpus:env, corpus:entrypoint,
                                            test_dockerfile_buildkit
  HEALTHCHECK --start-period < 1ms ........ both refuse: start_interval test
  USER name / uid:gid (RUN and COPY as
      the user) ........................... corpus:env, corpus:copy
  WORKDIR absolute / relative / $env
      (the directory it makes, owned by
      USER) ............................... corpus:env, corpus:copy
  ONBUILD (triggers run in a child: of a
      stage, of an image; ARG in a
      trigger) ............................ corpus:onbuild, corpus:onbuild-image
  COPY --from=stage|index|image ........... corpus:copy, test_build_copy
  COPY --chown name|uid:gid, --chmod octal
      (special bits kept) ................. test_build_copy, corpus:copy
  COPY wildcards, dirs, trailing slashes,
      symlinks, destination creation ...... test_build_copy
  COPY hard links (of the context, of a
      stage; one source), setuid/sticky
      modes, empty dirs ................... corpus:copy
  COPY of xattrs (20.10 drops them) ....... corpus:copy
  ADD local tar (none/gzip/bzip2/xz), not
      a tar, --chown, --chmod ............. test_build_copy
  ADD URL (--chown, --chmod) .............. corpus:add
  ADD zstd tar (20.10 does not extract) ... test_build_copy (own)
  escape directive ........................ test_dockerfile_buildkit
  syntax directive ........................ corpus:syntax_directive (own:
                                            20.10 fetches the frontend)
  variable forms 20.10 knows / refuses .... test_dockerfile_buildkit
  .dockerignore incl. ! exceptions ........ test_dockerfile_buildkit
  whiteouts (rm of lower files), opaque
      dirs (rm -rf then mkdir), file <->
      dir <-> symlink, mv of a dir, hard
      links across layers, setuid/setgid/
      sticky, fifos, empty dirs, chmod 0 .. corpus:layers
  xattrs and file capabilities (RUN) ...... corpus:xattrs (docker save keeps
                                            security.capability only: user.*
                                            checked on berth's side)
  Refused by 20.10, own expectations:
      heredocs (RUN/COPY) ................. test_build_run, test_build_copy
      COPY --link ......................... test_build_copy
      COPY --parents, --exclude ........... test_build_copy
      COPY --chmod symbolic ............... test_build_copy
      ADD --checksum ...................... test_build_copy
      RUN --network, --security ........... corpus:run_network_and_security
      HEALTHCHECK --start-interval ........ corpus:start_interval
      several platforms ................... test_build_platforms
      cache export/import ................. test_build_cache
      --call .............................. test_build_call
"""
import gzip
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))
sys.path.insert(0, HERE)
from buildutil import busybox_registry, docker, run_build  # noqa: E402


# (case, path or "config:<Field>" or "history") -> why berth differs from
# BuildKit 20.10 there by design. Capped: anything else must match.
BY_DESIGN = {
    ("xattrs", "t"): "the RUN's bind mount point: BuildKit 0.8 leaves the empty directory, "
                     "berth removes its mount stubs as BuildKit does since 0.10 "
                     "(test_build_run_stubs.py)",
    ("add", "modes/data"): "20.10 ignores --chmod on an ADD of a URL (the file stays 0600); "
                           "berth applies it, as the Dockerfile reference says --chmod does",
}
BY_DESIGN_CAP = 4




@pytest.fixture(scope="module")
def base():
    """The busybox fixture as <host>/library/busybox:1, pulled by the engine."""
    with busybox_registry("berth-corpus-") as s:
        ref = "%s/library/busybox:1" % s.host
        docker("pull", ref)
        yield ref
        docker("rmi", "-f", ref, check=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One berth store for the module: the base is pulled once."""
    return tmp_path_factory.mktemp("corpus-store")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def http_url(tmp_path_factory):
    """A local HTTP server (the engine runs in the host's network namespace)."""
    root = tmp_path_factory.mktemp("www")
    (root / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    os.utime(root / "tool.sh", (1600000000, 1600000000))
    (root / "data.txt").write_text("data\n")
    with tarfile.open(root / "arch.tar.gz", "w:gz") as t:
        t.add(root / "tool.sh", arcname="inside.sh")
    handler = lambda *a, **k: _Quiet(*a, directory=str(root), **k)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()


# ---- reading images ----

class Tree:
    """A file tree built by applying layer tars in order (whiteouts, opaque
    directories); hard links resolved to their target's facts and kept as
    groups."""

    def __init__(self):
        self.entries = {}  # path -> facts
        self.group = {}  # path -> hard-link group id
        self.ngroups = 0

    def _drop(self, x, children_only=False):
        for k in [k for k in self.entries if k.startswith(x + "/") or
                  (k == x and not children_only)]:
            del self.entries[k]
            self.group.pop(k, None)

    def apply(self, data):
        added = set()
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            for m in t.getmembers():
                n = m.name
                while n.startswith("./"):
                    n = n[2:]
                n = n.rstrip("/")
                if n in ("", "."):
                    continue
                d, b = os.path.split(n)
                if b == ".wh..wh..opq":
                    # the opaque directory hides what lower layers had in it
                    for k in [k for k in self.entries if k.startswith(d + "/") and
                              k not in added]:
                        del self.entries[k]
                        self.group.pop(k, None)
                    continue
                if b.startswith(".wh."):
                    self._drop(os.path.join(d, b[4:]))
                    continue
                if n in self.entries and self.entries[n][0] == "dir" and not m.isdir():
                    self._drop(n)
                xattrs = tuple(sorted((k, v) for k, v in m.pax_headers.items()
                                      if k.startswith("SCHILY.xattr.")))
                self.group.pop(n, None)
                if m.islnk():
                    target = m.linkname.lstrip("./").rstrip("/")
                    f = self.entries[target]
                    self.entries[n] = ("file",) + f[1:2] + (m.uid, m.gid) + f[4:6] + ("",
                                                                                      xattrs)
                    if target not in self.group:
                        self.ngroups += 1
                        self.group[target] = self.ngroups
                    self.group[n] = self.group[target]
                else:
                    kind = ("dir" if m.isdir() else "symlink" if m.issym() else "file"
                            if m.isfile() else "fifo" if m.isfifo() else "dev:%s" % m.type)
                    body = t.extractfile(m).read() if m.isfile() else b""
                    self.entries[n] = (kind, oct(m.mode & 0o7777), m.uid, m.gid,
                                       len(body), hashlib.sha256(body).hexdigest(),
                                       m.linkname if m.issym() else "", xattrs)
                added.add(n)
        return self

    def groups(self):
        by = {}
        for p, g in self.group.items():
            by.setdefault(g, set()).add(p)
        return sorted(sorted(s) for s in by.values() if len(s) > 1)


def buildkit_image(tmp, ctx, tag, args):
    docker("build", "--network=none", "-q", "-t", tag, *args, str(ctx))
    arch = tmp / ("%s.tar" % tag.replace("/", "_").replace(":", "_"))
    docker("save", "-o", str(arch), tag)
    docker("rmi", "-f", tag, check=False)
    with tarfile.open(arch) as t:
        read = lambda n: t.extractfile(n).read()  # noqa: E731
        man = json.loads(read("manifest.json"))[0]
        cfg = json.loads(read(man["Config"]))
        tree = Tree()
        for l in man["Layers"]:
            tree.apply(read(l))
    os.unlink(arch)
    return tree, cfg


def berth_image(store, tmp, ctx, args):
    lay = tmp / "lay"
    run_build(store, "--progress", "plain", "-o", "type=oci,dest=%s,tar=false" % lay, *args,
              str(ctx))
    blob = lambda d: (lay / "blobs" / "sha256" / d.split(":")[1]).read_bytes()  # noqa: E731
    man = json.loads(blob(json.loads((lay / "index.json").read_text())["manifests"][0]
                          ["digest"]))
    cfg = json.loads(blob(man["config"]["digest"]))
    tree = Tree()
    for l in man["layers"]:
        data = blob(l["digest"])
        tree.apply(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return tree, cfg


def facts(cfg):
    """What of an image config must match: the whole `config` (empty values
    dropped: Docker writes null where the OCI config omits a key), the
    platform, the layer count, and the history without times."""
    c = {k: v for k, v in (cfg.get("config") or {}).items() if v not in (None, "", [], {})}
    hist = [{k: v for k, v in h.items() if k != "created"} for h in cfg.get("history", [])]
    return {"config": c, "platform": [cfg.get("os"), cfg.get("architecture"),
                                      cfg.get("variant")],
            "layers": len(cfg["rootfs"]["diff_ids"]), "history": hist}


def saved_xattrs(entries):
    """The entries with only the xattrs `docker save` exports: Docker's archive writer
    keeps security.capability alone (other xattrs are checked on berth's side only)."""
    keep = "SCHILY.xattr.security.capability"
    return {p: f[:7] + (tuple(x for x in f[7] if x[0] == keep),) for p, f in entries.items()}


def compare(case, tmp, store, dockerfile, files=None, args=(), setup=None):
    """Build `dockerfile` with both; return (buildkit, berth) (tree, config)
    after asserting they match but for BY_DESIGN."""
    ctx = tmp / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_text(text)
    if setup:
        setup(ctx)
    want_tree, want_cfg = buildkit_image(tmp, ctx, "berth-corpus/%s:%d" % (case, os.getpid()),
                                         list(args))
    got_tree, got_cfg = berth_image(store, tmp, ctx, list(args))
    assert len(BY_DESIGN) <= BY_DESIGN_CAP
    diff = []
    w, g = saved_xattrs(want_tree.entries), saved_xattrs(got_tree.entries)
    for p in sorted(set(w) | set(g)):
        if w.get(p) != g.get(p) and (case, p) not in BY_DESIGN:
            diff.append("%s: buildkit %r\n%s  berth    %r" % (p, w.get(p), " " * len(p),
                                                              g.get(p)))
    if want_tree.groups() != got_tree.groups():
        diff.append("hard-link groups: buildkit %r berth %r" % (want_tree.groups(),
                                                              got_tree.groups()))
    wf, gf = facts(want_cfg), facts(got_cfg)
    for k in sorted(set(wf["config"]) | set(gf["config"])):
        if wf["config"].get(k) != gf["config"].get(k) and (case, "config:" + k) not in BY_DESIGN:
            diff.append("config %s: buildkit %r berth %r" % (k, wf["config"].get(k),
                                                            gf["config"].get(k)))
    for k in ("platform", "layers"):
        if wf[k] != gf[k]:
            diff.append("%s: buildkit %r berth %r" % (k, wf[k], gf[k]))
    if wf["history"] != gf["history"] and (case, "history") not in BY_DESIGN:
        diff.append("history:\n buildkit %s\n berth    %s" % (
            json.dumps(wf["history"], indent=1), json.dumps(gf["history"], indent=1)))
    assert not diff, "\n".join(diff)
    return (want_tree, want_cfg), (got_tree, got_cfg)


# ---- the corpus ----

LAYERS = """\
FROM {base}
RUN mkdir -p /d/keep /d/gone /opq/sub /empty /tmp /mv/src /kind && echo a > /d/keep/a \\
 && echo g > /d/gone/g && echo o > /opq/sub/o && echo 1 > /opq/x && echo f > /file-rm \\
 && echo h > /hl-src && mkdir /stickydir /hl && echo same > /hl/one && ln /hl/one /hl/two \\
 && echo m > /mv/src/m && echo f > /kind/f2d && mkdir /kind/d2f /kind/d2l \\
 && echo x > /kind/d2f/x && ln -s /d /kind/l2d
RUN rm -rf /d/gone /file-rm /opq && mkdir -p /opq/new && echo n > /opq/new/n \\
 && ln /hl-src /hl-dst && ln /hl/one /hl/three && chmod 4755 /d/keep/a \\
 && chmod 1777 /stickydir && chmod 2750 /d/keep && ln -s /d/keep/a /sym \\
 && ln -s nowhere /dangling && chown 1000:1000 /d/keep && chown -h 7:8 /sym \\
 && mkfifo /fifo && mkdir /e2 && mv /mv/src /mv/dst \\
 && rm /kind/f2d && mkdir /kind/f2d && rm -r /kind/d2f && echo now-a-file > /kind/d2f \\
 && rm -r /kind/d2l && ln -s /tmp /kind/d2l && rm /kind/l2d && mkdir /kind/l2d
RUN echo more >> /d/keep/a && rm /hl/two && touch /opq/new/n2 && rmdir /empty \\
 && chmod 0 /e2 && chmod 6711 /hl-dst && truncate -s 0 /mv/dst/m
RUN ["/bin/sh", "-c", "echo exec form > /exec"]
"""

ENV = """\
ARG GLOBAL=g1
ARG UNUSED_GLOBAL=u
FROM {base}
ARG GLOBAL
ARG STAGE=s1
ARG FROM_CLI
ARG TARGETPLATFORM
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG BUILDPLATFORM
ARG BUILDOS
ARG BUILDARCH
ARG BUILDVARIANT
ARG OVER=from-arg
ENV OVER=from-env
ENV E1=one PATH=/opt/bin:$PATH
ENV LEGACY legacy  form $E1
MAINTAINER someone <someone@example.com>
RUN mkdir -p /out /home/app && echo "$GLOBAL $STAGE $FROM_CLI $E1 $LEGACY [$UNUSED_GLOBAL]" \\
    > /out/args && echo "$TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT]" > /out/target \\
 && echo "$BUILDPLATFORM $BUILDOS $BUILDARCH [$BUILDVARIANT]" > /out/build \\
 && echo "$PATH" > /out/path && printf 'root:x:0:0::/root:/bin/sh\\napp:x:1001:1002::/home/app:/bin/sh\\n' > /etc/passwd \\
 && printf 'root:x:0:\\napp:x:1002:\\nextra:x:1003:app\\n' > /etc/group && chown app:app /home/app
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "shell $0 $-" > /out/shell
WORKDIR /made/by/workdir
WORKDIR rel/$E1
RUN pwd > /out/pwd
USER app
WORKDIR /home/app/w
RUN id > /home/app/id && touch own && echo "$HOME" > /home/app/home
USER 1001:1003
RUN id > /home/app/id2 && touch own2
USER root
RUN stat -c '%n %a %u %g' /home/app /home/app/w /home/app/w/* /made/by/workdir > /out/stat
ARG LATE
RUN ["/bin/busybox", "sh", "-c", "echo $LATE $OVER > /out/exec"]
EXPOSE 80 53/udp
EXPOSE ${{PORT:-8080}}/tcp 9000-9001
VOLUME /data $E1
VOLUME ["/v1", "/v2"]
LABEL a=1 b="two words" c=$E1
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=90s --timeout=1500ms --start-period=1500us --retries=10 \
  CMD wget -q "http://localhost/" || exit 1
"""

ENTRYPOINT = """\
FROM {base} AS withcmd
HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=7 CMD ["/bin/true"]
CMD ["sh", "-c", "echo from cmd"]

FROM withcmd AS reset
ENTRYPOINT ["/bin/echo"]

FROM withcmd AS both
ENTRYPOINT /bin/echo shell form
CMD ["x"]

FROM withcmd
HEALTHCHECK NONE
ENTRYPOINT ["/bin/sh"]
CMD echo shell $HOME
"""

ONBUILD = """\
FROM {base} AS parent
RUN mkdir /p
ONBUILD RUN echo triggered > /p/onbuild
ONBUILD COPY a.txt /p/
ONBUILD ENV FROM_TRIGGER=1
ONBUILD LABEL trig=yes

FROM parent AS child
RUN cat /p/onbuild > /p/seen

FROM child
RUN test -f /p/a.txt && echo grandchild > /p/g
"""

COPY = """\
FROM {base} AS users
RUN mkdir -p /etc && printf 'root:x:0:0::/root:/bin/sh\\napp:x:1234:2345::/home/app:/bin/sh\\n' \\
    > /etc/passwd && printf 'root:x:0:\\nstaff:x:2345:\\nops:x:3456:\\n' > /etc/group

FROM {base} AS linked
RUN mkdir -p /l/sub && echo one > /l/a && ln /l/a /l/sub/b && ln /l/a /l/c && echo x > /l/x

FROM users
COPY --from={base} /bin/busybox /img/busybox
COPY --from=linked /l /fromlinks/
COPY --from=linked /l/a /l/c /twolinks/
COPY --chmod=4755 ctx/plain.txt /chmod/suid-asked
COPY --chmod=644 ctx/suid/s /chmod/suid-kept
COPY --chmod=0 ctx/plain.txt /chmod/zero
COPY --chmod=1777 ctx/empty /chmod/dir
COPY --from=users /etc/group /from-stage/
COPY --from=0 /etc/passwd /from-index/
COPY ctx/ /ctx/
COPY --chown=app ctx/hl /own/
COPY --chown=app:ops --chmod=750 ctx/suid /own/modes/
COPY --chown=2000:3000 ctx/empty /own/empty
USER app
COPY ctx/plain.txt /as-user/
WORKDIR /w
COPY ctx/plain.txt relative/
"""


def copy_setup(ctx):
    c = ctx / "ctx"
    (c / "hl").mkdir(parents=True)
    (c / "hl" / "one").write_text("linked\n")
    os.link(c / "hl" / "one", c / "hl" / "two")
    (c / "suid").mkdir()
    (c / "suid" / "s").write_text("#!/bin/sh\n")
    os.chmod(c / "suid" / "s", 0o4755)
    (c / "suid" / "g").write_text("g\n")
    os.chmod(c / "suid" / "g", 0o2755)
    (c / "suid" / "sticky").mkdir()
    os.chmod(c / "suid" / "sticky", 0o1777)
    (c / "empty" / "inner").mkdir(parents=True)
    (c / "plain.txt").write_text("plain\n")
    (c / "xattr.txt").write_text("x\n")
    for cmd in (["setfattr", "-n", "user.berth", "-v", "corpus", str(c / "xattr.txt")],
                ["setcap", "cap_net_bind_service+ep", str(c / "xattr.txt")]):
        try:
            subprocess.run(cmd, check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as e:
            pytest.fail("%s failed (%s): apt-get install attr libcap2-bin" % (cmd[0], e))


ADD = """\
FROM {base}
ADD {url}/tool.sh /bin/
ADD {url}/data.txt /opt/renamed
ADD --chown=7:8 {url}/arch.tar.gz /arch/
ADD --chmod=700 {url}/data.txt /modes/data
"""

PLATFORM = """\
FROM --platform=$BUILDPLATFORM {base} AS native
ARG TARGETARCH
ARG BUILDARCH
RUN echo "$BUILDARCH -> $TARGETARCH" > /cross

FROM --platform=linux/amd64 {base}
COPY --from=native /cross /cross
"""


XATTRS = """\
FROM {base}
RUN --mount=target=/t echo caps > /caps && echo user > /user && echo both > /both \\
 && /t/setx /caps security.capability {cap} && /t/setx /user user.berth.note corpus \\
 && /t/setx /both security.capability {cap} && /t/setx /both user.berth.other 2
RUN echo later > /later && chmod 700 /caps
"""

# vfs_cap_data revision 2 (little-endian): effective, permitted CAP_NET_BIND_SERVICE (10).
CAP = "0100000200040000000000000000000000000000"

SETX_C = r"""
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
int main(int argc, char **argv)
{
	unsigned char v[256];
	size_t n = 0;
	if (argc != 4) return 2;
	if (strncmp(argv[2], "security.", 9) == 0)
		for (const char *h = argv[3]; h[0] && h[1] && n < sizeof(v); h += 2)
			sscanf(h, "%2hhx", &v[n++]);
	else
		n = strlen(argv[3]), memcpy(v, argv[3], n);
	if (lsetxattr(argv[1], argv[2], v, n, 0) < 0) { perror(argv[2]); return 1; }
	return 0;
}
"""


def xattr_setup(ctx):
    """A static setxattr tool in the context (busybox has none)."""
    (ctx / "setx.c").write_text(SETX_C)
    p = subprocess.run(["gcc", "-static", "-O", "-o", str(ctx / "setx"), str(ctx / "setx.c")],
                       capture_output=True, text=True)
    assert p.returncode == 0, "gcc -static failed (apt-get install gcc libc6-dev): " + p.stderr


def test_xattrs_and_file_capabilities_like_buildkit(tmp_path, base, store):
    (_, want), (got, _) = compare("xattrs", tmp_path, store,
                                  XATTRS.format(base=base, cap=CAP), setup=xattr_setup)
    e = got.entries
    cap = ("SCHILY.xattr.security.capability", bytes.fromhex(CAP).decode("latin-1"))
    assert e["caps"][7] == (cap,) and e["caps"][1] == "0o700"
    # what docker save cannot show: berth keeps the other xattrs too
    assert e["both"][7] == (cap, ("SCHILY.xattr.user.berth.other", "2"))
    assert e["user"][7] == (("SCHILY.xattr.user.berth.note", "corpus"),)


def test_layers_whiteouts_opaque_dirs_and_modes_like_buildkit(tmp_path, base, store):
    (_, want), (got, _) = compare("layers", tmp_path, store, LAYERS.format(base=base))
    e = got.entries
    # The corpus exercised what it claims (not two empty trees).
    assert "d/gone" not in e and "file-rm" not in e and "empty" not in e
    assert sorted(k for k in e if k.startswith("opq/")) == ["opq/new", "opq/new/n",
                                                            "opq/new/n2"]
    assert e["d/keep/a"][1:4] == ("0o4755", 0, 0) and e["d/keep"][1:4] == ("0o2750", 1000, 1000)
    assert e["stickydir"][1] == "0o1777" and e["fifo"][0] == "fifo" and e["e2"][1] == "0o0"
    assert e["kind/d2f"][0] == "file" and e["kind/l2d"][0] == "dir"
    assert e["kind/d2l"][0] == "symlink" and "kind/d2f/x" not in e
    assert ["hl/one", "hl/three"] in got.groups()


def test_env_args_shell_user_workdir_like_buildkit(tmp_path, base, store):
    (_, want), (got, _) = compare("env", tmp_path, store, ENV.format(base=base),
                                  args=["--build-arg", "FROM_CLI=cli"])
    e = got.entries
    assert e["home/app/w/own"][2:4] == (1001, 1002) and e["home/app/w"][2:4] == (1001, 1002)
    assert e["home/app/w/own2"][2:4] == (1001, 1003) and e["made/by/workdir"][2:4] == (0, 0)
    run = [h["created_by"] for h in want["history"] if h["created_by"].startswith("RUN ")]
    assert run[0].startswith("RUN |12 GLOBAL=g1 STAGE=s1 FROM_CLI=cli TARGETPLATFORM=linux/")
    assert "OVER=from-env /bin/sh -c mkdir" in run[0] and "LATE= /bin/busybox sh" in run[-1]


def test_entrypoint_cmd_and_healthcheck_over_a_base_like_buildkit(tmp_path, base, store):
    for target in ("reset", "both", ""):
        d = tmp_path / (target or "last")
        d.mkdir()
        args = ["--target", target] if target else []
        (_, want), _ = compare("entrypoint", d, store, ENTRYPOINT.format(base=base), args=args)
        c = want["config"]
        if target == "reset":
            assert "Cmd" not in c or not c["Cmd"]
            assert c["Healthcheck"]["Retries"] == 7
        if not target:
            assert c["Healthcheck"]["Test"] == ["NONE"]


ONBUILD_PARENT = """\
FROM {base}
ARG IN_PARENT=p
ONBUILD ARG FROM_TRIGGER_ARG=t
ONBUILD RUN echo "$FROM_TRIGGER_ARG" > /image-trigger
ONBUILD WORKDIR /from-trigger
"""

ONBUILD_IMAGE = """\
FROM {parent}
RUN pwd > /pwd && echo "$FROM_TRIGGER_ARG" > /arg-after
"""


def test_onbuild_triggers_run_in_the_child_like_buildkit(tmp_path, base, store):
    (_, want), (got, _) = compare("onbuild", tmp_path, store, ONBUILD.format(base=base),
                                  files={"a.txt": "a\n"})
    assert "p/seen" in got.entries and "p/g" in got.entries
    assert not want["config"].get("OnBuild") and want["config"]["Labels"] == {"trig": "yes"}


def test_onbuild_triggers_of_a_base_image_like_buildkit(tmp_path, base, store):
    """The parent image, built by BuildKit, pushed to the registry both pull from."""
    parent = "%s/corpus/onbuild-parent:%d" % (base.split("/")[0], os.getpid())
    pctx = tmp_path / "parent"
    pctx.mkdir()
    (pctx / "Dockerfile").write_text(ONBUILD_PARENT.format(base=base))
    docker("build", "--network=none", "-q", "-t", parent, str(pctx))
    docker("push", parent)
    docker("rmi", "-f", parent)
    (_, want), (got, _) = compare("onbuild-image", tmp_path, store,
                                  ONBUILD_IMAGE.format(parent=parent))
    assert got.entries["from-trigger/pwd"] if "from-trigger/pwd" in got.entries else True
    assert "image-trigger" in got.entries and "from-trigger" in got.entries


def test_copy_from_image_links_modes_xattrs_like_buildkit(tmp_path, base, store):
    (_, want), (got, _) = compare("copy", tmp_path, store, COPY.format(base=base),
                                  setup=copy_setup)
    e = got.entries
    assert e["ctx/suid/s"][1] == "0o4755" and e["ctx/suid/sticky"][1] == "0o1777"
    assert ["ctx/hl/one", "ctx/hl/two"] in got.groups()
    assert [k for k, _ in e["ctx/xattr.txt"][7]] == [], e["ctx/xattr.txt"]
    assert e["own/one"][2:4] == (1234, 2345) and e["own/modes/s"][1:4] == ("0o4750", 1234, 3456)
    assert ["fromlinks/a", "fromlinks/c", "fromlinks/sub/b"] in got.groups()
    assert not [g for g in got.groups() if g[0].startswith("twolinks/")]  # two sources
    assert e["chmod/suid-asked"][1] == "0o755" and e["chmod/suid-kept"][1] == "0o4644"
    assert e["w"][2:4] == (1234, 2345)  # WORKDIR made as the USER


def test_add_urls_like_buildkit(tmp_path, base, store, http_url):
    (_, want), (got, _) = compare("add", tmp_path, store, ADD.format(base=base, url=http_url))
    assert got.entries["bin/tool.sh"][1] == "0o600" and got.entries["modes/data"][1] == "0o700"
    assert got.entries["arch/arch.tar.gz"][2:4] == (7, 8)


def test_from_platform_like_buildkit(tmp_path, base, store):
    (_, want), (got, _) = compare("platform", tmp_path, store, PLATFORM.format(base=base))
    assert "cross" in got.entries


# ---- what 20.10 refuses: berth against the expectations written here ----

def docker_refuses(tmp, text, message):
    ctx = tmp / ("refused-%d" % len(list(tmp.glob("refused-*"))))
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    r = docker("build", "--network=none", "-q", str(ctx), check=False)
    assert r.returncode != 0 and message in r.stderr, r.stderr[-2000:]
    return ctx


def interfaces(text):
    """Interface names of a /proc/net/dev copy."""
    return sorted(l.split(":")[0].strip() for l in text.splitlines()[2:] if ":" in l)


RUN_FLAGS = """\
FROM {base}
RUN --network=none cat /proc/net/dev > /none
RUN --network=host cat /proc/net/dev > /host
RUN --network=default cat /proc/net/dev > /default
RUN --security=sandbox echo sandboxed > /sandbox
"""


def test_run_network_and_security_flags_20_10_refuses(tmp_path, base, store):
    """20.10's frontend has RUN --network and --security only in its labs
    channel; berth has them as later BuildKit: none leaves loopback alone,
    host and default (berth has no bridge) see the host's interfaces, and
    --network=none of the build turns default (not host) into none."""
    for flag in ("network", "security"):
        docker_refuses(tmp_path, "FROM %s\nRUN --%s=%s true\n" % (
            base, flag, "none" if flag == "network" else "sandbox"), "Unknown flag: " + flag)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(RUN_FLAGS.format(base=base))
    with open("/proc/net/dev") as f:
        host = interfaces(f.read())
    assert len(host) > 1, host  # the test needs a host with more than loopback
    for build_net, default in (("default", host), ("none", ["lo"])):
        lay = tmp_path / ("lay-" + build_net)
        run_build(store, "--network", build_net, "-o", "type=oci,dest=%s,tar=false" % lay,
                  str(ctx))
        blob = lambda d: (lay / "blobs" / "sha256" / d.split(":")[1]).read_bytes()  # noqa
        man = json.loads(blob(json.loads((lay / "index.json").read_text())["manifests"][0]
                              ["digest"]))
        tree = {}
        for l in man["layers"]:
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(l["digest"])))) as t:
                tree.update({m.name: t.extractfile(m).read().decode() for m in t.getmembers()
                             if m.name in ("none", "host", "default", "sandbox")})
        assert interfaces(tree["none"]) == ["lo"]
        assert interfaces(tree["host"]) == host  # asked for by the RUN itself
        assert interfaces(tree["default"]) == default
        assert tree["sandbox"] == "sandboxed\n"
    ctx2 = tmp_path / "insecure"
    ctx2.mkdir()
    (ctx2 / "Dockerfile").write_text("FROM %s\nRUN --security=insecure true\n" % base)
    p = run_build(store, str(ctx2), check=False)
    assert p.returncode == 1 and b"security.insecure entitlement" in p.stderr


def test_start_interval_own_expectation(tmp_path, base, store):
    """HEALTHCHECK --start-interval (Docker 25): 20.10 refuses the flag; berth
    writes StartInterval, and its history names it after StartPeriod. Both
    refuse a --start-period under 1ms."""
    text = "FROM %s\nHEALTHCHECK --start-interval=2s --start-period=1m CMD true\n" % base
    docker_refuses(tmp_path, text, "Unknown flag: start-interval")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    _, cfg = berth_image(store, tmp_path, ctx, [])
    assert cfg["config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"],
                                            "StartPeriod": 60000000000,
                                            "StartInterval": 2000000000}
    assert cfg["history"][-1]["created_by"] == \
        'HEALTHCHECK &{["CMD-SHELL" "true"] "0s" "0s" "1m0s" "2s" \'\\x00\'}'
    text = "FROM %s\nHEALTHCHECK --start-period=500us CMD true\n" % base
    bad = docker_refuses(tmp_path, text, 'Interval "start-period" cannot be less than 1ms')
    p = run_build(store, str(bad), check=False)
    assert p.returncode == 1 and b'"start-period" cannot be less than 1ms' in p.stderr


def test_syntax_directive_is_read_not_fetched(tmp_path, base, store):
    """`# syntax=docker/dockerfile:1.2`: 20.10 fetches that frontend image
    (offline here: it fails); berth's frontend is built in and builds the
    file as it would without the directive."""
    text = "# syntax=docker/dockerfile:1.2\nFROM %s\nRUN echo hi > /x\n" % base
    docker_refuses(tmp_path, text, "docker/dockerfile")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(text)
    tree, cfg = berth_image(store, tmp_path, ctx, [])
    assert tree.entries["x"][4] == 3
    assert cfg["history"][-1]["created_by"] == "RUN /bin/sh -c echo hi > /x # buildkit"


def test_a_failing_onbuild_trigger_names_the_from_line(tmp_path, base, store):
    """Both builders fail; berth's message names the child's FROM line."""
    text = "FROM %s AS parent\nONBUILD RUN exit 3\n\nFROM parent\nRUN true\n" % base
    ctx = docker_refuses(tmp_path, text, "exit code: 3")
    p = run_build(store, str(ctx), check=False)
    last = p.stderr.decode().strip().splitlines()[-1]
    assert p.returncode == 1 and "Dockerfile:4: RUN:" in last and "exit code: 3" in last, last
