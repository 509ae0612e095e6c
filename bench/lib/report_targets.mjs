// The targets table of RESULTS.md: each bar, what this run measured against it, and the verdict.
import { clientBound, mainMedian, ms, num, signedMs, workersScaling } from './report_format.mjs';
import { ratio } from './units.mjs';

/** The latency bars: tokengate at most this many times the allow-all ceiling measured in the same run. */
const LATENCY_BAR = 1.15;

const verdict = (pass) => (pass === null || pass === undefined ? 'n/a' : pass ? '**PASS**' : '**FAIL**');

/** [{ name, measured, bar, pass, note }] for the results `R`. */
export function targetRows(R) {
  const S = R.sections ?? {};
  const main = S.main ?? {};
  const med = (sys, sc) => mainMedian(R, sys, sc);
  const targets = [];
  const target = (name, measured, bar, pass, note = '') => targets.push({ name, measured, bar, pass, note });
  /** tokengate's median `key` in `scenario` ÷ another system's, at least `min` (or, with `max`, at most). */
  const versus = (name, scenario, other, key, bar, note = '') => {
    const [t, o] = [med('tokengate', scenario)?.[key], med(other, scenario)?.[key]];
    const r = ratio(t, o);
    const show = key === 'rps' ? `${num(t)} / ${num(o)}` : `${ms(t)} / ${ms(o)} ms`;
    const pass = r === null ? null : bar.startsWith('≥') ? r >= Number(bar.slice(2)) : r <= Number(bar.slice(2));
    target(name, r === null ? '–' : `${r.toFixed(2)} (${show})`, bar, pass, note);
  };
  const cb = clientBound(med('ceiling', 'a')) ? ' (ceiling run was client-bound: ghz at ≥ 90 % of its core)' : '';
  versus('Repeated tokens: tokengate RPS / ceiling RPS (-c 50)', 'a', 'ceiling', 'rps', '≥ 0.85', cb);
  versus('Repeated tokens: tokengate p99 / ceiling p99', 'a', 'ceiling', 'p99', '≤ 1.25');
  versus('Repeated tokens, 5 CEL rules: tokengate RPS / ceiling RPS', 'e', 'ceiling', 'rps', '≥ 0.85');
  versus('Opaque tokens, introspection cached: tokengate RPS / ceiling RPS', 'f', 'ceiling', 'rps', '≥ 0.85');
  versus('Distinct RS256: tokengate RPS / ceiling RPS', 'b', 'ceiling', 'rps', '≥ 0.6');
  versus('Distinct ES256: tokengate RPS / ceiling RPS', 'c', 'ceiling', 'rps', '≥ 0.35');
  versus('Distinct RS256: tokengate RPS / OPA-Envoy RPS', 'b', 'opa', 'rps', '≥ 1.5');
  // p99 at equal offered load, from the sweep: every level both systems were offered and OPA still kept up with.
  const tgSw = S.sweep?.['tokengate:b']?.points ?? [];
  const opSw = S.sweep?.['opa:b']?.points ?? [];
  const common = tgSw
    .map((t) => [t, opSw.find((o) => o.offered === t.offered)])
    .filter(([t, o]) => o && o.rps >= 0.95 * o.offered && t.rps >= 0.95 * t.offered);
  const better = common.filter(([t, o]) => t.p99 < o.p99).length;
  target(
    'Distinct RS256: tokengate p99 < OPA-Envoy p99 at equal offered load (sweep levels both sustain)',
    common.length
      ? `${better} of ${common.length} levels (${common.map(([t, o]) => `${num(t.offered)}/s: ${ms(t.p99)} vs ${ms(o.p99)} ms`).join('; ')})`
      : '–',
    'all levels',
    common.length ? better === common.length : null,
  );
  const w = S.workers?.results ?? {};
  const { one: w1, many: w2, ratio: sc } = workersScaling(w, 'tokengate');
  // The allow-all ceiling's gain: what two processes can get at all on this machine with ghz beside them.
  const scCeiling = workersScaling(w, 'ceiling').ratio;
  target(
    'Two cores, repeated tokens: tokengate workers / one unpinned process (ghz --connections 2)',
    sc === null
      ? S.workers?.supported?.tokengate === false
        ? 'not supported by this build (server.workers rejected)'
        : '–'
      : `${sc.toFixed(2)} (${num(w2?.rps)} / ${num(w1?.rps)})${scCeiling === null ? '' : `; the ceiling: ${scCeiling.toFixed(2)}`}`,
    '≥ 1.4',
    sc === null ? (S.workers?.supported?.tokengate === false ? false : null) : sc >= 1.4,
  );
  // The same with h2load, which leaves the servers most of the core that ghz takes.
  const h = S.workers?.h2load?.results;
  if (h) {
    const { one: h1, many: h2, ratio: hs } = workersScaling(h, 'tokengate');
    const hsCeiling = workersScaling(h, 'ceiling').ratio;
    target(
      'Two cores, repeated tokens: tokengate workers / one unpinned process (h2load, 2 connections)',
      hs === null
        ? '–'
        : `${hs.toFixed(2)} (${num(h2?.rps)} / ${num(h1?.rps)})${hsCeiling === null ? '' : `; the ceiling: ${hsCeiling.toFixed(2)}`}`,
      '≥ 1.4',
      hs === null ? null : hs >= 1.4,
      "h2load: one fixed request, no grpc-status check (tokengate's counters must show only allows, one per call)",
    );
  }
  // Latency bars are ratios against the allow-all ceiling measured in the same run: what this machine can judge
  // (its absolute speed drifts by tens of percent between runs); the absolute figures stand beside them.
  const u = S.unloaded?.tokengate?.median;
  const uc = S.unloaded?.ceiling?.median;
  for (const q of ['p50', 'p99']) {
    const r = ratio(u?.[q], uc?.[q]);
    target(
      `Unloaded (1 in flight, repeated tokens): ${q} at the client, tokengate ÷ ceiling`,
      r === null ? (u ? `${ms(u[q])} ms (no ceiling run)` : '–') : `${r.toFixed(2)} (${ms(u[q])} / ${ms(uc[q])} ms)`,
      `≤ ${LATENCY_BAR} × the ceiling's`,
      r === null ? null : r <= LATENCY_BAR,
    );
  }
  const ev = S.envoy;
  if (ev && !ev.skipped && ev.rates?.length) {
    const maxA = ev.max?.ext_authz?.median?.rps;
    const half = ev.rates.reduce(
      (best, r) => (Math.abs(r - maxA / 2) < Math.abs(best - maxA / 2) ? r : best),
      ev.rates[0],
    );
    const f = ev.fixed?.[half];
    const add = f ? f.ext_authz.median.p99 - f.noauth.median.p99 : null;
    const addJ = f ? f.jwt_authn.median.p99 - f.noauth.median.p99 : null;
    // Results from before the allow-all ext_authz variant existed have no such row.
    const addC = f?.ext_authz_ceiling ? f.ext_authz_ceiling.median.p99 - f.noauth.median.p99 : null;
    const signed = (x) => `${signedMs(x)} ms`;
    // The allow-all server's hop is the bar; when it added nothing measurable, a ratio says nothing.
    const r = addC !== null && addC > 0 && add !== null ? add / addC : null;
    const beside = `${signed(add)} vs ${addC === null ? '–' : signed(addC)}; jwt_authn: ${signed(addJ)}`;
    target(
      `Through Envoy: p99 added over no-auth by ext_authz → tokengate ÷ by ext_authz → the allow-all grpc-js server, ` +
        `at ${num(half)}/s (≈ half of the ext_authz path's max ${num(maxA)}/s)`,
      add === null ? '–' : r === null ? `n/a (${beside})` : `${r.toFixed(2)} (${beside})`,
      `≤ ${LATENCY_BAR} × the allow-all server's`,
      r === null ? null : r <= LATENCY_BAR,
      addC !== null && addC <= 0 ? '(the allow-all hop added no measurable p99 in this run)' : '',
    );
  }
  const rssAll = [];
  for (const v of Object.values(main)) if (v.system === 'tokengate') rssAll.push(v.median.peakRssMb);
  for (const v of Object.values(S.unloaded ?? {})) if (v.system === 'tokengate') rssAll.push(v.median.peakRssMb);
  for (const v of Object.values(S.sweep ?? {}))
    if (v.system === 'tokengate') for (const p of v.points) rssAll.push(p.peakRssMb);
  for (const v of [...Object.values(S.workers?.results ?? {}), ...Object.values(S.workers?.h2load?.results ?? {})]) {
    if (v.system === 'tokengate' && v.workers === 1) rssAll.push(v.median.peakRssMb);
  }
  if (typeof ev?.tokengatePeakRssMb === 'number') rssAll.push(ev.tokengatePeakRssMb);
  const rss = rssAll.length ? Math.max(...rssAll) : null;
  // Issue 23 tightened both bars (a sidecar's cost per pod): 150 MB and 1000 ms before. "MB" here is MiB (kB / 1024).
  target(
    'Memory: peak RSS of a tokengate process over the whole bench (VmHWM; issue 23)',
    rss === null ? '–' : `${num(rss)} MB`,
    '≤ 128 MB',
    rss === null ? null : rss <= 128,
  );
  const rd = S.ready;
  target(
    `Ready to serve after start (issuer answering after ${rd?.issuerDelayMs ?? 10} ms), median (issue 23)`,
    rd ? `${num(rd.medianMs)} ms (bare \`node -e ''\`: ${num(rd.nodeBareStartMs)} ms)` : '–',
    '≤ 300 ms',
    rd ? rd.medianMs <= 300 : null,
  );
  return targets;
}

/** The rows as a markdown table's cells. */
export const targetCells = (targets) =>
  targets.map((t) => [t.name + (t.note ? ` ${t.note}` : ''), t.measured, t.bar, verdict(t.pass)]);
