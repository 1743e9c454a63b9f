#!/bin/sh
# A static busybox for linux/arm64 (Debian's busybox-static:arm64), for the
# multi-platform build tests' base image. Idempotent. Usage:
#   arm64-busybox.sh [OUT]   (default /var/cache/berth/busybox-arm64)
# Adds the arm64 architecture to dpkg (apt then also reads arm64 package
# lists; nothing arm64 is installed) and downloads the .deb with apt-get.
set -eu
OUT=${1:-/var/cache/berth/busybox-arm64}
[ -x "$OUT" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
chmod 777 "$W"
(cd "$W" && apt-get download -qq busybox-static:arm64 >/dev/null 2>&1) || {
  $SUDO apt-get update -qq
  (cd "$W" && apt-get download -qq busybox-static:arm64 >/dev/null)
}
dpkg-deb -x "$W"/busybox-static_*_arm64.deb "$W/x"
mkdir -p "$(dirname "$OUT")"
cp "$W/x/bin/busybox" "$OUT.tmp"
chmod 755 "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
