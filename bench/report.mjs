#!/usr/bin/env node
// Renders bench/out/results.json (bench/bench.mjs) into bench/RESULTS.md and bench/p99_vs_load.svg. No dependencies.
//
//   node bench/report.mjs [--results bench/out/results.json] [--md bench/RESULTS.md] [--svg bench/p99_vs_load.svg]
//
// Parts: lib/report_targets.mjs (the targets), lib/report_md_*.mjs (the sections), lib/report_chart.mjs (the SVG).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chart } from './lib/report_chart.mjs';
import { moreSections } from './lib/report_md_more.mjs';
import { resultSections } from './lib/report_md_results.mjs';
import { setupSections } from './lib/report_md_setup.mjs';
import { targetRows } from './lib/report_targets.mjs';

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

const md = [];
const p = (...lines) => md.push(...lines, '');
setupSections(R, p, targetRows(R));
resultSections(R, p, relative(dirname(values.md), values.svg));
moreSections(R, p, relative(ROOT, values.results));

// The figures of the single-purpose scripts (bench/introspection_cost.mjs, bench/http_authz.mjs, ...) are written by
// hand below a marker line; a new run of the main bench must not drop them.
const MARKER = '<!-- Sections below this line are written by hand';
const previous = existsSync(values.md) ? readFileSync(values.md, 'utf8') : '';
const kept = previous.includes(MARKER) ? previous.slice(previous.lastIndexOf('\n', previous.indexOf(MARKER)) + 1) : '';
writeFileSync(values.md, `${md.join('\n').replace(/\n{3,}/g, '\n\n')}${kept ? `\n${kept}` : ''}`);
writeFileSync(values.svg, `${chart(R)}\n`);
process.stderr.write(`report: ${relative(ROOT, values.md)}, ${relative(ROOT, values.svg)}\n`);
