// tokengate as the soak runs it: a child process of the built CLI with one policy on the issuer's discovery URL, its
// metrics, its /proc figures, and when it applied each key change (from its key-age metric).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageNodeRuntime } from '../node_runtime.mjs';
import { AUDIENCE, POLICY, SCOPE } from './options.mjs';
import { fail, freePort, procReader, ROOT, soakChild } from './procs.mjs';

const { startTokengateProcess } = await import(join(ROOT, 'dist/testkit/tokengate_process.js'));

export async function startTokengate({ cfg, discoveryUrl, workDir, logFile }) {
  const grpcPort = await freePort();
  const opsPort = await freePort();
  const configPath = join(workDir, 'tokengate.yaml');
  writeFileSync(
    configPath,
    `# written by scripts/soak.mjs
server:
  grpc: { address: "127.0.0.1:${grpcPort}" }
  http: { address: "127.0.0.1:${opsPort}" }
keys:
  cooldown: 5
  refreshInterval: 60
logging:
  level: ${cfg.logLevel}
policies:
  - name: ${POLICY}
    validateJwt:
      openidConfig:
        - url: ${discoveryUrl}
      audiences: ["${AUDIENCE}"]
      requiredClaims:
        - { name: scp, separator: " ", match: any, values: ["${SCOPE}"] }
      outputClaimsToHeaders:
        - { claim: sub, header: x-user-sub }
`,
  );
  // The image's node flags and allocator settings (scripts/node_runtime.mjs), unless --bare-runtime; then the extra
  // --tokengate-node-flags.
  const runtime = cfg.bareRuntime ? { flags: [], env: {} } : imageNodeRuntime();
  const proc = await startTokengateProcess({
    args: ['serve', '--config', configPath],
    opsPort,
    logFile,
    nodeFlags: [...runtime.flags, ...cfg.tokengateNodeFlags],
    env: { ...runtime.env, LOG_LEVEL: cfg.logLevel },
    timeoutMs: 30_000,
  }).catch((err) => fail(`tokengate did not start: ${err.message}`));
  const child = soakChild(proc);
  const ops = `http://127.0.0.1:${opsPort}`;
  return { child, grpcPort, opsPort, ops, runtime, scrape: () => scrape(ops), proc: procReader(child.pid) };
}

/** The metrics the soak samples, from tokengate's /metrics; { error } when the scrape failed. */
async function scrape(ops) {
  try {
    const text = await (await fetch(`${ops}/metrics`)).text();
    const one = (name) => {
      const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm'));
      return m ? Number(m[1]) : undefined;
    };
    const all = (name) =>
      [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm'))].map((m) => ({
        labels: m[1],
        v: Number(m[2]),
      }));
    const gc = all('nodejs_gc_duration_seconds_sum');
    // Cumulative counts per bucket bound, summed over the other labels (transport), in bound order.
    const byBound = new Map();
    for (const { labels, v } of all('tokengate_check_duration_seconds_bucket')) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      const bound = le === '+Inf' ? Infinity : Number(le);
      byBound.set(bound, (byBound.get(bound) ?? 0) + v);
    }
    return {
      cacheEntries: one('tokengate_token_cache_entries'),
      cacheHits: one('tokengate_token_cache_hits_total'),
      cacheMisses: one('tokengate_token_cache_misses_total'),
      heapUsed: one('nodejs_heap_size_used_bytes'),
      external: one('nodejs_external_memory_bytes'),
      durationBuckets: [...byBound].sort((a, b) => a[0] - b[0]),
      loopLagP99: one('nodejs_eventloop_lag_p99_seconds'),
      loopLagMax: one('nodejs_eventloop_lag_max_seconds'),
      gcSeconds: gc.reduce((a, g) => a + g.v, 0),
      gcMajorSeconds: gc.filter((g) => g.labels.includes('major')).reduce((a, g) => a + g.v, 0),
      decisions: all('tokengate_decisions_total'),
      keyFetches: all('tokengate_key_fetches_total'),
      keyAgeSeconds: one('tokengate_key_age_seconds'),
      keyFetchesOk: all('tokengate_key_fetches_total').find((k) => k.labels.includes('result="ok"'))?.v,
    };
  } catch (err) {
    return { error: String(err) };
  }
}

/**
 * Polls tokengate twice a second to learn when it applied the JWKS served after each key change.
 * tokengate_key_age_seconds = now - fetchedAt of its last successful fetch, so for a scrape between `before` and
 * `after` that fetch was applied in [before - age, after - age]. Fetches of one source are single-flight, so the
 * change is applied (at the latest at after - age) when either
 *  - every JWKS response served before `before` has been applied (successful fetches = JWKS responses so far), or
 *  - the last applied fetch was applied after the first JWKS response served after the change (before - age >= it).
 * The first test is the precise one; the second covers the rest of the run if a fetch ever failed after its JWKS.
 */
export function watchKeyAges(tokengate, issuer) {
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      const before = Date.now();
      const m = await tokengate.scrape();
      const after = Date.now();
      if (m.keyAgeSeconds === undefined) return;
      const age = m.keyAgeSeconds * 1000;
      let servedBefore = issuer.jwksHits.length;
      while (servedBefore > 0 && issuer.jwksHits[servedBefore - 1] >= before) servedBefore--;
      const allApplied = m.keyFetchesOk === servedBefore;
      const applied = (at) => at !== undefined && ((allApplied && at < before) || before - age >= at);
      for (const k of issuer.keys.values()) {
        if (k.knownAt === undefined && applied(k.servedAt)) k.knownAt = after - age;
        if (k.removalSeenAt === undefined && applied(k.removalServedAt)) k.removalSeenAt = after - age;
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), 500);
  return { poll, stop: () => clearInterval(timer) };
}
