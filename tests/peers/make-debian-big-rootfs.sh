#!/bin/sh
# A large multi-language Debian 12 root filesystem for bench/scan's "SBOM of
# a 1 GB multi-language image" row: make-debian-lang-rootfs.sh (Python, npm,
# Java and Go metadata, inside and outside dpkg's file lists) on a minbase
# with the language toolchains and libraries of Debian added: Node.js and npm
# (a few hundred node-* packages under /usr/share/nodejs), OpenJDK 17 and
# jars (/usr/share/java), Go 1.19 (binaries with build info, the standard
# library's sources), NumPy, SciPy, pandas and Django. It comes out at 1.85
# GiB of files (2.0 GB of tar), more than the row's 1 GB: npm pulls node-gyp
# and with it gcc, libnode-dev and Boost's headers.
#
# Debian packages already in /var/cache/apt/archives are used as they are;
# the rest come from the configured mirror. Needs: mmdebstrap, golang-go,
# golang-golang-x-mod-dev (for make-debian-lang-rootfs.sh). Usage: OUT.tar
set -eu
OUT=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkgs=python3-requests,node-semver,node-lodash,libcommons-lang3-java
pkgs=$pkgs,nodejs,npm,node-typescript,node-webpack
pkgs=$pkgs,openjdk-17-jre-headless,libguava-java,libjackson2-databind-java,libcommons-io-java
pkgs=$pkgs,liblog4j2-java,libcommons-compress-java,libslf4j-java,libjsoup-java
pkgs=$pkgs,golang-1.19-go
pkgs=$pkgs,python3-numpy,python3-scipy,python3-pandas,python3-django,python3-yaml,python3-jinja2
mmdebstrap --variant=minbase --aptopt='Apt::Key::gpgvcommand "/usr/bin/gpgv"' \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives" && cp -l /var/cache/apt/archives/*.deb "$1/var/cache/apt/archives/" 2>/dev/null || cp /var/cache/apt/archives/*.deb "$1/var/cache/apt/archives/"' \
  --include="$pkgs" bookworm "$work/rootfs.tar" /etc/apt/sources.list.d/debian.sources < /dev/null
BASE_TAR=$work/rootfs.tar sh "$(dirname "$0")/make-debian-lang-rootfs.sh" "$OUT"
