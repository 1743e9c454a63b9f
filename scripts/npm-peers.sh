#!/bin/sh
# Install the npm packages the tests compare berth with, into $BERTH_NPM_DIR
# (default: build/npm in the source tree). Idempotent: does nothing when
# every package is there. Versions are pinned so results are stable.
#   sigstore, @sigstore/verify, @sigstore/bundle, @sigstore/protobuf-specs
#       sigstore-js: verifies berth's bundles (tests/integration/js/verify-bundle.js)
#   @sigstore/mock   fake Fulcio CA and Rekor log for keyless bundles
#                    (tests/integration/js/keyless.js, fake-rekor.js)
set -eu

dir="${BERTH_NPM_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build/npm}"
PACKAGES="sigstore@4.1.1 @sigstore/verify@3.1.1 @sigstore/mock@0.12.1 @sigstore/bundle@4.0.0
  @sigstore/protobuf-specs@0.5.2"

mkdir -p "$dir"
need=""
for p in $PACKAGES; do
  name="${p%@*}"
  [ -f "$dir/node_modules/$name/package.json" ] || need="$need $p"
done
[ -z "$need" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "npm-peers: npm is missing (apt-get install npm)" >&2
  exit 1
fi
echo "npm-peers: installing$need into $dir"
# shellcheck disable=SC2086
npm install --silent --no-audit --no-fund --prefix "$dir" $need >/dev/null
