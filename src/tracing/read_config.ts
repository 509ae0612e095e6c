import { join, optionalBoolean, optionalMapping, optionalNumber, type Problems, type Raw } from '../config/reader.js';
import type { TracingConfig } from '../config/types.js';

export const TRACING_KEYS = ['enabled', 'samplerRatio', 'recordSub'];

/**
 * `tracing:` (README "Tracing"). Off by default. Where the spans go (OTLP endpoint, headers, service name, batching)
 * is the standard OTEL_* environment's; only what tokengate decides itself is here. Read at start: a reload does not
 * turn tracing on or off.
 */
export function readTracing(root: Raw, problems: Problems): TracingConfig {
  const path = 'tracing';
  const o = optionalMapping(root, 'tracing', '', problems, TRACING_KEYS) ?? {};
  const ratio = optionalNumber(o, 'samplerRatio', path, problems, { min: 0, max: 1 });
  const enabled = optionalBoolean(o, 'enabled', path, problems, false);
  if (!enabled && (ratio !== undefined || o.recordSub !== undefined) && o.enabled === undefined) {
    // A section that tunes tracing without turning it on is most likely a forgotten `enabled: true`.
    problems.add(join(path, 'enabled'), 'is required when samplerRatio or recordSub is set (true or false)');
  }
  return {
    enabled,
    samplerRatio: ratio ?? 1,
    recordSub: optionalBoolean(o, 'recordSub', path, problems, false),
  };
}
