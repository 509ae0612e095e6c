#!/usr/bin/env node
// What a DPoP proof (RFC 9449) costs a check, in-process: the gRPC Check handler end to end (the request as grpc-js
// hands it over → authorize → response → metrics and log line), without the network, for a token already in the token
// cache (its own signature is not checked again), two ways in the same process, rounds interleaved:
//   bearer  `Authorization: Bearer <token>` under a policy without dpop
//   dpop    `Authorization: DPoP <bound token>` with a fresh ES256 proof each check, under a policy with dpop (the
//           proof's parse and signature, htu, ath, the RFC 7638 thumbprint, the in-process replay cache)
//   verify  one ES256 verification alone (node:crypto, key imported): the floor a proof cannot go below
// Proofs are signed before the clock starts (a client's cost, not ours). The figure is the median over the rounds;
// "µs added" is the difference of the per-check times.
//
//   npm run build && node bench/dpop_cost.mjs [--n 5000] [--rounds 7]
import { createHash, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import { calculateJwkThumbprint } from 'jose';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { n: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '7' } },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
/** Checks started per event-loop turn, as grpc-js hands over what one read brought. */
const TURN = 20;

const dist = (p) => import(join(ROOT, 'dist', p));
const { createCheckHandler } = await dist('grpc/check_service.js');
const { buildRuntime, startRuntime, runtimeReady } = await dist('authz/runtime.js');
const { parseConfigText } = await dist('config/load.js');
const { createLogger } = await dist('log.js');
const { Metrics } = await dist('ops/metrics.js');

// The issuer's RS256 key and its JWKS on loopback; the client's ES256 proof key.
const issuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...issuerKey.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] }))).listen(0, '127.0.0.1');
await new Promise((resolve) => jwks.once('listening', resolve));
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const clientJwk = client.publicKey.export({ format: 'jwk' });
const jkt = await calculateJwkThumbprint(clientJwk, 'sha256');

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
function token(extra) {
  const claims = { iss: 'https://issuer.bench', aud: 'api://bench', sub: 'u1', iat: now, exp: now + 3600, ...extra };
  const input = `${b64({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), issuerKey.privateKey).toString('base64url')}`;
}
const bearer = token({});
const bound = token({ cnf: { jkt } });
const ath = createHash('sha256').update(bound).digest('base64url');
function proof() {
  const claims = {
    jti: randomUUID(),
    htm: 'GET',
    htu: 'https://api.example.com/dpop',
    iat: Math.floor(Date.now() / 1000),
    ath,
  };
  const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: clientJwk })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: client.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const validate = `validateJwt:
      jwksUri: ["http://127.0.0.1:${jwks.address().port}/jwks"]
      issuers: ["https://issuer.bench"]
      audiences: ["api://bench"]`;
const config = parseConfigText(
  `server: { grpc: { address: "127.0.0.1:0" } }
logging: { level: info }
policies:
  - name: bearer
    match: { pathPrefixes: ["/orders"] }
    ${validate}
  - name: dpop
    match: { pathPrefixes: ["/dpop"] }
    ${validate}
    dpop: { required: true, algorithms: [ES256], replay: { maxEntries: 1000000, maxBytes: 268435456 } }
`,
  'bench',
);
const runtime = buildRuntime(config);
startRuntime(runtime);
while (!runtimeReady(runtime)) await new Promise((r) => setTimeout(r, 5));
jwks.close();
const log = createLogger('info', createWriteStream('/dev/null'));
const metrics = new Metrics({ keySources: () => [], tokenCache: () => runtime.cache });
const handler = createCheckHandler({ runtime: () => runtime, log, metrics });

const call = (path, headers) => ({
  request: {
    attributes: {
      request: {
        http: { method: 'GET', path, host: 'api.example.com', scheme: 'https', headers: { ':path': path, ...headers } },
      },
      context_extensions: {},
    },
  },
  metadata: new Metadata(),
});
const answer = (c) => new Promise((resolve) => handler(c, (_err, res) => resolve(res)));

/** `count` checks, TURN per event-loop turn; each must be allowed. Returns checks per second. */
async function run(calls) {
  const start = process.hrtime.bigint();
  for (let done = 0; done < calls.length; done += TURN) {
    const turn = calls.slice(done, done + TURN).map(answer);
    for (const res of await Promise.all(turn)) {
      if (res.status.code !== 0) throw new Error(`denied: ${JSON.stringify(res.dynamic_metadata)}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return calls.length / (Number(process.hrtime.bigint() - start) / 1e9);
}

const bearerCall = call('/orders', { authorization: `Bearer ${bearer}`, 'x-request-id': 'r1' });
const dpopCalls = () =>
  Array.from({ length: N }, () => call('/dpop', { authorization: `DPoP ${bound}`, dpop: proof() }));
const results = { bearer: [], dpop: [], verify: [] };
/** The floor: one ES256 verification of a proof's signing input with node:crypto, the key already imported. */
const sample = proof();
const [verifyInput, verifySignature] = [
  sample.slice(0, sample.lastIndexOf('.')),
  sample.slice(sample.lastIndexOf('.') + 1),
];
function verifies(count) {
  const input = Buffer.from(verifyInput);
  const signature = Buffer.from(verifySignature, 'base64url');
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (!verify('sha256', input, { key: client.publicKey, dsaEncoding: 'ieee-p1363' }, signature))
      throw new Error('no');
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}
// Warm-up: both tokens into the token cache, the code paths compiled.
await run(Array(2000).fill(bearerCall));
await run(dpopCalls().slice(0, 2000));
for (let round = 0; round < ROUNDS; round++) {
  const proofs = dpopCalls();
  results.bearer.push(await run(Array(N).fill(bearerCall)));
  results.dpop.push(await run(proofs));
  results.verify.push(verifies(N));
  process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const b = median(results.bearer);
const d = median(results.dpop);
const v = median(results.verify);
const fmt = (x) => Math.round(x).toLocaleString('en-US');
const spread = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
process.stdout.write(
  [
    `node ${process.version}, ${ROUNDS} rounds × ${N} checks, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    '',
    '| check (cached token) | checks/s, median (min–max) | µs per check |',
    '|---|---:|---:|',
    `| Bearer, no dpop | ${fmt(b)} (${spread(results.bearer)}) | ${(1e6 / b).toFixed(1)} |`,
    `| DPoP + ES256 proof | ${fmt(d)} (${spread(results.dpop)}) | ${(1e6 / d).toFixed(1)} |`,
    `| (one ES256 verify alone, node:crypto) | ${fmt(v)} (${spread(results.verify)}) | ${(1e6 / v).toFixed(1)} |`,
    '',
    `DPoP/Bearer throughput ratio ${(d / b).toFixed(2)}; the proof adds ${(1e6 / d - 1e6 / b).toFixed(1)} µs per check, ` +
      `of which one ES256 verification is ${(1e6 / v).toFixed(1)} µs.`,
    '',
  ].join('\n'),
);
process.exit(0);
