// legacy-keyless.js - cosign 2.x keyless signatures in the legacy ".sig"
// layout, made offline with @sigstore/mock as fake Fulcio CA, CT log and
// Rekor:  node legacy-keyless.js OUTDIR PAYLOAD IDENTITY ISSUER
// Signs the simple-signing PAYLOAD file with a short-lived certificate (a
// hashedrekord entry with the certificate, as cosign uploads it) and writes
// OUTDIR/trusted_root.json and, per variant, OUTDIR/<variant>.json: the
// layer annotations cosign writes (dev.cosignproject.cosign/signature,
// dev.sigstore.cosign/certificate, dev.sigstore.cosign/chain and
// dev.sigstore.cosign/bundle = {SignedEntryTimestamp, Payload: {body,
// integratedTime, logIndex, logID}}). Variants:
//   valid        a certificate with an SCT of the root's CT log
//   no-sct       a certificate without SCT (the CA logged nothing)
//   bad-sct      a certificate whose SCT signature was altered before the
//                CA signed the certificate (so only the SCT is wrong)
// sigstore-js checks each signature (as a v0.1 bundle) against the root,
// with and without the SCT requirement; OUTDIR/sigstore-js.json records
// whether it accepted each, so the test compares berth with it.
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

const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

function token(identity, issuer) {
  const now = Math.floor(Date.now() / 1000);
  return [b64url({ alg: 'none', typ: 'JWT' }),
    b64url({ iss: issuer, sub: identity, aud: 'sigstore', iat: now, exp: now + 600 }), 'x'].join('.');
}

function pem(der) {
  const b = Buffer.from(der).toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----\n`;
}

function trustedRoot(caCert, ctlog, tlog) {
  const start = new Date(Date.now() - 3600 * 1000).toISOString();
  const keyId = (der) => crypto.createHash('sha256').update(der).digest('base64');
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: REKOR, hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: Buffer.from(tlog.publicKey).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: keyId(tlog.publicKey) } }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' }, uri: FULCIO,
      certChain: { certificates: [{ rawBytes: Buffer.from(caCert).toString('base64') }] },
      validFor: { start } }],
    ctlogs: [{ baseUrl: 'https://ctfe.sigstore.dev', hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: Buffer.from(ctlog.publicKey).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: Buffer.from(ctlog.logID).toString('base64') } }],
    timestampAuthorities: [],
  };
}

// The layer annotations cosign 2.x writes for a keyless signature.
function annotations(bundle, caCert) {
  const certs = bundle.verificationMaterial.x509CertificateChain.certificates
    .map((c) => Buffer.from(c.rawBytes, 'base64'));
  const rest = certs.length > 1 ? certs.slice(1) : [caCert];
  const e = bundle.verificationMaterial.tlogEntries[0];
  return {
    'dev.cosignproject.cosign/signature': bundle.messageSignature.signature,
    'dev.sigstore.cosign/certificate': pem(certs[0]),
    'dev.sigstore.cosign/chain': rest.map(pem).join(''),
    'dev.sigstore.cosign/bundle': JSON.stringify({
      SignedEntryTimestamp: e.inclusionPromise.signedEntryTimestamp,
      Payload: { body: e.canonicalizedBody, integratedTime: Number(e.integratedTime),
        logIndex: Number(e.logIndex), logID: Buffer.from(e.logId.keyId, 'base64').toString('hex') },
    }),
  };
}

function accepts(root, bundle, payload, identity, issuer, ctlogThreshold) {
  try {
    const b = bundleFromJSON(bundle);
    new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root)),
      { tlogThreshold: 1, ctlogThreshold, timestampThreshold: 1 })
      .verify(toSignedEntity(b, payload), { subjectAlternativeName: identity,
        extensions: { issuer } });
    return true;
  } catch (e) {
    return String(e.message || e);
  }
}

async function main() {
  const [outDir, payloadPath, identity, issuer] = process.argv.slice(2);
  if (!issuer) {
    console.error('usage: node legacy-keyless.js OUTDIR PAYLOAD IDENTITY ISSUER');
    process.exit(2);
  }
  const payload = fs.readFileSync(payloadPath);
  const caKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const logKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctlog = await mockLib.initializeCTLog(ctKeys);
  const tlog = await mockLib.initializeTLog(REKOR, logKeys);
  // The same CA key behind each variant: one root certificate trusts them all.
  const badLog = { log: async (cert, issuerID) => {
    const sct = Buffer.from(await ctlog.log(cert, issuerID));
    sct[sct.length - 1] ^= 0x01; // the last byte of the ECDSA signature
    return sct;
  } };
  const cas = { valid: await mockLib.initializeCA(caKeys, ctlog),
    'no-sct': await mockLib.initializeCA(caKeys, undefined),
    'bad-sct': await mockLib.initializeCA(caKeys, badLog) };
  const caCert = cas.valid.rootCertificate;
  const root = trustedRoot(caCert, ctlog, tlog);
  const opts = { fulcioURL: FULCIO, rekorURL: REKOR, identityToken: token(identity, issuer),
    tlogUpload: true, legacyCompatibility: true };
  const seen = {};
  for (const [name, ca] of Object.entries(cas)) {
    mock(FULCIO, mockLib.fulcioHandler(ca));
    mock(REKOR, mockLib.rekorHandler(tlog));
    const bundle = await sigstore.sign(payload, opts);
    fs.writeFileSync(path.join(outDir, `${name}.json`),
      JSON.stringify(annotations(bundle, caCert), null, 2));
    seen[name] = { withSct: accepts(root, bundle, payload, identity, issuer, 1),
      withoutSct: accepts(root, bundle, payload, identity, issuer, 0) };
  }
  fs.writeFileSync(path.join(outDir, 'trusted_root.json'), JSON.stringify(root, null, 2));
  fs.writeFileSync(path.join(outDir, 'sigstore-js.json'), JSON.stringify(seen, null, 2));
  console.log(JSON.stringify(seen));
}

main().catch((e) => {
  console.error('legacy-keyless.js:', e.stack || e);
  process.exit(1);
});
