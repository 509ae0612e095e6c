// The p99-vs-offered-load chart (bench/p99_vs_load.svg) from the sweep section. No dependencies.
import { isSmoke, ms, num } from './report_format.mjs';

/** The SVG text for the results `R`. */
export function chart(R) {
  const S = R.sections ?? {};
  const C = R.config;
  const smoke = isSmoke(C);
  const sweep = S.sweep ?? {};
  const curves = Object.values(sweep).filter((c) => c.points?.length);
  const W = 860;
  const H = 500;
  const M = { l: 70, r: 230, t: 40, b: 60 };
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const colors = { 'ceiling:b': '#7f7f7f', 'tokengate:a': '#1f77b4', 'tokengate:b': '#2ca02c', 'opa:b': '#d62728' };
  const names = {
    'ceiling:b': 'ceiling (no-op), RS256 set',
    'tokengate:a': 'tokengate, repeated tokens',
    'tokengate:b': 'tokengate, distinct RS256',
    'opa:b': 'OPA-Envoy, distinct RS256',
  };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  out.push(
    `<text x="${M.l}" y="22" font-size="15" font-weight="bold">p99 latency vs offered load (ghz --rps, -c ${C.concurrency}, server pinned to one core)${smoke ? ' — SMOKE RUN' : ''}</text>`,
  );
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
  const ly = (y) =>
    M.t + ph - ((Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;
  // axes
  out.push(
    `<line x1="${M.l}" y1="${M.t + ph}" x2="${M.l + pw}" y2="${M.t + ph}" stroke="black"/>`,
    `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${M.t + ph}" stroke="black"/>`,
  );
  const xStep = [500, 1000, 2000, 2500, 5000, 10000].find((s) => xMax / s <= 10) ?? 20000;
  for (let x = 0; x <= xMax; x += xStep) {
    out.push(
      `<line x1="${lx(x)}" y1="${M.t}" x2="${lx(x)}" y2="${M.t + ph}" stroke="#eee"/>`,
      `<text x="${lx(x)}" y="${M.t + ph + 18}" text-anchor="middle">${num(x)}</text>`,
    );
  }
  for (let e = Math.floor(Math.log10(yMin)); e <= Math.ceil(Math.log10(yMax)); e++) {
    for (const m of [1, 2, 5]) {
      const y = m * 10 ** e;
      if (y < yMin || y > yMax) continue;
      out.push(
        `<line x1="${M.l}" y1="${ly(y)}" x2="${M.l + pw}" y2="${ly(y)}" stroke="${m === 1 ? '#ddd' : '#f3f3f3'}"/>`,
        `<text x="${M.l - 6}" y="${ly(y) + 4}" text-anchor="end">${y >= 1 ? y : y.toFixed(Math.max(0, -e))}</text>`,
      );
    }
  }
  out.push(`<text x="${M.l + pw / 2}" y="${H - 18}" text-anchor="middle">offered load (Check requests/s)</text>`);
  out.push(
    `<text transform="translate(18 ${M.t + ph / 2}) rotate(-90)" text-anchor="middle">p99 latency at the client (ms, log scale)</text>`,
  );
  let li = 0;
  for (const c of curves) {
    const key = `${c.system}:${c.scenario}`;
    const color = colors[key] ?? '#9467bd';
    const pts = c.points.filter((p) => p.p99 > 0);
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${lx(p.offered).toFixed(1)},${ly(p.p99).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of pts) {
      const sat = p.rps < 0.95 * p.offered;
      out.push(
        `<circle cx="${lx(p.offered).toFixed(1)}" cy="${ly(p.p99).toFixed(1)}" r="4" fill="${sat ? 'white' : color}" stroke="${color}" stroke-width="2"><title>${esc(`${names[key] ?? key}: offered ${p.offered}/s, achieved ${num(p.rps)}/s, p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms`)}</title></circle>`,
      );
    }
    const y = M.t + 10 + li * 22;
    out.push(
      `<line x1="${M.l + pw + 15}" y1="${y}" x2="${M.l + pw + 40}" y2="${y}" stroke="${color}" stroke-width="2"/>`,
      `<circle cx="${M.l + pw + 27}" cy="${y}" r="4" fill="${color}"/>`,
      `<text x="${M.l + pw + 46}" y="${y + 4}">${esc(names[key] ?? key)}</text>`,
    );
    li++;
  }
  const y = M.t + 10 + li * 22 + 6;
  out.push(
    `<circle cx="${M.l + pw + 27}" cy="${y}" r="4" fill="white" stroke="#555" stroke-width="2"/>`,
    `<text x="${M.l + pw + 46}" y="${y + 4}">achieved &lt; 95 % of offered</text>`,
  );
  out.push(
    `<text x="${M.l + pw + 15}" y="${y + 30}" fill="#555">median of ${C.sweepRuns} run(s) per point,</text>`,
    `<text x="${M.l + pw + 15}" y="${y + 46}" fill="#555">${esc(C.sweepDuration)} each, fresh server per run</text>`,
  );
  out.push('</svg>');
  return out.join('\n');
}
