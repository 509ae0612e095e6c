import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, diag, DiagLogLevel } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { PACKAGE_ROOT } from '../paths.js';
import { OtelCheckTracer } from './check_tracer.js';
import type { CheckTracer } from './hook.js';

/**
 * The OpenTelemetry SDK, set up from `tracing:` and the standard environment. This module (and through it every SDK
 * package) is imported only by start.ts, and only when tracing is on.
 *
 * Read from the environment by the SDK itself: OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT,
 * _COMPRESSION; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; OTEL_BSP_* (batching); OTEL_ATTRIBUTE_* limits.
 * Read here: OTEL_TRACES_EXPORTER (otlp, console or none) and the OTLP protocol (http/protobuf only). The sampler is
 * the config's: parent-based, with `samplerRatio` for checks that arrive without a parent.
 */

export interface OtelOptions {
  /** Replaces the batch processor and its exporter (tests pass an in-memory exporter here). */
  readonly spanProcessor?: SpanProcessor;
  readonly log?: Logger;
  readonly env?: NodeJS.ProcessEnv;
}

/** tokengate's version, for the `service.version` resource attribute. */
const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export function createOtelTracer(config: TracingConfig, options: OtelOptions = {}): CheckTracer {
  const env = options.env ?? process.env;
  if (options.log) routeDiagnostics(options.log);
  useAsyncContext();
  const processor = options.spanProcessor ?? new BatchSpanProcessor(exporter(env));
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'tokengate', 'service.version': VERSION }).merge(
      // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults above.
      detectResources({ detectors: [envDetector] }),
    ),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplerRatio) }),
    spanProcessors: [processor],
  });
  return new OtelCheckTracer(provider.getTracer('tokengate', VERSION), config, () => provider.shutdown());
}

/** Where spans go: OTLP over HTTP with protobuf bodies (the spec's default protocol), the console, or nowhere. */
function exporter(env: NodeJS.ProcessEnv): SpanExporter {
  const kind = (env.OTEL_TRACES_EXPORTER ?? 'otlp').trim().toLowerCase() || 'otlp';
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim();
  if (kind === 'console') return new ConsoleSpanExporter();
  if (kind === 'none') return { export: (_spans, done) => done({ code: 0 }), shutdown: () => Promise.resolve() };
  if (kind !== 'otlp') {
    throw new ConfigError([`OTEL_TRACES_EXPORTER: "${kind}" is not supported by tokengate (otlp, console or none)`]);
  }
  if (protocol !== '' && protocol !== 'http/protobuf') {
    throw new ConfigError([`OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported by tokengate (http/protobuf)`]);
  }
  return new OTLPTraceExporter();
}

/** The OTLP endpoint spans go to, as start.ts logs it: origin and path, no credentials or query. */
export function exportEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const kind = (env.OTEL_TRACES_EXPORTER ?? 'otlp').trim().toLowerCase() || 'otlp';
  if (kind !== 'otlp') return kind;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318';
  const raw = traces || `${base.replace(/\/$/, '')}/v1/traces`;
  try {
    const url = new URL(raw);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

let contextManagerSet = false;

/**
 * Async context (AsyncLocalStorage) for the whole process, so a key fetch or introspection call started inside a
 * check finds that check's span. Set once: the API refuses a second registration.
 */
function useAsyncContext(): void {
  if (contextManagerSet) return;
  contextManagerSet = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

let diagnosticsSet = false;

/** The SDK's own warnings and errors (an export that failed, a full queue) as tokengate log lines. */
function routeDiagnostics(log: Logger): void {
  if (diagnosticsSet) return;
  diagnosticsSet = true;
  const write =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) =>
      log[level]({ component: 'opentelemetry', details: args.map((a) => (a as Error)?.message ?? String(a)) }, message);
  const quiet = () => undefined;
  diag.setLogger(
    { error: write('error'), warn: write('warn'), info: quiet, debug: quiet, verbose: quiet },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}
