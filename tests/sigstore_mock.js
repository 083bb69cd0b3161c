// A private Sigstore for the keyless tests, offline: @sigstore/mock (0.13)
// gives the certificate authority (certificates with the OIDC issuer
// extension and an embedded SCT from its CT log) and the transparency log
// (inclusion promise, inclusion proof, signed checkpoint).  This script signs
// in-toto statements about the digests it is given, as cosign v3 signs an
// image (a DSSE envelope in a Sigstore bundle v0.3), and writes the
// trusted_root.json that holds the keys of that Sigstore.
//
// Input (argv[2], JSON): {"signatures": [{"digest", "predicateType",
//   "identity", "issuer", "certificateAgeSeconds", "inclusion"}]}
// Output (stdout, JSON): {"trustedRoot": {...}, "bundles": [{...}, ...]}
'use strict';

const crypto = require('crypto');
const path = require('path');
const mock = require(path.join(
  process.env.SIGSTORE_MOCK_MODULES || path.join(__dirname, '.node', 'node_modules'),
  '@sigstore', 'mock',
));

const IN_TOTO = 'application/vnd.in-toto+json';
const BUNDLE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const ISSUER_V1 = '1.3.6.1.4.1.57264.1.1'; // raw bytes, what sigstore-python reads
const ISSUER_V2 = '1.3.6.1.4.1.57264.1.8'; // a UTF8String, what Fulcio also writes
const REKOR = 'https://rekor.digestpin.test';
const START = '2020-01-01T00:00:00Z';

const b64 = (data) => Buffer.from(data).toString('base64');
const sha256 = (data) => crypto.createHash('sha256').update(data).digest();
const spki = (key) => key.export({ format: 'der', type: 'spki' });
const pae = (type, payload) => Buffer.concat([
  Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `),
  payload,
]);
const pem = (der) => `-----BEGIN CERTIFICATE-----\n${
  b64(der).match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;

function statement(digest, predicateType) {
  const [algorithm, hex] = digest.split(':');
  return Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'image', digest: { [algorithm]: hex } }],
    predicateType,
    predicate: {},
  }));
}

async function sign(request, ctLog, tlog, caKeys, ca) {
  if (request.certificateAgeSeconds) {
    // a CA whose clock is behind issues a certificate that expired before
    // the log saw the signature: signing time outside the validity
    const clock = new Date(Date.now() - request.certificateAgeSeconds * 1000);
    ca = await mock.initializeCA(caKeys, ctLog, clock);
  }
  const signer = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const certificate = Buffer.from(await ca.issueCertificate({
    publicKey: spki(signer.publicKey),
    subjectAltName: request.identity,
    extensions: [
      { oid: ISSUER_V1, value: request.issuer, legacy: true },
      { oid: ISSUER_V2, value: request.issuer },
    ],
  }));
  const payload = statement(request.digest, request.predicateType);
  const signature = crypto.sign('sha256', pae(IN_TOTO, payload), signer.privateKey);
  const envelope = {
    payload: b64(payload), payloadType: IN_TOTO, signatures: [{ sig: b64(signature), keyid: '' }],
  };
  // the dsse/0.0.1 entry Rekor v1 records for `cosign sign` (v3)
  const logged = await tlog.log({
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(JSON.stringify(envelope)).toString('hex') },
      payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
      signatures: [{ signature: b64(signature), verifier: b64(pem(certificate)) }],
    },
  });
  const entry = Object.values(logged)[0];
  const tlogEntry = {
    logIndex: String(entry.logIndex),
    logId: { keyId: b64(Buffer.from(entry.logID, 'hex')) },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: entry.verification.signedEntryTimestamp },
    inclusionProof: {
      logIndex: String(entry.verification.inclusionProof.logIndex),
      rootHash: b64(Buffer.from(entry.verification.inclusionProof.rootHash, 'hex')),
      treeSize: String(entry.verification.inclusionProof.treeSize),
      hashes: entry.verification.inclusionProof.hashes.map((h) => b64(Buffer.from(h, 'hex'))),
      checkpoint: { envelope: entry.verification.inclusionProof.checkpoint },
    },
    canonicalizedBody: entry.body,
  };
  if (request.inclusion === false) {
    // neither a promise nor a proof: the log never vouched for it
    delete tlogEntry.inclusionPromise;
    delete tlogEntry.inclusionProof;
  }
  return {
    mediaType: BUNDLE,
    verificationMaterial: { certificate: { rawBytes: b64(certificate) }, tlogEntries: [tlogEntry] },
    dsseEnvelope: envelope,
  };
}

async function main() {
  const input = JSON.parse(process.argv[2]);
  const caKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tlogKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctLog = await mock.initializeCTLog(ctKeys);
  const tlog = await mock.initializeTLog(REKOR, tlogKeys);
  const root = await mock.initializeCA(caKeys, ctLog);
  const bundles = [];
  for (const request of input.signatures) {
    bundles.push(await sign(request, ctLog, tlog, caKeys, root));
  }
  const key = (der) => ({
    rawBytes: b64(der), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: START },
  });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: REKOR, hashAlgorithm: 'SHA2_256', publicKey: key(spki(tlogKeys.publicKey)),
      logId: { keyId: b64(sha256(spki(tlogKeys.publicKey))) },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: 'https://fulcio.digestpin.test',
      certChain: { certificates: [{ rawBytes: b64(root.rootCertificate) }] },
      validFor: { start: START },
    }],
    ctlogs: [{
      baseUrl: 'https://ctfe.digestpin.test', hashAlgorithm: 'SHA2_256',
      publicKey: key(ctLog.publicKey), logId: { keyId: b64(ctLog.logID) },
    }],
    timestampAuthorities: [],
  };
  process.stdout.write(JSON.stringify({ trustedRoot, bundles }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
