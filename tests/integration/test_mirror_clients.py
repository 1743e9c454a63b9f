"""The mirror with real clients (P8): a Docker Engine configured with the
brief's daemon.json (tests/fixtures/brief/docker-daemon.json, its
registry-mirrors pointed at berth) pulls `busybox` through berth from a local
Distribution playing Docker Hub; with a short ttl, after `docker rmi`,
upstream stopped and the ttl passed, a second pull still works and berth
records a stale hit. containerd (`ctr --hosts-dir`, the engine's own
containerd) pulls from two upstreams through one berth, picked by ?ns=.

The shared dockerd fixture (the needs-peer marker) runs with an empty
daemon.json and cannot take registry-mirrors (they are read at start), so
this test starts its own engine with tests/peers/dockerd-start.sh DIR JSON
(about 2-5 s) and stops it at the end.
"""
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

import conftest
import copyutil as u
import mirrorutil as mu
from mirrorutil import Distribution, Proxy

PEERS = os.path.join(conftest.SOURCE_DIR, "tests", "peers")
BRIEF_JSON = os.path.join(conftest.SOURCE_DIR, "tests", "fixtures", "brief", "docker-daemon.json")


def busybox_layout():
    """The busybox OCI layout of tests/peers/make-busybox-image.sh, built once per source tree."""
    for tool in ("umoci", "busybox"):
        if not shutil.which(tool):
            pytest.fail("%s is missing: apt-get install umoci busybox-static" % tool)
    out = os.path.join(conftest.SOURCE_DIR, "build", "peers", "busybox-oci")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(out, "index.json")):
            subprocess.run(["sh", os.path.join(PEERS, "make-busybox-image.sh"), out + ".part"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            os.rename(out + ".part", out)
    return out


@pytest.fixture
def engine(request):
    """Start a Docker Engine with the brief's daemon.json pointed at `mirror_url`."""
    state = {}

    def start(mirror_url):
        if not shutil.which("dockerd") or not shutil.which("ctr"):
            pytest.fail("Docker Engine missing: apt-get install docker.io (scripts/deps.sh test)")
        with open(BRIEF_JSON) as f:
            cfg = json.load(f)
        assert cfg["registry-mirrors"] == ["https://mirror.company.com"]
        cfg["registry-mirrors"] = [mirror_url]
        d = tempfile.mkdtemp(prefix="berth-mdock-", dir="/tmp")
        path = os.path.join(d, "brief-daemon.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        state["dir"] = os.path.join(d, "e")
        subprocess.run(["sh", os.path.join(PEERS, "dockerd-start.sh"), state["dir"], path],
                       check=True, timeout=120)
        state["env"] = dict(os.environ, DOCKER_HOST="unix://%s/sock" % state["dir"])
        return state
    yield start
    if "dir" in state:
        subprocess.run(["sh", os.path.join(PEERS, "dockerd-stop.sh"), state["dir"]], timeout=120)
        shutil.rmtree(os.path.dirname(state["dir"]), ignore_errors=True)


def docker(state, *args, check=True):
    p = subprocess.run(["docker"] + list(args), env=state["env"], capture_output=True, text=True,
                       timeout=300)
    if check:
        assert p.returncode == 0, (args, p.stdout, p.stderr)
    return p


def test_mirror_docker_pull_and_stale(engine, berth_factory, tmp_path):
    mu.need_distribution()
    layout = busybox_layout()
    dist = Distribution(str(tmp_path / "hub")).start()
    proxy = Proxy(dist.url).start()
    try:
        u.berth("copy", "oci:%s:busybox" % layout, "docker://%s/library/busybox:latest" % dist.host)
        cfg = mu.mirror_config(tmp_path, upstreams=[{"name": "docker.io", "url": proxy.url,
                                                     "ttl": "2s"}])
        srv = berth_factory(extra_args=["--config", cfg])
        st = engine(srv.url)
        info = json.loads(docker(st, "info", "--format", "{{json .RegistryConfig.Mirrors}}").stdout)
        assert info == [srv.url + "/"], info

        docker(st, "pull", "busybox")
        m1 = mu.metrics(srv)
        assert m1["misses_total"] >= 2 and m1["upstream_bytes_total"] > 0, m1
        out = docker(st, "image", "inspect", "busybox", "--format", "{{.Id}}").stdout.strip()
        assert out.startswith("sha256:")

        docker(st, "rmi", "busybox")
        proxy.stop()
        dist.stop()
        time.sleep(2.5)  # the ttl passes
        docker(st, "pull", "busybox")
        m2 = mu.metrics(srv)
        assert m2["stale_hits_total"] >= 1, m2
        assert "stale hit" in srv.read_log()
    finally:
        proxy.stop()
        dist.stop()


def hosts_toml(hosts_dir, registry, mirror_url):
    d = os.path.join(hosts_dir, registry)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "hosts.toml"), "w") as f:
        f.write('server = "http://%s"\n\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n'
                % (registry, mirror_url))


def test_mirror_containerd_two_upstreams(engine, berth_factory, tmp_path):
    mu.need_distribution()
    layout = busybox_layout()
    da = Distribution(str(tmp_path / "a")).start()
    db = Distribution(str(tmp_path / "b")).start()
    try:
        u.berth("copy", "oci:%s:busybox" % layout, "docker://%s/library/busybox:latest" % da.host)
        dig_b, _ = mu.push_image(db.url, "team/tool", "2.0", [mu.tar_layer({"tool.txt": b"tool" * 300})])
        cfg = mu.mirror_config(tmp_path, upstreams=[{"name": da.host, "url": da.url},
                                                    {"name": db.host, "url": db.url}])
        srv = berth_factory(extra_args=["--config", cfg])
        st = engine(srv.url)
        sock = os.path.join(st["dir"], "exec", "containerd", "containerd.sock")
        assert os.path.exists(sock), os.listdir(os.path.join(st["dir"], "exec"))
        hosts = str(tmp_path / "hosts.d")
        hosts_toml(hosts, da.host, srv.url)
        hosts_toml(hosts, db.host, srv.url)
        for ref in ("%s/library/busybox:latest" % da.host, "%s/team/tool:2.0" % db.host):
            p = subprocess.run(["ctr", "-a", sock, "-n", "berth-mirror-test", "images", "pull",
                                "--hosts-dir", hosts, ref], capture_output=True, text=True,
                               timeout=300)
            assert p.returncode == 0, (ref, p.stdout, p.stderr)
        p = subprocess.run(["ctr", "-a", sock, "-n", "berth-mirror-test", "images", "ls", "-q"],
                           capture_output=True, text=True, timeout=60)
        assert "%s/team/tool:2.0" % db.host in p.stdout
        # Both came through berth: each under its own upstream's name.
        log = srv.read_log()
        m = mu.metrics(srv)
        assert m["misses_total"] >= 4, (m, log[-3000:])
        for host in (da.host, db.host):
            r = mu.get_manifest(srv.url, "library/busybox" if host == da.host else "team/tool",
                                "latest" if host == da.host else "2.0", ns=host)
            assert r.status_code == 200
        assert mu.metrics(srv)["misses_total"] == m["misses_total"]  # cached now
    finally:
        da.stop()
        db.stop()
