import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { DecisionMetrics } from './decision_metrics.js';
import { introspectionMetrics, type IntrospectionMetrics } from '../introspection/metrics.js';
import type { KeySourceStatus } from '../keys/key_source.js';

export interface MetricsSources {
  keySources(): readonly KeySourceStatus[];
  tokenCache(): { hits: number; misses: number; size: number };
}

/** tokengate's Prometheus metrics, on their own registry so tests and embedders can run several apps in one process. */
export class Metrics {
  readonly registry = new Registry();
  /** tokengate_decisions_total and tokengate_check_duration_seconds. */
  readonly decisions: DecisionMetrics;
  readonly httpRejected: Counter<'reason'>;
  readonly keyFetches: Counter<'source' | 'result'>;
  readonly jwksKeysSkipped: Counter<'source' | 'reason'>;
  readonly configReloads: Counter<'result'>;
  readonly introspection: IntrospectionMetrics;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.decisions = new DecisionMetrics(registers);
    this.httpRejected = new Counter({
      name: 'tokengate_http_authz_rejected_total',
      help:
        'HTTP authorization requests answered without a check, by reason (overloaded, not_found, malformed, ' +
        'headers_too_large, body_too_large, unsupported, request_timeout).',
      labelNames: ['reason'],
      registers,
    });
    this.keyFetches = new Counter({
      name: 'tokengate_key_fetches_total',
      help: 'Discovery/JWKS fetches by key source and result (ok, error).',
      labelNames: ['source', 'result'],
      registers,
    });
    this.jwksKeysSkipped = new Counter({
      name: 'tokengate_jwks_keys_skipped_total',
      help: 'JWKS keys not imported, by key source and reason (symmetric: an oct key, never trusted from the network).',
      labelNames: ['source', 'reason'],
      registers,
    });
    this.configReloads = new Counter({
      name: 'tokengate_config_reloads_total',
      help: 'Config reloads by result (success, failure).',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'tokengate_key_age_seconds',
      help: 'Seconds since the keys of each remote source were last fetched successfully.',
      labelNames: ['source'],
      aggregator: 'max',
      registers,
      collect() {
        this.reset();
        for (const s of sources.keySources()) if (s.ageSeconds !== undefined) this.set({ source: s.id }, s.ageSeconds);
      },
    });
    new Gauge({
      name: 'tokengate_key_source_usable',
      help: '1 when the key source has usable keys, 0 when it has none or they are past keys.maxStale.',
      labelNames: ['source'],
      aggregator: 'min',
      registers,
      collect() {
        this.reset();
        for (const s of sources.keySources()) this.set({ source: s.id }, s.usable ? 1 : 0);
      },
    });
    new Counter({
      name: 'tokengate_token_cache_hits_total',
      help: 'Checks whose token signature was found already verified in the token cache.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.tokenCache().hits);
      },
    });
    new Counter({
      name: 'tokengate_token_cache_misses_total',
      help: 'Checks whose token had to be verified.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.tokenCache().misses);
      },
    });
    new Gauge({
      name: 'tokengate_token_cache_entries',
      help: 'Verified tokens held in the token cache.',
      registers,
      collect() {
        this.set(sources.tokenCache().size);
      },
    });
    new Gauge({
      name: 'tokengate_serving_processes',
      help: 'Processes serving Check: 1, or with server.workers the workers behind this ops port (summed).',
      aggregator: 'sum',
      registers,
      collect() {
        this.set(1);
      },
    });
    this.introspection = introspectionMetrics(registers);
    // Default process metrics include nodejs_eventloop_lag_seconds and the event-loop delay percentiles.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }
}
