#!/usr/bin/env python3
"""The OCI layout of make-brief-bases.sh: WORK DEBIAN_TAR OUT.

Layers: directories of WORK as tars (entries sorted, owners numeric, hard
links kept, no user or group names), and the Debian minbase tar without its
docs, man pages, locales, device nodes and remote apt source. Every layer is
checked to name each path once (container storage refuses duplicates).
Configs name what the real images they stand in for set (Env, Cmd,
WorkingDir, User).
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

WORK, DEB_TAR, OUT = sys.argv[1:4]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CREATED = "2024-01-01T00:00:00Z"
IMAGES = {
    "node": {"layers": ["mini", "node"], "Env": ["PATH=" + PATH, "NODE_VERSION=20"],
             "Cmd": ["node"]},
    "python": {"layers": ["debian", "python"], "Env": ["PATH=" + PATH, "LANG=C.UTF-8"],
               "Cmd": ["python3"]},
    "golang": {"layers": ["mini", "golang"], "Env": ["PATH=/go/bin:" + PATH, "GOPATH=/go"],
               "WorkingDir": "/go"},
    "distroless": {"layers": ["distroless"], "Env": ["PATH=" + PATH], "User": "65532",
                   "WorkingDir": "/home/nonroot"},
}
DEB_DROP = ("./usr/share/doc/", "./usr/share/man/", "./usr/share/info/", "./usr/share/locale/",
            "./dev/")
DEB_DROP_FILES = ("./etc/apt/sources.list.d/debian.sources", "./etc/apt/sources.list")


def put(data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(OUT, "blobs", "sha256", d)
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
    return "sha256:" + d


def dir_layer(root):
    """An uncompressed tar of directory `root`, depth first, names sorted."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        def walk(path, arc):
            for name in sorted(os.listdir(path)):
                p, a = os.path.join(path, name), arc + "/" + name
                ti = tf.gettarinfo(p, a)
                ti.uname = ti.gname = ""
                if ti.isreg():
                    with open(p, "rb") as f:
                        tf.addfile(ti, f)
                else:
                    tf.addfile(ti)
                if ti.isdir():
                    walk(p, a)
        walk(root, ".")
    return bio.getvalue()


def debian_layer():
    bio = io.BytesIO()
    with tarfile.open(DEB_TAR) as src, \
            tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for m in src:
            name = m.name if m.name.startswith("./") else "./" + m.name
            if name.startswith(DEB_DROP) or name.rstrip("/") in DEB_DROP_FILES:
                continue
            tf.addfile(m, src.extractfile(m) if m.isreg() else None)
    return bio.getvalue()


def check_unique(raw, what):
    seen = set()
    with tarfile.open(fileobj=io.BytesIO(raw)) as t:
        for m in t:
            n = m.name.lstrip("./").rstrip("/") or "."
            assert n not in seen, "%s: %s twice" % (what, n)
            seen.add(n)


def gz(raw):
    return gzip.compress(raw, compresslevel=1, mtime=0)


def main():
    os.makedirs(os.path.join(OUT, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(OUT, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    layers = {}
    for tag, spec in IMAGES.items():
        for name in spec["layers"]:
            if name in layers:
                continue
            raw = debian_layer() if name == "debian" else dir_layer(os.path.join(WORK, name))
            check_unique(raw, name)
            blob = gz(raw)
            layers[name] = ({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                             "digest": put(blob), "size": len(blob)},
                            "sha256:" + hashlib.sha256(raw).hexdigest())
    manifests = []
    for tag, spec in IMAGES.items():
        descs = [layers[n][0] for n in spec["layers"]]
        diffs = [layers[n][1] for n in spec["layers"]]
        cfg = {k: v for k, v in spec.items() if k in ("Env", "Cmd", "WorkingDir", "User")}
        config = {"created": CREATED, "architecture": "amd64", "os": "linux", "config": cfg,
                  "rootfs": {"type": "layers", "diff_ids": diffs},
                  "history": [{"created": CREATED, "created_by": "berth brief stand-in: %s %s"
                               % (tag, n)} for n in spec["layers"]]}
        cb = json.dumps(config, sort_keys=True).encode()
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": put(cb), "size": len(cb)},
               "layers": descs}
        mb = json.dumps(man, sort_keys=True).encode()
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": put(mb), "size": len(mb),
                          "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)


main()
