"""Fixtures of the scanner tests (test_scan*.py): root filesystems written
here with the package databases and lock files of real packages at versions
around the fixed versions of the advisory fixtures
(tests/fixtures/advisories/), and the database imported from those fixtures.
"""
import io
import json
import os
import subprocess
import zipfile

from sbomutil import BERTH_BIN, SOURCE_DIR

FIX = os.path.join(SOURCE_DIR, "tests", "fixtures", "advisories")

# Debian 12: binary package -> (source, source version). Several binaries of
# one source at different versions put versions on both sides of each fix.
DEB = {
    "libssl3": ("openssl", "3.0.9-1"),
    "openssl": ("openssl", "3.0.11-1~deb12u1"),
    "libssl-dev": ("openssl", "3.0.11-1~deb12u2"),
    "libssl-doc": ("openssl", "3.0.11-1~deb12u2+b1"),
    "openssl-provider-legacy": ("openssl", "3.0.13-1~deb12u1"),
    "libc6": ("glibc", "2.36-9"),
    "libc-bin": ("glibc", "2.36-9+deb12u2"),
    "libc-dev-bin": ("glibc", "2.36-9+deb12u3"),
    "locales": ("glibc", "2.36-9+deb12u10"),
    "libc-l10n": ("glibc", "2.35-1"),
    "zlib1g": ("zlib", "1:1.2.11.dfsg-2+deb11u1"),
    "zlib1g-dev": ("zlib", "1:1.2.13.dfsg-1"),
    "bash": ("bash", "5.2.15-2+b2"),
}

# (site-packages directory, distribution, version)
PYPI = [
    ("usr/lib/python3/dist-packages", "requests", "2.30.0"),
    ("usr/local/lib/python3.11/site-packages", "requests", "2.31.0"),
    ("opt/old/lib/python3.11/site-packages", "requests", "2.2.1"),
    ("usr/lib/python3/dist-packages", "urllib3", "1.26.16"),
    ("usr/local/lib/python3.11/site-packages", "urllib3", "2.0.6"),
    ("opt/old/lib/python3.11/site-packages", "urllib3", "2.0.0"),
]

# (node_modules directory, package, version)
NPM = [
    ("srv/a/node_modules", "lodash", "4.17.20"),
    ("srv/b/node_modules", "lodash", "4.17.21"),
    ("srv/a/node_modules", "minimist", "1.2.5"),
    ("srv/b/node_modules", "minimist", "1.2.6"),
    ("srv/c/node_modules", "minimist", "0.2.3"),
    ("srv/c/node_modules", "lodash", "3.10.1"),
]

# Ecosystems without a peer in this test: (path, bytes) and what must be found.
CARGO = '''version = 3

[[package]]
name = "smallvec"
version = "%s"
source = "registry+https://github.com/rust-lang/crates.io-index"
'''
GEMFILE = '''GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (%s)

PLATFORMS
  ruby

DEPENDENCIES
  nokogiri
'''


def composer(v):
    return json.dumps({"packages": [{"name": "guzzlehttp/guzzle", "version": v}],
                       "packages-dev": []})


def deps_json(v):
    key = "Newtonsoft.Json/" + v
    return json.dumps({"runtimeTarget": {"name": ".NETCoreApp,Version=v6.0"},
                       "targets": {".NETCoreApp,Version=v6.0": {key: {}}},
                       "libraries": {key: {"type": "package", "serviceable": True}}})


def jar(group, artifact, version):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
        z.writestr("META-INF/maven/%s/%s/pom.properties" % (group, artifact),
                   "groupId=%s\nartifactId=%s\nversion=%s\n" % (group, artifact, version))
    return bio.getvalue()


OTHERS = [
    ("app/rust1/Cargo.lock", CARGO % "1.6.0"),
    ("app/rust2/Cargo.lock", CARGO % "1.6.1"),
    ("app/rust3/Cargo.lock", CARGO % "0.6.2"),
    ("app/ruby1/Gemfile.lock", GEMFILE % "1.13.3"),
    ("app/ruby2/Gemfile.lock", GEMFILE % "1.13.4"),
    ("app/php1/composer.lock", composer("7.4.4")),
    ("app/php2/composer.lock", composer("7.4.5")),
    ("app/php3/composer.lock", composer("6.5.7")),
    ("app/net1/app.deps.json", deps_json("12.0.3")),
    ("app/net2/app.deps.json", deps_json("13.0.1")),
    ("app/go1/go.mod", "module example.com/a\n\ngo 1.21\n\nrequire golang.org/x/net v0.16.0\n"),
    ("app/go2/go.mod", "module example.com/b\n\ngo 1.21\n\nrequire golang.org/x/net v0.17.0\n"),
    ("app/java/log4j-core-2.14.1.jar", jar("org.apache.logging.log4j", "log4j-core", "2.14.1")),
    ("app/java/log4j-core-2.12.2.jar", jar("org.apache.logging.log4j", "log4j-core", "2.12.2")),
    ("app/java/log4j-core-2.0-beta8.jar",
     jar("org.apache.logging.log4j", "log4j-core", "2.0-beta8")),
]

# The findings the advisories' ranges give for OTHERS (no peer here: read off
# the OSV records' events by hand).
OTHERS_EXPECTED = {
    ("smallvec", "1.6.0"): {"RUSTSEC-2021-0003": "1.6.1"},
    ("smallvec", "1.6.1"): {},
    ("smallvec", "0.6.2"): {},  # before "introduced": 0.6.3
    ("nokogiri", "1.13.3"): {"GHSA-crjr-9rc5-ghw8": "1.13.4"},
    ("nokogiri", "1.13.4"): {},
    ("guzzlehttp/guzzle", "7.4.4"): {"GHSA-25mq-v84q-4j7r": "7.4.5"},
    ("guzzlehttp/guzzle", "7.4.5"): {},
    ("guzzlehttp/guzzle", "6.5.7"): {"GHSA-25mq-v84q-4j7r": "6.5.8"},
    ("Newtonsoft.Json", "12.0.3"): {"GHSA-5crp-9r3c-p9vr": "13.0.1"},
    ("Newtonsoft.Json", "13.0.1"): {},
    ("golang.org/x/net", "v0.16.0"): {"GO-2023-2102": "v0.17.0"},
    ("golang.org/x/net", "v0.17.0"): {},
    ("log4j-core", "2.14.1"): {"GHSA-jfh8-c2jp-5v3q": "2.15.0"},
    ("log4j-core", "2.12.2"): {},
    ("log4j-core", "2.0-beta8"): {},  # before "introduced": 2.0-beta9
}


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def os_release(id_, version_id, name):
    return 'PRETTY_NAME="%s"\nNAME="%s"\nID=%s\nVERSION_ID="%s"\n' % (name, name, id_, version_id)


def dpkg_status(pkgs):
    out = []
    for name, (src, ver) in sorted(pkgs.items()):
        # Half of them say the source version in Source:, half only by Version:.
        if len(name) % 2:
            stanza = "Package: %s\nSource: %s (%s)\nVersion: %s+b9\n" % (name, src, ver, ver)
        else:
            stanza = "Package: %s\nSource: %s\nVersion: %s\n" % (name, src, ver)
        out.append(stanza + "Status: install ok installed\nArchitecture: amd64\n"
                   "Maintainer: x <x@example.org>\nDescription: test\n")
    return "\n".join(out)


def debian_rootfs(root, release="12", debian_version="12.2", pkgs=DEB, languages=True):
    write(root, "etc/os-release",
          os_release("debian", release, "Debian GNU/Linux %s" % release))
    write(root, "etc/debian_version", debian_version + "\n")
    write(root, "var/lib/dpkg/status", dpkg_status(pkgs))
    if not languages:
        return root
    for d, name, ver in PYPI:
        write(root, "%s/%s-%s.dist-info/METADATA" % (d, name, ver),
              "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, ver))
    for d, name, ver in NPM:
        write(root, "%s/%s/package.json" % (d, name), json.dumps({"name": name, "version": ver}))
    for rel, data in OTHERS:
        write(root, rel, data)
    return root


APK = [
    # (package, origin, version)
    ("libssl3", "openssl", "3.1.3-r0"),
    ("libcrypto3", "openssl", "3.1.4-r0"),
    ("openssl", "openssl", "3.1.4-r1"),
    ("busybox", "busybox", "1.36.1-r0"),
    ("busybox-binsh", "busybox", "1.36.1-r2"),
]
# Alpine's apk order has no implementation here: the expected findings are
# read off the secdb fixture and apk's documented rule (-rN compared last).
APK_EXPECTED = {
    "libssl3": {"CVE-2023-5363": "3.1.4-r0", "CVE-2023-5678": "3.1.4-r1"},
    "libcrypto3": {"CVE-2023-5678": "3.1.4-r1"},
    "openssl": {},
    "busybox": {"CVE-2023-42363": "1.36.1-r1"},
    "busybox-binsh": {},
}


def alpine_rootfs(root):
    write(root, "etc/os-release", os_release("alpine", "3.18.4", "Alpine Linux v3.18"))
    write(root, "etc/alpine-release", "3.18.4\n")
    write(root, "lib/apk/db/installed", "".join(
        "C:Q1abc=\nP:%s\nV:%s\nA:x86_64\nS:1\nI:1\nT:test\nL:MIT\no:%s\n\n" % (p, v, o)
        for p, o, v in APK))
    return root


def import_db(path):
    r = subprocess.run([BERTH_BIN, "db", "import", "--db", path, os.path.join(FIX, "osv"),
                        os.path.join(FIX, "debian-tracker.json"),
                        os.path.join(FIX, "alpine-secdb-v3.18-main.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return path


def scan(*args, check=True, cwd=None):
    r = subprocess.run([BERTH_BIN, "scan"] + [str(a) for a in args], capture_output=True,
                       text=True, timeout=300, cwd=cwd)
    if check:
        assert r.returncode == 0, (args, r.returncode, r.stderr)
    return r


def scan_json(*args, **kw):
    r = scan("--format", "json", *args, **kw)
    return json.loads(r.stdout)


def findings(doc, suppressed=False):
    """{(package, installed, id): fixed} of a JSON report."""
    out = {}
    items = doc["suppressed"] if suppressed else [
        v for res in doc["results"] for v in res["vulnerabilities"]]
    for v in items:
        out[(v["package"], v["installed_version"], v["id"])] = v["fixed_version"]
    return out
