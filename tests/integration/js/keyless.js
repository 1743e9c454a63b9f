// keyless.js - make keyless sigstore bundles offline with @sigstore/mock as a
// fake Fulcio CA and Rekor log, and the trusted_root.json that trusts them:
//   node keyless.js OUTDIR ARTIFACT IDENTITY ISSUER [IMAGE-DIGEST]
// writes OUTDIR/trusted_root.json, OUTDIR/blob.sigstore.json (message
// signature, hashedrekord entry), OUTDIR/blob-v02.sigstore.json (the same,
// legacyCompatibility), OUTDIR/dsse.sigstore.json (DSSE in-toto statement
// about ARTIFACT, intoto entry) and the v0.3 forms of the last two
// (blob-v03, dsse-v03: one certificate instead of a chain), and with
// IMAGE-DIGEST OUTDIR/image.sigstore.json, a cosign v3 image signature
// statement (predicate https://sigstore.dev/cosign/sign/v1); then checks each with
// sigstore-js's own verifier against that root, so that a bundle berth is
// asked about is one sigstore accepts.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const mockLib = require('@sigstore/mock');
const { mock } = require('@sigstore/mock/dist/mock');
const sigstore = require('sigstore');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

const FULCIO = 'https://fulcio.sigstore.dev';
const REKOR = 'https://rekor.sigstore.dev';

function b64url(o) {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

function token(identity, issuer) {
  const now = Math.floor(Date.now() / 1000);
  return [b64url({ alg: 'none', typ: 'JWT' }),
    b64url({ iss: issuer, sub: identity, aud: 'sigstore', iat: now, exp: now + 600 }), 'x'].join('.');
}

function trustedRoot(ca, ctlog, tlog) {
  const start = new Date(Date.now() - 3600 * 1000).toISOString();
  const keyId = (der) => crypto.createHash('sha256').update(der).digest('base64');
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: REKOR, hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: Buffer.from(tlog.publicKey).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: keyId(tlog.publicKey) },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: FULCIO,
      certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate).toString('base64') }] },
      validFor: { start },
    }],
    ctlogs: [{
      baseUrl: 'https://ctfe.sigstore.dev', hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: Buffer.from(ctlog.publicKey).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: Buffer.from(ctlog.logID).toString('base64') },
    }],
    timestampAuthorities: [],
  };
}

// A v0.3 bundle carries the leaf certificate alone.
function toV03(b) {
  const v = JSON.parse(JSON.stringify(b));
  v.mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  v.verificationMaterial.certificate = v.verificationMaterial.x509CertificateChain.certificates[0];
  delete v.verificationMaterial.x509CertificateChain;
  return v;
}

function check(rootJSON, bundleJSON, artifact, identity, issuer) {
  const trust = toTrustMaterial(TrustedRoot.fromJSON(rootJSON));
  const bundle = bundleFromJSON(bundleJSON);
  const entity = toSignedEntity(bundle, bundle.dsseEnvelope ? undefined : artifact);
  new Verifier(trust, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 })
    .verify(entity, { subjectAlternativeName: identity, extensions: { issuer } });
}

async function main() {
  const [outDir, artifactPath, identity, issuer, imageDigest] = process.argv.slice(2);
  if (!issuer) {
    console.error('usage: node keyless.js OUTDIR ARTIFACT IDENTITY ISSUER');
    process.exit(2);
  }
  const artifact = fs.readFileSync(artifactPath);
  const caKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const logKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctlog = await mockLib.initializeCTLog(caKeys);
  const ca = await mockLib.initializeCA(caKeys, ctlog);
  const tlog = await mockLib.initializeTLog(REKOR, logKeys);
  const root = trustedRoot(ca, ctlog, tlog);
  const opts = { fulcioURL: FULCIO, rekorURL: REKOR, identityToken: token(identity, issuer),
    tlogUpload: true };
  const again = () => {
    mock(FULCIO, mockLib.fulcioHandler(ca));
    mock(REKOR, mockLib.rekorHandler(tlog));
  };
  const out = {};
  again();
  out['blob.sigstore.json'] = await sigstore.sign(artifact, opts);
  again();
  out['blob-v02.sigstore.json'] = await sigstore.sign(artifact, { ...opts, legacyCompatibility: true });
  const statement = JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: path.basename(artifactPath),
      digest: { sha256: crypto.createHash('sha256').update(artifact).digest('hex') } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { buildDefinition: { buildType: 'https://example.com/test' } },
  });
  again();
  // The mock log records a proposed entry as it is; only the intoto kind
  // (legacyCompatibility) records what a real Rekor would, so DSSE uses it.
  out['dsse.sigstore.json'] = await sigstore.attest(Buffer.from(statement),
    'application/vnd.in-toto+json', { ...opts, legacyCompatibility: true });
  if (imageDigest) {
    // An image signature as cosign v3 makes it: a statement about the image.
    const image = JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'image', digest: { sha256: imageDigest.replace(/^sha256:/, '') } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    });
    again();
    out['image.sigstore.json'] = await sigstore.attest(Buffer.from(image),
      'application/vnd.in-toto+json', { ...opts, legacyCompatibility: true });
  }
  for (const name of ['blob-v02.sigstore.json', 'dsse.sigstore.json'])
    out[name.replace(/(-v02)?\.sigstore/, '-v03.sigstore')] = toV03(out[name]);
  fs.writeFileSync(path.join(outDir, 'trusted_root.json'), JSON.stringify(root, null, 2));
  for (const [name, b] of Object.entries(out)) {
    check(root, b, artifact, identity, issuer);
    fs.writeFileSync(path.join(outDir, name), JSON.stringify(b, null, 2));
  }
  console.log('ok', Object.keys(out).join(' '));
}

main().catch((e) => {
  console.error('keyless.js:', e.stack || e);
  process.exit(1);
});
