#!/usr/bin/env node
// Renders bench/out/results.json (bench/bench.mjs) into bench/RESULTS.md and bench/p99_vs_load.svg. No dependencies.
//
//   node bench/report.mjs [--results bench/out/results.json] [--md bench/RESULTS.md] [--svg bench/p99_vs_load.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { VARIANTS as ENVOY_VARIANTS } from './envoy_config.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const { values } = parseArgs({
  options: {
    results: { type: 'string', default: join(HERE, 'out', 'results.json') },
    md: { type: 'string', default: join(HERE, 'RESULTS.md') },
    svg: { type: 'string', default: join(HERE, 'p99_vs_load.svg') },
  },
});
const R = JSON.parse(readFileSync(values.results, 'utf8'));
const S = R.sections ?? {};
const C = R.config;

// ------------------------------------------------------------------------------------------------ formatting

const num = (x, d = 0) => (typeof x === 'number' && Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–');
const ms = (x) => (typeof x === 'number' && Number.isFinite(x) ? (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1)) : '–');
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
/** A difference in ms with its sign: "+1.23", "-0.456". */
const signedMs = (x) => `${x >= 0 ? '+' : ''}${ms(x)}`;
// Numeric columns (a unit or a ratio in the header) are right-aligned.
const table = (head, rows) =>
  [`| ${head.join(' | ')} |`, `|${head.map((h) => (/RPS|ms\b|µs|MB|%|÷|\/s|Processes/.test(h) ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
const SYS = { ceiling: 'ceiling (grpc-js no-op)', tokengate: 'tokengate', opa: 'OPA-Envoy' };
const SCN = { a: '(a) repeated tokens', b: '(b) distinct RS256', c: '(c) distinct ES256', d: '(d) 80 % valid / 20 % invalid' };
const durS = (d) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(d));
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1);
};
const smoke = durS(C.duration) < 10 || C.runs < 3;

/** A scenario with several processes against one, unpinned, from a workers result set keyed `system:scenario:wN`. */
function workersScaling(results, system, scenario = 'a') {
  const one = results[`${system}:${scenario}:w1`]?.median;
  const many = Object.entries(results).find(([k]) => k.startsWith(`${system}:${scenario}:w`) && !k.endsWith(':w1'))?.[1]?.median;
  return { one, many, ratio: ratio(many?.rps, one?.rps) };
}

const main = S.main ?? {};
const med = (sys, sc) => main[`${sys}:${sc}`]?.median;
const clientBound = (m) => m && typeof m.clientCpuPct === 'number' && m.clientCpuPct >= 90 && (m.cpuPct ?? 0) < 90;

// ------------------------------------------------------------------------------------------------ targets

const targets = [];
const target = (name, measured, bar, pass, note = '') => targets.push({ name, measured, bar, pass, note });
const verdict = (pass) => (pass === null || pass === undefined ? 'n/a' : pass ? '**PASS**' : '**FAIL**');

{
  const a = { tg: med('tokengate', 'a'), ce: med('ceiling', 'a') };
  const rr = ratio(a.tg?.rps, a.ce?.rps);
  const cb = clientBound(a.ce) ? ' (ceiling run was client-bound: ghz at ≥ 90 % of its core)' : '';
  target('Repeated tokens: tokengate RPS / ceiling RPS (-c 50)', rr === null ? '–' : `${rr.toFixed(2)} (${num(a.tg?.rps)} / ${num(a.ce?.rps)})`, '≥ 0.85', rr === null ? null : rr >= 0.85, cb);
  const pr = ratio(a.tg?.p99, a.ce?.p99);
  target('Repeated tokens: tokengate p99 / ceiling p99', pr === null ? '–' : `${pr.toFixed(2)} (${ms(a.tg?.p99)} / ${ms(a.ce?.p99)} ms)`, '≤ 1.25', pr === null ? null : pr <= 1.25);
  const b = ratio(med('tokengate', 'b')?.rps, med('ceiling', 'b')?.rps);
  target('Distinct RS256: tokengate RPS / ceiling RPS', b === null ? '–' : `${b.toFixed(2)} (${num(med('tokengate', 'b')?.rps)} / ${num(med('ceiling', 'b')?.rps)})`, '≥ 0.6', b === null ? null : b >= 0.6);
  const c = ratio(med('tokengate', 'c')?.rps, med('ceiling', 'c')?.rps);
  target('Distinct ES256: tokengate RPS / ceiling RPS', c === null ? '–' : `${c.toFixed(2)} (${num(med('tokengate', 'c')?.rps)} / ${num(med('ceiling', 'c')?.rps)})`, '≥ 0.35', c === null ? null : c >= 0.35);
  const p = ratio(med('tokengate', 'b')?.rps, med('opa', 'b')?.rps);
  target('Distinct RS256: tokengate RPS / OPA-Envoy RPS', p === null ? '–' : `${p.toFixed(2)} (${num(med('tokengate', 'b')?.rps)} / ${num(med('opa', 'b')?.rps)})`, '≥ 1.5', p === null ? null : p >= 1.5);
  // p99 at equal offered load, from the sweep: every level both systems were offered and OPA still kept up with.
  const tgSw = S.sweep?.['tokengate:b']?.points ?? [];
  const opSw = S.sweep?.['opa:b']?.points ?? [];
  const common = tgSw
    .map((t) => [t, opSw.find((o) => o.offered === t.offered)])
    .filter(([t, o]) => o && o.rps >= 0.95 * o.offered && t.rps >= 0.95 * t.offered);
  const better = common.filter(([t, o]) => t.p99 < o.p99).length;
  target(
    'Distinct RS256: tokengate p99 < OPA-Envoy p99 at equal offered load (sweep levels both sustain)',
    common.length ? `${better} of ${common.length} levels (${common.map(([t, o]) => `${num(t.offered)}/s: ${ms(t.p99)} vs ${ms(o.p99)} ms`).join('; ')})` : '–',
    'all levels',
    common.length ? better === common.length : null,
  );
  const w = S.workers?.results ?? {};
  const { one: w1, many: w2, ratio: sc } = workersScaling(w, 'tokengate');
  // The allow-all ceiling's gain: what two processes can get at all on this machine with ghz beside them.
  const scCeiling = workersScaling(w, 'ceiling').ratio;
  target(
    'Two cores, repeated tokens: tokengate workers / one unpinned process (ghz --connections 2)',
    sc === null ? (S.workers?.supported?.tokengate === false ? 'not supported by this build (server.workers rejected)' : '–') : `${sc.toFixed(2)} (${num(w2?.rps)} / ${num(w1?.rps)})${scCeiling === null ? '' : `; the ceiling: ${scCeiling.toFixed(2)}`}`,
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
      hs === null ? '–' : `${hs.toFixed(2)} (${num(h2?.rps)} / ${num(h1?.rps)})${hsCeiling === null ? '' : `; the ceiling: ${hsCeiling.toFixed(2)}`}`,
      '≥ 1.4',
      hs === null ? null : hs >= 1.4,
      'h2load: one fixed request, no grpc-status check (tokengate\'s counters must show only allows, one per call)',
    );
  }
  const u = S.unloaded?.tokengate?.median;
  const uc = S.unloaded?.ceiling?.median;
  const unloaded = (q) => (u ? `${ms(u[q])} ms${uc ? ` (the ceiling: ${ms(uc[q])} ms)` : ''}` : '–');
  target('Unloaded (1 in flight, repeated tokens): p50 at the client', unloaded('p50'), '≤ 0.2 ms', u ? u.p50 <= 0.2 : null);
  target('Unloaded (1 in flight, repeated tokens): p99 at the client', unloaded('p99'), '≤ 0.5 ms', u ? u.p99 <= 0.5 : null);
  const ev = S.envoy;
  if (ev && !ev.skipped && ev.rates?.length) {
    const maxA = ev.max?.ext_authz?.median?.rps;
    const half = ev.rates.reduce((best, r) => (Math.abs(r - maxA / 2) < Math.abs(best - maxA / 2) ? r : best), ev.rates[0]);
    const f = ev.fixed?.[half];
    const add = f ? f.ext_authz.median.p99 - f.noauth.median.p99 : null;
    const addJ = f ? f.jwt_authn.median.p99 - f.noauth.median.p99 : null;
    // Results from before the allow-all ext_authz variant existed have no such row.
    const addC = f?.ext_authz_ceiling ? f.ext_authz_ceiling.median.p99 - f.noauth.median.p99 : null;
    const signed = (x) => `${signedMs(x)} ms`;
    target(
      `Through Envoy: p99 added by ext_authz → tokengate over no-auth at ${num(half)}/s (≈ half of the ext_authz path's max ${num(maxA)}/s)`,
      add === null ? '–' : `${signed(add)} (jwt_authn: ${signed(addJ)}${addC === null ? '' : `; ext_authz → allow-all grpc-js server: ${signed(addC)}`})`,
      '≤ 1 ms',
      add === null ? null : add <= 1,
    );
  }
  const rssAll = [];
  for (const v of Object.values(main)) if (v.system === 'tokengate') rssAll.push(v.median.peakRssMb);
  for (const v of Object.values(S.unloaded ?? {})) if (v.system === 'tokengate') rssAll.push(v.median.peakRssMb);
  for (const v of Object.values(S.sweep ?? {})) if (v.system === 'tokengate') for (const p of v.points) rssAll.push(p.peakRssMb);
  for (const v of [...Object.values(S.workers?.results ?? {}), ...Object.values(S.workers?.h2load?.results ?? {})]) {
    if (v.system === 'tokengate' && v.workers === 1) rssAll.push(v.median.peakRssMb);
  }
  if (typeof ev?.tokengatePeakRssMb === 'number') rssAll.push(ev.tokengatePeakRssMb);
  const rss = rssAll.length ? Math.max(...rssAll) : null;
  target('Memory: peak RSS of a tokengate process over the whole bench (VmHWM)', rss === null ? '–' : `${num(rss)} MB`, '≤ 150 MB', rss === null ? null : rss <= 150);
  const rd = S.ready;
  target(
    `Ready to serve after start (issuer answering after ${rd?.issuerDelayMs ?? 10} ms), median`,
    rd ? `${num(rd.medianMs)} ms (bare \`node -e ''\`: ${num(rd.nodeBareStartMs)} ms)` : '–',
    '≤ 1000 ms',
    rd ? rd.medianMs <= 1000 : null,
  );
}

// ------------------------------------------------------------------------------------------------ SVG chart

function chart() {
  const sweep = S.sweep ?? {};
  const curves = Object.values(sweep).filter((c) => c.points?.length);
  const W = 860;
  const H = 500;
  const M = { l: 70, r: 230, t: 40, b: 60 };
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const colors = { 'ceiling:b': '#7f7f7f', 'tokengate:a': '#1f77b4', 'tokengate:b': '#2ca02c', 'opa:b': '#d62728' };
  const names = { 'ceiling:b': 'ceiling (no-op), RS256 set', 'tokengate:a': 'tokengate, repeated tokens', 'tokengate:b': 'tokengate, distinct RS256', 'opa:b': 'OPA-Envoy, distinct RS256' };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`];
  out.push(`<text x="${M.l}" y="22" font-size="15" font-weight="bold">p99 latency vs offered load (ghz --rps, -c ${C.concurrency}, server pinned to one core)${smoke ? ' — SMOKE RUN' : ''}</text>`);
  if (!curves.length) {
    out.push(`<text x="${M.l}" y="${M.t + 40}">no sweep data</text></svg>`);
    return out.join('\n');
  }
  const xs = curves.flatMap((c) => c.points.map((p) => p.offered));
  const ys = curves.flatMap((c) => c.points.map((p) => p.p99)).filter((y) => y > 0);
  const xMax = Math.max(...xs) * 1.05;
  const yMin = Math.max(0.05, Math.min(...ys) / 1.5);
  const yMax = Math.max(...ys) * 1.5;
  const lx = (x) => M.l + (x / xMax) * pw;
  const ly = (y) => M.t + ph - ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;
  // axes
  out.push(`<line x1="${M.l}" y1="${M.t + ph}" x2="${M.l + pw}" y2="${M.t + ph}" stroke="black"/>`, `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${M.t + ph}" stroke="black"/>`);
  const xStep = [500, 1000, 2000, 2500, 5000, 10000].find((s) => xMax / s <= 10) ?? 20000;
  for (let x = 0; x <= xMax; x += xStep) {
    out.push(`<line x1="${lx(x)}" y1="${M.t}" x2="${lx(x)}" y2="${M.t + ph}" stroke="#eee"/>`, `<text x="${lx(x)}" y="${M.t + ph + 18}" text-anchor="middle">${num(x)}</text>`);
  }
  for (let e = Math.floor(Math.log10(yMin)); e <= Math.ceil(Math.log10(yMax)); e++) {
    for (const m of [1, 2, 5]) {
      const y = m * 10 ** e;
      if (y < yMin || y > yMax) continue;
      out.push(`<line x1="${M.l}" y1="${ly(y)}" x2="${M.l + pw}" y2="${ly(y)}" stroke="${m === 1 ? '#ddd' : '#f3f3f3'}"/>`, `<text x="${M.l - 6}" y="${ly(y) + 4}" text-anchor="end">${y >= 1 ? y : y.toFixed(Math.max(0, -e))}</text>`);
    }
  }
  out.push(`<text x="${M.l + pw / 2}" y="${H - 18}" text-anchor="middle">offered load (Check requests/s)</text>`);
  out.push(`<text transform="translate(18 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle">p99 latency at the client (ms, log scale)</text>`);
  let li = 0;
  for (const c of curves) {
    const key = `${c.system}:${c.scenario}`;
    const color = colors[key] ?? '#9467bd';
    const pts = c.points.filter((p) => p.p99 > 0);
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${lx(p.offered).toFixed(1)},${ly(p.p99).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const sat = p.rps < 0.95 * p.offered;
      out.push(`<circle cx="${lx(p.offered).toFixed(1)}" cy="${ly(p.p99).toFixed(1)}" r="4" fill="${sat ? 'white' : color}" stroke="${color}" stroke-width="2"><title>${esc(`${names[key] ?? key}: offered ${p.offered}/s, achieved ${num(p.rps)}/s, p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms`)}</title></circle>`);
    }
    const y = M.t + 10 + li * 22;
    out.push(`<line x1="${M.l + pw + 15}" y1="${y}" x2="${M.l + pw + 40}" y2="${y}" stroke="${color}" stroke-width="2"/>`, `<circle cx="${M.l + pw + 27}" cy="${y}" r="4" fill="${color}"/>`, `<text x="${M.l + pw + 46}" y="${y + 4}">${esc(names[key] ?? key)}</text>`);
    li++;
  }
  const y = M.t + 10 + li * 22 + 6;
  out.push(`<circle cx="${M.l + pw + 27}" cy="${y}" r="4" fill="white" stroke="#555" stroke-width="2"/>`, `<text x="${M.l + pw + 46}" y="${y + 4}">achieved &lt; 95 % of offered</text>`);
  out.push(`<text x="${M.l + pw + 15}" y="${y + 30}" fill="#555">median of ${C.sweepRuns} run(s) per point,</text>`, `<text x="${M.l + pw + 15}" y="${y + 46}" fill="#555">${esc(C.sweepDuration)} each, fresh server per run</text>`);
  out.push('</svg>');
  return out.join('\n');
}

// ------------------------------------------------------------------------------------------------ markdown

const md = [];
const p = (...lines) => md.push(...lines, '');
const lscpu = (k) => (R.machine.lscpu.split('\n').find((l) => l.startsWith(`${k}:`)) ?? '').split(':').slice(1).join(':').trim();

p('# tokengate benchmark results', '');
p(`Generated by \`npm run bench\` (bench/run.sh → bench/bench.mjs → bench/report.mjs) on ${R.started} – ${R.finished ?? '(unfinished)'}.`);
// BENCH_MERGE=1 runs: the sections kept from earlier runs of the same bench.
for (const m of R.mergedWith ?? []) {
  if (m.sections.length) p('', `Sections ${m.sections.join(', ')} come from an earlier run, ${m.started} – ${m.finished ?? '(unfinished)'} (re-measured sections replaced theirs: \`BENCH_MERGE=1\`).`);
}
if (smoke) {
  p(
    `> **SMOKE RUN** (${C.runs} run(s) × ${C.duration}): the pipeline works end to end; these figures are **not** valid against the targets.`,
    '> Run the full defaults (`npm run bench`, 3 runs × 10 s) on an idle machine.',
  );
}
const la = R.machine.loadavgStart;
if (la && la[0] > 0.7) {
  p(`> **Machine not idle**: load average ${la.join(' / ')} at the start, ${R.machine.loadavgEnd?.join(' / ') ?? '?'} at the end (2 vCPUs). Other processes competed with the server and with ghz: treat absolute figures and ratios with care.`);
}

p('## Targets (issue 6)', '');
p(table(['Target', 'Measured', 'Bar', 'Result'], targets.map((t) => [t.name + (t.note ? ` ${t.note}` : ''), t.measured, t.bar, verdict(t.pass)])));

p('## Machine', '');
p(
  table(
    ['', ''],
    [
      ['CPU', `${lscpu('Model name')} (${lscpu('CPU(s)')} vCPU, ${lscpu('Thread(s) per core')} thread(s)/core, ${lscpu('Hypervisor vendor') || 'bare metal?'})`],
      ['nproc', R.machine.nproc],
      ['Memory (free -m)', (() => {
        const f = R.machine.free.split('\n')[1]?.trim().split(/\s+/) ?? [];
        return f.length >= 7 ? `${num(Number(f[1]))} MiB total, ${num(Number(f[6]))} MiB available` : R.machine.free;
      })()],
      ['Kernel', R.machine.uname],
      ['Load average (1/5/15 min) at start / end', `${la?.join(' / ')} → ${R.machine.loadavgEnd?.join(' / ') ?? '?'}`],
    ],
  ),
);
p('<details><summary>lscpu</summary>', '', '```', R.machine.lscpu, '```', '</details>');

p('## Versions', '');
p(table(['Component', 'Version'], Object.entries(R.versions).map(([k, v]) => [k, `\`${v}\``])));

p('## Method', '');
const sets = R.data?.sets ?? {};
// The node flags tokengate ran with (the image's ENTRYPOINT flags, see bench.mjs NODE_FLAGS), from its command line.
const tgFlags = /\bnode((?: --\S+)*) \S*dist\/cli\.js serve/.exec((R.commands ?? []).find((c) => c.kind === 'server:tokengate')?.cmd ?? '')?.[1] ?? '';
p(
  `- Systems: **ceiling** = \`bench/ceiling_server.mjs\` (grpc-js, tokengate's protos/loader options/server options, answers OK to everything); ` +
    `**tokengate** = \`node${tgFlags} dist/cli.js serve\`${tgFlags ? ' (the node flags of the image\'s ENTRYPOINT; the ceiling runs with them too)' : ''} (config: \`bench/out/tokengate.yaml\`, one policy: OIDC discovery + JWKS from a loopback issuer, audience, \`scp\` must contain \`${R.data?.scope}\`, one claim header; log level \`${C.tgLogLevel}\`, log lines to /dev/null); ` +
    `**OPA-Envoy** = opa-envoy-plugin with \`bench/opa/policy.rego\` (\`io.jwt.decode_verify\` against the same JWKS, same issuer/audience/scope rule, same claim header; io.jwt cache on, 10,000 entries).`,
  `- Load: ghz ${R.versions.ghz}, \`-c ${C.concurrency}\`, \`--connections 1\`, \`-z ${C.duration}\`, \`--skipFirst ${C.skipFirst}\`, data as ${C.ghzData === 'bin' ? 'count-delimited protobuf (`-B`, the same requests as the JSON `--data-file` arrays, which ghz would otherwise convert from JSON on every first use)' : 'JSON arrays (`--data-file`)'}; ` +
    `server pinned to CPU ${C.serverCpu}, ghz to CPU ${C.clientCpu} (\`taskset\`). Each run: fresh server process, warm-up ghz run of ${C.warmup} on a disjoint token set (not measured), measured run; **median of ${C.runs} run(s)**, runs of the systems interleaved.`,
  `- Requests: Envoy-shaped CheckRequests (pseudo-headers, lower-case keys, 11 headers incl. \`authorization\`, \`x-request-id\`, attributes.source/destination/request.time/http.{id,method,path,host,scheme,protocol}, \`context_extensions.policy\`), ~${num(sets.rs256?.binBytes / sets.rs256?.requests)} bytes each (RS256 token ${sets.rs256?.tokenBytes} chars). ` +
    `Sets: (a) ${sets.repeated?.tokens} tokens over ${num(sets.repeated?.requests)} requests; (b) ${num(sets.rs256?.tokens)} distinct RS256; (c) ${num(sets.es256?.tokens)} distinct ES256; (d) ${num(sets.mix?.tokens)} RS256 with ${JSON.stringify(sets.mix?.kinds ?? {})}. Tokens signed beforehand by \`bench/make_data.mjs\`.`,
  `- Server CPU per request: utime+stime (incl. all threads and child processes) from /proc over the measured run ÷ requests sent (skipped ones included). Server CPU % and ghz CPU %: steady state over the measured window (100 % = one core). Peak RSS: VmHWM of the server (sum over processes with workers).`,
);

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
      rows.push([SCN[sc], SYS[sys], `${num(m.rps)} (${num(m.rpsMin)}–${num(m.rpsMax)})`, ms(m.p50), ms(m.p90), ms(m.p99), num(m.cpuUsPerReq, 1), num(m.cpuPct), num(m.clientCpuPct), num(m.peakRssMb), notes.join(', ')]);
    }
  }
  p(table(['Scenario', 'System', 'RPS (min–max)', 'p50 ms', 'p90 ms', 'p99 ms', 'CPU µs/req', 'server CPU %', 'ghz CPU %', 'peak RSS MB', 'Notes'], rows));
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
  p(table(['Scenario', 'RPS ÷ ceiling', 'p99 ÷ ceiling', 'CPU/req ÷ ceiling', 'RPS ÷ OPA', 'p99 ÷ OPA', 'CPU/req ÷ OPA'], ratioRows));
  const dec = [];
  for (const sc of C.scenarios) {
    const runs = main[`tokengate:${sc}`]?.runs ?? [];
    const last = runs.at(-1);
    if (last?.tokengateMetrics) {
      dec.push([SCN[sc], Object.entries(last.tokengateMetrics.decisions).map(([k, v]) => `${k}: ${num(v)}`).join(', '), `${num(last.tokengateMetrics.cacheHits)} / ${num(last.tokengateMetrics.cacheMisses)}`, String(last.jwksFetches)]);
    }
  }
  if (dec.length) {
    p("tokengate's own counters for the last run of each scenario (from /metrics, warm-up and preflight included) — a check that it decided what the data says:", '');
    p(table(['Scenario', 'Decisions', 'cache hits / misses', 'JWKS fetches during the measured run'], dec));
  }
  const pf = R.preflight ?? {};
  if (Object.keys(pf).length) p(`Preflight (one valid and one forged token per system before its first run): ${Object.entries(pf).map(([k, v]) => `${k} valid → ${v.valid}, forged → ${v.forged}`).join('; ')}.`);
}

if (S.unloaded) {
  p('## Unloaded latency (1 request in flight, repeated tokens, pinned)', '');
  p(
    table(
      ['System', 'p50 ms', 'p90 ms', 'p99 ms', 'RPS', 'CPU µs/req'],
      Object.values(S.unloaded).filter((v) => v.median).map((v) => [SYS[v.system], ms(v.median.p50), ms(v.median.p90), ms(v.median.p99), num(v.median.rps), num(v.median.cpuUsPerReq, 1)]),
    ),
  );
}

if (S.sweep) {
  p('## p99 vs offered load', '');
  p(`![p99 vs offered load](${relative(HERE, values.svg)})`, '');
  const rows = [];
  for (const c of Object.values(S.sweep).filter((x) => x?.points)) for (const pt of c.points) rows.push([`${SYS[c.system]} ${SCN[c.scenario]}`, num(pt.offered), num(pt.rps), ms(pt.p50), ms(pt.p99), num(pt.cpuPct)]);
  p(table(['Curve', 'offered /s', 'achieved /s', 'p50 ms', 'p99 ms', 'server CPU %'], rows));
}

if (S.workers) {
  p('## Two cores: one process vs workers (nothing pinned, ghz --connections 2)', '');
  if (S.workers.supported?.tokengate === false) p(`tokengate rejected \`server.workers: ${C.tgWorkers}\` (${S.workers.supported.tokengateError}); only the single process was measured.`);
  const rows = Object.values(S.workers.results).filter((v) => v.median).map((v) => [SYS[v.system], SCN[v.scenario], String(v.workers), num(v.median.rps), ms(v.median.p50), ms(v.median.p99), num(v.median.cpuPct), num(v.median.clientCpuPct), num(v.median.peakRssMb)]);
  p(table(['System', 'Scenario', 'Processes', 'RPS', 'p50 ms', 'p99 ms', 'server CPU %', 'ghz CPU %', 'peak RSS MB (sum)'], rows));
  const sr = [];
  for (const [sys, sc] of [['ceiling', 'a'], ['tokengate', 'a'], ['tokengate', 'b']]) {
    const { ratio: r } = workersScaling(S.workers.results, sys, sc);
    if (r !== null) sr.push(`${SYS[sys]} ${SCN[sc]}: ${r.toFixed(2)}×`);
  }
  if (sr.length) p(`Scaling (workers ÷ one process): ${sr.join('; ')}.`);
  const h = S.workers.h2load;
  if (h?.skipped) p('', `The h2load runs were skipped: ${h.skipped}.`);
  else if (h?.results) {
    p(
      '',
      `### The same with h2load as the client (${h.version ?? 'h2load'}; 2 connections × ${Math.ceil(C.concurrency / 2)} streams)`,
      '',
      'ghz needs about half a core for 7,000 calls/s on these same two vCPUs, which caps what two server processes can show. h2load (C) costs much less per call. It sends one fixed request (the first of scenario (a)) on every stream and does not read grpc-status, so a tokengate run counts only if tokengate\'s decision counters show an allow for every call h2load completed and no denial. It reports no latency percentiles: the mean is shown.',
      '',
    );
    const hr = Object.values(h.results).filter((v) => v.median).map((v) => [SYS[v.system], String(v.workers), num(v.median.rps), ms(v.median.averageMs), num(v.median.cpuPct), num(v.median.clientCpuPct), num(v.median.peakRssMb)]);
    p(table(['System', 'Processes', 'RPS', 'mean ms', 'server CPU %', 'h2load CPU %', 'peak RSS MB (sum)'], hr));
    const hsr = ['ceiling', 'tokengate'].map((sys) => [sys, workersScaling(h.results, sys).ratio]).filter(([, r]) => r !== null);
    if (hsr.length) p('', `Scaling with h2load (workers ÷ one process): ${hsr.map(([sys, r]) => `${SYS[sys]}: ${r.toFixed(2)}×`).join('; ')}.`);
  }
}

if (S.ready) {
  p('## Time to ready', '');
  p(
    `From spawning \`node dist/cli.js serve\` to the first 200 from /readyz (polled every 2 ms), the issuer answering discovery and JWKS after ${S.ready.issuerDelayMs} ms: ` +
      `median **${num(S.ready.medianMs)} ms** over ${S.ready.runs.length} runs (${S.ready.runs.map((r) => num(r.readyMs)).join(', ')} ms; ops port first answering at ${S.ready.runs.map((r) => num(r.opsListeningMs)).join(', ')} ms). A bare \`node -e ''\` takes ${num(S.ready.nodeBareStartMs)} ms here.`,
  );
}

if (S.envoy) {
  p('## Through Envoy', '');
  const ev = S.envoy;
  if (ev.skipped) p(`Skipped: ${ev.skipped}.`);
  else {
    p(
      `ghz → Envoy ${R.versions.envoy ?? ''} (\`--concurrency ${ev.concurrency}\`, configs \`${Object.values(ev.validated).join('`, `')}\`, each passed \`envoy --mode validate\`) → gRPC upstream (\`bench/ceiling_server.mjs\`). ` +
        `The client sends \`authorization: Bearer <RS256 token>\` (one token, repeated) as gRPC metadata, ghz \`--connections ${ev.connections}\`, \`-c ${C.concurrency}\`. Nothing pinned: ghz, Envoy, tokengate and the upstream share the ${R.machine.nproc} vCPUs. ` +
        `jwt_authn: same JWKS (local file), issuer, audience, RBAC filter for the scope rule, \`jwt_cache_config\` 100 tokens. ext_authz: the shipped envoy/envoy.yaml settings. ext_authz → allow-all grpc-js server: the same filter with \`bench/ceiling_server.mjs\` as the authorization service, so it shows what the hop costs when the server does nothing.`,
    );
    p(`Preflight: ${Object.entries(ev.preflight).map(([k, v]) => `${k}: valid → ${v.valid}, forged → ${v.forged}`).join('; ')}.`);
    // `tokengate` in cpuUsPerReq is whichever process answered the ext_authz hop (tokengate or the allow-all server).
    const cpuPerHop = (m) => [m.cpuUsPerReq.envoy, m.cpuUsPerReq.tokengate, m.cpuUsPerReq.upstream].map((c) => num(c)).join(' / ');
    const vnames = { noauth: 'no auth filter', jwt_authn: 'jwt_authn (+RBAC scope)', ext_authz: 'ext_authz → tokengate', ext_authz_ceiling: 'ext_authz → allow-all grpc-js server (the hop\'s ceiling)' };
    p('Maximum rate (closed loop):', '');
    p(
      table(
        ['Variant', 'RPS', 'p50 ms', 'p99 ms', 'CPU µs/req (Envoy / ext_authz server / upstream)', 'ghz CPU %'],
        Object.entries(ev.max).map(([v, x]) => [vnames[v], num(x.median.rps), ms(x.median.p50), ms(x.median.p99), cpuPerHop(x.median), num(x.median.clientCpuPct)]),
      ),
    );
    p('Fixed request rates: latency and what each auth setup adds over no-auth:', '');
    const rows = [];
    for (const rate of ev.rates ?? []) {
      const f = ev.fixed[rate];
      if (!f) continue;
      for (const v of ENVOY_VARIANTS) {
        if (!f[v]) continue;
        const x = f[v].median;
        const base = f.noauth.median;
        rows.push([num(rate), vnames[v], num(x.rps), ms(x.p50), ms(x.p99), v === 'noauth' ? '–' : signedMs(x.p50 - base.p50), v === 'noauth' ? '–' : signedMs(x.p99 - base.p99), cpuPerHop(x)]);
      }
    }
    p(table(['offered /s', 'Variant', 'achieved /s', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms', 'CPU µs/req (Envoy / ext_authz server / upstream)'], rows));
    const view = [];
    // Envoy records upstream_rq_time in whole milliseconds: a sub-millisecond answer is a 0.
    const one = (v) => (v < 1 ? '< 1' : ms(v));
    const q = (x) => (x ? `${one(x.p50)} / ${one(x.p90)} / ${one(x.p99)}` : '–');
    for (const rate of ev.rates ?? []) {
      const a = ev.fixed[rate]?.ext_authz?.median?.answerMs;
      if (!a?.tokengate || !a?.upstream) continue;
      view.push([num(rate), q(a.tokengate), q(ev.fixed[rate]?.ext_authz_ceiling?.median?.answerMs?.tokengate), q(a.upstream)]);
    }
    if (view.length) {
      p(
        'The same ext_authz runs as Envoy sees each hop (`upstream_rq_time`: request sent to answer complete, recorded in whole milliseconds, so a sub-millisecond answer counts as 0; Envoy\'s histogram buckets are coarse, 0.5-1-5-10-25-50 ms, interpolated; the 1 s warm-up included). tokengate\'s answers against those of the allow-all grpc-js server (`bench/ceiling_server.mjs`), once as the ext_authz service (the ext_authz_ceiling runs) and once as the upstream behind the same Envoy:',
        '',
      );
      p(table(['offered /s', 'ext_authz → tokengate p50 / p90 / p99 ms', 'ext_authz → allow-all grpc-js p50 / p90 / p99 ms', 'no-op grpc-js upstream p50 / p90 / p99 ms'], view));
    }
  }
}

p('## Commands', '');
p('Exact command lines (first occurrence of each kind; ports and files as used):', '');
p('```sh', 'bash scripts/install-bench-tools.sh', 'npm run build', 'node bench/make_data.mjs', ...(R.commands ?? []).map((c) => `# ${c.kind}\n${c.cmd}`), '```');

p('## Notes', '');
p(
  `- ghz itself is expensive per call (dynamic protobuf messages): with templates disabled (\`--disable-template-functions --disable-template-data\`, as here) it still needs roughly as much CPU per Check as the grpc-js server for this ~1.5 KB message. The "ghz CPU %" column shows when the pinned client was the limit (≥ 90 % with the server below 90 %): then the ceiling is a client ceiling and ratios against it flatter tokengate.`,
  `- ghz -z stops with calls in flight; those (at most one per worker) fail with "use of closed network connection" and are not counted as errors here (errors column counts the rest).`,
  `- "token set wrapped": a run sent more requests than the set has distinct tokens, so tokens came round again (a cache that holds more than the set would then hit).`,
  `- Raw data: \`${relative(ROOT, values.results)}\` (every run), ghz summaries in \`bench/out/ghz/\`, server logs in \`bench/out/logs/\`. CPU profiles of tokengate: \`BENCH_CPU_PROF=1 bash bench/run.sh\`, then \`node bench/profile_summary.mjs bench/out/prof/*.cpuprofile\`.`,
);

writeFileSync(values.md, md.join('\n').replace(/\n{3,}/g, '\n\n'));
writeFileSync(values.svg, `${chart()}\n`);
process.stderr.write(`report: ${relative(ROOT, values.md)}, ${relative(ROOT, values.svg)}\n`);
