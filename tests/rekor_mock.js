// A private "Rekor" for the key-based `tlog = true` tests, offline: the
// transparency log of @sigstore/mock (0.13) records the proposed entries it
// is given and answers as Rekor v1 does (the canonicalized body, integrated
// time, log index, log ID and the signed entry timestamp over their RFC 8785
// canonical JSON), signing with the log key the test made (PKCS#8 PEM).
//
// Input (argv[2], JSON): {"entries": [{"key": PEM, "proposed": {...}}]}
// Output (stdout, JSON): {"entries": [{"body", "integratedTime", "logID",
//   "logIndex", "signedEntryTimestamp"}, ...]}
'use strict';

const crypto = require('crypto');
const path = require('path');
const mock = require(path.join(
  process.env.SIGSTORE_MOCK_MODULES || path.join(__dirname, '.node', 'node_modules'),
  '@sigstore', 'mock',
));

async function main() {
  const input = JSON.parse(process.argv[2]);
  const entries = [];
  for (const request of input.entries) {
    const privateKey = crypto.createPrivateKey(request.key);
    const publicKey = crypto.createPublicKey(privateKey);
    const tlog = await mock.initializeTLog('https://rekor.digestpin.test', { publicKey, privateKey });
    const logged = await tlog.log(request.proposed);
    const entry = Object.values(logged)[0];
    entries.push({
      body: entry.body,
      integratedTime: entry.integratedTime,
      logID: entry.logID,
      logIndex: entry.logIndex,
      signedEntryTimestamp: entry.verification.signedEntryTimestamp,
    });
  }
  process.stdout.write(JSON.stringify({ entries }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
