#!/usr/bin/env node
// The CPU cost of one cached check on the HTTP authorization listener's path, in one process and without a socket:
// parse the request head (src/http/wire/request_head.ts), rebuild the original request, run the pipeline, count and
// log the decision, serialise the answer. The socket's reads and writes, which the node:http ceiling in
// bench/http_authz.mjs pays too, are left out, so this is the figure to compare between commits (issue 21).
// The policy, token and request forms are bench/http_authz.mjs's (bench/lib/http_bench.mjs).
//
//   npm run build && node bench/http_check_cost.mjs [--n 200000] [--rounds 5]
//
// Prints ns per check for the Envoy http_service form and the nginx auth_request form, each the best of its rounds.
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commonHeaders, ENVOY_FORM, httpBenchPolicies, NGINX_FORM, startHttpBenchIssuer } from './lib/http_bench.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { n: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' } },
});
const dist = (p) => import(join(ROOT, 'dist', p));
const { buildRuntime, startRuntime, runtimeReady } = await dist('authz/runtime.js');
const { parseConfigText } = await dist('config/load.js');
const { createLogger } = await dist('log.js');
const { Metrics } = await dist('ops/metrics.js');
const { createHttpCheckHandler } = await dist('http/http_check.js');
const { parseRequestHead } = await dist('http/wire/request_head.js');
const { serializeResponse } = await dist('http/wire/response.js');
const { waitFor } = await dist('testkit/wait.js');

const { issuer, token } = await startHttpBenchIssuer(ROOT);
const runtime = buildRuntime(
  parseConfigText(`server: { grpc: { address: "127.0.0.1:0" }, http: false }\n${httpBenchPolicies(issuer.issuer)}`),
);
startRuntime(runtime);
await waitFor('keys', () => (runtimeReady(runtime) ? true : undefined), { timeoutMs: 10_000 });
const log = createLogger('info', createWriteStream('/dev/null'));
const metrics = new Metrics({ keySources: () => [], tokenCache: () => runtime.cache });
const handler = createHttpCheckHandler(
  { runtime: () => runtime, log, metrics },
  { envoyPathPrefix: '/envoy', maxConcurrentChecks: 1000 },
);

/** A form as the bytes a proxy sends. */
const requestText = ({ path, headers }) =>
  `GET ${path} HTTP/1.1\r\n${[...commonHeaders(token), ...headers].map((h) => `${h}\r\n`).join('')}\r\n`;
const forms = {
  'Envoy http_service form': requestText(ENVOY_FORM),
  'nginx auth_request form': requestText(NGINX_FORM),
};
const limits = { maxHeadBytes: 32 * 1024, maxBodyBytes: 1024 * 1024 };
const framing = { close: false, keepAliveForHttp10: false, head: false, date: new Date().toUTCString() };
let status = 0;

/** One check as the connection runs it: parse, handle, serialise (the answer goes nowhere). */
function check(bytes) {
  const parsed = parseRequestHead(bytes, 0, limits);
  if (parsed.kind !== 'head') throw new Error(`the request was not read: ${JSON.stringify(parsed)}`);
  const { head } = parsed;
  const exchange = {
    method: head.method,
    target: head.target,
    headers: head.headers,
    peerTrusted: () => true,
    sent: false,
    send(s, headers, body) {
      status = s;
      serializeResponse(s, headers, body, framing);
      this.sent = true;
    },
  };
  handler(exchange, exchange);
}

for (const [name, text] of Object.entries(forms)) {
  const bytes = Buffer.from(text, 'latin1');
  // Twice first: a token enters the cache on its second verification, and the first one waits for nothing else.
  for (let i = 0; i < 2; i++) {
    status = 0;
    check(bytes);
    await waitFor('the check answered', () => (status !== 0 ? true : undefined), { timeoutMs: 5000 });
  }
  const n = Number(values.n);
  let best = Infinity;
  for (let round = 0; round < Number(values.rounds); round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) check(bytes);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / n);
  }
  if (status !== 200) throw new Error(`${name}: answered ${status}, not 200`);
  process.stdout.write(`${name}: ${Math.round(best)} ns per cached check (best of ${values.rounds} × ${n})\n`);
}
await issuer.close();
process.exit(0);
