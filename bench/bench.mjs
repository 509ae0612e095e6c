#!/usr/bin/env node
// The benchmark driver (bench/run.sh runs it after building and generating data; bench/report.mjs renders its output).
// Everything on loopback, bounded in time; every child it starts is killed when it exits, however it exits.
//
// Sections (BENCH_SECTIONS, comma list; default all):
//   main      ceiling / tokengate / OPA-Envoy on scenarios a (repeated), b (distinct RS256), c (distinct ES256), d (mix),
//             server pinned to CPU ${BENCH_SERVER_CPU:-0}, ghz pinned to CPU ${BENCH_CLIENT_CPU:-1}, -c 50, 1 connection
//   unloaded  1 request in flight, repeated tokens, same pinning
//   sweep     fixed offered load (ghz --rps) for the p99-vs-load chart: ceiling, tokengate (a), tokengate (b), OPA (b)
//   workers   two cores, nothing pinned, ghz --connections 2: one process vs 2 workers (tokengate server.workers: 2,
//             ceiling --workers 2), scenarios a and b; then scenario a again with h2load as the client (2 connections,
//             25 streams each), which leaves the servers most of the second core that ghz takes
//   ready     time from spawning tokengate to /readyz 200, the issuer answering every request after 10 ms
//   envoy     ghz -> Envoy (noauth | jwt_authn | ext_authz -> tokengate | ext_authz -> allow-all ceiling) -> gRPC
//             upstream (ceiling server), unpinned
//
// Each figure: fresh server process per run (so no run sees another's cache), a warm-up ghz run on a disjoint token
// set (not measured), then the measured ghz run with --skipFirst; median of BENCH_RUNS runs.
// Output: bench/out/results.json (+ raw ghz summaries in bench/out/ghz/).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultEnvoyBin, VARIANTS as ENVOY_VARIANTS, TOKEN_CHECKING_VARIANTS, writeEnvoyConfigs } from './envoy_config.mjs';
import { envoyCheckRequest, readDelimited } from './make_data.mjs';
import { toolPaths } from '../scripts/tools.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const env = process.env;
const int = (v, d) => (v === undefined || v === '' ? d : Number.parseInt(v, 10));
const list = (v, d) => (v === undefined || v === '' ? d : v.split(',').map((s) => s.trim()).filter(Boolean));

const OUT = env.BENCH_OUT ?? join(HERE, 'out');
const DATA = env.BENCH_DATA_DIR ?? join(HERE, 'out', 'data'); // same default as make_data.mjs
const GOBIN = toolPaths().goBin; // scripts/install-bench-tools.sh installs there (the per-machine tools cache)
const CFG = {
  duration: env.BENCH_DURATION ?? '10s',
  runs: int(env.BENCH_RUNS, 3),
  concurrency: int(env.BENCH_CONCURRENCY, 50),
  skipFirst: int(env.BENCH_SKIP_FIRST, 500),
  warmup: env.BENCH_WARMUP ?? '2s',
  sweepDuration: env.BENCH_SWEEP_DURATION ?? '5s',
  sweepRuns: int(env.BENCH_SWEEP_RUNS, int(env.BENCH_RUNS, 3)),
  sweepRps: list(env.BENCH_SWEEP_RPS, ['1000', '2000', '4000', '6000', '8000', '11000', '14000']).map(Number),
  sections: list(env.BENCH_SECTIONS, ['main', 'unloaded', 'sweep', 'workers', 'ready', 'envoy']),
  systems: list(env.BENCH_SYSTEMS, ['ceiling', 'tokengate', 'opa']),
  scenarios: list(env.BENCH_SCENARIOS, ['a', 'b', 'c', 'd']),
  ghzData: env.BENCH_GHZ_DATA ?? 'bin',
  tgLogLevel: env.BENCH_TG_LOG_LEVEL ?? 'info',
  envoyConcurrency: int(env.BENCH_ENVOY_CONCURRENCY, 2),
  envoyConnections: int(env.BENCH_ENVOY_CONNECTIONS, 2),
  envoyRates: list(env.BENCH_ENVOY_RATES, ['0.25', '0.5', '0.75']).map(Number),
  readyRuns: int(env.BENCH_READY_RUNS, 5),
  issuerDelayMs: int(env.BENCH_ISSUER_DELAY_MS, 10),
  serverCpu: env.BENCH_SERVER_CPU ?? '0',
  clientCpu: env.BENCH_CLIENT_CPU ?? '1',
  tgWorkers: int(env.BENCH_TG_WORKERS, 2),
};
const PORTS = {
  issuer: int(env.BENCH_ISSUER_PORT, 18480),
  server: int(env.BENCH_SERVER_PORT, 18491),
  ops: int(env.BENCH_OPS_PORT, 18490),
  opaHttp: int(env.BENCH_OPA_HTTP_PORT, 18493),
  envoyListener: int(env.BENCH_ENVOY_PORT, 18500),
  envoyAdmin: int(env.BENCH_ENVOY_ADMIN_PORT, 18501),
  upstream: int(env.BENCH_UPSTREAM_PORT, 18502),
  authzCeiling: int(env.BENCH_AUTHZ_CEILING_PORT, 18503),
};
/**
 * Node flags tokengate runs with in production: read from the image's ENTRYPOINT, so the bench measures the process
 * the Dockerfile ships. The ceiling gets the same flags (same process model).
 */
const NODE_FLAGS = (() => {
  // BENCH_NODE_FLAGS (space-separated) overrides them, to compare settings.
  if (env.BENCH_NODE_FLAGS !== undefined) return env.BENCH_NODE_FLAGS.split(' ').filter(Boolean);
  const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT '));
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length));
  return argv.slice(1, argv.indexOf('dist/cli.js'));
})();

const BIN = {
  ghz: env.GHZ_BIN ?? join(GOBIN, 'ghz'),
  opa: env.OPA_ENVOY_BIN ?? join(GOBIN, 'opa-envoy-plugin'),
  envoy: defaultEnvoyBin(),
  // nghttp2's h2load (Debian nghttp2-client, scripts/install-bench-tools.sh): the cheap client of the workers section.
  h2load: env.H2LOAD_BIN ?? (env.PATH ?? '').split(':').map((dir) => join(dir, 'h2load')).find((f) => existsSync(f)) ?? null,
  node: process.execPath,
};
const PROTO_DIR = join(ROOT, 'proto');
const PROTO = join(PROTO_DIR, 'envoy', 'service', 'auth', 'v3', 'external_auth.proto');
const CALL = 'envoy.service.auth.v3.Authorization/Check';
const SCENARIOS = {
  a: { key: 'a', label: '(a) repeated tokens', data: 'repeated', warm: 'repeated' },
  b: { key: 'b', label: '(b) distinct RS256', data: 'rs256', warm: 'warm_rs256' },
  c: { key: 'c', label: '(c) distinct ES256', data: 'es256', warm: 'warm_es256' },
  d: { key: 'd', label: '(d) 80% valid / 20% invalid', data: 'mix', warm: 'warm_rs256' },
};
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

// ------------------------------------------------------------------------------------------------ child bookkeeping

const children = new Set();
// Live children by PID, so bench/run.sh can still end them if this process is killed outright.
const PIDFILE = join(OUT, 'children.pids');
function writePids() {
  try {
    writeFileSync(PIDFILE, [...children].map((c) => `${c.pid}\n`).join(''));
  } catch {
    /* OUT not there yet */
  }
}
function track(child) {
  children.add(child);
  writePids();
  child.once('exit', () => {
    children.delete(child);
    writePids();
  });
}
function killAll(signal = 'SIGKILL') {
  for (const child of children) {
    try {
      process.kill(child.pid, signal);
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', () => {
  killAll('SIGKILL');
  rmSync(PIDFILE, { force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping all children`);
    killAll('SIGKILL');
    process.exit(130);
  });
}

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const commands = []; // every distinct command line, for RESULTS.md
function recordCommand(kind, argv) {
  const line = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${String(a).replaceAll("'", "'\\''")}'`)).join(' ');
  const rel = line.replaceAll(`${ROOT}/`, '');
  if (!commands.some((c) => c.kind === kind && c.cmd === rel)) commands.push({ kind, cmd: rel });
}

/** Spawns a long-running child; stdout to a file or 'pipe', stderr to a log file. */
function startChild(name, argv, { stdout = 'ignore', cwd = ROOT } = {}) {
  const logFile = join(OUT, 'logs', `${name}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  const errFd = openSync(logFile, 'a');
  const outFd = stdout === 'pipe' ? 'pipe' : stdout === 'ignore' ? 'ignore' : openSync(stdout, 'a');
  const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', outFd, errFd] });
  closeSync(errFd);
  if (typeof outFd === 'number') closeSync(outFd);
  track(child);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.logFile = logFile;
  return child;
}

async function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(t);
}

/** Runs a command to completion; rejects on non-zero exit with its stderr. */
function run(argv, { timeoutMs = 600_000, withStderr = false, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    onSpawn?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(withStderr ? { out, err } : out);
      else reject(new Error(`${argv.slice(0, 3).join(' ')} … exited ${code ?? signal}: ${err.slice(-2000)}`));
    });
  });
}

/** ghz duration ("10s", "500ms", "1m") in seconds. */
function durS(d) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(d));
  if (!m) throw new Error(`bad duration ${d}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's']);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------ /proc sampling

/** utime+stime (+ reaped children's) of pid and all live descendants, in seconds. */
function treeCpuSeconds(rootPid) {
  const stats = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const s = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // f[0] = state (field 3); ppid field 4 -> f[1]; utime 14 -> f[11]; stime 15 -> f[12]; cutime 16; cstime 17.
      stats.set(Number(entry), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
    } catch {
      /* exited meanwhile */
    }
  }
  let total = 0;
  const stack = [rootPid];
  const seen = new Set();
  while (stack.length) {
    const pid = stack.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    const st = stats.get(pid);
    if (st) total += st.ticks;
    for (const [p, s] of stats) if (s.ppid === pid) stack.push(p);
  }
  return total / CLK_TCK;
}

/** pid and its live descendants (via /proc/<pid>/task/<tid>/children). */
function pidTree(rootPid) {
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    if (out.includes(pid)) continue;
    out.push(pid);
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds (utime+stime+cutime+cstime) summed over the given pids; null if none is readable. */
function cpuOfPids(pids) {
  let total = 0;
  let any = false;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      any = true;
    } catch {
      /* gone */
    }
  }
  return any ? total / CLK_TCK : null;
}

/** Peak RSS (VmHWM) in MB of pid and its live descendants: {self, tree}. */
function peakRssMb(rootPid) {
  const hwm = (pid) => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch {
      return 0;
    }
  };
  let tree = 0;
  const pids = [rootPid];
  const seen = new Set();
  while (pids.length) {
    const pid = pids.pop();
    if (seen.has(pid)) continue;
    seen.add(pid);
    tree += hwm(pid);
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
        if (kids) pids.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return { self: hwm(rootPid), tree };
}

function loadavg() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

// ------------------------------------------------------------------------------------------------ HTTP helpers

function httpStatus(url, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

function httpText(url) {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.once('end', () => resolve(body));
    }).once('error', reject);
  });
}

async function waitFor(what, probe, { timeoutMs = 20_000, intervalMs = 20, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what}: process exited (${child.exitCode ?? child.signalCode}); see ${relative(ROOT, child.logFile)}:\n${tail(child.logFile)}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function tail(file, n = 15) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

// ------------------------------------------------------------------------------------------------ the issuer (JWKS)

/** Static OIDC issuer on loopback: discovery + JWKS from make_data's jwks.json, with an optional response delay. */
async function startIssuer() {
  const jwks = readFileSync(join(DATA, 'jwks.json'), 'utf8');
  const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8'));
  const issuer = manifest.issuer;
  const discovery = JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/keys`,
    id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
  });
  const state = { delayMs: 0, hits: { discovery: 0, jwks: 0, other: 0 } };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const body = path === '/.well-known/openid-configuration' ? discovery : path === '/keys' ? jwks : undefined;
    if (path === '/keys') state.hits.jwks++;
    else if (body) state.hits.discovery++;
    else state.hits.other++;
    const send = () => {
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (state.delayMs > 0) setTimeout(send, state.delayMs);
    else send();
  });
  const port = Number(new URL(issuer).port);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  log(`issuer ${issuer} (discovery + JWKS)`);
  return { issuer, manifest, state, close: () => new Promise((r) => server.close(r)) };
}

// ------------------------------------------------------------------------------------------------ systems under test

function tokengateConfig(issuer, manifest, { workers, grpcPort = PORTS.server, opsPort = PORTS.ops } = {}) {
  return `# generated by bench/bench.mjs
server:
  grpc: { address: "127.0.0.1:${grpcPort}" }
  http: { address: "127.0.0.1:${opsPort}" }
  shutdownGraceSeconds: 1${workers && workers > 1 ? `\n  workers: ${workers}` : ''}
logging: { level: ${CFG.tgLogLevel} }
policies:
  - name: ${manifest.policy}
    validateJwt:
      openidConfig: [{ url: "${issuer}/.well-known/openid-configuration" }]
      audiences: ["${manifest.audience}"]
      requiredClaims:
        - { name: scp, separator: " ", match: any, values: ["${manifest.scope}"] }
      outputClaimsToHeaders:
        - { claim: sub, header: x-user-sub }
`;
}

function writeTokengateConfig(ctx, opts = {}) {
  const file = join(OUT, opts.workers > 1 ? `tokengate_workers${opts.workers}.yaml` : 'tokengate.yaml');
  writeFileSync(file, tokengateConfig(ctx.issuer.issuer, ctx.issuer.manifest, opts));
  return file;
}

const pinArgs = (cpu) => (cpu === undefined || cpu === null ? [] : ['taskset', '-c', String(cpu)]);

/**
 * Starts one system under test and waits until it serves. Returns { name, pid, address, child, stop }.
 * opts: { pinned: bool, workers: n, port }
 */
async function startSystem(ctx, system, { pinned = true, workers = 1, port = PORTS.server, name } = {}) {
  const pin = pinned ? pinArgs(CFG.serverCpu) : [];
  const address = `127.0.0.1:${port}`;
  let argv;
  let child;
  const label = name ?? `${system}${workers > 1 ? `-w${workers}` : ''}`;
  if (!(await portFree(port))) throw new Error(`port ${port} is in use (set BENCH_*_PORT)`);
  if (system === 'ceiling') {
    argv = [...pin, BIN.node, ...NODE_FLAGS, join(HERE, 'ceiling_server.mjs'), '--address', address, ...(workers > 1 ? ['--workers', String(workers)] : [])];
    child = startChild(label, argv, { stdout: 'pipe' });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await waitFor(`${label} ready`, () => out.includes('ready'), { child });
  } else if (system === 'tokengate') {
    const cfgFile = writeTokengateConfig(ctx, { workers, grpcPort: port });
    // BENCH_CPU_PROF=1: a V8 CPU profile per tokengate process in bench/out/prof/ (open in Chrome DevTools).
    const prof = env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', '--cpu-prof-dir', join(OUT, 'prof'), '--cpu-prof-name', `${label}-${Date.now()}.cpuprofile`] : [];
    argv = [...pin, BIN.node, ...NODE_FLAGS, ...prof, join(ROOT, 'dist', 'cli.js'), 'serve', '--config', cfgFile];
    // Check logs (one line per check at info) go to /dev/null: the cost of producing them is measured, not a disk.
    child = startChild(label, argv, { stdout: '/dev/null' });
    await waitFor(`${label} /readyz`, async () => (await httpStatus(`http://127.0.0.1:${PORTS.ops}/readyz`)) === 200, { child });
  } else if (system === 'opa') {
    argv = [
      ...pin,
      BIN.opa,
      'run',
      '--server',
      '--addr',
      `127.0.0.1:${PORTS.opaHttp}`,
      '--log-level',
      'error',
      '--config-file',
      join(HERE, 'opa', 'config.yaml'),
      '--set',
      `plugins.envoy_ext_authz_grpc.addr=${address}`,
      join(HERE, 'opa', 'policy.rego'),
      join(DATA, 'opa', 'data.json'),
    ];
    child = startChild(label, argv);
    await waitFor(`${label} /health?plugins`, async () => (await httpStatus(`http://127.0.0.1:${PORTS.opaHttp}/health?plugins`)) === 200, { child });
    await waitFor(`${label} gRPC port`, async () => !(await portFree(port)), { child });
  } else throw new Error(`unknown system ${system}`);
  recordCommand(`server:${system}${workers > 1 ? `:workers${workers}` : ''}${pinned ? '' : ':unpinned'}`, argv);
  return { name: label, system, pid: child.pid, address, child, stop: () => stopChild(child) };
}

// ------------------------------------------------------------------------------------------------ grpc-js preflight

let grpcMod;
async function checkClient(address) {
  grpcMod ??= await import('@grpc/grpc-js');
  const { loadAuthorizationService } = await import(join(ROOT, 'dist', 'grpc', 'protos.js'));
  const Ctor = grpcMod.makeGenericClientConstructor(loadAuthorizationService(), 'Authorization');
  const client = new Ctor(address, grpcMod.credentials.createInsecure());
  return {
    check: (req, metadata = {}) =>
      new Promise((resolve, reject) => {
        const md = new grpcMod.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        client.Check(req, md, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res)));
      }),
    close: () => client.close(),
  };
}

function tamper(token) {
  const [h, p, s] = token.split('.');
  return `${h}.${p}.${s.slice(0, -8)}${s.slice(-8) === 'AAAAAAAA' ? 'BBBBBBBB' : 'AAAAAAAA'}`;
}

/** One valid and one forged token against a system: does it allow the first and deny the second? */
async function preflight(ctx, sut) {
  const token = ctx.token;
  const client = await checkClient(sut.address);
  try {
    const ok = await client.check(envoyCheckRequest(token, 0, { policy: ctx.issuer.manifest.policy, json: false }));
    const bad = await client.check(envoyCheckRequest(tamper(token), 1, { policy: ctx.issuer.manifest.policy, json: false }));
    // proto3: a zero code is not on the wire (Go peers omit it), so a missing status/code is OK, as Envoy reads it.
    const verdict = (r) => ((r.status?.code ?? 0) === 0 ? 'allow' : `deny(${r.status.code})`);
    const result = { valid: verdict(ok), forged: verdict(bad) };
    const expectDeny = sut.system !== 'ceiling';
    if (result.valid !== 'allow' || (expectDeny && result.forged === 'allow')) {
      throw new Error(`${sut.name} preflight: valid token -> ${result.valid}, forged -> ${result.forged}`);
    }
    return result;
  } finally {
    client.close();
  }
}

// ------------------------------------------------------------------------------------------------ ghz

function dataArgs(set) {
  if (set.startsWith('{')) return ['-d', set];
  return CFG.ghzData === 'json' ? ['-D', join(DATA, `${set}.json`)] : ['-B', join(DATA, `${set}.bin`)];
}

/**
 * ghz decodes the whole data file before it starts (100k requests: ~1 GB and 6-12 s; the JSON form ~3 GB), on every
 * run. So each run gets the first K requests of a set, K rounded up to 10k and large enough for the requests the run
 * is expected to send (estimated from earlier runs of the same system and scenario); the full set when unknown.
 * Returns the name of a data set (cached prefix files "<set>.first<K>.{bin,json}").
 */
function dataSlice(set, needed) {
  const total = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')).sets[set]?.requests;
  if (!total || !needed || !Number.isFinite(needed)) return set;
  // At least 30k: three times the token caches of tokengate (10,000) and of the OPA config, so that even a run that
  // wraps around its slice finds its early tokens evicted (cyclic access over more keys than a FIFO/LRU holds: no hits).
  const k = Math.max(30_000, Math.ceil(needed / 10_000) * 10_000);
  if (k >= total) return set;
  const name = `${set}.first${k}`;
  const ext = CFG.ghzData === 'json' ? 'json' : 'bin';
  const src = join(DATA, `${set}.${ext}`);
  const dst = join(DATA, `${name}.${ext}`);
  if (existsSync(dst) && statSync(dst).mtimeMs >= statSync(src).mtimeMs) return name;
  const buf = readFileSync(src);
  if (ext === 'bin') {
    let off = 0;
    for (let i = 0; i < k; i++) {
      let len = 0;
      let shift = 0;
      for (;;) {
        const b = buf[off++];
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) break;
      }
      off += len;
    }
    writeFileSync(dst, buf.subarray(0, off));
  } else {
    // make_data writes one request per line: "[", then "{…}," lines, then "]".
    const lines = buf.toString('utf8').split('\n');
    const body = lines.slice(1, 1 + k).map((l) => l.replace(/,$/, ''));
    writeFileSync(dst, `[\n${body.join(',\n')}\n]\n`);
  }
  return name;
}

let ghzSeq = 0;
/** Runs ghz and returns its summary (latencies in ms). */
async function ghz({ target, set, c = CFG.concurrency, connections = 1, duration = CFG.duration, rps, skipFirst = CFG.skipFirst, pinned = true, metadata, tag, serverPids }) {
  const outFile = join(OUT, 'ghz', `${String(++ghzSeq).padStart(4, '0')}-${tag ?? 'run'}.json`);
  mkdirSync(dirname(outFile), { recursive: true });
  const ghzArgv = [
    BIN.ghz,
    '--insecure',
    '--proto',
    PROTO,
    '-i',
    PROTO_DIR,
    '--call',
    CALL,
    // The data has no template actions: without these, ghz builds a template with ~200 sprig functions for every
    // call, which more than doubles its CPU per request (measured here: ~45 vs ~120 µs with an empty message).
    '--disable-template-functions',
    '--disable-template-data',
    ...dataArgs(set),
    ...(metadata ? ['-m', JSON.stringify(metadata)] : []),
    '-c',
    String(c),
    '--connections',
    String(connections),
    '-z',
    duration,
    ...(rps ? ['--rps', String(rps)] : []),
    ...(skipFirst ? ['--skipFirst', String(skipFirst)] : []),
    '-O',
    'json',
    '-o',
    outFile,
    target,
  ];
  const argv = [...(pinned ? pinArgs(CFG.clientCpu) : []), ...ghzArgv];
  recordCommand(`ghz${tag?.endsWith('-warm') ? ':warmup' : ''}${rps ? ':rps' : ''}${c === 1 ? ':c1' : ''}${pinned ? '' : ':unpinned'}`, argv.map((a) => (a === outFile ? 'bench/out/ghz/RUN.json' : a)));
  // Sample ghz's and the servers' CPU every 250 ms: steady-state utilisation over the measured window tells whether
  // the client (pinned to one core) or the server set the pace.
  const samples = [];
  let timer;
  const watch = (child) => {
    const sample = () => {
      const sv = serverPids ? cpuOfPids(serverPids) : null;
      samples.push({ t: Date.now(), client: cpuOfPids([child.pid]), server: sv });
    };
    timer = setInterval(sample, 250);
    sample();
  };
  await run(argv, { timeoutMs: 10 * 60_000, onSpawn: watch }).finally(() => clearInterval(timer));
  const raw = JSON.parse(readFileSync(outFile, 'utf8'));
  const pct = (p) => (raw.latencyDistribution ?? []).find((d) => d.percentage === p)?.latency / 1e6;
  // The measured window is [date - total, date] (ghz stamps `date` when it finalises the report).
  const endMs = Date.parse(raw.date);
  const win = samples.filter((x) => x.t >= endMs - raw.total / 1e6 + 300 && x.t <= endMs - 200 && x.client !== null);
  let clientCpuPct = null;
  let serverCpuPct = null;
  if (win.length >= 2) {
    const [a, b] = [win[0], win.at(-1)];
    const dt = (b.t - a.t) / 1000;
    clientCpuPct = (100 * (b.client - a.client)) / dt;
    if (a.server !== null && b.server !== null) serverCpuPct = (100 * (b.server - a.server)) / dt;
  }
  // ghz -z closes its connections when the time is up: the calls still in flight then fail with "use of closed
  // network connection" / Canceled. Those (at most one per worker) are an artefact of stopping, not server errors.
  let endCancelled = 0;
  let errors = 0;
  for (const [msg, n] of Object.entries(raw.errorDistribution ?? {})) {
    if (/use of closed network connection|code = Canceled|context canceled|transport is closing/.test(msg)) endCancelled += n;
    else errors += n;
  }
  if (endCancelled > c * 2) {
    errors += endCancelled;
    endCancelled = 0;
  }
  const summary = {
    // Throughput over the whole measured run: ghz's own `rps` divides only the non-skipped calls by the full time.
    rps: (raw.count + skipFirst) / (raw.total / 1e9),
    ghzRps: raw.rps,
    count: raw.count,
    okCount: raw.statusCodeDistribution?.OK ?? 0,
    errors,
    endCancelled,
    skipped: skipFirst,
    totalS: raw.total / 1e9,
    averageMs: raw.average / 1e6,
    fastestMs: raw.fastest / 1e6,
    slowestMs: raw.slowest / 1e6,
    p50: pct(50),
    p90: pct(90),
    p95: pct(95),
    p99: pct(99),
    // ghz's CPU over its whole life (start-up included) as a share of the wall time: ~100 % when pinned to one core
    // means the client, not the server, set the pace.
    clientCpuPct,
    serverCpuPct,
    statusCodeDistribution: raw.statusCodeDistribution,
    errorDistribution: raw.errorDistribution,
  };
  // Keep only the summary (the per-request details are large).
  writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

// ------------------------------------------------------------------------------------------------ measurement

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

function aggregate(runs) {
  const pick = (k) => runs.map((r) => r[k]);
  return {
    runs: runs.length,
    rps: median(pick('rps')),
    rpsMin: Math.min(...pick('rps')),
    rpsMax: Math.max(...pick('rps')),
    p50: median(pick('p50')),
    p90: median(pick('p90')),
    p99: median(pick('p99')),
    averageMs: median(pick('averageMs')),
    cpuUsPerReq: median(pick('cpuUsPerReq')),
    cpuPct: median(pick('cpuPct')),
    clientCpuPct: median(pick('clientCpuPct')),
    peakRssMb: Math.max(...pick('peakRssMb')),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    wrapped: runs.some((r) => r.wrapped),
    offered: runs[0].offered ?? null,
  };
}

/**
 * One measured run: fresh server, preflight (first run), warm-up (not measured), measured ghz with CPU and peak RSS.
 */
async function measure(ctx, { system, scenario, pinned = true, workers = 1, c, connections = 1, rps, duration = CFG.duration, warmup = CFG.warmup, skipFirst = CFG.skipFirst, tag }) {
  const sc = SCENARIOS[scenario];
  const sut = await startSystem(ctx, system, { pinned, workers });
  try {
    const key = `${system}:${workers}`;
    if (!ctx.preflight[key]) ctx.preflight[key] = await preflight(ctx, sut);
    const target = sut.address;
    let warm;
    if (warmup && warmup !== '0' && warmup !== '0s') {
      warm = await ghz({ target, set: sc.warm, c: c ?? CFG.concurrency, connections, duration: warmup, skipFirst: 0, pinned, tag: `${tag}-warm` });
    }
    const hits0 = { ...ctx.issuer.state.hits };
    const cpu0 = treeCpuSeconds(sut.pid);
    // How many requests this run will send, at most: the offered rate, or the best rate seen so far for this case
    // (+25 %), or on a case's first run twice its warm-up's rate (the warm-up is still JIT-compiling: at 1.5× the (b)
    // slice of the first full run came out short, 40k for 43k requests, and wrapped). Never the
    // whole 100k set when a slice will do: ghz holds its data file decoded (~1 GB for 100k requests), and tokengate's
    // (b) runs against the full set cost 324-363 µs per check (3 runs) against 213-349 (10 runs) with a 60k slice.
    // The ceiling holds no cache, so repeats cannot flatter it and the smallest slice always does.
    const estKey = `${system}:${scenario}:${workers}:${pinned}:${c ?? CFG.concurrency}:${connections}`;
    const rate = rps ?? ctx.rateSeen[estKey] ?? (warm?.rps ? warm.rps * 2 : undefined);
    const needed = system === 'ceiling' ? 1 : rate ? rate * 1.25 * durS(duration) + skipFirst : undefined;
    const set = dataSlice(sc.data, needed);
    const g = await ghz({ target, set, c: c ?? CFG.concurrency, connections, duration, rps, skipFirst, pinned, tag, serverPids: pidTree(sut.pid) });
    if (!rps) ctx.rateSeen[estKey] = Math.max(ctx.rateSeen[estKey] ?? 0, g.rps);
    const cpuS = treeCpuSeconds(sut.pid) - cpu0;
    const rss = peakRssMb(sut.pid);
    const requests = g.count + g.skipped;
    const setSize = Number(/\.first(\d+)$/.exec(set)?.[1] ?? ctx.issuer.manifest.sets[sc.data].tokens);
    const result = {
      system,
      scenario,
      workers,
      pinned,
      connections,
      c: c ?? CFG.concurrency,
      offered: rps ?? null,
      rps: g.rps,
      count: g.count,
      p50: g.p50,
      p90: g.p90,
      p99: g.p99,
      averageMs: g.averageMs,
      cpuS,
      cpuPct: g.serverCpuPct ?? (100 * cpuS) / g.totalS,
      clientCpuPct: g.clientCpuPct,
      cpuUsPerReq: (cpuS * 1e6) / Math.max(1, requests),
      peakRssMb: rss.tree,
      errors: g.errors,
      endCancelled: g.endCancelled,
      statusCodeDistribution: g.statusCodeDistribution,
      errorDistribution: g.errorDistribution,
      // ghz round-robins the data set: more requests than distinct tokens means tokens came round again.
      wrapped: scenario !== 'a' && system !== 'ceiling' && requests > setSize,
      dataSet: set,
      jwksFetches: ctx.issuer.state.hits.jwks - hits0.jwks,
    };
    if (system === 'tokengate') result.tokengateMetrics = await tokengateCounters();
    log(
      `${tag}: ${fmt(result.rps, 0)} rps  p50 ${fmt(result.p50)} p90 ${fmt(result.p90)} p99 ${fmt(result.p99)} ms  ` +
        `cpu ${fmt(result.cpuUsPerReq, 1)} µs/req (${fmt(result.cpuPct, 0)}%, ghz ${fmt(result.clientCpuPct, 0)}%)  rss ${fmt(result.peakRssMb, 0)} MB` +
        `${result.errors ? `  ERRORS ${result.errors}` : ''}${result.wrapped ? '  (data set wrapped)' : ''}`,
    );
    return result;
  } finally {
    await sut.stop();
  }
}

/** Decision counters and cache hit counters from tokengate's /metrics (sanity: what it decided). */
async function tokengateCounters() {
  try {
    const text = await httpText(`http://127.0.0.1:${PORTS.ops}/metrics`);
    const out = { decisions: {}, cacheHits: 0, cacheMisses: 0 };
    for (const line of text.split('\n')) {
      let m = /^tokengate_decisions_total\{([^}]*)\} (\d+)/.exec(line);
      if (m) {
        const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        const k = labels.decision === 'allow' ? 'allow' : `${labels.decision}:${labels.reason}`;
        out.decisions[k] = (out.decisions[k] ?? 0) + Number(m[2]);
      }
      m = /^tokengate_token_cache_hits_total(?:\{[^}]*\})? (\d+)/.exec(line);
      if (m) out.cacheHits += Number(m[1]);
      m = /^tokengate_token_cache_misses_total(?:\{[^}]*\})? (\d+)/.exec(line);
      if (m) out.cacheMisses += Number(m[1]);
    }
    return out;
  } catch {
    return undefined;
  }
}

const fmt = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');

// ------------------------------------------------------------------------------------------------ sections

async function sectionMain(ctx) {
  const res = {};
  for (const scenario of CFG.scenarios) {
    for (let r = 1; r <= CFG.runs; r++) {
      // Interleaved (ceiling, tokengate, peer, ceiling, …): a drift in background load hits all systems alike.
      for (const system of CFG.systems) {
        const key = `${system}:${scenario}`;
        (res[key] ??= { system, scenario, runs: [] }).runs.push(await measure(ctx, { system, scenario, tag: `main-${system}-${scenario}-r${r}` }));
      }
    }
  }
  for (const v of Object.values(res)) v.median = aggregate(v.runs);
  return res;
}

async function sectionUnloaded(ctx) {
  const res = {};
  for (let r = 1; r <= CFG.runs; r++) {
    for (const system of CFG.systems) {
      (res[system] ??= { system, scenario: 'a', runs: [] }).runs.push(
        await measure(ctx, { system, scenario: 'a', c: 1, skipFirst: 200, tag: `unloaded-${system}-r${r}` }),
      );
    }
  }
  for (const v of Object.values(res)) v.median = aggregate(v.runs);
  return res;
}

async function sectionSweep(ctx, main) {
  const curves = [
    ['ceiling', 'b'],
    ['tokengate', 'a'],
    ['tokengate', 'b'],
    ['opa', 'b'],
  ].filter(([s]) => CFG.systems.includes(s));
  const res = {};
  for (const [system, scenario] of curves) {
    const max = main?.[`${system}:${scenario}`]?.median?.rps;
    // Points past ~1.3x the closed-loop maximum only measure an overflowing queue.
    const levels = CFG.sweepRps.filter((l) => !max || l <= max * 1.3);
    const key = `${system}:${scenario}`;
    res[key] = { system, scenario, maxRps: max ?? null, points: [] };
    for (const level of levels) {
      const runs = [];
      for (let r = 1; r <= CFG.sweepRuns; r++) {
        runs.push(
          await measure(ctx, {
            system,
            scenario,
            rps: level,
            duration: CFG.sweepDuration,
            warmup: '1s',
            skipFirst: Math.max(50, Math.min(CFG.skipFirst, Math.round(level / 4))),
            tag: `sweep-${system}-${scenario}-${level}-r${r}`,
          }),
        );
      }
      res[key].points.push({ offered: level, ...aggregate(runs), rawRuns: runs.map((x) => ({ rps: x.rps, p50: x.p50, p99: x.p99 })) });
    }
  }
  return res;
}

async function sectionWorkers(ctx) {
  const res = { supported: {}, results: {} };
  // Does this tokengate accept server.workers? (validate exits non-zero on an unknown key.)
  const wcfg = writeTokengateConfig(ctx, { workers: CFG.tgWorkers });
  try {
    await run([BIN.node, join(ROOT, 'dist', 'cli.js'), 'validate', wcfg]);
    res.supported.tokengate = true;
  } catch (err) {
    res.supported.tokengate = false;
    res.supported.tokengateError = err.message.split('\n').slice(-3).join(' ').slice(0, 400);
    log(`workers: tokengate does not accept server.workers (${res.supported.tokengateError}); measuring 1 process only`);
  }
  res.supported.ceiling = true;
  const cases = [];
  for (const system of ['ceiling', 'tokengate'].filter((s) => CFG.systems.includes(s))) {
    for (const scenario of system === 'ceiling' ? ['a'] : ['a', 'b']) {
      cases.push({ system, scenario, workers: 1 });
      if (res.supported[system]) cases.push({ system, scenario, workers: system === 'tokengate' ? CFG.tgWorkers : 2 });
    }
  }
  for (let r = 1; r <= CFG.runs; r++) {
    for (const cs of cases) {
      const key = `${cs.system}:${cs.scenario}:w${cs.workers}`;
      (res.results[key] ??= { ...cs, runs: [] }).runs.push(
        await measure(ctx, { ...cs, pinned: false, connections: 2, tag: `workers-${cs.system}-${cs.scenario}-w${cs.workers}-r${r}` }),
      );
    }
  }
  for (const v of Object.values(res.results)) v.median = aggregate(v.runs);
  if (!BIN.h2load) {
    res.h2load = { skipped: 'h2load not found (scripts/install-bench-tools.sh installs nghttp2-client)' };
    log(`workers: ${res.h2load.skipped}`);
    return res;
  }
  res.h2load = { version: sh([BIN.h2load, '--version']).trim(), results: {} };
  const body = grpcFrame(readDelimited(readFileSync(join(DATA, `${SCENARIOS.a.data}.bin`)), 1)[0]);
  const bodyFile = join(OUT, 'h2load_a.body');
  writeFileSync(bodyFile, body);
  for (let r = 1; r <= CFG.runs; r++) {
    for (const cs of cases.filter((x) => x.scenario === 'a')) {
      const key = `${cs.system}:a:w${cs.workers}`;
      (res.h2load.results[key] ??= { ...cs, runs: [] }).runs.push(await measureWithH2load(ctx, { ...cs, bodyFile, tag: `workers-h2load-${cs.system}-a-w${cs.workers}-r${r}` }));
    }
  }
  for (const v of Object.values(res.h2load.results)) v.median = aggregate(v.runs);
  return res;
}

/** A gRPC length-prefixed message: compressed flag 0, 4-byte big-endian length, the message. */
function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/**
 * One workers-section run with h2load instead of ghz, unpinned. h2load is C and costs a fraction of ghz's CPU per
 * call, so on two vCPUs it shows how far the servers themselves scale. It sends the same gRPC-framed request on
 * every stream and does not read grpc-status, so for tokengate the run counts only if its own decision counters
 * show an allow for every call h2load completed and no other decision.
 */
async function measureWithH2load(ctx, { system, workers, bodyFile, tag }) {
  const sut = await startSystem(ctx, system, { pinned: false, workers });
  try {
    const before = system === 'tokengate' ? await tokengateCounters() : undefined;
    const argv = [
      BIN.h2load,
      '-c',
      '2',
      '-m',
      String(Math.ceil(CFG.concurrency / 2)),
      '--warm-up-time',
      String(durS(CFG.warmup)),
      '-D',
      String(durS(CFG.duration)),
      '-d',
      bodyFile,
      '-H',
      'content-type: application/grpc',
      '-H',
      'te: trailers',
      `http://${sut.address}/${CALL}`,
    ];
    recordCommand('h2load:workers', argv);
    // h2load's own CPU, sampled while it runs (its /proc entry is gone once it exits): what the client costs.
    let clientCpuS = null;
    let timer;
    const cpu0 = treeCpuSeconds(sut.pid);
    const t0 = Date.now();
    const out = await run(argv, {
      timeoutMs: 5 * 60_000,
      onSpawn: (child) => (timer = setInterval(() => (clientCpuS = cpuOfPids([child.pid]) ?? clientCpuS), 100)),
    }).finally(() => clearInterval(timer));
    const cpuS = treeCpuSeconds(sut.pid) - cpu0;
    const wallS = (Date.now() - t0) / 1000;
    const succeeded = Number(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(out)?.[1] ?? NaN);
    // "finished in" counts the warm-up too; the req/s beside it is the measured calls over the measured time.
    const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
    const meanMs = parseH2loadMs(/time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]);
    let allowed = null;
    if (before) {
      // Every decision since `before` (warm-up included) must be an allow, and there must be one for each call
      // h2load counted: a denial would be a 200 with grpc-status 16 to h2load, and count as a success.
      const after = await tokengateCounters();
      const delta = (k) => (after?.decisions[k] ?? 0) - (before?.decisions[k] ?? 0);
      const others = Object.keys(after?.decisions ?? {}).filter((k) => k !== 'allow' && delta(k) > 0);
      allowed = delta('allow');
      if (others.length > 0 || !(allowed >= succeeded)) {
        throw new Error(`${tag}: h2load completed ${succeeded} calls; tokengate allowed ${allowed}${others.length ? ` and also decided ${others.join(', ')}` : ''}`);
      }
    }
    const result = {
      system,
      scenario: 'a',
      workers,
      client: 'h2load',
      rps,
      count: succeeded,
      averageMs: meanMs,
      cpuS,
      cpuPct: (100 * cpuS) / wallS,
      clientCpuPct: clientCpuS === null ? null : (100 * clientCpuS) / wallS,
      cpuUsPerReq: null,
      peakRssMb: peakRssMb(sut.pid).tree,
      errors: (/(\d+) failed, (\d+) errored, (\d+) timeout/.exec(out)?.slice(1) ?? []).reduce((n, x) => n + Number(x), 0),
      tokengateAllowed: allowed,
    };
    log(`${tag}: ${fmt(result.rps, 0)} rps  mean ${fmt(meanMs)} ms  server cpu ${fmt(result.cpuPct, 0)}% (h2load ${fmt(result.clientCpuPct, 0)}%)  rss ${fmt(result.peakRssMb, 0)} MB${result.errors ? `  ERRORS ${result.errors}` : ''}`);
    return result;
  } finally {
    await sut.stop();
  }
}

/** h2load prints times as "123us", "1.23ms" or "1.02s". */
function parseH2loadMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : null;
}

async function sectionReady(ctx) {
  const times = [];
  const cfgFile = writeTokengateConfig(ctx, {});
  ctx.issuer.state.delayMs = CFG.issuerDelayMs;
  try {
    for (let r = 1; r <= CFG.readyRuns; r++) {
      if (!(await portFree(PORTS.ops))) await sleep(200);
      const argv = [BIN.node, ...NODE_FLAGS, join(ROOT, 'dist', 'cli.js'), 'serve', '--config', cfgFile];
      recordCommand('ready', argv);
      const t0 = performance.now();
      const child = startChild(`ready-${r}`, argv, { stdout: '/dev/null' });
      let listeningMs = null;
      await waitFor(
        'tokengate /readyz',
        async () => {
          const st = await httpStatus(`http://127.0.0.1:${PORTS.ops}/readyz`, 500);
          if (st && listeningMs === null) listeningMs = performance.now() - t0;
          return st === 200;
        },
        { intervalMs: 2, child },
      );
      const readyMs = performance.now() - t0;
      times.push({ readyMs, opsListeningMs: listeningMs });
      log(`ready run ${r}: /readyz 200 after ${fmt(readyMs, 0)} ms (ops port answering after ${fmt(listeningMs, 0)} ms)`);
      await stopChild(child);
    }
    // For scale: how long a bare `node -e ''` takes to start and exit on this machine right now.
    const nodeStart = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await run([BIN.node, '-e', '']);
      nodeStart.push(performance.now() - t0);
    }
    return { issuerDelayMs: CFG.issuerDelayMs, runs: times, medianMs: median(times.map((t) => t.readyMs)), nodeBareStartMs: median(nodeStart) };
  } finally {
    ctx.issuer.state.delayMs = 0;
  }
}

async function sectionEnvoy(ctx) {
  if (!existsSync(BIN.envoy)) {
    log(`envoy: ${BIN.envoy} missing (scripts/install-envoy.sh); skipped`);
    return { skipped: `no envoy at ${BIN.envoy}` };
  }
  const m = ctx.issuer.manifest;
  const files = writeEnvoyConfigs(
    join(OUT, 'envoy'),
    { listenerPort: PORTS.envoyListener, adminPort: PORTS.envoyAdmin, upstreamPort: PORTS.upstream, tokengatePort: PORTS.server, authzCeilingPort: PORTS.authzCeiling },
    { jwksFile: join(DATA, 'jwks.json'), issuer: m.issuer, audience: m.audience, scope: m.scope, policy: m.policy },
  );
  const validated = {};
  for (const [v, f] of Object.entries(files)) {
    await run([BIN.envoy, '--mode', 'validate', '-c', f, '--log-level', 'error']);
    validated[v] = relative(ROOT, f);
  }
  const upstream = await startSystem(ctx, 'ceiling', { pinned: false, port: PORTS.upstream, name: 'upstream' });
  const tg = await startSystem(ctx, 'tokengate', { pinned: false, name: 'tokengate-envoy' });
  // The ext_authz hop's own ceiling: the allow-all grpc-js server as Envoy's authorization service.
  const authzCeiling = await startSystem(ctx, 'ceiling', { pinned: false, port: PORTS.authzCeiling, name: 'authz-ceiling' });
  const md = { authorization: `Bearer ${ctx.token}` };
  const res = { validated, concurrency: CFG.envoyConcurrency, connections: CFG.envoyConnections, preflight: {}, max: {}, fixed: {} };

  const withEnvoy = async (variant, fn) => {
    if (!(await portFree(PORTS.envoyListener))) throw new Error(`port ${PORTS.envoyListener} in use`);
    const argv = [BIN.envoy, '-c', files[variant], '--concurrency', String(CFG.envoyConcurrency), '--log-level', 'error', '--disable-hot-restart'];
    recordCommand(`envoy:${variant}`, argv);
    const child = startChild(`envoy-${variant}`, argv);
    try {
      await waitFor(`envoy ${variant} ready`, async () => (await httpStatus(`http://127.0.0.1:${PORTS.envoyAdmin}/ready`)) === 200, { child });
      await waitFor(`envoy ${variant} listener`, async () => !(await portFree(PORTS.envoyListener)), { child });
      return await fn(child);
    } finally {
      await stopChild(child);
    }
  };
  const envoyRun = async (variant, { rps, tag }) =>
    withEnvoy(variant, async (envoy) => {
      if (!res.preflight[variant]) {
        const client = await checkClient(`127.0.0.1:${PORTS.envoyListener}`);
        const verdict = async (token) => {
          try {
            await client.check({}, { authorization: `Bearer ${token}` });
            return 'allow';
          } catch (err) {
            return `deny(${err.code})`;
          }
        };
        res.preflight[variant] = { valid: await verdict(ctx.token), forged: await verdict(tamper(ctx.token)) };
        client.close();
        if (res.preflight[variant].valid !== 'allow' || (TOKEN_CHECKING_VARIANTS.has(variant) && res.preflight[variant].forged === 'allow')) {
          throw new Error(`envoy ${variant} preflight: ${JSON.stringify(res.preflight[variant])}`);
        }
      }
      const target = `127.0.0.1:${PORTS.envoyListener}`;
      const common = { target, set: '{}', metadata: md, connections: CFG.envoyConnections, pinned: false };
      await ghz({ ...common, duration: '1s', skipFirst: 0, tag: `${tag}-warm` });
      // `tokengate` is whichever process answers the ext_authz hop: tokengate, or the allow-all ceiling.
      const authzPid = { ext_authz: tg.pid, ext_authz_ceiling: authzCeiling.pid }[variant];
      const pids = { envoy: envoy.pid, ...(authzPid ? { tokengate: authzPid } : {}), upstream: upstream.pid };
      const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, treeCpuSeconds(p)]));
      const g = await ghz({ ...common, rps, tag, serverPids: Object.values(pids), skipFirst: rps ? Math.max(50, Math.min(CFG.skipFirst, Math.round(rps / 4))) : CFG.skipFirst });
      const requests = g.count + g.skipped;
      const cpuUs = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, ((treeCpuSeconds(p) - cpu0[k]) * 1e6) / requests]));
      const answerMs = await envoyAnswerTimes();
      const r = {
        variant,
        offered: rps ?? null,
        rps: g.rps,
        p50: g.p50,
        p90: g.p90,
        p99: g.p99,
        errors: g.errors,
        endCancelled: g.endCancelled,
        statusCodeDistribution: g.statusCodeDistribution,
        cpuUsPerReq: cpuUs,
        clientCpuPct: g.clientCpuPct,
        serversCpuPct: g.serverCpuPct,
        envoyPeakRssMb: peakRssMb(envoy.pid).tree,
        answerMs,
      };
      log(`${tag}: ${fmt(r.rps, 0)} rps p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms cpu µs/req ${JSON.stringify(Object.fromEntries(Object.entries(cpuUs).map(([k, v]) => [k, Math.round(v)])))}${r.errors ? ` ERRORS ${r.errors}` : ''}`);
      return r;
    });

  try {
    for (let r = 1; r <= CFG.runs; r++) {
      for (const v of ENVOY_VARIANTS) (res.max[v] ??= { runs: [] }).runs.push(await envoyRun(v, { tag: `envoy-max-${v}-r${r}` }));
    }
    for (const v of ENVOY_VARIANTS) res.max[v].median = aggregateEnvoy(res.max[v].runs);
    const authzMax = res.max.ext_authz.median.rps;
    res.rates = [...new Set(CFG.envoyRates.map((f) => Math.max(100, Math.round((f * authzMax) / 100) * 100)))];
    for (const rate of res.rates) {
      for (let r = 1; r <= CFG.runs; r++) {
        for (const v of ENVOY_VARIANTS) ((res.fixed[rate] ??= {})[v] ??= { runs: [] }).runs.push(await envoyRun(v, { rps: rate, tag: `envoy-${rate}-${v}-r${r}` }));
      }
      for (const v of ENVOY_VARIANTS) res.fixed[rate][v].median = aggregateEnvoy(res.fixed[rate][v].runs);
    }
    res.tokengatePeakRssMb = peakRssMb(tg.pid).tree;
    res.tokengateMetrics = await tokengateCounters();
  } finally {
    await tg.stop();
    await authzCeiling.stop();
    await upstream.stop();
  }
  return res;
}

/**
 * Each cluster's answer time as Envoy measures it (upstream_rq_time: request sent to response complete), quantiles
 * over the Envoy process's life (a fresh Envoy per run: the 1 s warm-up included). It separates what a hop costs
 * from the client's view, which on 2 shared vCPUs also holds ghz's and Envoy's own scheduling delays. Envoy's
 * histogram buckets are coarse (0.5, 1, 5, 10, 25, 50 ms …; Envoy interpolates within them).
 */
async function envoyAnswerTimes() {
  const stats = JSON.parse(await httpText(`http://127.0.0.1:${PORTS.envoyAdmin}/stats?filter=upstream_rq_time&format=json`));
  const histograms = stats.stats.find((s) => s.histograms)?.histograms;
  if (!histograms) return {};
  const at = (q) => histograms.supported_quantiles.indexOf(q);
  const out = {};
  for (const [key, cluster] of [['tokengate', 'tokengate'], ['upstream', 'upstream_grpc']]) {
    const h = histograms.computed_quantiles.find((c) => c.name === `cluster.${cluster}.upstream_rq_time`);
    if (h) out[key] = { p50: h.values[at(50)].cumulative, p90: h.values[at(90)].cumulative, p99: h.values[at(99)].cumulative };
  }
  return out;
}

function aggregateEnvoy(runs) {
  const cpu = {};
  for (const k of Object.keys(runs[0].cpuUsPerReq)) cpu[k] = median(runs.map((r) => r.cpuUsPerReq[k]));
  return {
    runs: runs.length,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p90: median(runs.map((r) => r.p90)),
    p99: median(runs.map((r) => r.p99)),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    cpuUsPerReq: cpu,
    clientCpuPct: median(runs.map((r) => r.clientCpuPct)),
    serversCpuPct: median(runs.map((r) => r.serversCpuPct)),
    envoyPeakRssMb: Math.max(...runs.map((r) => r.envoyPeakRssMb)),
    answerMs: Object.fromEntries(
      Object.keys(runs[0].answerMs ?? {}).map((k) => [k, Object.fromEntries(['p50', 'p90', 'p99'].map((q) => [q, median(runs.map((r) => r.answerMs?.[k]?.[q] ?? NaN))]))]),
    ),
  };
}

// ------------------------------------------------------------------------------------------------ machine & versions

function sh(argv) {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    return `${(err.stdout ?? '').trim()}${(err.stderr ?? '').trim()}` || `(${argv[0]} unavailable)`;
  }
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function machineInfo() {
  return {
    lscpu: sh(['lscpu']),
    nproc: sh(['nproc']),
    free: sh(['free', '-m']),
    uname: sh(['uname', '-srm']),
    loadavgStart: loadavg(),
  };
}

function versions() {
  const goVersionM = (bin, mod) => {
    const out = sh(['go', 'version', '-m', bin]);
    const line = out.split('\n').find((l) => l.trim().startsWith('mod\t') || l.trim().startsWith('mod '));
    return line ? line.trim().split(/\s+/).slice(1, 3).join('@') : mod;
  };
  const marker = (name) => {
    try {
      return readFileSync(join(GOBIN, `.${name}.version`), 'utf8').trim();
    } catch {
      return null;
    }
  };
  return {
    node: process.version,
    openssl: process.versions.openssl,
    v8: process.versions.v8,
    tokengate: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    '@grpc/grpc-js': pkgVersion('@grpc/grpc-js'),
    '@grpc/proto-loader': pkgVersion('@grpc/proto-loader'),
    jose: pkgVersion('jose'),
    pino: pkgVersion('pino'),
    ghz: marker('ghz') ?? goVersionM(BIN.ghz, 'github.com/bojand/ghz'),
    'opa-envoy-plugin': marker('opa-envoy-plugin') ?? goVersionM(BIN.opa, 'github.com/open-policy-agent/opa-envoy-plugin'),
    opa: sh([BIN.opa, 'version']).split('\n').find((l) => l.startsWith('Version'))?.replace('Version: ', '') ?? null,
    envoy: existsSync(BIN.envoy) ? sh([BIN.envoy, '--version']).split('version: ')[1]?.trim() ?? null : null,
    go: sh(['go', 'version']),
  };
}

// ------------------------------------------------------------------------------------------------ main

async function main() {
  mkdirSync(OUT, { recursive: true });
  rmSync(join(OUT, 'ghz'), { recursive: true, force: true });
  rmSync(join(OUT, 'logs'), { recursive: true, force: true });
  for (const [name, bin] of Object.entries({ ghz: BIN.ghz, 'opa-envoy-plugin': BIN.opa })) {
    if (!existsSync(bin)) throw new Error(`${name} not found at ${bin}: run scripts/install-bench-tools.sh`);
  }
  const started = new Date();
  const issuer = await startIssuer();
  const ctx = {
    issuer,
    token: readFileSync(join(DATA, 'envoy_token.txt'), 'utf8').trim(),
    preflight: {},
    rateSeen: {},
  };
  const results = {
    started: started.toISOString(),
    config: { ...CFG, ports: PORTS, clkTck: CLK_TCK, dataDir: relative(ROOT, DATA) },
    machine: machineInfo(),
    versions: versions(),
    data: issuer.manifest,
    sections: {},
  };
  // BENCH_MERGE=1: keep the sections of the last results.json that this run does not measure, so one section of a
  // full run can be measured again; each section records when it ran, and the report names every run it draws on.
  const resultsFile = join(OUT, 'results.json');
  if (env.BENCH_MERGE === '1' && existsSync(resultsFile)) {
    const previous = JSON.parse(readFileSync(resultsFile, 'utf8'));
    const kept = Object.keys(previous.sections ?? {}).filter((name) => !CFG.sections.includes(name));
    for (const name of kept) results.sections[name] = { startedAt: previous.started, ...previous.sections[name] };
    for (const c of previous.commands ?? []) if (!commands.some((x) => x.kind === c.kind && x.cmd === c.cmd)) commands.push(c);
    results.mergedWith = [...(previous.mergedWith ?? []), { started: previous.started, finished: previous.finished, sections: kept }];
  }
  const save = () => {
    results.commands = commands;
    results.preflight = ctx.preflight;
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  };
  log(`sections ${CFG.sections.join(',')}; systems ${CFG.systems.join(',')}; scenarios ${CFG.scenarios.join(',')}; ` +
    `${CFG.runs} runs × ${CFG.duration}, -c ${CFG.concurrency}, ghz data ${CFG.ghzData}; load ${results.machine.loadavgStart.join(' ')}`);
  try {
    for (const section of CFG.sections) {
      const t0 = Date.now();
      log(`== section ${section}`);
      const la0 = loadavg();
      let out;
      if (section === 'main') out = await sectionMain(ctx);
      else if (section === 'unloaded') out = await sectionUnloaded(ctx);
      else if (section === 'sweep') out = await sectionSweep(ctx, results.sections.main);
      else if (section === 'workers') out = await sectionWorkers(ctx);
      else if (section === 'ready') out = await sectionReady(ctx);
      else if (section === 'envoy') out = await sectionEnvoy(ctx);
      else throw new Error(`unknown section ${section}`);
      results.sections[section] = { ...out, startedAt: new Date(t0).toISOString(), seconds: (Date.now() - t0) / 1000, loadavgBefore: la0, loadavgAfter: loadavg() };
      save();
    }
  } finally {
    results.finished = new Date().toISOString();
    results.machine.loadavgEnd = loadavg();
    results.jwksHits = issuer.state.hits;
    save();
    await issuer.close();
  }
  log(`done: ${relative(ROOT, join(OUT, 'results.json'))}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`FAILED: ${err.stack ?? err}`);
    killAll('SIGKILL');
    process.exit(1);
  },
);
