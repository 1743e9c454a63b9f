#!/bin/sh
# Install the npm packages the tests and benchmarks compare berth with, into
# $BERTH_NPM_DIR (default: build/npm in the source tree). Idempotent: npm
# skips what is already there. Versions are pinned so results are stable.
#   dockerfile-ast   independent Dockerfile parser (tests/integration/test_dockerfile_ast.py,
#                    bench/dockerfile)
#   dockerfilelint   independent Dockerfile linter (tests/integration/test_lint.py,
#                    bench/dockerfile-lint)
#   @microsoft/jest-sarif  ships the SARIF 2.1.0 JSON schema
#                    (lib/schemas/sarif-2.1.0-rtm.5.json) test_lint.py validates against
#   sigstore, @sigstore/verify, @sigstore/bundle, @sigstore/protobuf-specs
#                    sigstore-js: verifies berth's bundles (tests/integration/js/)
#   @sigstore/mock   fake Fulcio CA and Rekor log for keyless bundles
#   semver           node-semver: version orders and npm ranges (tests/integration/test_version_*.py)
#   ae-cvss-calculator  {metaeffekt}'s CVSS v2/v3/v4.0 calculator: CVSS v4.0 scores
#                    (tests/integration/test_cvss.py)
#   spdx-expression-parse  the SPDX licence expression parser npm itself uses: every
#                    licence field of berth's SPDX (tests/integration/test_sbom_spdx_read.py)
set -eu

dir="${BERTH_NPM_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build/npm}"
PACKAGES="dockerfile-ast@0.7.1 dockerfilelint@1.8.0 @microsoft/jest-sarif@1.0.0-beta.0 semver@7.8.6
  sigstore@4.1.1 @sigstore/verify@3.1.1 @sigstore/mock@0.12.1 @sigstore/bundle@4.0.0
  @sigstore/protobuf-specs@0.5.2 ae-cvss-calculator@1.0.13
  spdx-expression-parse@5.0.0"

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
