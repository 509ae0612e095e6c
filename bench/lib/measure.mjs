// One measured run of a system under a scenario (fresh server, preflight, warm-up, measured ghz run with CPU and
// peak RSS), and the medians over runs.
import { CFG, SCENARIOS, log } from './config.mjs';
import { dataSlice, ghz } from './ghz.mjs';
import { peakRssMb, pidTree, treeCpuSeconds } from './proc_stats.mjs';
import { preflight, startSystem, tokengateCounters } from './systems.mjs';
import { durS, fmt, median } from './units.mjs';

export function aggregate(runs) {
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
 * How many requests a run will send, at most: the offered rate, or the best rate seen so far for this case
 * (+25 %), or on a case's first run twice its warm-up's rate (the warm-up is still JIT-compiling: at 1.5× the (b)
 * slice of the first full run came out short, 40k for 43k requests, and wrapped). Never the whole 100k set when a
 * slice will do: ghz holds its data file decoded (~1 GB for 100k requests), and tokengate's (b) runs against the full
 * set cost 324-363 µs per check (3 runs) against 213-349 (10 runs) with a 60k slice. The ceiling holds no cache, so
 * repeats cannot flatter it and the smallest slice always does.
 */
function requestsNeeded(ctx, { system, estKey, rps, warm, duration, skipFirst }) {
  const rate = rps ?? ctx.rateSeen[estKey] ?? (warm?.rps ? warm.rps * 2 : undefined);
  if (system === 'ceiling') return 1;
  return rate ? rate * 1.25 * durS(duration) + skipFirst : undefined;
}

/**
 * One measured run: fresh server, preflight (first run), warm-up (not measured), measured ghz with CPU and peak RSS.
 */
export async function measure(ctx, opts) {
  const { system, scenario, pinned = true, workers = 1, connections = 1, rps, tag } = opts;
  const { duration = CFG.duration, warmup = CFG.warmup, skipFirst = CFG.skipFirst } = opts;
  const c = opts.c ?? CFG.concurrency;
  const sc = SCENARIOS[scenario];
  const sut = await startSystem(ctx, system, { pinned, workers, policy: sc.policy });
  try {
    const key = `${system}:${workers}`;
    if (!ctx.preflight[key]) ctx.preflight[key] = await preflight(ctx, sut);
    const target = sut.address;
    let warm;
    if (warmup && warmup !== '0' && warmup !== '0s') {
      warm = await ghz({
        target,
        set: sc.warm,
        c,
        connections,
        duration: warmup,
        skipFirst: 0,
        pinned,
        tag: `${tag}-warm`,
      });
    }
    const jwks0 = ctx.issuer.hits.jwks;
    const cpu0 = treeCpuSeconds(sut.pid);
    const estKey = `${system}:${scenario}:${workers}:${pinned}:${c}:${connections}`;
    const set = dataSlice(sc.data, requestsNeeded(ctx, { system, estKey, rps, warm, duration, skipFirst }));
    const serverPids = pidTree(sut.pid);
    const g = await ghz({ target, set, c, connections, duration, rps, skipFirst, pinned, tag, serverPids });
    if (!rps) ctx.rateSeen[estKey] = Math.max(ctx.rateSeen[estKey] ?? 0, g.rps);
    const cpuS = treeCpuSeconds(sut.pid) - cpu0;
    const requests = g.count + g.skipped;
    const setSize = Number(/\.first(\d+)$/.exec(set)?.[1] ?? ctx.issuer.manifest.sets[sc.data].tokens);
    const result = {
      system,
      scenario,
      workers,
      pinned,
      connections,
      c,
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
      peakRssMb: peakRssMb(sut.pid).tree,
      errors: g.errors,
      endCancelled: g.endCancelled,
      statusCodeDistribution: g.statusCodeDistribution,
      errorDistribution: g.errorDistribution,
      // ghz round-robins the data set: more requests than distinct tokens means tokens came round again.
      wrapped: !sc.repeats && system !== 'ceiling' && requests > setSize,
      dataSet: set,
      jwksFetches: ctx.issuer.hits.jwks - jwks0,
    };
    if (system === 'tokengate') {
      result.tokengateMetrics = await tokengateCounters();
      // Every request of a repeated set carries a valid token: a denial means the bench measured the wrong thing.
      const allowed = result.tokengateMetrics?.decisions.allow ?? 0;
      if (sc.repeats && allowed < g.count) throw new Error(`${tag}: tokengate allowed ${allowed} of ${g.count} checks`);
    }
    const cpu = `cpu ${fmt(result.cpuUsPerReq, 1)} µs/req (${fmt(result.cpuPct, 0)}%, ghz ${fmt(result.clientCpuPct, 0)}%)`;
    log(
      `${tag}: ${fmt(result.rps, 0)} rps  p50 ${fmt(result.p50)} p90 ${fmt(result.p90)} p99 ${fmt(result.p99)} ms  ` +
        `${cpu}  rss ${fmt(result.peakRssMb, 0)} MB` +
        `${result.errors ? `  ERRORS ${result.errors}` : ''}${result.wrapped ? '  (data set wrapped)' : ''}`,
    );
    return result;
  } finally {
    await sut.stop();
  }
}
