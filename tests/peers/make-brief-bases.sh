#!/bin/sh
# Stand-in base images for the brief's multi-stage Dockerfiles, made offline
# in seconds from files of this machine's Debian packages (no chroot, no apt
# run, no download but npm's cache entry of `ms`):
#
#   node        alpine-like: busybox-static (sh, wget, id, ...), Alpine-syntax
#               addgroup/adduser (brief-alpine-*.sh), /etc/passwd and group;
#               plus the machine's node binary with its shared libraries, its
#               npm (self-contained, as nodesource and npm itself install it),
#               npm set offline with ms 2.1.3 (the app's one dependency) in
#               root's npm cache
#   golang      the same alpine-like layer plus the machine's Go toolchain
#               (Debian's golang-go: compiled standard library) trimmed to
#               the packages the brief's Go app imports (go list -deps)
#   python      the Debian 12 minbase rootfs (make-debian-rootfs.sh; docs,
#               man pages and locales left out, no remote apt source) plus
#               the machine's python3.11 + venv + pip/setuptools wheels +
#               gunicorn, and a local file: apt repository holding a
#               build-essential placeholder (the Dockerfile's apt-get update
#               && apt-get install build-essential runs offline, for real)
#   distroless  /etc/passwd, /etc/group and /home/nonroot for uid 65532
#               `nonroot`, as gcr.io/distroless/static-debian12:nonroot has
#
# Usage: make-brief-bases.sh DEBIAN_TAR GO_APP_DIR OUT_DIR
# OUT_DIR becomes an OCI image layout with the tags node, golang, python,
# distroless (brief-layout.py writes it). Needs: busybox-static, nodejs (with
# npm), python3-venv, gunicorn, golang-go, dpkg-deb, python3.
set -eu
[ -z "${BRIEF_TRACE:-}" ] || { PS4='+ $(date +%T) '; set -x; }
DEB_TAR=$1
GO_APP=$2
OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/brief-bases.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

need() { command -v "$1" >/dev/null 2>&1 || { echo "make-brief-bases: $1 is missing: apt-get install $2" >&2; exit 1; }; }
need busybox busybox-static
need node nodejs
need npm npm
need go golang-go
need gunicorn gunicorn
need dpkg-deb dpkg
[ -x /usr/bin/python3.11 ] || { echo "make-brief-bases: /usr/bin/python3.11 is missing: apt-get install python3-venv" >&2; exit 1; }

# copy_file ROOT PATH...: each path (and what it names through symlinks) into ROOT.
copy_file() {
  root=$1
  shift
  for f in "$@"; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    mkdir -p "$root$(dirname "$f")"
    cp -a "$f" "$root$f"
    if [ -L "$f" ]; then
      t=$(readlink -f "$f")
      [ -e "$root$t" ] || copy_file "$root" "$t"
    fi
  done
}

# copy_libs ROOT SKIP_LIST: the shared libraries of ROOT's ELF files (ldd, on
# the machine's copies), at their real paths (under /usr: merged /usr), that
# the layer below lacks (SKIP_LIST: its `tar -t` listing, or /dev/null).
copy_libs() {
  root=$1
  skip=$2
  find "$root" -type f \( -perm -u+x -o -name '*.so*' \) -print | while read -r f; do
    ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'
  done | sort -u | while read -r lib; do
    real=$(readlink -f "$(dirname "$lib")")/$(basename "$lib") # the soname link kept
    [ -e "$root$real" ] && continue
    grep -qxF ".$real" "$skip" && continue
    copy_file "$root" "$real"
  done
}

# ---- the alpine-like layer (node and golang) ----
mini=$work/mini
mkdir -p "$mini/bin" "$mini/sbin" "$mini/usr/bin" "$mini/usr/sbin" "$mini/usr/lib" \
  "$mini/usr/lib64" "$mini/etc" "$mini/root" "$mini/home" "$mini/tmp" "$mini/var/tmp"
# /lib and /lib64 as Debian has them (merged /usr): the libraries copied from
# this machine keep their paths and links
ln -s usr/lib "$mini/lib"
ln -s usr/lib64 "$mini/lib64"
cp "$(command -v busybox)" "$mini/bin/busybox"
for a in $(busybox --list); do
  case $a in busybox | dpkg | dpkg-deb | rpm | rpm2cpio | linuxrc | init) continue ;; esac
  ln -s busybox "$mini/bin/$a"
done
ln -s ../../bin/busybox "$mini/usr/bin/env"
cp "$HERE/brief-alpine-addgroup.sh" "$mini/usr/sbin/addgroup"
cp "$HERE/brief-alpine-adduser.sh" "$mini/usr/sbin/adduser"
chmod 755 "$mini/usr/sbin/addgroup" "$mini/usr/sbin/adduser"
cat > "$mini/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/sbin/nologin
PW
printf 'root:x:0:root\nnogroup:x:65533:\nnobody:x:65534:\n' > "$mini/etc/group"
printf 'NAME="berth brief stand-in (alpine-like)"\nID=alpine\nVERSION_ID=3.19.0\n' > "$mini/etc/os-release"
chmod 700 "$mini/root"
chmod 1777 "$mini/tmp" "$mini/var/tmp"

# ---- node ----
node=$work/node
nodebin=$(readlink -f "$(command -v node)")
npmcli=$(readlink -f "$(command -v npm)")
npmdir=$(dirname "$(dirname "$npmcli")")
[ -d "$npmdir/node_modules" ] || {
  echo "make-brief-bases: $npmdir is not a self-contained npm (Debian's npm package): install npm with nodesource's nodejs or npm install -g npm" >&2
  exit 1
}
mkdir -p "$node/usr/bin" "$node/usr/lib/node_modules" "$node/usr/etc" "$node/root"
cp "$nodebin" "$node/usr/bin/node"
cp -a "$npmdir" "$node/usr/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$node/usr/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$node/usr/bin/npx"
copy_libs "$node" /dev/null
# npm's global config (prefix /usr): offline, nothing to report.
printf 'audit=false\nfund=false\nupdate-notifier=false\noffline=true\n' > "$node/usr/etc/npmrc"
npm cache add ms@2.1.3 --cache "$node/root/.npm/_cacache_tmp" >/dev/null 2>&1 || {
  echo "make-brief-bases: npm cache add ms@2.1.3 failed (the npm registry must answer once)" >&2
  exit 1
}
mv "$node/root/.npm/_cacache_tmp/_cacache" "$node/root/.npm/_cacache"
rm -rf "$node/root/.npm/_cacache_tmp" "$node/root/.npm/_logs"
chmod 700 "$node/root"
chown -R 0:0 "$node"

# ---- golang ----
go=$work/golang
goroot=$(go env GOROOT)
gosrc=$(readlink -f "$goroot/src")
arch=$(go env GOOS)_$(go env GOARCH)
mkdir -p "$go$goroot/bin" "$go$goroot/pkg/tool/$arch" "$go/usr/bin" "$go/go/bin" "$go/go/src"
cp "$goroot/bin/go" "$goroot/bin/gofmt" "$go$goroot/bin/"
cp "$goroot/VERSION" "$go$goroot/"
for t in compile link asm buildid cgo pack; do cp "$goroot/pkg/tool/$arch/$t" "$go$goroot/pkg/tool/$arch/"; done
copy_file "$go" "$goroot/pkg/include" # a link to Debian's share/go-1.19/pkg/include
cp -a "$goroot/src" "$go$goroot/src" # the symlink, as Debian has it
mkdir -p "$go$gosrc/vendor"
cp "$gosrc/go.mod" "$gosrc/go.sum" "$go$gosrc/"
cp "$gosrc/vendor/modules.txt" "$go$gosrc/vendor/"
# The source files and compiled archives of the standard packages the app
# imports: one go list, one tar (the go command reads no others).
# shellcheck disable=SC2016 # a Go template
tmpl='{{if .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .IgnoredGoFiles}}{{$d}}/{{.}}
{{end}}{{range .SFiles}}{{$d}}/{{.}}
{{end}}{{range .HFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{if .Target}}{{.Target}}
{{end}}{{end}}'
(cd "$GO_APP" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=off go list -deps -f "$tmpl" ./...) \
  | sed -n "s,^$gosrc/,${gosrc#/}/,p; s,^$goroot/,${goroot#/}/,p" | sort -u > "$work/go-files"
tar -C / --no-recursion -cf - -T "$work/go-files" | tar -C "$go" -xf -
ln -s "..${goroot#/usr}/bin/go" "$go/usr/bin/go"
ln -s "..${goroot#/usr}/bin/gofmt" "$go/usr/bin/gofmt"
copy_libs "$go" /dev/null # Debian's go command is linked with the C library

# ---- python ----
py=$work/python
pkgs="python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3.11 python3-minimal
  python3 libpython3-stdlib python3.11-venv python3-venv python3-pip-whl python3-setuptools-whl
  gunicorn python3-gunicorn python3-pkg-resources python3-setuptools python3-packaging
  python-is-python3"
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || continue
  dpkg -L "$p"
done | grep -v -e '^/\.$' -e '^/usr/share/doc/' -e '^/usr/share/man/' -e '^/usr/share/lintian/' \
  | sed 's,^/,,' | sort -u > "$work/py-files"
mkdir -p "$py"
tar -C / --no-recursion -cf - -T "$work/py-files" | tar -C "$py" -xf -
[ -e "$py/usr/bin/python" ] || ln -s python3 "$py/usr/bin/python"
find "$py" -name __pycache__ -type d -prune -exec rm -rf {} +
tar -tf "$DEB_TAR" | sed 's,/$,,' > "$work/deb-list"
copy_libs "$py" "$work/deb-list"
printf '[global]\ndisable-pip-version-check = true\nno-index = true\n' > "$py/etc/pip.conf"
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
repo=$py/var/local/apt-repo
mkdir -p "$repo" "$py/etc/apt/sources.list.d"
deb=build-essential_12.9+berth1_all.deb
dpkg-deb --root-owner-group -Zgzip -b "$pkg" "$repo/$deb" >/dev/null
{
  dpkg-deb -f "$repo/$deb"
  echo "Filename: ./$deb"
  echo "Size: $(stat -c %s "$repo/$deb")"
  echo "SHA256: $(sha256sum "$repo/$deb" | cut -d' ' -f1)"
} > "$repo/Packages"
echo 'deb [trusted=yes] file:/var/local/apt-repo ./' > "$py/etc/apt/sources.list.d/local.list"
chown -R 0:0 "$py"

# ---- distroless ----
dl=$work/distroless
mkdir -p "$dl/etc" "$dl/home/nonroot" "$dl/tmp"
cat > "$dl/etc/passwd" <<'PW'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PW
printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' > "$dl/etc/group"
printf 'PRETTY_NAME="berth brief stand-in (distroless-like)"\nID=debian\nVERSION_ID="12"\n' > "$dl/etc/os-release"
chown 65532:65532 "$dl/home/nonroot"
chmod 1777 "$dl/tmp"

rm -rf "$OUT.part"
python3 "$HERE/brief-layout.py" "$work" "$DEB_TAR" "$OUT.part"
rm -rf "$OUT"
mv "$OUT.part" "$OUT"
