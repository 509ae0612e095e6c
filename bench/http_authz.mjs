#!/usr/bin/env node
// The cost of the HTTP authorization mode (issue 21): checks/s of tokengate's HTTP listener (server.httpAuthz) for a
// repeated token (the token cache answers), against an allow-all node:http server with the same process model,
// both driven by wrk over keep-alive HTTP/1.1. Two request forms are measured: Envoy http_service's (the original
// request behind /envoy) and nginx auth_request's (GET /authz with X-Original-URI and X-Original-Method from a
// trusted proxy), each against the ceiling answering the same request. A third server, the same allow-all handler
// in a process that also runs an idle tokengate (dist/app.js: its listeners, key sources, metrics, logger), shows
// what tokengate's process costs an HTTP request before any check. Runs are interleaved (every target once per
// round); the figures are medians over the rounds. Servers are pinned to the last CPU and wrk to the first
// (taskset), unless --no-pin; every server runs with the image's node flags and memory environment
// (scripts/node_runtime.mjs).
//
//   npm run build && node bench/http_authz.mjs [--duration 10s] [--connections 50] [--rounds 3] [--workers 1]
//     [--only TEXT] [--cpu-prof DIR]    # only the targets named so (and their ceilings); V8 profiles of the servers
//
// Besides the rate, the server's CPU time per check (from /proc): on a machine shared with other work the rate swings
// with the share of the CPU the server gets, the CPU per check much less; "capacity ÷ ceiling" is the ceiling's CPU
// per request over tokengate's, the rate ratio a server with a core of its own would show.
//
// Needs wrk on the PATH (Debian: apt-get install wrk). Prints a Markdown table; exits 1 if any answer was not a
// 200 or wrk reported socket errors.
import { execFileSync } from 'node:child_process';
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { imageNodeRuntime } from '../scripts/node_runtime.mjs';
import { commonHeaders, ENVOY_FORM, httpBenchPolicies, NGINX_FORM, startHttpBenchIssuer } from './lib/http_bench.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10s' },
    warmup: { type: 'string', default: '2s' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1' },
    // Processes of each server (ceiling, allow-all inside tokengate, tokengate), each measured every round. On the
    // machine these figures come from, identical allow-all processes differ by up to a third in CPU per request,
    // steadily over each one's lifetime: one process per server would compare luck.
    processes: { type: 'string', default: '3' },
    'no-pin': { type: 'boolean', default: false },
    // Only the targets whose name contains this text (the ceiling is always measured).
    only: { type: 'string' },
    // Write a V8 CPU profile of each server process into this directory (node --cpu-prof), for
    // bench/profile_summary.mjs.
    'cpu-prof': { type: 'string' },
    // Internal: run as the allow-all ceiling server on this port.
    ceiling: { type: 'string' },
    // Internal, with --ceiling: start tokengate (dist/app.js) with this config in the same process first.
    inside: { type: 'string' },
  },
});
const workers = Number(values.workers);

if (values.ceiling !== undefined) await ceiling(Number(values.ceiling));
else await main();

/**
 * The ceiling: node:http answering every request 200 with an empty body, as tokengate answers an allow, with the
 * same server options and the same process model (one process, or `--workers N` with node:cluster). With --inside,
 * the same allow-all server runs in a process that also runs tokengate, idle (its gRPC, HTTP authorization and ops
 * listeners, key sources, metrics and logger): what serving HTTP costs in tokengate's process before any check.
 */
async function ceiling(port) {
  if (workers > 1 && cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    return;
  }
  if (values.inside !== undefined) {
    const { App } = await import(join(ROOT, 'dist/app.js'));
    const { loadConfigFile } = await import(join(ROOT, 'dist/config/load.js'));
    const { createLogger } = await import(join(ROOT, 'dist/log.js'));
    const config = loadConfigFile(values.inside);
    await App.start({ config, log: createLogger(config.logging.level) });
  }
  const server = createServer({ keepAliveTimeout: 65_000, maxHeaderSize: 32 * 1024 }, (req, res) => {
    res.writeHead(200, { 'content-length': 0, 'x-user-oid': 'oid-bench' });
    res.end();
  });
  server.listen(port, '127.0.0.1');
  // A clean exit on SIGTERM, as tokengate's, so that --cpu-prof writes the ceiling's profile too.
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

async function main() {
  const { freePorts } = await import(join(ROOT, 'dist/testkit/ports.js'));
  const { startTokengateProcess } = await import(join(ROOT, 'dist/testkit/tokengate_process.js'));
  const { ManagedProcess, killChildren } = await import(join(ROOT, 'dist/testkit/children.js'));
  const { waitFor } = await import(join(ROOT, 'dist/testkit/wait.js'));
  process.once('SIGINT', () => {
    killChildren('SIGKILL');
    process.exit(130);
  });
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk --version exits 1 after printing; only a missing binary is a problem.
    if (err.code === 'ENOENT') fail('wrk not found: install it (Debian: apt-get install wrk).');
  }
  const cpus = availableParallelism();
  const pin = !values['no-pin'] && cpus >= 2 && has('taskset');
  const serverCpu = String(cpus - 1);
  const wrap = (argv, cpu) => (pin ? ['taskset', '-c', cpu, ...argv] : argv);

  const dir = mkdtempSync(join(tmpdir(), 'tokengate-http-bench-'));
  const { issuer, token } = await startHttpBenchIssuer(ROOT);
  const writeConfig = async (name) => {
    const [grpcPort, opsPort, httpPort] = await freePorts(3);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, tokengateConfig({ grpcPort, opsPort, httpPort, issuer: issuer.issuer }));
    return { file, opsPort, httpPort };
  };

  // The image's node flags and memory environment (scripts/node_runtime.mjs reads them from the Dockerfile), for
  // every server.
  const runtime = imageNodeRuntime();
  const nodeFlags = [...runtime.flags];
  const env = { ...process.env, ...runtime.env };
  if (values['cpu-prof']) nodeFlags.push('--cpu-prof', '--cpu-prof-dir', values['cpu-prof']);
  const allowAll = async (name, extra) => {
    const [port] = await freePorts(1);
    const argv = [process.execPath, ...nodeFlags, fileURLToPath(import.meta.url), '--ceiling', String(port)];
    const [cmd, ...rest] = wrap([...argv, '--workers', String(workers), ...extra], serverCpu);
    const proc = new ManagedProcess(name, cmd, rest, join(dir, `${name}.log`), { env, stdout: 'ignore' });
    const listening = () =>
      probe(port, '/', []).then(
        () => true,
        () => undefined,
      );
    await waitFor(`${name} listening`, listening, { timeoutMs: 20_000 });
    return { proc, port };
  };
  const ceilings = [];
  const insides = [];
  const tokengates = [];
  for (let i = 0; i < Number(values.processes); i++) {
    ceilings.push(await allowAll(`ceiling-${i}`, []));
    insides.push(await allowAll(`inside-${i}`, ['--inside', (await writeConfig(`inside-${i}`)).file]));
    const config = await writeConfig(`tokengate-${i}`);
    const proc = await startTokengateProcess({
      args: ['serve', '--config', config.file],
      opsPort: config.opsPort,
      logFile: join(dir, `tokengate-${i}.log`),
      nodeFlags,
      env: runtime.env,
      wrapper: pin ? ['taskset', '-c', serverCpu] : [],
      stdout: 'ignore',
    });
    tokengates.push({ proc, port: config.httpPort });
  }

  // Each tokengate form is compared with the ceiling answering the very same request (the nginx form's three more
  // headers cost node's parser too).
  const envoyForm = ENVOY_FORM;
  const nginxForm = NGINX_FORM;
  const ceilingEnvoy = 'ceiling (node:http allow-all), Envoy form request';
  const ceilingNginx = 'ceiling (node:http allow-all), nginx form request';
  const allTargets = [
    { name: ceilingEnvoy, servers: ceilings, ...envoyForm },
    { name: ceilingNginx, servers: ceilings, ...nginxForm },
    {
      name: 'allow-all node:http inside an idle tokengate process (no check), Envoy form request',
      servers: insides,
      ...envoyForm,
      ceiling: ceilingEnvoy,
    },
    { name: 'tokengate, Envoy http_service form', servers: tokengates, ...envoyForm, ceiling: ceilingEnvoy },
    { name: 'tokengate, nginx auth_request form', servers: tokengates, ...nginxForm, ceiling: ceilingNginx },
  ];
  const named = (t) => values.only === undefined || t.name.includes(values.only);
  const wanted = (t) => named(t) || allTargets.some((x) => named(x) && x.ceiling === t.name);
  const targets = allTargets.filter(wanted);
  const common = commonHeaders(token);
  // Each form must be allowed before it is measured: a 401 at wrk's rate would measure the wrong thing.
  for (const t of targets.filter((x) => x.servers === tokengates)) {
    for (const { port } of t.servers) {
      const status = await probe(port, t.path, [...common, ...t.headers]);
      if (status !== 200) fail(`${t.name}: the probe check answered ${status}, not 200.`);
    }
  }

  const results = new Map(targets.map((t) => [t.name, []]));
  const load = { start: loadavg(), end: undefined };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const t of targets) {
      for (const [i, { proc, port }] of t.servers.entries()) {
        const headers = [...common, ...t.headers];
        const warm = wrk(port, t.path, headers, values.warmup, wrap);
        const cpuBefore = cpuSeconds(proc.pid);
        const r = wrk(port, t.path, headers, values.duration, wrap);
        r.cpuPerRequest = ((cpuSeconds(proc.pid) - cpuBefore) / r.requests) * 1e6;
        if (r.non2xx > 0 || r.socketErrors)
          fail(`${t.name}: ${r.non2xx} answers were not 2xx, socket errors: ${r.socketErrors ?? 'none'}.`);
        results.get(t.name).push(r);
        process.stderr.write(
          `round ${round + 1} ${t.name} #${i}: ${Math.round(r.rps)} req/s, p99 ${r.p99}, ` +
            `${r.cpuPerRequest.toFixed(1)} µs CPU per check, ${warm.requests + r.requests} requests with the warm-up\n`,
        );
      }
    }
  }
  load.end = loadavg();
  for (const { proc } of tokengates) await proc.stop('SIGTERM', 10_000);
  for (const { proc } of [...ceilings, ...insides]) await proc.stop('SIGTERM', 5000);
  await issuer.close();
  report(targets, results, { pin, load });
}

function tokengateConfig({ grpcPort, opsPort, httpPort, issuer }) {
  return `# bench/http_authz.mjs
server:
  grpc: { address: "127.0.0.1:${grpcPort}" }
  http: { address: "127.0.0.1:${opsPort}" }
  workers: ${workers}
  httpAuthz: { address: "127.0.0.1:${httpPort}", trustedProxies: ["127.0.0.1/32"] }
logging: { level: info }
${httpBenchPolicies(issuer)}`;
}

/** One wrk run; its summary parsed. */
function wrk(port, path, headers, duration, wrap) {
  const argv = wrap(
    [
      'wrk',
      '-t1',
      `-c${values.connections}`,
      `-d${duration}`,
      '--latency',
      ...headers.flatMap((h) => ['-H', h]),
      `http://127.0.0.1:${port}${path}`,
    ],
    '0',
  );
  const out = execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  const number = (re) => Number((re.exec(out)?.[1] ?? 'NaN').replace(/,/g, ''));
  return {
    requests: number(/(\d+) requests in /),
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50: /50%\s+(\S+)/.exec(out)?.[1],
    p99: /99%\s+(\S+)/.exec(out)?.[1],
    non2xx: number(/Non-2xx or 3xx responses:\s+(\d+)/) || 0,
    socketErrors: /Socket errors: (.*)/.exec(out)?.[1],
  };
}

/** One GET with node's fetch; resolves with the status. */
async function probe(port, path, headers) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: Object.fromEntries(headers.map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1).trim()])),
  });
  await res.arrayBuffer();
  return res.status;
}

function report(targets, results, { pin, load }) {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = targets.map((t) => {
    const runs = results.get(t.name);
    const rps = runs.map((r) => r.rps);
    const cpus = runs.map((r) => r.cpuPerRequest);
    return {
      name: t.name,
      rps: median(rps),
      min: Math.min(...rps),
      max: Math.max(...rps),
      cpu: median(cpus),
      cpuMin: Math.min(...cpus),
      cpuMax: Math.max(...cpus),
      p99: median(runs.map((r) => millis(r.p99)).filter((x) => Number.isFinite(x))),
    };
  });
  const ceilingOf = (r) => rows.find((c) => c.name === (targets.find((t) => t.name === r.name).ceiling ?? r.name));
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const lines = [
    `Node ${process.version}, ${availableParallelism()} CPUs, ` +
      `${pin ? 'servers pinned to the last CPU, wrk to the first' : 'nothing pinned'}, ` +
      `wrk -t1 -c${values.connections} -d${values.duration} (warm-up ${values.warmup} before each run), ` +
      `workers ${workers}, ${values.processes} processes of each server, median of ${values.rounds} interleaved ` +
      `rounds × ${values.processes} processes; load average ` +
      `${load.start.map((x) => x.toFixed(2)).join(' / ')} at the start, ${load.end.map((x) => x.toFixed(2)).join(' / ')} at the end.`,
    '',
    '| system | checks/s (min–max) | ÷ ceiling | server CPU µs per check (min–max) | capacity ÷ ceiling (CPU) | p99 ms |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map((r) => {
      const ceil = ceilingOf(r);
      return (
        `| ${r.name} | ${fmt(r.rps)} (${fmt(r.min)}–${fmt(r.max)}) | ${(r.rps / ceil.rps).toFixed(2)} | ` +
        `${r.cpu.toFixed(1)} (${r.cpuMin.toFixed(1)}–${r.cpuMax.toFixed(1)}) | ${(ceil.cpu / r.cpu).toFixed(2)} | ` +
        `${r.p99.toFixed(1)} |`
      );
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** wrk's latency text (850.00us, 12.34ms, 1.25s) in milliseconds; NaN when wrk printed none. */
function millis(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : NaN;
}

/**
 * CPU seconds (user + system) used so far by `pid` and its children (node:cluster workers), from /proc: a figure
 * the other work on a shared machine does not change, unlike the rate.
 */
function cpuSeconds(pid) {
  const ticks = 100; // USER_HZ, 100 on Linux
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) === pid || Number(fields[1]) === pid) total += (Number(fields[11]) + Number(fields[12])) / ticks;
  }
  return total;
}

function has(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function fail(message) {
  process.stderr.write(`http_authz bench: ${message}\n`);
  process.exit(1);
}
