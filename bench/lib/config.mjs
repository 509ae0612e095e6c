// The bench driver's settings: knobs from the environment (listed in bench/run.sh), ports, tools, scenarios.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultEnvoyBin } from '../envoy_config.mjs';
import { imageNodeRuntime } from '../../scripts/node_runtime.mjs';
import { toolPaths } from '../../scripts/tools.mjs';

export const HERE = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = join(HERE, '..');
const env = process.env;
const int = (v, d) => (v === undefined || v === '' ? d : Number.parseInt(v, 10));
const list = (v, d) =>
  v === undefined || v === ''
    ? d
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

export const OUT = env.BENCH_OUT ?? join(HERE, 'out');
export const DATA = env.BENCH_DATA_DIR ?? join(HERE, 'out', 'data'); // same default as make_data.mjs
export const GOBIN = toolPaths().goBin; // scripts/install-bench-tools.sh installs there (the per-machine tools cache)
export const CFG = {
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
  scenarios: list(env.BENCH_SCENARIOS, ['a', 'b', 'c', 'd', 'e', 'f']),
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
  // BENCH_CPU_PROF=1: a V8 CPU profile per tokengate process in bench/out/prof/ (open in Chrome DevTools).
  cpuProf: env.BENCH_CPU_PROF === '1',
  merge: env.BENCH_MERGE === '1',
};
export const PORTS = {
  issuer: int(env.BENCH_ISSUER_PORT, 18480),
  server: int(env.BENCH_SERVER_PORT, 18491),
  ops: int(env.BENCH_OPS_PORT, 18490),
  opaHttp: int(env.BENCH_OPA_HTTP_PORT, 18493),
  envoyListener: int(env.BENCH_ENVOY_PORT, 18500),
  envoyAdmin: int(env.BENCH_ENVOY_ADMIN_PORT, 18501),
  upstream: int(env.BENCH_UPSTREAM_PORT, 18502),
  authzCeiling: int(env.BENCH_AUTHZ_CEILING_PORT, 18503),
  introspection: int(env.BENCH_INTROSPECTION_PORT, 18504),
};
/**
 * Node flags and allocator settings tokengate runs with in production: the image's (scripts/node_runtime.mjs reads
 * them from the Dockerfile), so the bench measures the process the Dockerfile ships. The ceiling gets the same (same
 * process model). BENCH_NODE_FLAGS (space-separated) overrides the flags, an environment variable of the same name
 * (MALLOC_ARENA_MAX=8) the settings, to compare.
 */
const RUNTIME = imageNodeRuntime();
export const NODE_FLAGS =
  env.BENCH_NODE_FLAGS !== undefined ? env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : RUNTIME.flags;
// In this process's environment, so every node child inherits them (glibc reads them when a process starts).
for (const [k, v] of Object.entries(RUNTIME.env)) env[k] ??= v;
/** The program the image runs (its ENTRYPOINT's script: the bundle), as every tokengate of the bench runs it. */
export const TOKENGATE_CLI = join(ROOT, RUNTIME.script);
/** `K=V` for each of them as the node children get it, for the command lines in RESULTS.md. */
export const NODE_ENV_ASSIGNMENTS = Object.keys(RUNTIME.env).map((k) => `${k}=${env[k]}`);

export const BIN = {
  ghz: env.GHZ_BIN ?? join(GOBIN, 'ghz'),
  opa: env.OPA_ENVOY_BIN ?? join(GOBIN, 'opa-envoy-plugin'),
  envoy: defaultEnvoyBin(),
  // nghttp2's h2load (Debian nghttp2-client, scripts/install-bench-tools.sh): the cheap client of the workers section.
  h2load:
    env.H2LOAD_BIN ??
    (env.PATH ?? '')
      .split(':')
      .map((dir) => join(dir, 'h2load'))
      .find((f) => existsSync(f)) ??
    null,
  node: process.execPath,
};
export const PROTO_DIR = join(ROOT, 'proto');
export const PROTO = join(PROTO_DIR, 'envoy', 'service', 'auth', 'v3', 'external_auth.proto');
export const CALL = 'envoy.service.auth.v3.Authorization/Check';
export const SCENARIOS = {
  a: { key: 'a', label: '(a) repeated tokens', data: 'repeated', warm: 'repeated', repeats: true },
  b: { key: 'b', label: '(b) distinct RS256', data: 'rs256', warm: 'warm_rs256' },
  c: { key: 'c', label: '(c) distinct ES256', data: 'es256', warm: 'warm_es256' },
  d: { key: 'd', label: '(d) 80% valid / 20% invalid', data: 'mix', warm: 'warm_rs256' },
  // The same requests as (a), against a policy that also runs 5 CEL rules (issue 18 §4).
  e: { key: 'e', label: '(e) repeated tokens, 5 CEL rules', data: 'repeated', warm: 'repeated', repeats: true, policy: 'rules' },
  // Opaque tokens checked by introspection (RFC 7662): after the warm-up every check is a cache hit (issue 19 §3).
  f: {
    key: 'f',
    label: '(f) repeated opaque tokens, introspection cached',
    data: 'opaque',
    warm: 'opaque',
    repeats: true,
    policy: 'introspection',
  },
};
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** `taskset -c CPU` before a command, or nothing. */
export const pinArgs = (cpu) => (cpu === undefined || cpu === null ? [] : ['taskset', '-c', String(cpu)]);

export function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
