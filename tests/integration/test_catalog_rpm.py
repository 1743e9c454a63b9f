"""RPM packages against rpm itself: packages built here with rpmbuild
(Debian's rpm 4.18), installed with rpm into a fresh root (rpmdb.sqlite),
then catalogued from rootfs: and compared with `rpm -qa` and `rpm -ql` on
the same database: names, epochs, versions, architectures, source RPMs and
owned files."""
import os
import shutil
import subprocess

import pytest

from sbomutil import berth_json

SPEC = """Name: %(name)s
Version: %(version)s
Release: %(release)s
%(epoch)s
Summary: test package
License: %(license)s
BuildArch: noarch
%%description
test
%%install
mkdir -p %%{buildroot}/usr/share/%(name)s %%{buildroot}/etc
echo %(name)s > %%{buildroot}/usr/share/%(name)s/data.txt
echo conf > %%{buildroot}/etc/%(name)s.conf
%%files
/usr/share/%(name)s/data.txt
%%config /etc/%(name)s.conf
"""

PACKAGES = [
    dict(name="berth-alpha", version="1.2.3", release="4.el9", epoch="", license="MIT"),
    dict(name="berth-beta", version="0.9", release="1", epoch="Epoch: 3", license="GPLv2+"),
]


def need(tool):
    if not shutil.which(tool):
        pytest.fail("%s is missing: apt-get install rpm" % tool)


def build_root(tmp_path):
    need("rpmbuild")
    need("rpm")
    top, root = tmp_path / "top", tmp_path / "root"
    root.mkdir()
    rpms = []
    for p in PACKAGES:
        spec = tmp_path / ("%s.spec" % p["name"])
        spec.write_text(SPEC % p)
        subprocess.run(["rpmbuild", "-bb", "--define", "_topdir %s" % top, str(spec)],
                       check=True, capture_output=True)
    for dirpath, _, files in os.walk(top / "RPMS"):
        rpms += [os.path.join(dirpath, f) for f in files if f.endswith(".rpm")]
    assert len(rpms) == 2
    subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "--initdb"], check=True)
    subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts",
                    "-i"] + rpms, check=True, capture_output=True)
    (root / "etc" / "os-release").write_text('ID="rocky"\nVERSION_ID="9.3"\n')
    return root


def rpm_q(root, *args):
    r = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm"] + list(args),
                       check=True, capture_output=True, text=True)
    return r.stdout


def test_rpmdb_sqlite_matches_rpm(tmp_path):
    root = build_root(tmp_path)
    assert (root / "var" / "lib" / "rpm" / "rpmdb.sqlite").exists()
    want = {}
    for line in rpm_q(root, "-qa", "--qf", "%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\n").splitlines():
        name, epoch, ver, arch, src = line.split()
        want[name] = (int(epoch), ver, arch, src)
    cat = berth_json("rootfs:%s" % root, tmp_path)
    got = {p["name"]: p for p in cat["packages"] if p["type"] == "rpm"}
    assert set(got) == set(want) == {"berth-alpha", "berth-beta"}
    for name, (epoch, ver, arch, src) in want.items():
        p = got[name]
        assert (p.get("epoch", 0), p["version"], p["arch"]) == (epoch, ver, arch)
        assert "%s-%s.src.rpm" % (p["sourceName"], p["sourceVersion"]) == src
        files = sorted(rpm_q(root, "-ql", name).split())
        assert sorted(p["files"]) == files
        assert p["path"] == "/var/lib/rpm/rpmdb.sqlite"
    assert got["berth-beta"]["purl"] == "pkg:rpm/rocky/berth-beta@0.9-1?arch=noarch&distro=rocky-9.3&epoch=3"
    assert got["berth-beta"]["license"] == "GPL-2.0-or-later"
    assert cat["warnings"] == []
