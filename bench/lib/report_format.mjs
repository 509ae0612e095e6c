// Formatting shared by the report's parts: numbers, milliseconds, markdown tables, names of systems and scenarios.
import { durS, ratio } from './units.mjs';

export const num = (x, d = 0) =>
  typeof x === 'number' && Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
    : '–';
export const ms = (x) =>
  typeof x === 'number' && Number.isFinite(x) ? (x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1)) : '–';
/** A difference in ms with its sign: "+1.23", "-0.456". */
export const signedMs = (x) => `${x >= 0 ? '+' : ''}${ms(x)}`;
// Numeric columns (a unit or a ratio in the header) are right-aligned.
export const table = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map((h) => (/RPS|ms\b|µs|MB|%|÷|\/s|Processes/.test(h) ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
export const SYS = { ceiling: 'ceiling (grpc-js no-op)', tokengate: 'tokengate', opa: 'OPA-Envoy' };
export const SCN = {
  a: '(a) repeated tokens',
  b: '(b) distinct RS256',
  c: '(c) distinct ES256',
  d: '(d) 80 % valid / 20 % invalid',
  e: '(e) repeated tokens, 5 CEL rules',
  f: '(f) repeated opaque tokens, introspection cached',
};

/** A scenario with several processes against one, unpinned, from a workers result set keyed `system:scenario:wN`. */
export function workersScaling(results, system, scenario = 'a') {
  const one = results[`${system}:${scenario}:w1`]?.median;
  const many = Object.entries(results).find(([k]) => k.startsWith(`${system}:${scenario}:w`) && !k.endsWith(':w1'))?.[1]
    ?.median;
  return { one, many, ratio: ratio(many?.rps, one?.rps) };
}

/** ghz at ≥ 90 % of its core while the server was not: the client set the pace. */
export const clientBound = (m) =>
  m && typeof m.clientCpuPct === 'number' && m.clientCpuPct >= 90 && (m.cpuPct ?? 0) < 90;

/** The median of system `sys` under scenario `sc` in the main section. */
export const mainMedian = (R, sys, sc) => R.sections?.main?.[`${sys}:${sc}`]?.median;

/** Fewer or shorter runs than the defaults: the figures do not count against the targets. */
export const isSmoke = (C) => durS(C.duration) < 10 || C.runs < 3;
