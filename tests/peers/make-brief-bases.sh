#!/bin/sh
# Stand-in base images for the brief's multi-stage Dockerfiles, made from a
# Debian 12 minbase rootfs (make-debian-rootfs.sh) plus Debian packages
# installed into it with apt (the machine's Debian mirror must answer).
#
# Usage: make-brief-bases.sh DEBIAN_TAR OUT_DIR
# OUT_DIR becomes an OCI image layout with the tags
#   node        Debian + nodejs, npm 9 (the npm registry's tarball: Debian's
#               npm package brings 380 packages), and stand-ins for the Alpine
#               busybox commands the Dockerfile runs; npm's cache holds
#               ms 2.1.3 (the app's dependency) and npm is set offline; addgroup/adduser as
#               wrappers of shadow's groupadd/useradd; wget = busybox-static's)
#   python      Debian + python3-venv + python-is-python3 + gunicorn,
#               and a local file: apt repository holding a build-essential
#               placeholder package (the Dockerfile's `apt-get update &&
#               apt-get install build-essential` then runs offline, for real)
#   golang      Debian + golang-go (std sources without tests), GOCACHE warmed
#               with CGO_ENABLED=0 builds of net/http (so the brief's
#               `go build` does not compile the standard library again)
#   distroless  /etc/passwd, /etc/group and /home/nonroot for uid 65532
#               `nonroot`, as gcr.io/distroless/static-debian12:nonroot has
# Every Debian-based image is two layers: the minbase tar as it is (shared)
# and the files apt added (the upper directory of an overlayfs mount, its
# whiteouts turned into OCI .wh. entries).
# Offline configuration baked in: npm audit/fund/update-notifier off,
# pip's version check off (PyPI and npmjs are not reachable from a build).
# Needs root, overlayfs, apt in the chroot, python3, busybox-static.
set -eu
DEB_TAR=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/brief-bases.XXXXXX")
cleanup() {
  for m in "$work"/*/merged; do umount -R "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir -p "$work/lower" "$work/lists" "$work/archives/partial" "$work/npm"
tar -C "$work/lower" --exclude=./dev/* -xf "$DEB_TAR"

# chroot_in NAME SCRIPT: run SCRIPT (sh) in an overlay of the Debian rootfs
# whose upper directory is $work/NAME/upper; apt's lists and downloads are
# bind-mounted from outside so they stay out of the layer.
chroot_in() {
  d=$work/$1
  mkdir -p "$d/upper" "$d/ovl" "$d/merged"
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare -m sh -eu -c '
    d=$1; work=$2; script=$3
    mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$d/upper,workdir=$d/ovl" "$d/merged"
    m=$d/merged
    mount -t proc proc "$m/proc"
    mount --rbind /dev "$m/dev"
    mount --bind "$work/lists" "$m/var/lib/apt/lists"
    mount --bind "$work/archives" "$m/var/cache/apt/archives"
    mount -t tmpfs tmpfs "$m/tmp"
    mkdir "$m/tmp/npm" && mount --bind "$work/npm" "$m/tmp/npm"
    cp /etc/resolv.conf "$m/tmp/resolv.conf"
    mount --bind "$m/tmp/resolv.conf" "$m/etc/resolv.conf"
    chroot "$m" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root DEBIAN_FRONTEND=noninteractive LC_ALL=C sh -eu -c "$script"
  ' chroot_in "$d" "$work" "$2"
}

NPM_VERSION=9.9.4
MS_VERSION=2.1.3
CLEAN='rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log /var/cache/debconf/*-old'
APT='apt-get -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root -q -y --no-install-recommends'
chroot_in update "$APT update"

# ---- node ----
mkdir -p "$work/npm"
(cd "$work/npm" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
# The app's one dependency, in root's npm cache: `npm ci` installs it offline.
npm cache add "ms@$MS_VERSION" --cache "$work/npm/cache" >/dev/null
chroot_in node "$APT install nodejs
$CLEAN
mkdir -p /usr/local/lib/node_modules/npm /usr/local/etc
tar -C /usr/local/lib/node_modules/npm --strip-components=1 --no-same-owner -xzf /tmp/npm/npm-$NPM_VERSION.tgz
ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
printf 'audit=false\nfund=false\nupdate-notifier=false\noffline=true\n' > /usr/local/etc/npmrc
mkdir -p /root/.npm && cp -a /tmp/npm/cache/. /root/.npm/ && chown -R 0:0 /root/.npm
npm --version >/dev/null"
# (not under /bin: in merged-/usr Debian /bin is a symlink the layer must not replace)
mkdir -p "$work/node/upper/usr/local/sbin" "$work/node/upper/usr/local/bin"
cp "$(command -v busybox)" "$work/node/upper/usr/local/bin/busybox"
ln -sf ../bin/busybox "$work/node/upper/usr/local/sbin/wget"
cp "$HERE/brief-alpine-addgroup.sh" "$work/node/upper/usr/local/sbin/addgroup"
cp "$HERE/brief-alpine-adduser.sh" "$work/node/upper/usr/local/sbin/adduser"
chmod 755 "$work/node/upper/usr/local/sbin/addgroup" "$work/node/upper/usr/local/sbin/adduser"

# ---- python ----
# A placeholder build-essential (Depends: nothing) in a local trusted repository.
pkg=$work/pkg/build-essential
mkdir -p "$pkg/DEBIAN" "$pkg/usr/share/doc/build-essential"
cat > "$pkg/DEBIAN/control" <<'CTL'
Package: build-essential
Version: 12.9+berth1
Architecture: all
Maintainer: berth tests <tests@berth.invalid>
Priority: optional
Section: devel
Description: placeholder for build-essential in berth's offline stand-in image
 The brief's Python Dockerfile installs build-essential; its requirements
 need no compiler, so this empty package stands in for it offline.
CTL
echo "placeholder: see the package description" > "$pkg/usr/share/doc/build-essential/README"
mkdir -p "$work/python/upper/var/local/apt-repo" "$work/python/upper/etc/apt/sources.list.d"
deb=build-essential_12.9+berth1_all.deb
repo=$work/python/upper/var/local/apt-repo
dpkg-deb --root-owner-group -Zgzip -b "$pkg" "$repo/$deb" >/dev/null
{
  dpkg-deb -f "$repo/$deb"
  echo "Filename: ./$deb"
  echo "Size: $(stat -c %s "$repo/$deb")"
  echo "SHA256: $(sha256sum "$repo/$deb" | cut -d' ' -f1)"
} > "$repo/Packages"
chroot_in python "$APT install python3-venv python-is-python3 gunicorn
$CLEAN
printf '[global]\ndisable-pip-version-check = true\nno-index = true\n' > /etc/pip.conf
rm -f /etc/apt/sources.list.d/* /etc/apt/sources.list
echo 'deb [trusted=yes] file:/var/local/apt-repo ./' > /etc/apt/sources.list.d/local.list"

# ---- golang ----
chroot_in golang "$APT install golang-go
$CLEAN
goroot=\$(go env GOROOT)
find -L \"\$goroot/src\" -depth \\( -name testdata -o -name '*_test.go' \\) -exec rm -rf {} + 2>/dev/null || true
rm -rf \"\$goroot/test\" \"\$goroot/api\" \"\$goroot/misc\" \"\$goroot/doc\" /usr/share/go-*/test /usr/share/go-*/misc
mkdir -p /tmp/warm && cd /tmp/warm
printf 'module warm\n\ngo 1.19\n' > go.mod
printf 'package main\nimport (\"fmt\"\n\"net/http\"\n\"os\")\nfunc main() { fmt.Println(http.StatusOK, os.Args) }\n' > main.go
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -ldflags='-w -s -extldflags \"-static\"' -o /dev/null .
mkdir -p /go/bin /go/src"

# ---- distroless ----
dl=$work/distroless
mkdir -p "$dl/etc" "$dl/home/nonroot" "$dl/tmp"
cat > "$dl/etc/passwd" <<'PW'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PW
printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' > "$dl/etc/group"
cp "$work/lower/etc/os-release" "$dl/etc/os-release" 2>/dev/null || cp -L "$work/lower/usr/lib/os-release" "$dl/etc/os-release"
chmod 1777 "$dl/tmp"

python3 "$HERE/brief-layout.py" "$work" "$DEB_TAR" "$OUT.part"
rm -rf "$OUT"
mv "$OUT.part" "$OUT"
