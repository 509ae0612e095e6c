import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DecisionMetrics, type Verdict } from '../../src/ops/decision_metrics.js';

// What DecisionMetrics counts in plain numbers must scrape exactly as prom-client's own Counter and Histogram did:
// the dashboard, the alert rules and the tests that read /metrics depend on the names, labels and their order.

type Row = [policy: string, decision: Verdict, reason: string, transport: string, seconds: number];

const ROWS: Row[] = [
  ['orders', 'allow', '', 'http', 0.00004],
  ['orders', 'allow', '', 'http', 0.0001], // on a bound: counted in that bucket (le is "less or equal")
  ['orders', 'deny', 'TokenExpired', 'grpc', 0.0003],
  ['with space', 'would_deny', 'RuleDenied', 'grpc', 0.2],
  ['orders', 'allow', '', 'grpc', 7], // beyond the last bound: +Inf only
  ['', 'deny', 'NoPolicyMatched', 'http', 0.001],
  ['orders', 'allow', '', 'http', 0.0004],
];

function prometheusClientReference(rows: readonly Row[]): Registry {
  const registry = new Registry();
  const decisions = new Counter({
    name: 'tokengate_decisions_total',
    help: 'Check decisions by policy, decision (allow, deny, would_deny), reason code and transport (grpc, http).',
    labelNames: ['policy', 'decision', 'reason', 'transport'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'tokengate_check_duration_seconds',
    help: 'Time from receiving a check to answering it, by transport (grpc, http).',
    labelNames: ['transport'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5],
    registers: [registry],
  });
  for (const [policy, decision, reason, transport, seconds] of rows) {
    decisions.inc({ policy, decision, reason, transport });
    durations.observe({ transport }, seconds);
  }
  return registry;
}

function counted(rows: readonly Row[]): Registry {
  const registry = new Registry();
  const metrics = new DecisionMetrics([registry]);
  for (const row of rows) metrics.count(...row);
  return registry;
}

describe('DecisionMetrics', () => {
  it("scrapes exactly as prom-client's Counter and Histogram for the same checks", async () => {
    const ours = await counted(ROWS).metrics();
    expect(ours).toBe(await prometheusClientReference(ROWS).metrics());
    expect(ours).toMatch(/^tokengate_check_duration_seconds_bucket\{le="0.0001",transport="http"\} 2$/m);
    expect(ours).toMatch(/^tokengate_check_duration_seconds_bucket\{le="\+Inf",transport="grpc"\} 3$/m);
    expect(ours).toMatch(
      /^tokengate_decisions_total\{policy="orders",decision="allow",reason="",transport="http"\} 3$/m,
    );
  });

  it('keeps counting between scrapes, and says nothing before the first check', async () => {
    const registry = new Registry();
    const metrics = new DecisionMetrics([registry]);
    expect(await registry.metrics()).not.toMatch(/^tokengate_/m);
    metrics.count('p', 'allow', '', 'grpc', 0.001);
    await registry.metrics();
    metrics.count('p', 'allow', '', 'grpc', 0.001);
    const text = await registry.metrics();
    expect(text).toMatch(/^tokengate_decisions_total\{policy="p",decision="allow",reason="",transport="grpc"\} 2$/m);
    expect(text).toMatch(/^tokengate_check_duration_seconds_count\{transport="grpc"\} 2$/m);
  });

  it("sums across workers in the cluster primary's aggregate, as prom-client's own metrics do", async () => {
    const a = await counted(ROWS.slice(0, 3)).getMetricsAsJSON();
    const b = await counted(ROWS.slice(3)).getMetricsAsJSON();
    const aggregate = await AggregatorRegistry.aggregate([a, b]).metrics();
    const reference = await AggregatorRegistry.aggregate([
      await prometheusClientReference(ROWS.slice(0, 3)).getMetricsAsJSON(),
      await prometheusClientReference(ROWS.slice(3)).getMetricsAsJSON(),
    ]).metrics();
    expect(aggregate).toBe(reference);
    expect(aggregate).toMatch(/^tokengate_check_duration_seconds_count\{transport="http"\} 4$/m);
  });
});
