#!/usr/bin/env node
// Per-stage cost of a check, in one process, without the transport: where tokengate's CPU per request goes beyond
// what the grpc-js ceiling also pays (decode the request, encode the response). Ratios against that ceiling path
// are the figures to compare between commits; absolute µs move with the machine.
//
//   npm run build && node bench/make_data.mjs && node bench/stages.mjs [--set repeated|rs256|es256] [--n 20000]
//   node --cpu-prof --cpu-prof-dir bench/out/prof bench/stages.mjs --set rs256.first30000 --only 'end to end'
//
// Uses the bench's generated requests (bench/out/data/<set>.bin) and JWKS, served from a loopback HTTP server.
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readDelimited } from './lib/delimited.mjs';
import { benchRules } from './lib/rules.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env.BENCH_DATA_DIR ?? join(ROOT, 'bench', 'out', 'data');
const { values } = parseArgs({
  options: {
    set: { type: 'string', default: 'repeated' },
    n: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    // Only the stages whose label contains this text (with node --cpu-prof, to profile one stage).
    only: { type: 'string' },
  },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);

const dist = (p) => import(join(ROOT, 'dist', p));
const { loadAuthorizationService } = await dist('grpc/protos.js');
const { toAuthzRequest } = await dist('grpc/check_request.js');
const { toCheckResponse } = await dist('grpc/check_response.js');
const { createCheckHandler, recordDecision } = await dist('grpc/check_service.js');
const { decodeCheckRequest } = await dist('grpc/decode_check_request.js');
const { encodeCheckResponse } = await dist('grpc/encode_check_response.js');
const { authorize } = await dist('authz/authorize.js');
const { buildRuntime, startRuntime, runtimeReady } = await dist('authz/runtime.js');
const { parseConfigText } = await dist('config/load.js');
const { createLogger } = await dist('log.js');
const { Metrics } = await dist('ops/metrics.js');

const requests = readDelimited(readFileSync(join(DATA, `${values.set}.bin`)));
const jwks = readFileSync(join(DATA, 'jwks.json'));
const issuer = await new Promise((resolve) => {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(jwks);
  }).listen(0, '127.0.0.1', () => resolve(server));
});
const jwksUrl = `http://127.0.0.1:${issuer.address().port}/jwks`;
const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8'));

const configText = (rules) => `
server: { grpc: { address: "127.0.0.1:0" } }
logging: { level: info }
policies:
  - name: orders
    validateJwt:
      jwksUri: ["${jwksUrl}"]
      issuers: ["${manifest.issuer}"]
      audiences: ["${manifest.audience}"]
      requiredClaims:
        - { name: scp, separator: " ", match: any, values: ["orders.read"] }
      outputClaimsToHeaders:
        - { claim: sub, header: x-user-sub }
${rules}`;
async function readyRuntime(rules) {
  const runtime = buildRuntime(parseConfigText(configText(rules)));
  startRuntime(runtime);
  const deadline = Date.now() + 5000;
  while (!runtimeReady(runtime)) {
    if (Date.now() > deadline) throw new Error('keys not loaded within 5 s');
    await new Promise((r) => setImmediate(r));
  }
  return runtime;
}
const runtime = await readyRuntime('');
// The same policy with scenario (e)'s 5 CEL rules (issue 18 §4: at most 5 µs more per cached check).
const rulesRuntime = await readyRuntime(benchRules(manifest));
issuer.close();

const service = loadAuthorizationService().Check;
const log = createLogger('info', createWriteStream('/dev/null'));
const metrics = new Metrics({ keySources: () => [], tokenCache: () => runtime.cache });
const deps = { runtime: () => runtime, log, metrics };
const handler = createCheckHandler(deps);
const ALLOW = { status: { code: 0 } };

function pick(i) {
  return requests[i % requests.length];
}

// Warm-up and measured loop use disjoint requests, and the token cache starts empty: with a distinct-token set,
// every measured check is then a miss, as in the bench's scenarios (b) and (c).
const WARMUP = Math.min(N, 2000);
async function time(fn) {
  runtime.cache.clear();
  rulesRuntime.cache.clear();
  for (let i = 0; i < WARMUP; i++) await fn(N + i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn(i);
  return Number(process.hrtime.bigint() - start) / 1e3 / N;
}

const decoded = requests.map((b) => service.requestDeserialize(b));
const authzRequests = decoded.map(toAuthzRequest);
const decisions = [];
for (let i = 0; i < authzRequests.length && i < 2000; i++)
  decisions.push(await authorize(authzRequests[i], runtime, { deadlineMs: 1000 }));
const allowed = decisions.filter((d) => d.allowed).length;

/** [label, one step for request i] */
const stages = [
  [
    'ceiling: decode request + encode {status: OK}',
    (i) => {
      service.requestDeserialize(pick(i));
      service.responseSerialize(ALLOW);
    },
  ],
  ['decode request (proto-loader)', (i) => service.requestDeserialize(pick(i))],
  ['decode request (tokengate)', (i) => decodeCheckRequest(pick(i))],
  ['toAuthzRequest', (i) => toAuthzRequest(decoded[i % decoded.length])],
  ['authorize', (i) => authorize(authzRequests[i % authzRequests.length], runtime, { deadlineMs: 1000 })],
  [
    'authorize, 5 CEL rules',
    (i) => authorize(authzRequests[i % authzRequests.length], rulesRuntime, { deadlineMs: 1000 }),
  ],
  ['toCheckResponse', (i) => toCheckResponse(decisions[i % decisions.length])],
  [
    'encode response (proto-loader)',
    (i) => service.responseSerialize(toCheckResponse(decisions[i % decisions.length])),
  ],
  ['encode response (tokengate)', (i) => encodeCheckResponse(toCheckResponse(decisions[i % decisions.length]))],
  [
    'record: metrics + decision log line',
    (i) =>
      recordDecision(deps, decisions[i % decisions.length], authzRequests[i % authzRequests.length].requestId, 0.0001),
  ],
  [
    'handler end to end (decode → answer → encode)',
    (i) =>
      new Promise((resolve) => {
        handler({ request: decodeCheckRequest(pick(i)) }, (_err, response) => {
          encodeCheckResponse(response);
          resolve();
        });
      }),
  ],
];

if (values.only) stages.splice(1, stages.length, ...stages.slice(1).filter(([label]) => label.includes(values.only)));

// Rounds interleave the stages, and each figure is the median over rounds: this VM's speed drifts by tens of percent.
const samples = stages.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (let s = 0; s < stages.length; s++) samples[s].push(await time(stages[s][1]));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = stages.map(([label], s) => ({ label, us: median(samples[s]) }));
const base = rows[0].us;
process.stdout.write(
  `set ${values.set}: ${requests.length} requests, ${allowed}/${decisions.length} sampled allowed, n=${N}, median of ${ROUNDS} rounds\n`,
);
for (const r of rows)
  process.stdout.write(`${r.us.toFixed(2).padStart(8)} µs  ${(r.us / base).toFixed(2).padStart(5)}×  ${r.label}\n`);
process.exit(0);
