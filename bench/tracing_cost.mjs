#!/usr/bin/env node
// What tracing costs a check (issue 22 §1), in-process: the gRPC Check handler end to end (the request as grpc-js
// hands it over → authorize → response → metrics and log line), without the network, so the check path's own cost is
// what differs between the modes:
//   baseline  a build without any tracing hook (--baseline DIST, e.g. the commit before tracing), when given
//   off       this build, tracing off (the default: no SDK module is loaded)
//   on 1.0    tracing on, samplerRatio 1.0 (every check recorded and exported)
//   on 0.01   tracing on, samplerRatio 0.01 (1 check in 100 recorded)
// Each measurement is a fresh child process (once AsyncLocalStorage is in use, every promise of the process pays for
// it, so modes must not share one), the modes interleaved round by round; the figure is the median checks/s. "On"
// exports OTLP http/protobuf to a loopback sink that answers 200 (the exporter's serialising and sending is counted;
// the sink runs in its own process). Two workloads: a repeated token (allowed from the token cache, no log line with
// logging.decisions: deny), and no token (denied, one log line).
//
//   npm run build && node bench/tracing_cost.mjs [--n 30000] [--rounds 5] [--baseline /path/to/other/dist]
//
// A baseline build, from the commit before tracing (BASE):
//   mkdir /tmp/tg-base && git archive BASE | tar -x -C /tmp/tg-base && ln -s "$PWD/node_modules" /tmp/tg-base/ \
//     && (cd /tmp/tg-base && npx tsc -p tsconfig.build.json)   # then --baseline /tmp/tg-base/dist
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '30000' },
    rounds: { type: 'string', default: '5' },
    baseline: { type: 'string' },
    // Internal: run one measurement (the parent spawns these).
    child: { type: 'string' },
    dist: { type: 'string' },
    ratio: { type: 'string' },
  },
});
const N = Number(values.n);
/** Checks started per event-loop turn. */
const TURN = 20;

if (values.child) await child();
else await parent();

async function parent() {
  const sink = await startSink();
  const endpoint = `http://127.0.0.1:${sink.port}`;
  const modes = [
    ...(values.baseline ? [{ label: 'baseline (no tracing hook)', dist: values.baseline, ratio: '' }] : []),
    { label: 'off', dist: join(ROOT, 'dist'), ratio: '' },
    { label: 'on, samplerRatio 1.0', dist: join(ROOT, 'dist'), ratio: '1' },
    { label: 'on, samplerRatio 0.01', dist: join(ROOT, 'dist'), ratio: '0.01' },
  ];
  const results = new Map(modes.map((m) => [m.label, { allow: [], deny: [], checks: 0, spans: 0 }]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of modes) {
      const args = [fileURLToPath(import.meta.url), '--child', 'run', '--dist', mode.dist, '--n', String(N)];
      if (mode.ratio) args.push('--ratio', mode.ratio);
      const before = await sink.read();
      const r = spawnSync(process.execPath, args, {
        encoding: 'utf8',
        env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'otlp' },
      });
      if (r.status !== 0) throw new Error(`${mode.label}: child failed\n${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1));
      const entry = results.get(mode.label);
      entry.allow.push(out.allow);
      entry.deny.push(out.deny);
      entry.checks += out.checks;
      entry.spans += (await sink.read()).spans - before.spans;
    }
    process.stderr.write(`round ${round + 1}/${values.rounds} done\n`);
  }
  const received = await sink.close();
  const off = results.get('off');
  const rows = [...results].map(([label, r]) => {
    const allow = median(r.allow);
    const deny = median(r.deny);
    const offAllow = median(off.allow);
    const offDeny = median(off.deny);
    return [
      label,
      `${fmt(allow)} (${spread(r.allow)})`,
      ratio(allow, offAllow),
      added(allow, offAllow),
      `${fmt(deny)} (${spread(r.deny)})`,
      ratio(deny, offDeny),
      added(deny, offDeny),
      `${fmt(r.spans)} / ${fmt(r.checks)}`,
    ].join(' | ');
  });
  const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' });
  process.stdout.write(
    [
      `node ${process.version}, ${cpu.stdout.trim()}, load average ${(await loadavg()).join(' ')} at the end;`,
      `${values.rounds} rounds × ${N} checks per workload, median checks/s (min–max); the sink took ${received.requests} OTLP`,
      `requests (${(received.bytes / 1e6).toFixed(1)} MB).`,
      '',
      '| mode | repeated token, allow | vs off | µs added | no token, deny | vs off | µs added | spans exported / checks |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map((row) => `| ${row} |`),
      '',
    ].join('\n'),
  );
}

async function child() {
  const { generateKeyPairSync, sign } = await import('node:crypto');
  const { createWriteStream } = await import('node:fs');
  const dist = (p) => import(join(values.dist, p));
  const { createCheckHandler } = await dist('grpc/check_service.js');
  const { buildRuntime, startRuntime, runtimeReady } = await dist('authz/runtime.js');
  const { parseConfigText } = await dist('config/load.js');
  const { createLogger } = await dist('log.js');
  const { Metrics } = await dist('ops/metrics.js');
  const { Metadata } = await import('@grpc/grpc-js');

  // An RS256 key, its JWKS on loopback, and one token for the repeated-token workload.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] }))).listen(0, '127.0.0.1');
  await new Promise((resolve) => jwks.once('listening', resolve));
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${b64({ iss: 'https://issuer.bench', aud: 'api://bench', sub: 'u1', iat: now, exp: now + 3600 })}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;

  const tracing = values.ratio ? `tracing: { enabled: true, samplerRatio: ${values.ratio} }\n` : '';
  const config = parseConfigText(
    `${tracing}server: { grpc: { address: "127.0.0.1:0" } }
logging: { level: info }
policies:
  - name: orders
    validateJwt:
      jwksUri: ["http://127.0.0.1:${jwks.address().port}/jwks"]
      issuers: ["https://issuer.bench"]
      audiences: ["api://bench"]
`,
    'bench',
  );
  const runtime = buildRuntime(config);
  startRuntime(runtime);
  while (!runtimeReady(runtime)) await new Promise((r) => setTimeout(r, 5));
  jwks.close();

  const log = createLogger('info', createWriteStream('/dev/null'));
  // As App.start does: the baseline build has no src/tracing at all.
  let tracer;
  if (config.tracing) tracer = await (await dist('tracing/start.js')).startTracing(config.tracing, log);
  const metrics = new Metrics({ keySources: () => [], tokenCache: () => runtime.cache });
  const handler = createCheckHandler({ runtime: () => runtime, log, metrics, tracer });

  const call = (headers) => ({
    request: {
      attributes: {
        request: { http: { method: 'GET', path: '/orders', host: 'api.example.com', headers: { ...headers } } },
        context_extensions: {},
      },
    },
    metadata: new Metadata(),
  });
  const allowCall = call({ ':path': '/orders', authorization: `Bearer ${token}`, 'x-request-id': 'r1' });
  const denyCall = call({ ':path': '/orders', 'x-request-id': 'r2' });
  const one = (c) => new Promise((resolve) => handler(c, resolve));
  // As a server sees them: TURN checks per event-loop turn (grpc-js hands over what one read brought), then the loop
  // turns, so timers and I/O run between turns as they would between reads: the span exporter's included.
  let checks = 0;
  async function run(c, count) {
    checks += count;
    for (let done = 0; done < count; done += TURN) {
      const turn = [];
      for (let i = 0; i < TURN; i++) turn.push(one(c));
      await Promise.all(turn);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  async function checksPerSecond(c, expectOk) {
    const first = await new Promise((resolve) => handler(c, (_err, res) => resolve(res)));
    checks += 1;
    if ((first.status.code === 0) !== expectOk) throw new Error(`unexpected answer ${JSON.stringify(first.status)}`);
    await run(c, Math.min(N, 5000));
    const start = process.hrtime.bigint();
    await run(c, N);
    return N / (Number(process.hrtime.bigint() - start) / 1e9);
  }
  const allow = await checksPerSecond(allowCall, true);
  const deny = await checksPerSecond(denyCall, false);
  await tracer?.shutdown();
  log.flush?.();
  process.stdout.write(`${JSON.stringify({ allow, deny, checks })}\n`);
  process.exit(0);
}

/** An OTLP/HTTP endpoint that takes anything and answers 200, in a child process, counting requests and bytes. */
async function startSink() {
  const code = `
    let requests = 0, bytes = 0, spans = 0;
    ${countSpans.toString()}
    const server = require('node:http').createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        requests++;
        bytes += body.length;
        spans += countSpans(body);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end();
      });
    }).listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
    process.on('message', (m) => {
      if (m === 'read') process.send({ requests, bytes, spans });
      else process.send({ requests, bytes, spans }, () => process.exit(0));
    });`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) => proc.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const ask = (what) =>
    new Promise((resolve) => {
      proc.once('message', resolve);
      proc.send(what);
    });
  /** What it received so far; close() stops it. */
  return { port, read: () => ask('read'), close: () => ask('stop') };
}

/**
 * Spans in an OTLP ExportTraceServiceRequest (protobuf): resource_spans (1) > scope_spans (2) > spans (2). A walk over
 * the length-delimited fields, enough for counting; runs in the sink process.
 */
function countSpans(buf) {
  function fields(b, start, end, visit) {
    let i = start;
    const varint = () => {
      let v = 0;
      for (let shift = 0; ; shift += 7) {
        const x = b[i++];
        v += (x & 0x7f) * 2 ** shift;
        if (x < 0x80) return v;
      }
    };
    while (i < end) {
      const key = varint();
      const type = key & 7;
      if (type === 0) varint();
      else if (type === 1) i += 8;
      else if (type === 5) i += 4;
      else if (type === 2) {
        const len = varint();
        visit(key >>> 3, i, i + len);
        i += len;
      } else return;
    }
  }
  let n = 0;
  fields(buf, 0, buf.length, (f, s, e) => {
    if (f === 1)
      fields(buf, s, e, (f2, s2, e2) => {
        if (f2 === 2)
          fields(buf, s2, e2, (f3) => {
            if (f3 === 2) n++;
          });
      });
  });
  return n;
}

async function loadavg() {
  const { loadavg } = await import('node:os');
  return loadavg().map((l) => l.toFixed(2));
}

function median(list) {
  const sorted = [...list].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}

function spread(list) {
  return `${fmt(Math.min(...list))}–${fmt(Math.max(...list))}`;
}

/** µs a check takes at `a` checks/s beyond what it takes at `b`. */
function added(a, b) {
  return (1e6 / a - 1e6 / b).toFixed(1);
}

function ratio(a, b) {
  return (a / b).toFixed(3);
}
