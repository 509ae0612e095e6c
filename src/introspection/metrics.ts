import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IntrospectionEvents } from './events.js';

export interface IntrospectionMetrics extends Omit<IntrospectionEvents, 'credentialReloadFailed'> {
  readonly calls: Counter<'endpoint' | 'result'>;
}

/**
 * Introspection's Prometheus metrics: calls by endpoint and result, their latency, cache hits and misses, and
 * whether the endpoint's last call was answered (1) or failed (0).
 */
export function introspectionMetrics(registers: Registry[]): IntrospectionMetrics {
  const calls = new Counter({
    name: 'tokengate_introspection_calls_total',
    help: 'Introspection calls (RFC 7662) by endpoint and result: active, inactive, or the fault (timeout, ...).',
    labelNames: ['endpoint', 'result'],
    registers,
  });
  const duration = new Histogram({
    name: 'tokengate_introspection_duration_seconds',
    help: 'Time an introspection call took, answered or not.',
    labelNames: ['endpoint'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const hits = new Counter({
    name: 'tokengate_introspection_cache_hits_total',
    help: 'Introspected tokens answered from the introspection cache.',
    labelNames: ['endpoint'],
    registers,
  });
  const misses = new Counter({
    name: 'tokengate_introspection_cache_misses_total',
    help: 'Introspected tokens not in the cache (a call, or a wait for one already in flight).',
    labelNames: ['endpoint'],
    registers,
  });
  const up = new Gauge({
    name: 'tokengate_introspection_endpoint_up',
    help: '1 when the last introspection call was answered, 0 when it failed.',
    labelNames: ['endpoint'],
    aggregator: 'min',
    registers,
  });
  return {
    calls,
    call(endpoint, result, seconds) {
      calls.inc({ endpoint, result });
      duration.observe({ endpoint }, seconds);
      up.set({ endpoint }, result === 'active' || result === 'inactive' ? 1 : 0);
    },
    cache(endpoint, hit) {
      (hit ? hits : misses).inc({ endpoint });
    },
  };
}
