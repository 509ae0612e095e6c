import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Decision } from '../authz/decision.js';
import type { TracingConfig } from '../config/types.js';
import type { IntrospectionResult } from '../introspection/events.js';
import type { KeyFetchEvent } from '../keys/remote_key_source.js';
import { ATTR, decisionAttributes } from './attributes.js';
import type { Transport } from '../ops/decisions.js';
import type { CheckSpan, CheckTracer, TokenFacts, TraceCarrier } from './hook.js';

/** How long shutdown waits for the last spans to be exported, so a stopping sidecar is never held up by a collector. */
const SHUTDOWN_TIMEOUT_MS = 2000;

const propagator = new W3CTraceContextPropagator();
const getter = { get: (carrier: TraceCarrier, key: string) => carrier(key), keys: () => [] };

/** The spans of checks, key fetches and introspection calls (see hook.ts for what each method is for). */
export class OtelCheckTracer implements CheckTracer {
  readonly #tracer: Tracer;
  readonly #recordSub: boolean;
  readonly #shutdown: () => Promise<void>;

  constructor(tracer: Tracer, config: TracingConfig, shutdown: () => Promise<void>) {
    this.#tracer = tracer;
    this.#recordSub = config.recordSub;
    this.#shutdown = shutdown;
  }

  startCheck(transport: Transport, carriers: readonly TraceCarrier[]): CheckSpan {
    const parent = parentContext(carriers);
    const span = this.#tracer.startSpan(
      'tokengate.check',
      { kind: SpanKind.SERVER, attributes: { [ATTR.transport]: transport } },
      parent,
    );
    return new OtelCheckSpan(span, trace.setSpan(parent, span), this.#recordSub);
  }

  keyFetch(source: string): (event: KeyFetchEvent) => void {
    const span = this.#tracer.startSpan('tokengate.key_fetch', {
      kind: SpanKind.CLIENT,
      attributes: { [ATTR.keySource]: source },
    });
    return (event) => {
      span.setAttribute(ATTR.keyFetchResult, event.result);
      span.setAttribute(ATTR.keyFetchKeys, event.keyCount);
      if (event.result === 'error') {
        // The code, not the message: messages name URLs and documents, codes are the stable vocabulary.
        span.setAttribute(ATTR.keyFetchError, event.code ?? 'unknown');
        span.setStatus({ code: SpanStatusCode.ERROR, message: event.code });
      }
      span.end();
    };
  }

  introspectionCall(endpoint: string, result: IntrospectionResult, seconds: number): void {
    const endMs = Date.now();
    const span = this.#tracer.startSpan('tokengate.introspection', {
      kind: SpanKind.CLIENT,
      startTime: endMs - seconds * 1000,
      attributes: { [ATTR.introspectionEndpoint]: endpoint, [ATTR.introspectionResult]: result },
    });
    const fault = result !== 'active' && result !== 'inactive';
    if (fault) span.setStatus({ code: SpanStatusCode.ERROR, message: result });
    span.end(endMs);
  }

  introspectionCache(hit: boolean): void {
    trace.getActiveSpan()?.setAttribute(ATTR.introspectionCacheHit, hit);
  }

  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS).unref()));
    await Promise.race([this.#shutdown().catch(() => undefined), late]);
    clearTimeout(timer);
  }
}

class OtelCheckSpan implements CheckSpan {
  readonly facts: TokenFacts | undefined;
  readonly #span: Span;
  readonly #context: Context;
  readonly #recordSub: boolean;

  constructor(span: Span, ctx: Context, recordSub: boolean) {
    this.#span = span;
    this.#context = ctx;
    this.#recordSub = recordSub;
    this.facts = span.isRecording() ? {} : undefined;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return context.with(this.#context, fn);
  }

  end(decision: Decision): string | undefined {
    const span = this.#span;
    if (!this.facts) {
      span.end();
      return undefined;
    }
    span.setAttributes(decisionAttributes(decision, this.facts, this.#recordSub));
    // A denial is the check working; only the 503 kind (keys, introspection, internal errors) is an error.
    if (!decision.allowed && decision.category === 'unavailable') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: decision.reason });
    }
    span.end();
    return span.spanContext().traceId;
  }
}

/**
 * W3C Trace Context: the first carrier with a valid `traceparent` (and its `tracestate`) is the parent. Anything
 * malformed is ignored as the spec says, and the check's span is then a root.
 */
function parentContext(carriers: readonly TraceCarrier[]): Context {
  for (const carrier of carriers) {
    const ctx = propagator.extract(ROOT_CONTEXT, carrier, getter);
    const parent = trace.getSpanContext(ctx);
    if (parent && isSpanContextValid(parent)) return ctx;
  }
  return ROOT_CONTEXT;
}
