import type { TracingConfig } from '../config/types.js';
import type { IntrospectionEvents } from '../introspection/events.js';
import type { Logger } from '../log.js';
import type { CheckTracer } from './hook.js';

/**
 * Tracing, when `tracing.enabled` is set and the standard OTEL_SDK_DISABLED does not say otherwise. Only then is the
 * OpenTelemetry SDK imported (otel.ts): with tracing off no SDK module is loaded and the result is undefined.
 */
export async function startTracing(
  config: TracingConfig,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckTracer | undefined> {
  if (!config.enabled) return undefined;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') {
    log.info('tracing.enabled is set, but OTEL_SDK_DISABLED=true: tracing stays off');
    return undefined;
  }
  const { createOtelTracer, exportEndpoint } = await import('./otel.js');
  const tracer = createOtelTracer(config, { log, env });
  log.info({ samplerRatio: config.samplerRatio, exportTo: exportEndpoint(env) }, 'tracing on');
  return tracer;
}

/** The introspectors' events, also reported to the tracer when tracing is on (calls as spans, cache hits). */
export function tracedIntrospectionEvents(
  tracer: CheckTracer | undefined,
  events: IntrospectionEvents,
): IntrospectionEvents {
  if (!tracer) return events;
  return {
    ...events,
    call(endpoint, result, seconds) {
      events.call(endpoint, result, seconds);
      tracer.introspectionCall(endpoint, result, seconds);
    },
    cache(endpoint, hit) {
      events.cache(endpoint, hit);
      tracer.introspectionCache(hit);
    },
  };
}
