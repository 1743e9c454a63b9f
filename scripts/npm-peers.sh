#!/bin/sh
# Install the npm packages the Dockerfile-frontend tests compare berth with:
#   dockerfile-ast        independent Dockerfile parser (parse comparison)
#   dockerfilelint        independent Dockerfile linter (berth lint comparison)
#   @microsoft/jest-sarif ships the SARIF 2.1.0 JSON schema (lib/schemas/sarif-2.1.0-rtm.5.json)
# into $BERTH_NPM_DIR (default: build/npm under the source tree). Idempotent;
# versions are pinned so the comparisons' expected counts stay valid.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${BERTH_NPM_DIR:-$root/build/npm}
pkgs="dockerfile-ast@0.7.1 dockerfilelint@1.8.0 @microsoft/jest-sarif@1.0.0-beta.0"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm-peers: npm is not installed (apt-get install npm)" >&2
  exit 1
fi
missing=""
for p in $pkgs; do
  name=${p%@*}
  [ -f "$dir/node_modules/$name/package.json" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "npm-peers: installing$missing into $dir"
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"private": true}' > "$dir/package.json"
# shellcheck disable=SC2086
npm install --prefix "$dir" --no-audit --no-fund --silent $missing
