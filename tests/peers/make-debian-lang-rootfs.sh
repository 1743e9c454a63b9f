#!/bin/sh
# A Debian 12 minbase root filesystem with language packages added from Debian:
# Python (python3-requests and its dependencies), npm (node-semver, node-lodash),
# Java (libcommons-lang3-java: a jar with pom.properties), and a Go binary built
# here, offline, against Debian's golang-golang-x-mod-dev through a vendor
# directory (so its build info lists a real dependency with its version).
#
# Trivy skips language packages whose files dpkg owns, so the Python, npm
# and Java metadata is also copied where pip, npm and a Java app would put
# it (/usr/local/lib/python3.11/dist-packages, /app/node_modules, /opt/app/lib),
# outside dpkg's knowledge: both tools must find those.
#
# Needs: mmdebstrap, golang-go, golang-golang-x-mod-dev. Usage: OUT.tar
# (BASE_TAR=FILE uses that mmdebstrap output instead of making one.)
set -eu
OUT=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${BASE_TAR:-}" ]; then
  cp "$BASE_TAR" "$work/rootfs.tar"
else
  mmdebstrap --variant=minbase --aptopt='Apt::Key::gpgvcommand "/usr/bin/gpgv"' \
    --include=python3-requests,node-semver,node-lodash,libcommons-lang3-java \
    bookworm "$work/rootfs.tar" /etc/apt/sources.list.d/debian.sources < /dev/null
fi

# The Go program: module example.com/hello, requiring golang.org/x/mod (vendored).
src=$work/hello
mkdir -p "$src/vendor/golang.org/x"
modver=v$(dpkg-query -W -f='${Version}' golang-golang-x-mod-dev | sed 's/[-+~].*//')
cp -r /usr/share/gocode/src/golang.org/x/mod "$src/vendor/golang.org/x/mod"
cat > "$src/go.mod" <<GOMOD
module example.com/hello

go 1.19

require golang.org/x/mod $modver
GOMOD
cat > "$src/vendor/modules.txt" <<MODS
# golang.org/x/mod $modver
## explicit; go 1.17
golang.org/x/mod/semver
MODS
cat > "$src/main.go" <<'GO'
package main

import (
	"fmt"
	"os"

	"golang.org/x/mod/semver"
)

func main() { fmt.Println(semver.Compare(os.Args[1], os.Args[2])) }
GO
(cd "$src" && GOFLAGS=-mod=vendor GOPROXY=off GOCACHE=$work/cache CGO_ENABLED=0 \
  go build -o "$work/hello.bin" .)
add=$work/add
mkdir -p "$add/usr/local/bin" "$add/usr/local/lib/python3.11/dist-packages" \
  "$add/app/node_modules" "$add/opt/app/lib"
cp "$work/hello.bin" "$add/usr/local/bin/hello"

# Language metadata outside dpkg's file lists.
x=$work/x
mkdir -p "$x"
tar -C "$x" -xf "$work/rootfs.tar" ./usr/lib/python3/dist-packages ./usr/share/nodejs ./usr/share/java
for d in "$x"/usr/lib/python3/dist-packages/*.egg-info "$x"/usr/lib/python3/dist-packages/*.dist-info; do
  [ -e "$d" ] && cp -r "$d" "$add/usr/local/lib/python3.11/dist-packages/"
done
for p in "$x"/usr/share/nodejs/*/package.json "$x"/usr/share/nodejs/@*/*/package.json; do
  [ -f "$p" ] || continue
  rel=${p#"$x"/usr/share/nodejs/}
  mkdir -p "$add/app/node_modules/$(dirname "$rel")"
  cp "$p" "$add/app/node_modules/$rel"
done
cp -L "$x"/usr/share/java/commons-lang3.jar "$add/opt/app/lib/commons-lang3-3.12.0.jar"

cp "$work/rootfs.tar" "$OUT.tmp"
tar -C "$add" -rf "$OUT.tmp" ./usr/local ./app ./opt
mv "$OUT.tmp" "$OUT"
