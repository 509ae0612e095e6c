// RESULTS.md: the main results (server pinned, ghz on the other core), unloaded latency and the load sweep.
import { SCN, SYS, clientBound, mainMedian, ms, num, table } from './report_format.mjs';
import { ratio } from './units.mjs';

/** Appends these sections for the results `R` through `p`; `svgLink` is the chart's path relative to RESULTS.md. */
export function resultSections(R, p, svgLink) {
  const S = R.sections ?? {};
  const C = R.config;
  const main = S.main ?? {};
  const med = (sys, sc) => mainMedian(R, sys, sc);
  p('## Main results (server pinned to one core, ghz on the other)', '');
  {
    const rows = [];
    for (const sc of C.scenarios) {
      for (const sys of C.systems) {
        const m = med(sys, sc);
        if (!m) continue;
        const notes = [];
        if (m.errors) notes.push(`${m.errors} errors`);
        if (m.wrapped) notes.push('token set wrapped (repeats)');
        if (clientBound(m)) notes.push('client-bound');
        rows.push([
          SCN[sc],
          SYS[sys],
          `${num(m.rps)} (${num(m.rpsMin)}–${num(m.rpsMax)})`,
          ms(m.p50),
          ms(m.p90),
          ms(m.p99),
          num(m.cpuUsPerReq, 1),
          num(m.cpuPct),
          num(m.clientCpuPct),
          num(m.peakRssMb),
          notes.join(', '),
        ]);
      }
    }
    p(
      table(
        [
          'Scenario',
          'System',
          'RPS (min–max)',
          'p50 ms',
          'p90 ms',
          'p99 ms',
          'CPU µs/req',
          'server CPU %',
          'ghz CPU %',
          'peak RSS MB',
          'Notes',
        ],
        rows,
      ),
    );
    const ratioRows = [];
    for (const sc of C.scenarios) {
      const tg = med('tokengate', sc);
      if (!tg) continue;
      const ce = med('ceiling', sc);
      const op = med('opa', sc);
      ratioRows.push([
        SCN[sc],
        ratio(tg.rps, ce?.rps)?.toFixed(2) ?? '–',
        ratio(tg.p99, ce?.p99)?.toFixed(2) ?? '–',
        ratio(tg.cpuUsPerReq, ce?.cpuUsPerReq)?.toFixed(2) ?? '–',
        ratio(tg.rps, op?.rps)?.toFixed(2) ?? '–',
        ratio(tg.p99, op?.p99)?.toFixed(2) ?? '–',
        ratio(tg.cpuUsPerReq, op?.cpuUsPerReq)?.toFixed(2) ?? '–',
      ]);
    }
    p('Ratios (tokengate ÷ other, same run):', '');
    p(
      table(
        ['Scenario', 'RPS ÷ ceiling', 'p99 ÷ ceiling', 'CPU/req ÷ ceiling', 'RPS ÷ OPA', 'p99 ÷ OPA', 'CPU/req ÷ OPA'],
        ratioRows,
      ),
    );
    const dec = [];
    for (const sc of C.scenarios) {
      const runs = main[`tokengate:${sc}`]?.runs ?? [];
      const last = runs.at(-1);
      if (last?.tokengateMetrics) {
        dec.push([
          SCN[sc],
          Object.entries(last.tokengateMetrics.decisions)
            .map(([k, v]) => `${k}: ${num(v)}`)
            .join(', '),
          `${num(last.tokengateMetrics.cacheHits)} / ${num(last.tokengateMetrics.cacheMisses)}`,
          String(last.jwksFetches),
        ]);
      }
    }
    if (dec.length) {
      p(
        "tokengate's own counters for the last run of each scenario (from /metrics, warm-up and preflight included) — a check that it decided what the data says:",
        '',
      );
      p(table(['Scenario', 'Decisions', 'cache hits / misses', 'JWKS fetches during the measured run'], dec));
    }
    const pf = R.preflight ?? {};
    if (Object.keys(pf).length)
      p(
        `Preflight (one valid and one forged token per system before its first run): ${Object.entries(pf)
          .map(([k, v]) => `${k} valid → ${v.valid}, forged → ${v.forged}`)
          .join('; ')}.`,
      );
  }

  if (S.unloaded) {
    p('## Unloaded latency (1 request in flight, repeated tokens, pinned)', '');
    p(
      table(
        ['System', 'p50 ms', 'p90 ms', 'p99 ms', 'RPS', 'CPU µs/req'],
        Object.values(S.unloaded)
          .filter((v) => v.median)
          .map((v) => [
            SYS[v.system],
            ms(v.median.p50),
            ms(v.median.p90),
            ms(v.median.p99),
            num(v.median.rps),
            num(v.median.cpuUsPerReq, 1),
          ]),
      ),
    );
  }

  if (S.sweep) {
    p('## p99 vs offered load', '');
    p(`![p99 vs offered load](${svgLink})`, '');
    const rows = [];
    for (const c of Object.values(S.sweep).filter((x) => x?.points))
      for (const pt of c.points)
        rows.push([
          `${SYS[c.system]} ${SCN[c.scenario]}`,
          num(pt.offered),
          num(pt.rps),
          ms(pt.p50),
          ms(pt.p99),
          num(pt.cpuPct),
        ]);
    p(table(['Curve', 'offered /s', 'achieved /s', 'p50 ms', 'p99 ms', 'server CPU %'], rows));
  }
}
