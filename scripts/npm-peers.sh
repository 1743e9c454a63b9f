#!/bin/sh
# Install the npm packages the tests compare berth with (peers, test-only)
# into one directory: $BERTH_NPM_DIR, default build/npm at the top of the
# source tree. Idempotent: a package already installed is not fetched again.
# Tests find the packages under $BERTH_NPM_DIR/node_modules.
set -eu

PEERS="semver"

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${BERTH_NPM_DIR:-$root/build/npm}
mkdir -p "$dir"
missing=""
for p in $PEERS; do
  [ -f "$dir/node_modules/$p/package.json" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
command -v npm >/dev/null || { echo "npm-peers: npm is missing (apt-get install npm)" >&2; exit 1; }
echo "npm-peers: installing$missing into $dir"
[ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
# shellcheck disable=SC2086
npm install --prefix "$dir" --no-audit --no-fund --silent $missing
