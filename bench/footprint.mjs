#!/usr/bin/env node
// A sidecar's footprint per pod (issue 23): ready time (process start → /readyz 200) and resident memory once ready,
// beside bare Node's own start and RSS measured the same way in the same run. A local issuer serves the keys, so the
// figures include a first key fetch. Loopback only; bounded runs.
//
//   npm run build && node bench/footprint.mjs            # 7 runs, the image's node flags and MALLOC_* settings
//   FOOTPRINT_RUNS=15 node bench/footprint.mjs
//   FOOTPRINT_DIST=/other/checkout/dist node bench/footprint.mjs   # measure another build the same way
//
// Prints a JSON object: medians (and min/max) of ready ms, idle RSS and the start-up peak (VmHWM) in MiB, for
// tokengate and for bare node.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageNodeRuntime } from '../scripts/node_runtime.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.FOOTPRINT_DIST ?? join(ROOT, 'dist');
const RUNS = Number(process.env.FOOTPRINT_RUNS ?? 7);
/** The flags and allocator settings the image runs with (the Dockerfile's), so the figures describe what users run. */
const RUNTIME = imageNodeRuntime();
export const IMAGE_NODE_FLAGS = RUNTIME.flags;

const { startDevIssuer } = await import(join(DIST, 'dev_issuer', 'dev_issuer.js'));
// The shared tooling from this checkout's build (the measured build may be another checkout's).
const { freePorts } = await import(join(ROOT, 'dist', 'testkit', 'ports.js'));
const { waitFor, sleep } = await import(join(ROOT, 'dist', 'testkit', 'wait.js'));

/** VmRSS (now) and VmHWM (the high-water mark since the process started) in MiB. */
function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]) / 1024;
  return { rssMb: mib('VmRSS'), peakRssMb: mib('VmHWM') };
}

/** Starts a process, times it to ready, and reads its RSS a second later (a pause, not readiness), then stops it. */
async function measure(start, untilReady) {
  const begun = performance.now();
  const child = start();
  try {
    await untilReady(child);
    const readyMs = performance.now() - begun;
    await sleep(1000);
    return { readyMs, ...rssMb(child.pid) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

function tokengateRun(configFile, httpPort) {
  // The image's script (the bundle), in the measured build's checkout.
  const argv = [...IMAGE_NODE_FLAGS, join(DIST, '..', RUNTIME.script), 'serve', '--config', configFile];
  // Polled every 2 ms so the figure is the ready time, not the polling interval.
  const ready = async () => ((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200 ? true : undefined);
  return measure(
    () =>
      spawn(process.execPath, argv, { stdio: 'ignore', env: { ...process.env, ...RUNTIME.env, LOG_LEVEL: 'warn' } }),
    () => waitFor('tokengate /readyz 200', ready, { timeoutMs: 10_000, intervalMs: 2 }),
  );
}

/** Bare node with the same flags and environment: started when it prints its first line. */
function bareNodeRun() {
  const argv = [...IMAGE_NODE_FLAGS, '-e', 'console.log("up"); setInterval(() => {}, 1000)'];
  return measure(
    () =>
      spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, ...RUNTIME.env } }),
    (child) => new Promise((resolve) => child.stdout.once('data', resolve)),
  );
}

function summary(runs) {
  const stat = (key) => {
    const values = runs.map((r) => r[key]).sort((a, b) => a - b);
    const round = (v) => Math.round(v * 10) / 10;
    return { median: round(values[Math.floor(values.length / 2)]), min: round(values[0]), max: round(values.at(-1)) };
  };
  return { readyMs: stat('readyMs'), idleRssMb: stat('rssMb'), startPeakRssMb: stat('peakRssMb') };
}

const issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: 'api://footprint' });
const dir = mkdtempSync(join(tmpdir(), 'tokengate-footprint-'));
const [grpcPort, httpPort] = await freePorts(2);
const configFile = join(dir, 'tokengate.yaml');
writeFileSync(
  configFile,
  `server:
  grpc: { address: "127.0.0.1:${grpcPort}" }
  http: { address: "127.0.0.1:${httpPort}" }
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://footprint"]
`,
);
try {
  const tokengate = [];
  const bare = [];
  // Interleaved, so a busy moment on the machine touches both.
  for (let i = 0; i < RUNS; i++) {
    tokengate.push(await tokengateRun(configFile, httpPort));
    bare.push(await bareNodeRun());
  }
  const result = {
    runs: RUNS,
    nodeFlags: IMAGE_NODE_FLAGS,
    env: RUNTIME.env,
    dist: DIST,
    tokengate: summary(tokengate),
    bareNode: summary(bare),
  };
  result.ratios = {
    readyMs: Math.round((result.tokengate.readyMs.median / result.bareNode.readyMs.median) * 100) / 100,
    idleRssMb: Math.round((result.tokengate.idleRssMb.median / result.bareNode.idleRssMb.median) * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await issuer.close();
}
