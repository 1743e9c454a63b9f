"""RPM packages against rpm itself: packages built here with rpmbuild
(Debian's rpm 4.18), installed with rpm into a fresh root (rpmdb.sqlite),
then catalogued from rootfs: and compared with `rpm -qa` and `rpm -ql` on
the same database: names, epochs, versions, architectures, source RPMs and
owned files."""
import os
import shutil
import subprocess
import sys

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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The packages built and installed once for the BerkeleyDB tests (rpmbuild is slow)."""
    return build_root(tmp_path_factory.mktemp("rpmroot"))


def copy_root(built, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(built, root, symlinks=True)
    return root


def rpm_q(root, *args):
    r = subprocess.run(["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm"] + list(args),
                       check=True, capture_output=True, text=True)
    return r.stdout


def rpm_qa(dbpath, *define):
    r = subprocess.run(["rpm", "--dbpath", str(dbpath)] + list(define) + ["-qa", "--qf",
                       "%{NAME} %{EPOCHNUM} %{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}\n"],
                       capture_output=True, text=True, check=True)
    want = {}
    for line in r.stdout.splitlines():
        name, epoch, ver, arch, src = line.split()
        want[name] = (int(epoch), ver, arch, src)
    return want


def drop_sqlite(db):
    for f in os.listdir(db):
        if f.startswith("rpmdb.sqlite"):
            os.unlink(db / f)


def installed_files(name):
    """The files each package of PACKAGES owns (its spec's %files)."""
    return ["/etc/%s.conf" % name, "/usr/share/%s/data.txt" % name]


def assert_rpms_match(cat, want, path, files=installed_files):
    """berth's rpm packages in the catalog `cat` are rpm's `want` (rpm_qa), with
    files(name) as each one's files, all read from the database at `path`."""
    got = {p["name"]: p for p in cat["packages"] if p["type"] == "rpm"}
    assert set(got) == set(want)
    for name, (epoch, ver, arch, srpm) in want.items():
        p = got[name]
        assert (p.get("epoch", 0), p["version"], p["arch"]) == (epoch, ver, arch)
        assert "%s-%s.src.rpm" % (p["sourceName"], p["sourceVersion"]) == srpm
        assert sorted(p["files"]) == sorted(files(name))
        assert p["path"] == path
    return got


def test_rpmdb_sqlite_matches_rpm(tmp_path):
    root = build_root(tmp_path)
    assert (root / "var" / "lib" / "rpm" / "rpmdb.sqlite").exists()
    want = rpm_qa(root / "var" / "lib" / "rpm")
    assert set(want) == {"berth-alpha", "berth-beta"}
    cat = berth_json("rootfs:%s" % root, tmp_path)
    got = assert_rpms_match(cat, want, "/var/lib/rpm/rpmdb.sqlite",
                            files=lambda name: rpm_q(root, "-ql", name).split())
    assert got["berth-beta"]["purl"] == "pkg:rpm/rocky/berth-beta@0.9-1?arch=noarch&distro=rocky-9.3&epoch=3"
    assert got["berth-beta"]["license"] == "GPL-2.0-or-later"
    assert cat["warnings"] == []


def to_bdb(sqlite_path, dst, pagesize, lorder):
    """rpm's BerkeleyDB hash "Packages" holding the headers of an rpmdb.sqlite,
    written by BerkeleyDB's own db5.3_load (Debian db5.3-util): key = the
    instance number in the file's byte order, value = the header blob; instance
    0 holds the next instance number, as rpm kept it."""
    import sqlite3
    import struct
    if not shutil.which("db5.3_load"):
        pytest.fail("db5.3_load is missing: apt-get install db5.3-util")
    rows = sqlite3.connect(str(sqlite_path)).execute("SELECT hnum, blob FROM Packages").fetchall()
    fmt = "<I" if lorder == 1234 else ">I"
    lines = ["VERSION=3", "format=bytevalue", "type=hash", "db_pagesize=%d" % pagesize,
             "db_lorder=%d" % lorder, "HEADER=END",
             " " + struct.pack(fmt, 0).hex(), " " + struct.pack(fmt, max(h for h, _ in rows) + 1).hex()]
    for h, blob in rows:
        lines += [" " + struct.pack(fmt, h).hex(), " " + bytes(blob).hex()]
    lines.append("DATA=END")
    subprocess.run(["db5.3_load", "-f", "/dev/stdin", str(dst)],
                   input=("\n".join(lines) + "\n").encode(), check=True)


@pytest.mark.parametrize("pagesize,lorder", [(512, 1234), (4096, 1234), (1024, 4321)])
def test_rpmdb_berkeleydb_matches_rpm(built, tmp_path, pagesize, lorder):
    # A CentOS 7 style database: the same packages moved from rpmdb.sqlite to
    # a BerkeleyDB hash "Packages" (small pages: headers span overflow chains;
    # 4321: a big-endian file as s390x writes). rpm's read-only BerkeleyDB
    # backend (bdb_ro, no libdb) reads it first, so the fixture is one rpm reads.
    root = copy_root(built, tmp_path)
    db = root / "var" / "lib" / "rpm"
    to_bdb(db / "rpmdb.sqlite", db / "Packages", pagesize, lorder)
    drop_sqlite(db)
    want = rpm_qa(db, "--define", "_db_backend bdb_ro")
    assert set(want) == {"berth-alpha", "berth-beta"}
    cat = berth_json("rootfs:%s" % root, tmp_path)
    assert_rpms_match(cat, want, "/var/lib/rpm/Packages")
    assert cat["warnings"] == []


def test_rpmdb_berkeleydb_damaged_warns_and_the_rest_is_read(built, tmp_path):
    root = copy_root(built, tmp_path)
    db = root / "var" / "lib" / "rpm"
    to_bdb(db / "rpmdb.sqlite", db / "Packages", 512, 1234)
    os.unlink(db / "rpmdb.sqlite")
    data = bytearray((db / "Packages").read_bytes())
    (db / "Packages").write_bytes(bytes(data[:len(data) - 1024]))  # the last pages lost
    cat = berth_json("rootfs:%s" % root, tmp_path)
    assert any("Packages" in w and "BerkeleyDB" in w for w in cat["warnings"]), cat["warnings"]
    (db / "Packages").write_bytes(b"\0" * 4096)  # not a database at all
    cat = berth_json("rootfs:%s" % root, tmp_path)
    assert [p for p in cat["packages"] if p["type"] == "rpm"] == []
    assert any("not a BerkeleyDB hash database" in w for w in cat["warnings"]), cat["warnings"]


# ndb ("Packages.db", openSUSE and SLES). Debian's rpm has no ndb backend
# (`rpm --showrc`: sqlite bdb_ro dummy), so these fixtures' container is
# written by our generator tests/fixtures/rpmndb.py from the format rpm's
# lib/backend/ndb/rpmpkg.c describes; the header blobs inside are the real
# ones Debian's rpm wrote into rpmdb.sqlite, and the expected packages are
# what rpm itself lists from that rpmdb.sqlite.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import rpmndb  # noqa: E402


@pytest.mark.parametrize("dbdir", ["var/lib/rpm", "usr/lib/sysimage/rpm"])
def test_rpmdb_ndb_matches_rpm(built, tmp_path, dbdir):
    root = copy_root(built, tmp_path)
    src = root / "var" / "lib" / "rpm"
    want = rpm_qa(src)
    assert set(want) == {"berth-alpha", "berth-beta"}
    db = root / dbdir
    db.mkdir(parents=True, exist_ok=True)
    # two free slots first, as a database with removed packages has
    (db / "Packages.db").write_bytes(rpmndb.pack(rpmndb.from_sqlite(src / "rpmdb.sqlite"),
                                                 free_slots=(0, 1)))
    drop_sqlite(src)
    cat = berth_json("rootfs:%s" % root, tmp_path)
    got = assert_rpms_match(cat, want, "/%s/Packages.db" % dbdir)
    assert got["berth-beta"]["purl"] == "pkg:rpm/rocky/berth-beta@0.9-1?arch=noarch&distro=rocky-9.3&epoch=3"
    assert cat["warnings"] == []


def test_rpmdb_ndb_damaged_warns_and_the_rest_is_read(built, tmp_path):
    root = copy_root(built, tmp_path)
    db = root / "var" / "lib" / "rpm"
    rows = rpmndb.from_sqlite(db / "rpmdb.sqlite")
    drop_sqlite(db)
    data = bytearray(rpmndb.pack(rows))
    first = 4096 + 16 + 100  # a byte inside the first package's header blob
    data[first] ^= 0xFF
    (db / "Packages.db").write_bytes(bytes(data))
    cat = berth_json("rootfs:%s" % root, tmp_path)
    names = [p["name"] for p in cat["packages"] if p["type"] == "rpm"]
    assert len(names) == 1, names  # the other package is read
    assert any("Packages.db" in w and "package %d: checksum mismatch" % rows[0][0] in w
               for w in cat["warnings"]), cat["warnings"]
    good = rpmndb.pack(rows)
    (db / "Packages.db").write_bytes(good[:len(good) - 64])  # the last blob cut short
    cat = berth_json("rootfs:%s" % root, tmp_path)
    assert len([p for p in cat["packages"] if p["type"] == "rpm"]) == 1
    assert any("blob outside the file" in w for w in cat["warnings"]), cat["warnings"]
    (db / "Packages.db").write_bytes(b"\0" * 4096)  # not a database at all
    cat = berth_json("rootfs:%s" % root, tmp_path)
    assert [p for p in cat["packages"] if p["type"] == "rpm"] == []
    assert any("not an rpm ndb database" in w for w in cat["warnings"]), cat["warnings"]


def test_rpm_one_database_per_directory(built, tmp_path):
    # Several databases side by side (a converted database's leftovers): rpm
    # 4.16+ opens the configured backend's file, else the first of sqlite,
    # ndb, bdb it finds (lib/backend/dbi.c); distros configure the newer
    # format they converted to. berth reads the one rpm would: sqlite, then
    # ndb, then BerkeleyDB. Each file here holds different packages so the
    # one read shows.
    root = copy_root(built, tmp_path)
    db = root / "var" / "lib" / "rpm"
    rows = rpmndb.from_sqlite(db / "rpmdb.sqlite")
    alpha = [r for r in rows if b"berth-alpha" in r[1]]
    assert len(alpha) == 1
    (db / "Packages.db").write_bytes(rpmndb.pack(alpha))
    to_bdb(db / "rpmdb.sqlite", db / "Packages", 1024, 1234)
    # rpm itself, with both sqlite and BerkeleyDB present: sqlite (its default)
    assert set(rpm_qa(db)) == {"berth-alpha", "berth-beta"}
    cat = berth_json("rootfs:%s" % root, tmp_path)
    got = [(p["name"], p["path"]) for p in cat["packages"] if p["type"] == "rpm"]
    assert sorted(got) == [("berth-alpha", "/var/lib/rpm/rpmdb.sqlite"),
                           ("berth-beta", "/var/lib/rpm/rpmdb.sqlite")]
    drop_sqlite(db)  # now ndb (berth-alpha only) over BerkeleyDB (both)
    cat = berth_json("rootfs:%s" % root, tmp_path)
    got = [(p["name"], p["path"]) for p in cat["packages"] if p["type"] == "rpm"]
    assert got == [("berth-alpha", "/var/lib/rpm/Packages.db")]
    os.unlink(db / "Packages.db")
    cat = berth_json("rootfs:%s" % root, tmp_path)
    got = sorted((p["name"], p["path"]) for p in cat["packages"] if p["type"] == "rpm")
    assert got == [("berth-alpha", "/var/lib/rpm/Packages"), ("berth-beta", "/var/lib/rpm/Packages")]
    assert cat["warnings"] == []
