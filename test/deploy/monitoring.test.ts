// Issue 22 §2: every metric the Grafana dashboard and the alert rules name is one a running tokengate really exports
// (the server is started and scraped, not read from source), and the PrometheusRule is the rules file, rendered.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest } from '../helpers/check_client.js';
import { ROOT } from '../helpers/paths.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

const MONITORING = join(ROOT, 'deploy', 'components', 'monitoring');
const run = promisify(execFile);

let issuer: DevIssuer;
let tg: RunningTokengate;
let exported: Set<string>;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: 'api://m' });
  tg = await startTokengate(
    `
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["api://m"]
`,
    { ISSUER: issuer.issuer },
  );
  // An allow and a deny, so the labelled series exist as they would in production.
  await tg.client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({})) }));
  await tg.client.check(envoyCheckRequest({}));
  const text = await (await fetch(`http://127.0.0.1:${tg.app.opsPort!}/metrics`)).text();
  exported = new Set(
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
    ),
  );
});

afterAll(async () => {
  await tg?.stop();
  await issuer?.close();
});

/** Metric names in PromQL: identifiers that are not functions, keywords or label names (those follow `{` or `by (`). */
function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...withoutLabels.matchAll(/\b((?:tokengate|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

describe('monitoring: dashboard and alert rules name only exported metrics', () => {
  it('the alert rules', () => {
    const rules = parse(readFileSync(join(MONITORING, 'tokengate.rules.yaml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const named = rules.groups.flatMap((g) =>
      g.rules.flatMap((r) => metricNames(r.expr).map((m) => `${r.alert}: ${m}`)),
    );
    expect(named.length).toBeGreaterThan(8);
    expect(named.filter((n) => !exported.has(n.split(': ')[1]!))).toEqual([]);
    // The alerts the issue asks for are there.
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const alert of [
      'TokengateKeysUnusable',
      'TokengateKeysStale',
      'TokengateDenyRateJump',
      'TokengateInternalErrors',
      'TokengateCheckLatencyNearDeadline',
      'TokengateConfigReloadFailed',
    ]) {
      expect(alerts).toContain(alert);
    }
  });

  it('the Grafana dashboard', () => {
    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const named = dashboard.panels.flatMap((p) =>
      p.targets.flatMap((t) => metricNames(t.expr).map((m) => `${p.title}: ${m}`)),
    );
    expect(named.length).toBeGreaterThan(12);
    expect(named.filter((n) => !exported.has(n.slice(n.lastIndexOf(': ') + 2)))).toEqual([]);
  });

  it('prometheusrule.yaml is a fresh render of tokengate.rules.yaml', async () => {
    await expect(run('node', [join(ROOT, 'scripts', 'render-monitoring.mjs'), '--check'])).resolves.toBeDefined();
  });
});
