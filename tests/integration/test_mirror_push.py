"""Pushes to a pull-through mirror (P8) with `push: allow` in an upstream's
config: refused by default (test_mirror.py::test_mirror_refuses_pushes);
accepted when allowed, from `berth copy`, skopeo and podman, pulled back with the
same digest; a pushed repository is local (never revalidated against
upstream, even where upstream has the same name); upstream content is still
mirrored next to it; deletes only of what was pushed; access control (P3)
applies to pushes as to any. Upstream is a real Distribution 2.8 behind a
counting proxy (peers/proxy.py), so "nothing reached upstream" is counted.
"""
import json
import os
import time

import requests

import copyutil as u
import mirrorutil as mu
from authutil import auth_factory  # noqa: F401
from test_auth_clients import env, podman  # noqa: F401  (fixtures)
from test_mirror import upstream  # noqa: F401


def _writes(proxy):
    return [q for q in proxy.requests if q[0] not in ("GET", "HEAD")]


def _pushed_digest(digestfile):
    with open(digestfile) as f:
        return f.read().strip()


def test_mirror_push_allowed(upstream, berth_factory, tmp_path):  # noqa: F811
    pa, da = upstream()
    hub, _ = mu.push_image(da.url, "library/busybox", "latest", [b"hub" * 100], label="hub")
    old, _ = mu.push_image(da.url, "team/app", "1.0", [b"app-old" * 100], label="old")
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "ttl": "1s", "push": "allow"})
    srv = berth_factory(extra_args=["--config", cfg])
    # Cached from upstream before anyone pushes to team/app.
    assert mu.pull(srv.url, "team/app", "1.0")[0] == old

    # berth copy pushes; the image pulls back with the same digest.
    df = str(tmp_path / "digest")
    u.berth("copy", "--digestfile", df, "oci:" + u.small_image() + ":small",
            "docker://%s/team/pushed:1.0" % srv.host)
    pushed = _pushed_digest(df)
    assert mu.get_manifest(srv.url, "team/pushed", "1.0").headers["Docker-Content-Digest"] == pushed
    u.assert_same_image(u.read_registry(srv.url, "team/pushed", "1.0"),
                        u.read_layout(u.small_image(), "small"), True)
    # skopeo pushes (chunked uploads through the renamed Location), and pulls back.
    u.skopeo("copy", "--dest-tls-verify=false", "oci:" + u.small_image() + ":small",
             "docker://%s/team/sk:2.0" % srv.host)
    out = str(tmp_path / "back")
    u.skopeo("copy", "--src-tls-verify=false", "docker://%s/team/sk:2.0" % srv.host,
             "oci:%s:back" % out)
    with open(os.path.join(out, "index.json")) as f:
        assert [m["digest"] for m in json.load(f)["manifests"]] == [pushed]
    # A name upstream also has: pushed here, it is local from then on.
    u.berth("copy", "oci:" + u.small_image() + ":small", "docker://%s/team/app:2.0" % srv.host)
    assert _writes(pa) == [], _writes(pa)

    # Upstream moves team/app:1.0 and adds 3.0; the ttl passes.
    new, _ = mu.push_image(da.url, "team/app", "1.0", [b"app-new" * 100], label="new")
    mu.push_image(da.url, "team/app", "3.0", [b"app-3" * 100], label="3")
    seen = len(pa.requests)
    time.sleep(1.2)
    assert mu.pull(srv.url, "team/app", "1.0")[0] == old  # never revalidated
    assert mu.get_manifest(srv.url, "team/app", "3.0").status_code == 404
    assert mu.pull(srv.url, "team/app", "2.0")[0] == pushed
    tags = requests.get(srv.url + "/v2/team/app/tags/list", timeout=10).json()["tags"]
    assert sorted(tags) == ["1.0", "2.0"], tags
    assert [q for q in pa.requests[seen:] if "/team/app/" in q[1]] == []
    # Upstream content is still mirrored (and revalidated) next to the pushed content.
    assert mu.pull(srv.url, "busybox", "latest")[0] == hub
    assert [q for q in pa.requests[seen:] if "/library/busybox/" in q[1]]

    # Deletes: what was pushed, yes; what is mirrored, no.
    r = requests.delete(srv.url + "/v2/team/pushed/manifests/" + pushed, timeout=10)
    assert r.status_code == 202, r.text
    assert mu.get_manifest(srv.url, "team/pushed", "1.0").status_code == 404
    r = requests.delete(srv.url + "/v2/busybox/manifests/" + hub, timeout=10)
    assert r.status_code == 405 and r.json()["errors"][0]["code"] == "UNSUPPORTED", r.text
    assert mu.pull(srv.url, "busybox", "latest")[0] == hub
    assert _writes(pa) == [], _writes(pa)
    # A restart keeps team/app local.
    srv.restart()
    assert mu.pull(srv.url, "team/app", "1.0")[0] == old
    assert new != old


def test_mirror_push_needs_push_permission(upstream, auth_factory, tmp_path):  # noqa: F811
    pa, da = upstream()
    hub, _ = mu.push_image(da.url, "library/busybox", "latest", [b"hub" * 100], label="hub")
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "ttl": "1s", "push": "allow"})
    srv = auth_factory(extra_args=["--config", cfg])
    srv.add_project("docker.io", public=True)
    reader = srv.add_user("reader")
    dev = srv.add_user("dev")
    srv.set_member("docker.io", "reader", "guest")
    srv.set_member("docker.io", "dev", "developer")

    # Anonymous and pull-only callers may pull through the mirror, not push.
    for cred in (None, reader):
        resps, _ = srv.push("busybox", "mine", cred)
        assert resps[-1].status_code in (401, 403), (cred, resps[-1].status_code)
    # A refused push does not make the repository local: it is still mirrored.
    new, _ = mu.push_image(da.url, "library/busybox", "latest", [b"hub2" * 100], label="hub2")
    time.sleep(1.2)
    assert mu.pull(srv.url, "busybox", "latest")[0] == new
    # A developer of the project pushes; reading back works as for any repository.
    resps, dig = srv.push("team/own", "1.0", dev)
    assert [r.status_code for r in resps] == [201] * len(resps), [r.text for r in resps]
    r = srv.req("GET", "/v2/team/own/manifests/1.0", reader, headers={"Accept": mu.ACCEPT})
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == dig
    # Deleting needs delete permission too.
    r = srv.req("DELETE", "/v2/team/own/manifests/" + dig, reader)
    assert r.status_code in (401, 403), r.status_code
    assert _writes(pa) == [], _writes(pa)


def test_mirror_push_from_podman(upstream, berth_factory, podman, tmp_path):  # noqa: F811
    pa, _ = upstream()
    cfg = mu.mirror_config(tmp_path, proxy={"remoteurl": pa.url, "push": "allow"})
    srv = berth_factory(extra_args=["--config", cfg])
    layout = u.small_image()
    with open(os.path.join(layout, "index.json")) as f:
        desc = [m for m in json.load(f)["manifests"]
                if m.get("annotations", {}).get(u.REF_NAME) == "small"][0]
    with open(os.path.join(layout, "blobs", "sha256", desc["digest"].split(":", 1)[1])) as f:
        config = json.load(f)["config"]["digest"].split(":", 1)[1]
    ref = "%s/team/podman:1" % srv.host
    podman("pull", "oci:%s:small" % layout)
    podman("tag", config, ref)
    df = str(tmp_path / "podman-digest")
    podman("push", "--tls-verify=false", "--digestfile", df, ref)
    pushed = _pushed_digest(df)
    assert mu.pull(srv.url, "team/podman", "1")[0] == pushed
    out = podman("pull", "--tls-verify=false", ref)
    assert out.returncode == 0
    assert _writes(pa) == [], _writes(pa)
