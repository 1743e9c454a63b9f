#!/bin/sh
# Install the Debian packages berth needs to build, test and benchmark.
# Idempotent: installs only what is missing. Uses apt-get as root, sudo otherwise.
set -eu

BUILD="build-essential cmake pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libssl-dev libyaml-dev
  libcmocka-dev libcurl4-openssl-dev libarchive-dev zlib1g-dev libzstd-dev"
TEST="python3 python3-pytest python3-requests python3-cryptography curl skopeo podman buildah umoci
  busybox-static zstd docker-registry valgrind runc uidmap fuse-overlayfs
  mmdebstrap golang-go golang-golang-x-mod-dev nodejs npm"
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
# npm peers of the SBOM tests (CycloneDX validator, Trivy); not for build-only.
peers() { [ "${1:-all}" = build ] || sh "$(dirname "$0")/sbom-peers.sh" >/dev/null; }
[ -z "$missing" ] && { peers "${1:-all}"; exit 0; }

echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
peers "${1:-all}"
