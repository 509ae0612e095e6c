#!/usr/bin/env node
// Copies the files the Helm chart (deploy/helm/tokengate) shares with the kustomize deployment into the chart's files/
// folder, where its templates read them with .Files.Get (Helm reads nothing outside the chart). The copies are
// byte-for-byte: the chart's ConfigMaps carry the same tokengate.yaml and Envoy bootstrap as deploy/base, and its
// PrometheusRule and dashboard the same rules and JSON as deploy/components/monitoring. test/deploy/helm_files.test.ts
// fails when a copy differs from its source.
//
//   node scripts/render-helm-chart.mjs           write the copies
//   node scripts/render-helm-chart.mjs --check   exit 1 if a copy is not its source
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DEPLOY = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy');
export const CHART = join(DEPLOY, 'helm', 'tokengate');

/** [copy in the chart, its source], both absolute. */
export const CHART_FILES = [
  ['files/tokengate.yaml', 'base/tokengate.yaml'], // itself hand-written
  ['files/envoy.yaml', 'base/envoy.yaml'], // generated from envoy/envoy.yaml by scripts/render-deploy.mjs
  ['files/tokengate.rules.yaml', 'components/monitoring/tokengate.rules.yaml'],
  ['files/grafana-dashboard.json', 'components/monitoring/grafana-dashboard.json'],
].map(([copy, source]) => [join(CHART, copy), join(DEPLOY, source)]);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [copy, source] of CHART_FILES) {
    const text = readFileSync(source, 'utf8');
    if (!check) writeFileSync(copy, text);
    else if (!existsSync(copy) || readFileSync(copy, 'utf8') !== text) {
      process.stderr.write(`${copy} is not a copy of ${source}: run node scripts/render-helm-chart.mjs\n`);
      stale++;
    }
  }
  process.exitCode = stale > 0 ? 1 : 0;
}
