// The verdict of a run and its report: bench/out/soak-<timestamp>.json (everything) and .md (the tables).
import { cpus, totalmem } from 'node:os';
import { memoryFloorTrend } from './memory_trend.mjs';
import { commandLine, FLOOR_GROWTH_LIMIT } from './options.mjs';
import { mib, pct, r2 } from './sampler.mjs';

/**
 * The memory rules: peak RSS (VmHWM over the whole life of the process) within the limit, and the floors of RSS and
 * of V8's used heap flat from the first half of the run to the second (memory_trend.mjs), with a breakdown of RSS at
 * the floor and at the peak sample: V8 heap committed, external, and the rest (code, native allocations).
 */
function memoryFigures(memory, cfg) {
  const points = memory?.points ?? [];
  const rule = { fromMs: cfg.memoryFromMs, windowMs: cfg.memoryWindowMs, limit: FLOOR_GROWTH_LIMIT };
  const trend = (key) => {
    const t = memoryFloorTrend(
      points.map((p) => ({ tMs: p.tMs, bytes: p[key] })),
      rule,
    );
    return { ...t, floors: t.floors.map((f) => [Math.round(f.tMs / 1000), mib(f.bytes)]) };
  };
  const peakSample = points.reduce((a, p) => (a === undefined || p.rss > a.rss ? p : a), undefined);
  const breakdown = (p) =>
    p && {
      tS: Math.round(p.tMs / 1000),
      rss: mib(p.rss),
      heapTotal: mib(p.heapTotal),
      heapUsed: mib(p.heapUsed),
      external: mib(p.external),
      rest: mib(p.rss - p.heapTotal - p.external),
    };
  const rss = trend('rss');
  const floorPoint = points.find(
    (p) => p.tMs >= cfg.memoryFromMs && mib(p.rss) === Math.min(...rss.floors.map((f) => f[1])),
  );
  return {
    peakRssBytes: memory?.hwm,
    peakRssLimitMiB: cfg.rssLimitMiB,
    rss,
    heapUsed: trend('heapUsed'),
    atPeakSample: breakdown(peakSample),
    atRssFloor: breakdown(floorPoint),
    samples: points.length,
  };
}

export function buildResult({ cfg, run, judge, samples, before, after, issuer, supply, driver, envoy, tokengate }) {
  const t = judge.totals;
  const sortedAll = Float64Array.from(judge.allLat).sort();
  const memory = memoryFigures(run.memory, cfg);
  const sum = (m) => (m.decisions ?? []).reduce((a, d) => a + d.v, 0);
  const decisionsCounted = sum(after) - sum(before);
  const wrongDecisions = t.wrongAllow + t.wrongDeny;
  const failures = [];
  if (wrongDecisions > 0)
    failures.push(`${wrongDecisions} wrong decisions (${t.wrongAllow} wrong allows, ${t.wrongDeny} wrong denies)`);
  if (t.lost > 0)
    failures.push(
      `${t.lost} lost checks (${Object.entries(judge.lostByCause)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );
  if (run.crashed) failures.push(`tokengate exited during the run: ${JSON.stringify(run.crashed)}`);
  if (!(memory.peakRssBytes <= cfg.rssLimitMiB * 1048576))
    failures.push(`peak RSS ${mib(memory.peakRssBytes)} MiB (limit ${cfg.rssLimitMiB} MiB)`);
  for (const [what, t] of [
    ['RSS', memory.rss],
    ['V8 heap used', memory.heapUsed],
  ])
    if (!t.pass) failures.push(`${what}: ${t.why} (limit ${FLOOR_GROWTH_LIMIT * 100} %)`);
  const warnings = [];
  if (t.dropped > 0) warnings.push(`${t.dropped} scheduled checks dropped at the in-flight cap (${cfg.maxInflight})`);
  if (t.answered < t.scheduled * 0.95)
    warnings.push(`answered ${t.answered} of ${t.scheduled} scheduled checks: the rate was not held`);
  if (run.readyzFailures > 0)
    warnings.push(`/readyz was not 200 on ${run.readyzFailures} of ${run.readyzChecks} polls`);
  if (decisionsCounted !== t.answered)
    warnings.push(`tokengate counted ${decisionsCounted} decisions, the client got ${t.answered} answers`);
  if (run.stop?.code !== 0) warnings.push(`tokengate did not exit 0 on SIGTERM: ${JSON.stringify(run.stop)}`);
  const bucketsAbove = (() => {
    const b = after.durationBuckets ?? [];
    const total = b.at(-1)?.[1];
    const le = (x) => b.find(([l]) => l === x)?.[1];
    return total === undefined ? null : { count: total, over150ms: total - le(0.15), over250ms: total - le(0.25) };
  })();
  const p99s = samples.filter((s) => s.p99Ms !== null).map((s) => s.p99Ms);
  const keyTimeline = [...issuer.keys.values()].map((k) => ({
    kid: k.kid,
    alg: k.alg,
    ...Object.fromEntries(
      ['publishedAt', 'servedAt', 'knownAt', 'removedAt', 'removalServedAt', 'removalSeenAt'].map((f) => [
        `${f}S`,
        judge.rel(k[f]),
      ]),
    ),
  }));
  return {
    command: commandLine(cfg),
    startedAt: new Date(run.loadStart).toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      envoy: envoy?.version,
    },
    config: { ...cfg, mix: undefined, driver: driver.stats(), tokengateRuntime: tokengate.runtime },
    pass: failures.length === 0,
    failures,
    warnings,
    totals: {
      ...t,
      wrongDecisions,
      tokensSignedInWorker: supply.stats.fromWorker,
      tokensSignedInline: supply.stats.inline,
      achievedPerS: Math.round(t.answered / run.seconds),
      decisionsCountedByTokengate: decisionsCounted,
      readyzFailures: run.readyzFailures,
      readyzChecks: run.readyzChecks,
    },
    lostByCause: judge.lostByCause,
    lostDetails: judge.lostDetails,
    latencyMs: {
      p50: r2(pct(sortedAll, 0.5)),
      p99: r2(pct(sortedAll, 0.99)),
      p999: r2(pct(sortedAll, 0.999)),
      max: r2(sortedAll.at(-1)),
      windowP99Min: p99s.length ? Math.min(...p99s) : null,
      windowP99Max: p99s.length ? Math.max(...p99s) : null,
    },
    memory,
    tokenCache: {
      entriesMax: Math.max(...samples.map((s) => s.cacheEntries ?? 0)),
      hits: after.cacheHits,
      misses: after.cacheMisses,
    },
    tokengateCheckDuration: bucketsAbove,
    keyFetches: after.keyFetches,
    keyTimeline,
    jwksHits: issuer.jwksHits.length,
    decisionsByReason: after.decisions,
    envoyStats: run.envoyStats,
    byKind: judge.byKind,
    tolerated: judge.tolerated,
    wrongExamples: judge.wrongExamples,
    events: run.events,
    samples,
    tokengateStop: run.stop,
    tokengateLog: tokengate.logFile,
  };
}

/** The command line tokengate ran with: allocator environment, node, flags. */
function runtimeLine(config) {
  const rt = config.tokengateRuntime ?? { flags: [], env: {} };
  const env = Object.entries(rt.env).map(([k, v]) => `${k}=${v} `);
  return `${env.join('')}node ${[...rt.flags, ...config.tokengateNodeFlags].join(' ')}`.replace(/ +$/, '');
}

export function markdown(r) {
  const t = r.totals;
  const viaEnvoy = r.config.viaEnvoy;
  const lost =
    Object.entries(r.lostByCause)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const lines = [
    `### Soak ${r.startedAt}: ${r.pass ? 'PASS' : 'FAIL'}`,
    '',
    `\`${r.command}\` on ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, Node ${r.machine.node}` +
      (viaEnvoy ? `, Envoy ${r.machine.envoy}` : ''),
    '',
    `tokengate: \`${runtimeLine(r.config)} dist/bundle/tokengate.mjs serve\``,
    '',
    '| total | value |',
    '|---|---|',
    `| checks answered / scheduled | ${t.answered} / ${t.scheduled} (achieved ${t.achievedPerS}/s of ${r.config.rate}/s) |`,
    `| dropped at the in-flight cap | ${t.dropped} |`,
    `| wrong decisions | **${t.wrongDecisions}** (wrong allows ${t.wrongAllow}, wrong denies ${t.wrongDeny}) |`,
    `| lost checks | **${t.lost}** (${lost}) |`,
    `| tokengate decisions counted / answers received | ${t.decisionsCountedByTokengate} / ${t.answered} |`,
    `| tolerated (key change not yet fetched) | ${t.tolerated}: ${
      Object.entries(r.tolerated)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || '—'
    } |`,
    `| allows / denies | ${t.allow} / ${t.deny} |`,
    `| distinct tokens sent / verified and cached | ${t.freshTokens} / ${viaEnvoy ? '— (no reason through Envoy)' : t.freshTokensCached} (signed in the worker ${t.tokensSignedInWorker}, inline ${t.tokensSignedInline}) |`,
    `| token cache entries (max) / hits / misses | ${r.tokenCache.entriesMax} / ${r.tokenCache.hits} / ${r.tokenCache.misses} |`,
    `| latency p50 / p99 / p99.9 / max (ms, whole run) | ${r.latencyMs.p50} / ${r.latencyMs.p99} / ${r.latencyMs.p999} / ${r.latencyMs.max} |`,
    `| p99 per ${r.config.sampleMs / 1000}s window, min – max (ms) | ${r.latencyMs.windowP99Min} – ${r.latencyMs.windowP99Max} |`,
    `| tokengate checks over 150 / 250 ms | ${r.tokengateCheckDuration?.over150ms} / ${r.tokengateCheckDuration?.over250ms} |`,
    `| peak RSS (VmHWM, whole process life) | ${mib(r.memory.peakRssBytes)} MiB (criterion: ≤ ${r.memory.peakRssLimitMiB} MiB) |`,
    ...[
      ['RSS', r.memory.rss],
      ['V8 heap used', r.memory.heapUsed],
    ].map(
      ([what, t]) =>
        `| ${what} floor (lowest per ${r.config.memoryWindowMs / 1000} s, from t=${r.config.memoryFromMs / 1000} s), ` +
        `first half → second half | ${mib(t.firstHalfFloor)} → ${mib(t.secondHalfFloor)} MiB ` +
        `(${t.growth === null ? '—' : `${(t.growth * 100).toFixed(1)} %`}; criterion: ≤ ${t.limit * 100} %); ` +
        `fitted slope ${t.slopeBytesPerMin === null ? '—' : r2(t.slopeBytesPerMin / 1048576)} MiB/min over ${t.windows} windows |`,
    ),
    `| RSS at its lowest / highest 1 s sample: V8 heap committed (used), external, rest | ${[r.memory.atRssFloor, r.memory.atPeakSample].map((b) => (b ? `${b.rss}: ${b.heapTotal} (${b.heapUsed}), ${b.external}, ${b.rest}` : '—')).join(' / ')} MiB |`,
    `| JWKS responses served / tokengate key fetches | ${r.jwksHits} / ${(r.keyFetches ?? []).map((k) => `${k.labels.match(/result="(\w+)"/)?.[1]} ${k.v}`).join(', ')} |`,
    `| /readyz non-200 polls | ${t.readyzFailures} of ${t.readyzChecks} |`,
    `| SIGTERM at the end | ${JSON.stringify(r.tokengateStop)} |`,
    ...(viaEnvoy
      ? [
          `| Envoy counters | ${Object.entries(r.envoyStats ?? {})
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} |`,
        ]
      : []),
    '',
    'Per window: latency as the client sees it (from the send; "valid" for valid and repeated tokens only; "sched" from',
    "the scheduled send time, which adds the client's own queueing and lag), tokengate's own p99 (the upper bound of its",
    'tokengate_check_duration_seconds bucket), its event-loop lag p99 and GC share (ms of major GC), tokengate RSS / V8',
    "heap used / external memory, the token cache's entries, CPU (100 % = one core) of tokengate, of the soak process" +
      (viaEnvoy ? ' and of Envoy' : '') +
      ', the',
    "soak's own event-loop delay p99, the machine's 1-minute load average (2 cores, other people's jobs included).",
    '',
    `| t (s) | checks/s | p50 ms | p99 ms | p99 valid ms | p99 sched ms | max ms | tokengate p99 ≤ ms | tokengate lag p99 ms | tokengate GC % (major ms) | RSS MiB | heap MiB | ext MiB | cache | tokengate CPU % | soak CPU % | soak lag p99 ms |${viaEnvoy ? ' Envoy CPU % |' : ''} load | wrong | tolerated | lost | dropped | issuer |`,
    `|${'---:|'.repeat(viaEnvoy ? 23 : 22)}---|`,
    ...r.samples.map(
      (s) =>
        `| ${s.tS} | ${s.achievedPerS} | ${s.p50Ms} | ${s.p99Ms} | ${s.p99ValidMs} | ${s.p99FromScheduleMs} | ${s.maxMs} | ${s.serverP99MsBucket} | ${s.tokengateLoopLagP99Ms} | ${s.tokengateGcPct} (${s.tokengateMajorGcMs}) | ${mib(s.rssBytes)} | ${mib(s.heapUsedBytes)} | ${mib(s.externalBytes)} | ${s.cacheEntries} | ${s.tokengateCpuPct} | ${s.clientCpuPct} | ${s.clientLoopP99Ms} |${viaEnvoy ? ` ${s.envoyCpuPct} |` : ''} ${s.loadavg1} | ${s.wrong} | ${s.tolerated} | ${s.lost} | ${s.dropped} | ${s.issuerUp ? 'up' : 'down'} |`,
    ),
    '',
    'Keys (seconds from the start of load): published in the JWKS, first JWKS response that had it, tokengate applied that',
    'fetch (upper bound, from tokengate_key_age_seconds); removed, first JWKS response without it, tokengate applied that.',
    '',
    '| key | published | first served | applied by tokengate | removed | first served without | applied by tokengate |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.keyTimeline.map(
      (k) =>
        `| ${k.kid} | ${k.publishedAtS} | ${k.servedAtS ?? '—'} | ${k.knownAtS ?? '—'} | ${k.removedAtS ?? '—'} | ${k.removalServedAtS ?? '—'} | ${k.removalSeenAtS ?? '—'} |`,
    ),
    '',
    `Events: ${r.events.map((e) => `${e.tS}s ${e.event}`).join('; ') || 'none'}`,
    '',
    ...(r.lostDetails.length
      ? [
          `Lost (first ${Math.min(20, r.lostDetails.length)}): ${r.lostDetails
            .slice(0, 20)
            .map((l) => `${l.sentAtS}s ${l.kind} ${l.cause}: ${l.detail}`)
            .join('; ')}`,
          '',
        ]
      : []),
    ...(r.failures.length ? [`Failures: ${r.failures.join('; ')}`, ''] : []),
    ...(r.warnings.length ? [`Warnings: ${r.warnings.join('; ')}`, ''] : []),
  ];
  return `${lines.join('\n')}\n`;
}
