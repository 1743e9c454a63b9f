#!/bin/sh
# Install the npm packages the integration tests use as peers (sigstore-js:
# sigstore, @sigstore/verify, @sigstore/mock) into a cache directory,
# $BERTH_NPM_DIR or ~/.cache/berth-npm by default. Idempotent: does nothing
# when every package is already there. Tests find them through
# tests/integration/signutil.py, which reads the same directory.
set -eu

DIR="${BERTH_NPM_DIR:-${HOME}/.cache/berth-npm}"
PKGS="sigstore @sigstore/verify @sigstore/mock @sigstore/bundle @sigstore/core"

mkdir -p "$DIR"
missing=""
for p in $PKGS; do
  [ -f "$DIR/node_modules/$p/package.json" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if ! command -v npm >/dev/null 2>&1; then
  echo "npm-peers: npm is missing (apt-get install npm)" >&2
  exit 1
fi
echo "npm-peers: installing$missing into $DIR"
[ -f "$DIR/package.json" ] || echo '{"name":"berth-npm-peers","private":true}' > "$DIR/package.json"
# shellcheck disable=SC2086
npm install --prefix "$DIR" --no-audit --no-fund --silent $missing
