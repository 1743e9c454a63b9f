// verify-bundle.js - sigstore-js (@sigstore/verify) checks a bundle with a
// public key, offline: node verify-bundle.js BUNDLE PUBKEY.pem ARTIFACT [ROOT]
// With ROOT (a trusted_root.json with transparency logs) the bundle must also
// carry an entry of one of those logs. Exit 0 verified, 1 refused (the
// reason on stderr), 2 usage.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

if (process.argv.length !== 5 && process.argv.length !== 6) {
  console.error('usage: node verify-bundle.js BUNDLE PUBKEY ARTIFACT [ROOT]');
  process.exit(2);
}
const [bundlePath, keyPath, artifactPath, rootPath] = process.argv.slice(2);
try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const pem = fs.readFileSync(keyPath, 'utf8');
  const der = crypto.createPublicKey(pem).export({ format: 'der', type: 'spki' });
  const keys = () => ({ publicKey: crypto.createPublicKey(pem), validFor: () => true });
  const root = TrustedRoot.fromJSON(rootPath ? JSON.parse(fs.readFileSync(rootPath, 'utf8')) : {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
  });
  const trust = toTrustMaterial(root, keys);
  const artifact = bundle.dsseEnvelope ? undefined : fs.readFileSync(artifactPath);
  const entity = toSignedEntity(bundle, artifact);
  const n = rootPath ? 1 : 0;
  const verifier = new Verifier(trust, { tlogThreshold: n, ctlogThreshold: 0, timestampThreshold: n });
  verifier.verify(entity);
  console.log('verified', der.length);
} catch (e) {
  console.error('refused:', e.message || e);
  process.exit(1);
}
