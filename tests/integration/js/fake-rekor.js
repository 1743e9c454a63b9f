// fake-rekor.js - @sigstore/mock's Rekor served over HTTP on loopback, for
// `--tlog-upload=true --rekor-url`: node fake-rekor.js ROOT_OUT
// Prints the URL on its first line of stdout, writes a trusted_root.json
// with the log's key (no CA) to ROOT_OUT, and serves until killed.
'use strict';
const fs = require('fs');
const http = require('http');
const crypto = require('crypto');
const mockLib = require('@sigstore/mock');

async function main() {
  const rootOut = process.argv[2];
  const keys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = http.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const tlog = await mockLib.initializeTLog(url, keys);
  const handler = mockLib.rekorHandler(tlog);
  server.on('request', (req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      if (req.method !== 'POST' || req.url !== handler.path) {
        res.writeHead(404).end();
        return;
      }
      const out = await handler.fn(body);
      res.writeHead(out.statusCode, { 'Content-Type': out.contentType || 'text/plain' });
      res.end(out.response);
    });
  });
  const start = new Date(Date.now() - 3600 * 1000).toISOString();
  fs.writeFileSync(rootOut, JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: Buffer.from(tlog.publicKey).toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: crypto.createHash('sha256').update(tlog.publicKey).digest('base64') } }],
    certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
  }));
  console.log(url);
}

main().catch((e) => {
  console.error('fake-rekor.js:', e.stack || e);
  process.exit(1);
});
