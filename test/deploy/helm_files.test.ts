// The Helm chart (deploy/helm/tokengate) carries copies of the files it shares with the kustomize deployment in its
// files/ folder (Helm reads nothing outside the chart): they must be the files of deploy/ byte for byte, so the
// chart's ConfigMaps, PrometheusRule and dashboard cannot drift from deploy/base and deploy/components/monitoring.
// scripts/render-helm-chart.mjs makes the copies. Rendering the chart itself needs Helm: test/e2e/deploy/helm.test.ts.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CHART, CHART_FILES } from '../../scripts/render-helm-chart.mjs';
import { ROOT } from '../helpers/paths.js';

const run = promisify(execFile);
const SCRIPT = join(ROOT, 'scripts', 'render-helm-chart.mjs');

describe('deploy/helm/tokengate/files', () => {
  it('holds the four shared files', () => {
    expect(CHART_FILES.map(([copy]) => relative(CHART, copy)).sort()).toEqual([
      'files/envoy.yaml',
      'files/grafana-dashboard.json',
      'files/tokengate.rules.yaml',
      'files/tokengate.yaml',
    ]);
  });

  for (const [copy, source] of CHART_FILES) {
    it(`${relative(CHART, copy)} is ${relative(ROOT, source)}`, () => {
      expect(readFileSync(copy, 'utf8')).toBe(readFileSync(source, 'utf8'));
    });
  }

  it('render-helm-chart.mjs --check passes, and fails on a copy that drifted (the control)', async () => {
    await expect(run(process.execPath, [SCRIPT, '--check'])).resolves.toBeDefined();
    const [copy] = CHART_FILES[0]!;
    const saved = join(mkdtempSync(join(tmpdir(), 'tokengate-chart-')), 'saved');
    copyFileSync(copy, saved);
    try {
      writeFileSync(copy, `${readFileSync(saved, 'utf8')}# drift\n`);
      await expect(run(process.execPath, [SCRIPT, '--check'])).rejects.toMatchObject({ code: 1 });
    } finally {
      copyFileSync(saved, copy);
      rmSync(join(saved, '..'), { recursive: true, force: true });
    }
  });
});
