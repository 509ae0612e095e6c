#!/usr/bin/env node
// What CEL rules cost per check (issue 18 §4), in one process, without the transport: the same cached-token check
// against the same policy with no rules and with 5 rules, interleaved in rounds because this VM's speed drifts.
// bench/stages.mjs has the same rules as a stage (mean µs per call, on the bench's data); this file times each call
// for the p50 the issue's bar names, and needs no bench data (its keys and token are made here).
//
//   npm run build && node bench/rules_cost.mjs [--n 20000] [--rounds 7]
//
// Reports (1) authorize() alone, timed per call: p50 with and without rules, and the difference (bar: ≤ 5 µs);
// (2) the check as the server runs it minus logging and metrics (decode → toAuthzRequest → authorize → toCheckResponse
// → encode), p50 µs, against the allow-all ceiling's own work (proto-loader decode + encode {status: OK}): the
// in-process throughput ratios handler/ceiling with and without rules; (3) the estimate of the full bench's
// cached-token RPS ratio with rules on, from its last measured ratio and CPU per check (inputs printed), since the
// full bench (ghz, Envoy) is not run by this script.
import { generateKeyPairSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { benchRules } from './lib/rules.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '7' } } });
const N = Number(values.n);
const ROUNDS = Number(values.rounds);

const dist = (p) => import(join(ROOT, 'dist', p));
const { authorize } = await dist('authz/authorize.js');
const { buildRuntime } = await dist('authz/runtime.js');
const { parseConfigText } = await dist('config/load.js');
const { loadAuthorizationService } = await dist('grpc/protos.js');
const { decodeCheckRequest } = await dist('grpc/decode_check_request.js');
const { toAuthzRequest } = await dist('grpc/check_request.js');
const { toCheckResponse } = await dist('grpc/check_response.js');
const { encodeCheckResponse } = await dist('grpc/encode_check_response.js');

const ISSUER = 'https://issuer.bench.invalid';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'; // the tenant of bench/lib/data_tokens.mjs, which the rules require
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256' };

// The 5 rules of the bench's scenario (e) and of bench/stages.mjs (4 `when`s that hold, 1 that does not, 4 `allow`s),
// for a policy named as the request's route names it.
const RULES = benchRules({ scope: 'orders.read', policy: 'orders' });

const config = (rules) =>
  parseConfigText(`policies:
  - name: orders
    validateJwt:
      issuerSigningKeys: [{ jwk: ${JSON.stringify(jwk)} }]
      algorithms: [ES256]
      issuers: ["${ISSUER}"]
      audiences: ["api://orders"]
      requiredClaims:
        - { name: scp, separator: " ", match: any, values: ["orders.read"] }
      outputClaimsToHeaders:
        - { claim: sub, header: x-user-sub }
${rules}`);

const token = await new SignJWT({
  iss: ISSUER,
  aud: 'api://orders',
  sub: 'alice',
  scp: 'orders.read profile',
  roles: ['Reader'],
  tid: TENANT,
  azp: 'web-app',
})
  .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'JWT' })
  .setIssuedAt()
  .setExpirationTime('2h')
  .sign(privateKey);

const service = loadAuthorizationService().Check;
const path = '/orders/42';
const bytes = service.requestSerialize({
  attributes: {
    request: {
      http: {
        method: 'GET',
        path,
        host: 'api.example.com',
        headers: { ':authority': 'api.example.com', ':method': 'GET', ':path': path, authorization: `Bearer ${token}` },
      },
    },
    context_extensions: { policy: 'orders' },
  },
});
const ALLOW = { status: { code: 0 } };

const variants = [
  ['no rules', buildRuntime(config(''))],
  ['5 rules', buildRuntime(config(RULES))],
];
const request = toAuthzRequest(decodeCheckRequest(bytes));
for (const [label, runtime] of variants) {
  const decision = await authorize(request, runtime, { deadlineMs: 1000 });
  if (!decision.allowed || decision.wouldDeny) throw new Error(`${label}: expected an allow, got ${decision.reason ?? 'would_deny'}`);
}

/** The p50 of `step` timed per call, in µs. */
async function p50Of(step) {
  const out = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const start = process.hrtime.bigint();
    await step();
    out[i] = Number(process.hrtime.bigint() - start) / 1e3;
  }
  return out.sort()[Math.floor(N / 2)];
}

const authorizeOnce = (runtime) => () => authorize(request, runtime, { deadlineMs: 1000 });
const checkOnce = (runtime) => async () => {
  const decision = await authorize(toAuthzRequest(decodeCheckRequest(bytes)), runtime, { deadlineMs: 1000 });
  encodeCheckResponse(toCheckResponse(decision));
};
const ceilingOnce = async () => {
  service.requestDeserialize(bytes);
  service.responseSerialize(ALLOW);
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const authorizeP50 = { 'no rules': [], '5 rules': [] };
const checkP50 = { 'no rules': [], '5 rules': [] };
const ceiling = [];
for (const [, runtime] of variants) await p50Of(checkOnce(runtime)); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, runtime] of variants) authorizeP50[label].push(await p50Of(authorizeOnce(runtime)));
  for (const [label, runtime] of variants) checkP50[label].push(await p50Of(checkOnce(runtime)));
  ceiling.push(await p50Of(ceilingOnce));
}

const a0 = median(authorizeP50['no rules']);
const a5 = median(authorizeP50['5 rules']);
const h0 = median(checkP50['no rules']);
const h5 = median(checkP50['5 rules']);
const c = median(ceiling);
const added = a5 - a0;
// The full bench (bench/RESULTS.md, 2026-12-01): cached tokens at -c 50, tokengate 7,791 RPS / ceiling 8,790 RPS,
// and tokengate's whole-process CPU per check for repeated tokens 121-124 µs (bench/README.md). CPU-bound, so adding
// `added` µs per check scales its RPS by cpu / (cpu + added).
const BENCH_RATIO = 7791 / 8790;
const BENCH_CPU_US = 122;
const estimate = BENCH_RATIO * (BENCH_CPU_US / (BENCH_CPU_US + added));

const f = (x) => x.toFixed(2);
process.stdout.write(`node ${process.version}; p50 of ${N} timed calls per figure, median of ${ROUNDS} rounds; cached token, one GET\n`);
process.stdout.write(`authorize() p50: no rules ${f(a0)} µs, 5 rules ${f(a5)} µs: added ${f(added)} µs per check (bar ≤ 5)\n`);
process.stdout.write(
  `check without transport (decode → authorize → encode), p50: no rules ${f(h0)} µs, 5 rules ${f(h5)} µs; ` +
    `ceiling's own work ${f(c)} µs\n`,
);
process.stdout.write(
  `in-process throughput vs the ceiling's work: no rules ${f(c / h0)}, 5 rules ${f(c / h5)}; ` +
    `5 rules / no rules ${f(h0 / h5)}\n`,
);
process.stdout.write(
  `estimated full-bench cached-token ratio with 5 rules: ${f(estimate)} ` +
    `(measured ${f(BENCH_RATIO)} without rules × ${BENCH_CPU_US} / (${BENCH_CPU_US} + ${f(added)}); bar ≥ 0.85)\n`,
);
