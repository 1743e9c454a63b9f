#!/bin/sh
# Install the Debian packages berth needs to build, test and benchmark.
# Idempotent: installs only what is missing. Uses apt-get as root, sudo otherwise.
set -eu

BUILD="build-essential cmake pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev libyaml-dev
  libcmocka-dev libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev libisal-dev libdeflate-dev libsodium-dev libpq-dev"
TEST="clang-format-14 python3 python3-pytest python3-requests python3-cryptography python3-nacl openssl curl skopeo podman buildah umoci
  busybox-static zstd attr docker-registry valgrind runc uidmap fuse-overlayfs
  shellcheck python3-jsonschema
  dpkg libdpkg-perl rpm db5.3-util python3-packaging ruby php-cli composer libmaven3-core-java
  default-jdk-headless golang-go golang-golang-x-mod-dev golang-github-coreos-bbolt-dev mmdebstrap gpgv
  docker.io qemu-user-static postgresql haproxy
  gdb gunicorn ceph radosgw swift swift-proxy swift-object swift-container swift-account
  python3-swift memcached"
BENCH="wrk"

want="$BUILD"
case "${1:-all}" in
  build) ;;
  *) want="$BUILD $TEST $BENCH" ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
# Node.js and npm (npm peers of the tests): Debian's, unless the machine has
# them already (a nodesource nodejs ships npm and conflicts with Debian's npm).
if [ "$want" != "$BUILD" ] && ! command -v npm >/dev/null 2>&1; then
  missing="$missing nodejs npm"
fi
if [ -z "$missing" ]; then
  [ "$want" = "$BUILD" ] || { sh "$(dirname "$0")/npm-peers.sh"; sh "$(dirname "$0")/sbom-peers.sh" >/dev/null; sh "$(dirname "$0")/arm64-busybox.sh"; }
  exit 0
fi

echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "$want" = "$BUILD" ] || { sh "$(dirname "$0")/npm-peers.sh"; sh "$(dirname "$0")/sbom-peers.sh" >/dev/null; sh "$(dirname "$0")/arm64-busybox.sh"; }
