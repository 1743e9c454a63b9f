#!/bin/sh
# A Debian 12 minbase root filesystem with language packages added from Debian:
# Python (python3-requests and its dependencies: *.egg-info / *.dist-info),
# npm (node-semver, node-lodash: package.json under /usr/share/nodejs), Java
# (libcommons-lang3-java: a jar with pom.properties), and a Go binary built
# here, offline, against Debian's golang-golang-x-mod-dev through a vendor
# directory (so its build info lists a real dependency with its version).
# Needs: mmdebstrap, golang-go, golang-golang-x-mod-dev. Usage: OUT.tar
set -eu
OUT=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --variant=minbase \
  --include=python3-requests,node-semver,node-lodash,libcommons-lang3-java \
  bookworm "$work/rootfs.tar" /etc/apt/sources.list.d/debian.sources < /dev/null
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
mkdir -p "$work/add/usr/local/bin"
cp "$work/hello.bin" "$work/add/usr/local/bin/hello"
cp "$work/rootfs.tar" "$OUT.tmp"
tar -C "$work/add" -rf "$OUT.tmp" ./usr/local/bin/hello
mv "$OUT.tmp" "$OUT"
