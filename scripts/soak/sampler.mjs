// A sample every `sampleMs`: the achieved rate, client-side latency, tokengate's own p99, event-loop lag, GC share,
// memory and cache, CPU of tokengate, of the soak process (and of Envoy), the machine's load, the issuer's state.
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { log } from './procs.mjs';

export const pct = (sorted, p) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null;
export const r2 = (x) => (x == null ? null : Math.round(x * 100) / 100);
export const mib = (b) => (b === undefined || b === null ? null : Math.round((b / 1048576) * 10) / 10);

/** p-quantile of tokengate's own check duration between two scrapes: the upper bound of its bucket (ms). */
function serverQuantile(prev, cur, p) {
  if (!prev?.durationBuckets?.length || !cur?.durationBuckets?.length) return null;
  const d = cur.durationBuckets.map(([le, v], i) => [le, v - (prev.durationBuckets[i]?.[1] ?? 0)]);
  const total = d.at(-1)[1];
  if (!(total > 0)) return null;
  const hit = d.find(([, v]) => v >= p * total);
  return hit[0] === Infinity ? Infinity : Math.round(hit[0] * 1e5) / 100;
}

export function createSampler({ judge, tokengate, issuer, load, envoy, loadStart, first }) {
  const samples = [];
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let last = {
    scrape: first,
    at: performance.now(),
    cpu: tokengate.proc.cpuSeconds(),
    envoyCpu: envoy?.proc.cpuSeconds(),
  };
  let lastClientCpu = process.cpuUsage();
  const cpuPct = (now, before, s) =>
    now !== undefined && before !== undefined ? Math.round(((now - before) / s) * 100) : null;

  async function sample() {
    const w = judge.takeWindow();
    const now = performance.now();
    const s = (now - last.at) / 1000;
    const cpu = tokengate.proc.cpuSeconds();
    const envoyCpu = envoy?.proc.cpuSeconds();
    const clientCpu = process.cpuUsage();
    const m = await tokengate.scrape();
    const prev = last.scrape;
    const sorted = (a) => Float64Array.from(a).sort();
    const [lat, latS, latK] = [sorted(w.lat), sorted(w.latSched), sorted(w.latKnown)];
    const delta = (f) => (prev?.[f] !== undefined && m[f] !== undefined ? m[f] - prev[f] : undefined);
    const sampleRow = {
      tS: Math.round((Date.now() - loadStart) / 1000),
      achievedPerS: Math.round(w.answered / s),
      sent: w.sent,
      dropped: w.dropped,
      queuedAtEnd: load.queued,
      p50Ms: r2(pct(lat, 0.5)),
      p99Ms: r2(pct(lat, 0.99)),
      maxMs: r2(lat.length ? lat[lat.length - 1] : null),
      p99FromScheduleMs: r2(pct(latS, 0.99)),
      p99ValidMs: r2(pct(latK, 0.99)),
      rssBytes: tokengate.proc.rss(),
      serverP99MsBucket: serverQuantile(prev, m, 0.99),
      tokengateLoopLagP99Ms: m.loopLagP99 === undefined ? null : r2(m.loopLagP99 * 1000),
      tokengateLoopLagMaxMs: m.loopLagMax === undefined ? null : r2(m.loopLagMax * 1000),
      tokengateGcPct: delta('gcSeconds') === undefined ? null : r2((delta('gcSeconds') / s) * 100),
      tokengateMajorGcMs: delta('gcMajorSeconds') === undefined ? null : Math.round(delta('gcMajorSeconds') * 1000),
      heapUsedBytes: m.heapUsed,
      externalBytes: m.external,
      cacheEntries: m.cacheEntries,
      tokengateCpuPct: cpuPct(cpu, last.cpu, s),
      clientCpuPct: Math.round(
        ((clientCpu.user - lastClientCpu.user + clientCpu.system - lastClientCpu.system) / 1e6 / s) * 100,
      ),
      clientLoopP99Ms: r2(loopDelay.percentile(99) / 1e6),
      clientLoopMaxMs: r2(loopDelay.max / 1e6),
      envoyCpuPct: envoy ? cpuPct(envoyCpu, last.envoyCpu, s) : undefined,
      envoyRssBytes: envoy?.proc.rss(),
      wrong: w.wrong,
      tolerated: w.tolerated,
      lost: w.lost,
      issuerUp: issuer.up,
      loadavg1: r2(loadavg()[0]),
    };
    loopDelay.reset();
    last = { scrape: m.error ? prev : m, at: now, cpu, envoyCpu };
    lastClientCpu = clientCpu;
    samples.push(sampleRow);
    const t = judge.totals;
    log(
      `t=${sampleRow.tS}s rate=${sampleRow.achievedPerS}/s p50=${sampleRow.p50Ms}ms p99=${sampleRow.p99Ms}ms ` +
        `(from schedule ${sampleRow.p99FromScheduleMs}ms) rss=${mib(sampleRow.rssBytes)}MiB cache=${sampleRow.cacheEntries} ` +
        `tg-cpu=${sampleRow.tokengateCpuPct}% wrong=${t.wrongAllow + t.wrongDeny} lost=${t.lost} dropped=${t.dropped} ` +
        `tolerated=${t.tolerated}${issuer.up ? '' : ' [issuer down]'}`,
    );
  }
  return { samples, sample };
}
