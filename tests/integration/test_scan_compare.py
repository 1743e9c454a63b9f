"""`berth compare` and `berth recommendations` on images built offline.

The images are OCI layouts written here from scanutil's Debian root
filesystems (the dpkg status of real Debian 12 packages at versions on both
sides of the advisory fixtures' fixes); the database is imported from those
fixtures. The expected package changes are computed from the package tables
this test writes into the images; the expected vulnerability changes and
counts from `berth scan`'s JSON of each image (test_scan.py checks those
findings against dpkg, python3-packaging and npm's semver), with the set
differences and rankings done here in Python.
"""
import io
import json
import os
import subprocess
import tarfile

import pytest

import scanutil
from sbomutil import BERTH_BIN, oci_layout
from scanutil import scan_json

SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN"]

# The newer image against the older: one package dropped, one added, openssl
# and glibc binaries upgraded (fixing some advisories), zlib1g downgraded to
# the Debian 11 build (bringing one back).
NEW_DEB = dict(scanutil.DEB)
del NEW_DEB["libc-l10n"]
NEW_DEB["curl"] = ("curl", "7.88.1-10+deb12u5")
NEW_DEB["libssl3"] = ("openssl", "3.0.13-1~deb12u1")
NEW_DEB["libc6"] = ("glibc", "2.36-9+deb12u10")


def deb_version(name, ver):
    """The Version: field scanutil.dpkg_status writes for a binary package."""
    return ver + "+b9" if len(name) % 2 else ver


def tar_dir(root):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in sorted(os.listdir(root)):
            t.add(os.path.join(root, m), arcname=m)
    return bio.getvalue()


def run(*args, env=None, check=True):
    r = subprocess.run([BERTH_BIN] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=300, env=env)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    db = scanutil.import_db(str(d / "db.sqlite"))
    old = tar_dir(scanutil.debian_rootfs(str(d / "old")))
    new = tar_dir(scanutil.debian_rootfs(str(d / "new"), pkgs=NEW_DEB))
    oci_layout(str(d / "old-img"), [old])
    oci_layout(str(d / "new-img"), [new])
    return {"dir": d, "db": db, "old": "oci:%s:latest" % (d / "old-img"),
            "new": "oci:%s:latest" % (d / "new-img"),
            "cache": str(d / "catalog.db")}


def pkg_key(v):
    """(type, name) as compare keys packages: Maven by group:artifact (from the purl)."""
    if v["type"] == "maven":
        group, rest = v["purl"][len("pkg:maven/"):].split("/", 1)
        return ("maven", "%s:%s" % (group, rest.split("@")[0]))
    return (v["type"], v["package"])


def vuln_keys(doc):
    return {(pkg_key(v), v["id"]) for res in doc["results"] for v in res["vulnerabilities"]}


def test_compare_lists_package_and_vulnerability_changes(env):
    r = run("compare", "--db", env["db"], "--cache", env["cache"], "--format", "json",
            env["new"], "--to", env["old"])
    doc = json.loads(r.stdout)
    pk = doc["packages"]
    added = {(p["type"], p["name"]): p["to"] for p in pk["added"]}
    removed = {(p["type"], p["name"]): p["from"] for p in pk["removed"]}
    changed = {(p["type"], p["name"]): (p["from"], p["to"]) for p in pk["changed"]}
    exp_added = {("deb", n): deb_version(n, NEW_DEB[n][1]) for n in NEW_DEB
                 if n not in scanutil.DEB}
    exp_removed = {("deb", n): deb_version(n, scanutil.DEB[n][1]) for n in scanutil.DEB
                   if n not in NEW_DEB}
    exp_changed = {("deb", n): (deb_version(n, scanutil.DEB[n][1]),
                                deb_version(n, NEW_DEB[n][1]))
                   for n in NEW_DEB if n in scanutil.DEB and NEW_DEB[n] != scanutil.DEB[n]}
    assert added == exp_added
    assert removed == exp_removed
    assert changed == exp_changed
    assert exp_changed and exp_added and exp_removed
    # Everything else is unchanged: the other Debian packages and every language
    # package (one entry per name, whatever its instances).
    same_deb = [n for n in NEW_DEB if scanutil.DEB.get(n) == NEW_DEB[n]]
    lang = {n for _, n, _ in scanutil.PYPI} | {n for _, n, _ in scanutil.NPM} | {
        n for n, _ in scanutil.OTHERS_EXPECTED}
    assert pk["unchanged"] == len(same_deb) + len(lang)

    old = vuln_keys(scan_json("--db", env["db"], "--cache", env["cache"], env["old"]))
    new = vuln_keys(scan_json("--db", env["db"], "--cache", env["cache"], env["new"]))
    vu = doc["vulnerabilities"]
    introduced = {((v["type"], v["package"]), v["id"]) for v in vu["introduced"]}
    fixed = {((v["type"], v["package"]), v["id"]) for v in vu["fixed"]}
    assert introduced == new - old
    assert fixed == old - new
    assert fixed, "the upgrades of libssl3 and libc6 fix advisories of the fixtures"
    # The fixed version of a fixed finding is above the baseline's installed version.
    for v in vu["fixed"]:
        ok = subprocess.run(["dpkg", "--compare-versions", v["installed_version"], "lt",
                             v["fixed_version"]]).returncode == 0 if v["fixed_version"] else True
        assert v["type"] != "deb" or ok, v


def test_compare_table_and_same_image(env):
    r = run("compare", "--db", env["db"], "--cache", env["cache"], env["new"], "--to", env["old"])
    assert "Added packages (1)" in r.stdout and "curl" in r.stdout
    assert "Removed packages (1)" in r.stdout and "libc-l10n" in r.stdout
    r = run("compare", "--db", env["db"], "--cache", env["cache"], "--format", "json",
            env["old"], "--to", env["old"])
    doc = json.loads(r.stdout)
    assert not any(doc["packages"][k] for k in ("added", "removed", "changed"))
    assert not doc["vulnerabilities"]["introduced"] and not doc["vulnerabilities"]["fixed"]


def test_compare_usage_errors(env, tmp_path):
    r = run("compare", "--db", env["db"], env["new"], check=False)
    assert r.returncode == 2 and "--to" in r.stderr
    r = run("compare", "--db", env["db"], env["new"], "--to", "oci:%s" % (tmp_path / "none"),
            check=False)
    assert r.returncode == 1 and r.stderr.startswith("berth compare:")


# ---- recommendations ----

# Tags of the base repository: (tag, packages of its dpkg status).
TAGS = {
    "12.1": {n: scanutil.DEB[n] for n in ("libssl3", "libc6", "bash", "zlib1g")},
    "12.2": {"libssl3": ("openssl", "3.0.11-1~deb12u2"), "libc6": ("glibc", "2.36-9+deb12u3"),
             "bash": scanutil.DEB["bash"], "zlib1g": ("zlib", "1:1.2.13.dfsg-1")},
    "12.5": {"libssl3": ("openssl", "3.0.13-1~deb12u1"), "libc6": ("glibc", "2.36-9+deb12u10"),
             "bash": scanutil.DEB["bash"], "zlib1g": ("zlib", "1:1.2.13.dfsg-1")},
    "12.0": {n: scanutil.DEB[n] for n in ("libssl3", "libc6", "libc-l10n", "bash", "zlib1g")},
}


def counts(doc):
    c = dict.fromkeys(SEVERITIES, 0)
    for res in doc["results"]:
        for v in res["vulnerabilities"]:
            c[v["severity"]] += 1
    return c


def rank(item):
    tag, c = item
    return tuple(c[s] for s in SEVERITIES) + (sum(c.values()), tag)


@pytest.fixture(scope="module")
def registry_images(env, tmp_path_factory):
    """The base tags pushed to a berth serve, and the app layer's tar."""
    from conftest import BerthServer
    d = tmp_path_factory.mktemp("recs")
    os.makedirs(str(d / "data"))
    srv = BerthServer(str(d / "data"), None).start()
    layers = {}
    for tag, pkgs in TAGS.items():
        root = scanutil.debian_rootfs(str(d / tag), pkgs=pkgs, languages=False)
        layers[tag] = tar_dir(root)
        oci_layout(str(d / ("base-" + tag)), [layers[tag]])
        run("copy", "oci:%s:latest" % (d / ("base-" + tag)),
            "docker://%s/library/debian:%s" % (srv.host, tag))
    app = scanutil.debian_rootfs(str(d / "app"))
    for sub in ("etc", "var"):  # the OS comes from the base layer
        subprocess.run(["rm", "-rf", os.path.join(app, sub)], check=True)
    yield {"srv": srv, "dir": d, "layers": layers, "app": tar_dir(app)}
    srv.stop()


def expected_ranking(env, srv):
    out = {}
    for tag in TAGS:
        out[tag] = counts(scan_json("--db", env["db"], "--cache", env["cache"],
                                    "docker://%s/library/debian:%s" % (srv.host, tag)))
    return [t for t, _ in sorted(out.items(), key=rank)], out


def check_recs(doc, env, srv, current):
    order, c = expected_ranking(env, srv)
    assert [t["tag"] for t in doc["tags"]] == order
    for t in doc["tags"]:
        assert t["vulnerabilities"] == c[t["tag"]], t
        assert t["current"] == (t["tag"] == current), t
    assert doc["repository"] == "%s/library/debian" % srv.host
    # The tags differ, so the order says something.
    assert len({tuple(v.values()) for v in c.values()}) >= 3, c


def test_recommendations_from_the_base_annotation(env, registry_images):
    ri, srv = registry_images, registry_images["srv"]
    img = ri["dir"] / "app-annotated"
    md, _, _ = oci_layout(str(img), [ri["layers"]["12.1"], ri["app"]])
    # The annotations berth build writes (src/lib/build/image.c), added to the manifest.
    blob = img / "blobs" / "sha256" / md[7:]
    m = json.loads(blob.read_bytes())
    m["annotations"] = {"org.opencontainers.image.base.name":
                        "docker://%s/library/debian:12.1" % srv.host,
                        "org.opencontainers.image.base.digest": "sha256:" + "0" * 64}
    raw = json.dumps(m).encode()
    import hashlib
    dg = hashlib.sha256(raw).hexdigest()
    (img / "blobs" / "sha256" / dg).write_bytes(raw)
    idx = json.loads((img / "index.json").read_text())
    idx["manifests"][0].update(digest="sha256:" + dg, size=len(raw))
    (img / "index.json").write_text(json.dumps(idx))
    r = run("recommendations", "--db", env["db"], "--cache", env["cache"], "--format", "json",
            "oci:%s:latest" % img)
    doc = json.loads(r.stdout)
    assert doc["found_by"] == "annotation"
    check_recs(doc, env, srv, "12.1")
    t = run("recommendations", "--db", env["db"], "--cache", env["cache"], "oci:%s:latest" % img)
    assert "12.1" in t.stdout and "(current base)" in t.stdout


def test_recommendations_by_layer_prefix(env, registry_images):
    ri, srv = registry_images, registry_images["srv"]
    img = ri["dir"] / "app-plain"
    oci_layout(str(img), [ri["layers"]["12.2"], ri["app"]])
    r = run("recommendations", "--db", env["db"], "--cache", env["cache"], "--format", "json",
            "--base-repository", "%s/library/debian" % srv.host, "oci:%s:latest" % img)
    doc = json.loads(r.stdout)
    assert doc["found_by"] == "layers"
    check_recs(doc, env, srv, "12.2")
    # Without the annotation and without --base-repository there is nothing to go on.
    r = run("recommendations", "--db", env["db"], "--cache", env["cache"],
            "oci:%s:latest" % img, check=False)
    assert r.returncode == 1 and "base" in r.stderr
    # A repository none of whose tags the image starts with.
    run("copy", "oci:%s:latest" % img, "docker://%s/other/app:1" % srv.host)
    r = run("recommendations", "--db", env["db"], "--cache", env["cache"],
            "--base-repository", "%s/library/busybox" % srv.host, "oci:%s:latest" % img,
            check=False)
    assert r.returncode == 1, r.stdout
