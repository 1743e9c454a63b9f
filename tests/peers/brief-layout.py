#!/usr/bin/env python3
"""The OCI layout of make-brief-bases.sh: WORK DEBIAN_TAR OUT.

Layers: the Debian minbase tar as it is, then per image the upper directory
apt wrote (overlayfs whiteouts -> `.wh.NAME`, opaque directories ->
`.wh..wh..opq`; entries sorted, owners numeric, hard links kept). Configs
name what the real images they stand in for set (Env, Cmd, WorkingDir, User).
"""
import gzip
import hashlib
import json
import os
import stat
import sys
import tarfile
import io

WORK, DEB_TAR, OUT = sys.argv[1:4]
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CREATED = "2024-01-01T00:00:00Z"
IMAGES = {
    "node": {"layer": "node", "Env": ["PATH=" + PATH, "NODE_ENV=production"], "Cmd": ["node"]},
    "python": {"layer": "python", "Env": ["PATH=" + PATH, "LANG=C.UTF-8"], "Cmd": ["python3"]},
    "golang": {"layer": "golang", "Env": ["PATH=/go/bin:" + PATH, "GOPATH=/go"],
               "WorkingDir": "/go"},
    "distroless": {"layer": "distroless", "Env": ["PATH=" + PATH], "User": "65532",
                   "WorkingDir": "/home/nonroot", "base": False},
}


def put(data):
    d = hashlib.sha256(data).hexdigest()
    p = os.path.join(OUT, "blobs", "sha256", d)
    if not os.path.exists(p):
        with open(p, "wb") as f:
            f.write(data)
    return "sha256:" + d


def is_whiteout(st):
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def opaque(path):
    try:
        return os.getxattr(path, "trusted.overlay.opaque") == b"y"
    except OSError:
        return False


def layer_of(root):
    """An uncompressed tar of directory `root` with overlayfs whiteouts converted."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        def add(path, arc):
            ti = tf.gettarinfo(path, arc)
            ti.uname = ti.gname = ""
            if ti.isreg() and ti.type != tarfile.LNKTYPE:
                with open(path, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)

        for dirpath, dirs, files in os.walk(root):
            dirs.sort()
            rel = os.path.relpath(dirpath, root)
            arcdir = "." if rel == "." else "./" + rel
            if rel != ".":
                add(dirpath, arcdir)
            if opaque(dirpath):
                ti = tarfile.TarInfo(arcdir + "/.wh..wh..opq")
                tf.addfile(ti)
            for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]):
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                if is_whiteout(st):
                    tf.addfile(tarfile.TarInfo(arcdir + "/.wh." + name))
                else:
                    add(p, arcdir + "/" + name)
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(dirpath, d))]
    return bio.getvalue()


def gz(raw):
    return gzip.compress(raw, compresslevel=1, mtime=0)


def main():
    os.makedirs(os.path.join(OUT, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(OUT, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    deb_raw = open(DEB_TAR, "rb").read()
    deb = (hashlib.sha256(deb_raw).hexdigest(), gz(deb_raw))
    del deb_raw
    deb_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": put(deb[1]), "size": len(deb[1])}
    manifests = []
    for tag, spec in IMAGES.items():
        raw = layer_of(os.path.join(WORK, spec["layer"], "upper") if spec.get("base", True)
                       else os.path.join(WORK, spec["layer"]))
        blob = gz(raw)
        desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": put(blob), "size": len(blob)}
        layers, diffs = [desc], ["sha256:" + hashlib.sha256(raw).hexdigest()]
        if spec.get("base", True):
            layers.insert(0, deb_desc)
            diffs.insert(0, "sha256:" + deb[0])
        cfg = {k: v for k, v in spec.items() if k in ("Env", "Cmd", "WorkingDir", "User")}
        config = {"created": CREATED, "architecture": "amd64", "os": "linux", "config": cfg,
                  "rootfs": {"type": "layers", "diff_ids": diffs},
                  "history": [{"created": CREATED, "created_by": "berth brief stand-in: %s" % tag}
                              for _ in layers]}
        cb = json.dumps(config, sort_keys=True).encode()
        man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": put(cb), "size": len(cb)},
               "layers": layers}
        mb = json.dumps(man, sort_keys=True).encode()
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": put(mb), "size": len(mb),
                          "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)


main()
