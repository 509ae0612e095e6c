// The soak's command line, and what a run derives from it: duration, ramp, warm-up, the rotation and flap schedule,
// and the token mix. See the header of scripts/soak.mjs for the options.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fail, ROOT } from './procs.mjs';

export const AUDIENCE = 'api://soak';
export const SCOPE = 'orders.read';
/** The policy name the shipped envoy/envoy.yaml's /orders route asks for (context_extensions policy: orders). */
export const POLICY = 'orders';
/** Deadline of one check, gRPC or HTTP: an answer later than this is a lost check. */
export const CHECK_TIMEOUT_MS = 2000;
/** Memory rules (memory_trend.mjs): the largest growth of a floor from the first half to the second. */
export const FLOOR_GROWTH_LIMIT = 0.1;
/**
 * tokengate's token cache keeps an entry at most 5 minutes (DEFAULT_TOKEN_CACHE.maxTtlMs in src/authz/token_cache.ts),
 * so its live heap grows for the first 5 minutes of load and is steady after: the memory rules start there (or at half
 * of a shorter run, which then judges a cache still filling).
 */
export const TOKEN_CACHE_TTL_MS = 300_000;

/** The mix, per 1000 scheduled checks. */
export const MIX = [
  ['valid', 700], // fresh, distinct: 95 % ES256, 5 % RS256, signed with the current key of its alg
  ['old_key', 40], // fresh, signed with the most recently retired key (allowed until its removal is fetched)
  ['repeat', 50], // a token from the last 4096 valid/old_key tokens, sent again (a cache hit when still cached)
  ['expired', 40], // current key, exp 30 s .. 1 h in the past
  ['wrong_aud', 50], // current key, aud of another API
  ['missing_scope', 50], // current key, no scp or a scp without the required scope
  ['bad_sig', 30], // a valid token with one bit of its signature flipped
  ['forged', 15], // the current ES256 kid, signed with a key that was never published
  ['unknown_kid', 25], // a never-published kid (fresh random), signed with that unpublished key
];
export const MUST_DENY = new Set(['expired', 'wrong_aud', 'missing_scope', 'bad_sig', 'forged', 'unknown_kid']);

export function readOptions(args = process.argv.slice(2)) {
  const { values: v } = parseArgs({
    args,
    options: {
      minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '10' },
      rate: { type: 'string', default: process.env.SOAK_RATE ?? '1500' },
      'max-inflight': { type: 'string', default: '256' },
      connections: { type: 'string' },
      'sample-seconds': { type: 'string', default: '10' },
      'ramp-seconds': { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      'tokengate-node-flags': { type: 'string', default: '' },
      'bare-runtime': { type: 'boolean', default: false },
      'rss-limit-mib': { type: 'string', default: '128' },
      'via-envoy': { type: 'boolean', default: false },
      out: { type: 'string', default: join(ROOT, 'bench/out') },
    },
  });
  const viaEnvoy = v['via-envoy'];
  const num = (name, value) => {
    const n = Number(value);
    if (!(Number.isFinite(n) && n > 0)) fail(`--${name} must be a positive number`);
    return n;
  };
  const minutes = num('minutes', v.minutes);
  const durationMs = Math.round(minutes * 60_000);
  const rampMs =
    v['ramp-seconds'] !== undefined ? Number(v['ramp-seconds']) * 1000 : Math.min(10_000, durationMs * 0.05);
  if (!(rampMs >= 0 && rampMs < durationMs)) fail('--ramp-seconds must be >= 0 and shorter than the run');
  // The schedule of a 10-minute run (seconds from the start of load), scaled down with floors for shorter runs. The
  // defaults keep rotations out of the issuer's down windows; shorter runs may overlap them, which the expected-verdict
  // logic handles (a key published while the issuer is down is "not yet fetched").
  const f = Math.min(1, durationMs / 600_000);
  return {
    minutes,
    rate: num('rate', v.rate),
    maxInflight: num('max-inflight', v['max-inflight']),
    // gRPC: channels, each its own HTTP/2 connection. Envoy: HTTP/1.1 keep-alive sockets (one request each at a time).
    connections: num('connections', v.connections ?? (viaEnvoy ? 64 : 8)),
    sampleMs: num('sample-seconds', v['sample-seconds']) * 1000,
    durationMs,
    rampMs,
    warmupMs: Math.min(60_000, durationMs * 0.1),
    ...memoryWindows(durationMs),
    logLevel: v['log-level'],
    tokengateNodeFlags: v['tokengate-node-flags'].split(/\s+/).filter(Boolean),
    bareRuntime: v['bare-runtime'],
    rssLimitMiB: num('rss-limit-mib', v['rss-limit-mib']),
    viaEnvoy,
    out: v.out,
    schedule: {
      rotateFirstS: Math.max(10, 40 * f),
      rotateEveryS: Math.max(15, 60 * f),
      removeAfterS: Math.max(8, 25 * f),
      flapFirstS: Math.max(20, 75 * f),
      flapEveryS: Math.max(30, 120 * f),
      flapForS: Math.max(8, 20 * f),
    },
  };
}

/** When the memory rules start, and their window: at least six windows, none longer than 30 s. */
function memoryWindows(durationMs) {
  const memoryFromMs = Math.max(Math.min(60_000, durationMs * 0.1), Math.min(TOKEN_CACHE_TTL_MS, durationMs / 2));
  return { memoryFromMs, memoryWindowMs: Math.min(30_000, (durationMs - memoryFromMs) / 6) };
}

/** The command line that reproduces a run, for the report. */
export function commandLine(cfg) {
  const flags = [`--minutes ${cfg.minutes}`, `--rate ${cfg.rate}`, `--max-inflight ${cfg.maxInflight}`];
  flags.push(`--connections ${cfg.connections}`);
  if (cfg.viaEnvoy) flags.push('--via-envoy');
  if (cfg.bareRuntime) flags.push('--bare-runtime');
  if (cfg.tokengateNodeFlags.length) flags.push(`--tokengate-node-flags="${cfg.tokengateNodeFlags.join(' ')}"`);
  if (cfg.rssLimitMiB !== 128) flags.push(`--rss-limit-mib ${cfg.rssLimitMiB}`);
  return `node scripts/soak.mjs ${flags.join(' ')}`;
}
