import type { Decision } from '../authz/decision.js';
import type { IntrospectionResult } from '../introspection/events.js';
import type { KeyFetchEvent } from '../keys/remote_key_source.js';
import type { Transport } from '../ops/decisions.js';

/**
 * What the rest of tokengate knows of tracing: these types only. The OpenTelemetry side (otel.ts, check_tracer.ts)
 * is loaded by a dynamic import when `tracing.enabled` is set, so with tracing off no SDK module is ever loaded and a
 * check pays for a few `undefined` tests (bench/tracing_cost.mjs).
 */

/** Reads one header of a request that may carry a W3C trace context (`traceparent`, `tracestate`). */
export type TraceCarrier = (name: string) => string | undefined;

/**
 * What the pipeline learnt of the token, for the check's span: filled by verify_token.ts only when a span asks for it
 * (tracing on and the check sampled). Values from the token header are the caller's and are bounded before use.
 */
export interface TokenFacts {
  alg?: string;
  kid?: string;
  /** The `iss` claim, when it is a string. */
  issuer?: string;
  /** Whether the token cache answered for the signature. */
  cacheHit?: boolean;
}

/** One check's span. */
export interface CheckSpan {
  /** undefined when the span is not recorded (not sampled): nothing is collected for it then. */
  readonly facts: TokenFacts | undefined;
  /** Runs the pipeline with this span active, so key fetches and introspection calls become its children. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Sets the decision's attributes and ends the span; returns the trace id for the log line when it was recorded. */
  end(decision: Decision): string | undefined;
}

export interface CheckTracer {
  /** A span for a check; its parent is the first carrier's valid `traceparent` (Envoy's), else it is a root. */
  startCheck(transport: Transport, carriers: readonly TraceCarrier[]): CheckSpan;
  /** A child span for a key fetch a check asked for (unknown kid); the returned function ends it. */
  keyFetch(source: string): (event: KeyFetchEvent) => void;
  /** A child span for an introspection call, reported when it ends (it started `seconds` ago). */
  introspectionCall(endpoint: string, result: IntrospectionResult, seconds: number): void;
  /** Marks the active check span with whether the introspection cache answered. */
  introspectionCache(hit: boolean): void;
  /** Exports what is still queued (bounded in time), then stops. */
  shutdown(): Promise<void>;
}

/** A gRPC call's metadata as a carrier: Envoy's ext_authz client puts its own span's context there. */
export function metadataCarrier(metadata: { get(key: string): unknown[] } | undefined): TraceCarrier {
  return (name) => {
    const value = metadata?.get(name)[0];
    return typeof value === 'string' ? value : undefined;
  };
}

/** A header record (lower-case names) as a carrier. */
export function headersCarrier(headers: Readonly<Record<string, string>>): TraceCarrier {
  return (name) => headers[name];
}
