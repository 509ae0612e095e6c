import { authorize, type AuthorizeOptions } from '../authz/authorize.js';
import type { Decision } from '../authz/decision.js';
import type { AuthzRequest } from '../authz/request.js';
import type { Runtime } from '../authz/runtime.js';
import type { TraceStep } from '../authz/trace.js';
import type { Logger } from '../log.js';
import type { CheckSpan, CheckTracer } from '../tracing/hook.js';
import type { Metrics } from './metrics.js';

/**
 * What every transport does around the pipeline, so a check over gRPC and one over HTTP are counted, logged and
 * traced alike: run `authorize` (with the debug trace when debug is on), then count and log the decision. The
 * transports only translate requests and answers.
 */

/** The transports, as the `transport` label of the metrics and the field of the log lines. */
export type Transport = 'grpc' | 'http';

export interface DecisionDeps {
  /** The current runtime; read once per check, so a reload never changes a check half-way. */
  readonly runtime: () => Runtime;
  readonly log: Logger;
  readonly metrics: Metrics | undefined;
  /** Set when tracing is on (src/tracing/): each check gets a span, and its trace id goes into the log line. */
  readonly tracer?: CheckTracer | undefined;
}

/**
 * `authorize` on the runtime's deadline. At debug, the same trace `tokengate explain` prints goes into one line per
 * check, after `prelude` (what the transport did to rebuild the request, e.g. which forwarded headers it read).
 * With a `span` (tracing on), the pipeline runs inside it and notes the token's facts on it. Like `authorize`, a
 * check that waits for nothing is answered synchronously, without a promise (tracing and debug aside).
 */
export function authorizeTraced(
  req: AuthzRequest,
  runtime: Runtime,
  log: Logger,
  prelude?: TraceStep,
  span?: CheckSpan,
): Decision | Promise<Decision> {
  const deadlineMs = runtime.config.server.checkDeadlineMs;
  if (span) return span.run(() => authorizeLogged(req, runtime, log, prelude, { deadlineMs, facts: span.facts }));
  if (!log.isLevelEnabled('debug')) return authorize(req, runtime, { deadlineMs });
  return authorizeLogged(req, runtime, log, prelude, { deadlineMs });
}

async function authorizeLogged(
  req: AuthzRequest,
  runtime: Runtime,
  log: Logger,
  prelude: TraceStep | undefined,
  options: AuthorizeOptions,
): Promise<Decision> {
  if (!log.isLevelEnabled('debug')) return authorize(req, runtime, options);
  const steps: TraceStep[] = prelude ? [prelude] : [];
  const decision = await authorize(req, runtime, { ...options, trace: (s) => steps.push(s) });
  log.debug({ requestId: req.requestId, steps }, 'check trace');
  return decision;
}

/**
 * Counts the decision and writes its log line. Allows are logged at info only with `logging.decisions: all`: at
 * thousands of checks a second an info line per allow is most of the log volume and, after the transport, the largest
 * cost of a cached check; the metrics count them either way. A check's span ends here, and the line carries its
 * `traceId` when the span was recorded, so logs and traces join.
 */
export function recordDecision(
  deps: DecisionDeps,
  decision: Decision,
  requestId: string | undefined,
  seconds: number,
  transport: Transport,
  span?: CheckSpan,
): void {
  const traceId = span?.end(decision);
  const policy = decision.policy?.name ?? '';
  const verdict = decision.allowed ? (decision.wouldDeny ? 'would_deny' : 'allow') : 'deny';
  const reason = decision.allowed ? (decision.wouldDeny?.reason ?? '') : decision.reason;
  deps.metrics?.decisions.count(policy, verdict, reason, transport, seconds);
  const logged = deps.runtime().config.logging.decisions;
  if (!decision.allowed) {
    // Internal errors and missing keys are the operator's problem, not the caller's: always a warning.
    // (InternalError, KeysUnavailable, IntrospectionUnavailable: the 503 category.)
    const serious = decision.category === 'unavailable';
    const level = serious ? 'warn' : logged === 'none' ? 'debug' : 'info';
    const fields = { requestId, traceId, transport, policy, decision: verdict, reason, detail: decision.detail };
    deps.log[level](fields, 'check');
  } else if (decision.wouldDeny) {
    const level = logged === 'none' ? 'debug' : 'warn';
    const detail = decision.wouldDeny.detail;
    const fields = { requestId, traceId, transport, policy, decision: verdict, reason, detail };
    deps.log[level](fields, 'check would deny (report-only)');
  } else {
    const level = logged === 'all' ? 'info' : 'debug';
    if (!deps.log.isLevelEnabled(level)) return;
    const sub = typeof decision.claims.sub === 'string' ? decision.claims.sub : undefined;
    deps.log[level]({ requestId, traceId, transport, policy, decision: verdict, sub }, 'check');
  }
}
