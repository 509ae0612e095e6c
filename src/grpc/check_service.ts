import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { authorize } from '../authz/authorize.js';
import { deny, type Decision } from '../authz/decision.js';
import type { Runtime } from '../authz/runtime.js';
import type { TraceStep } from '../authz/trace.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../ops/metrics.js';
import { toAuthzRequest } from './check_request.js';
import { toCheckResponse } from './check_response.js';
import type { CheckRequestMessage, CheckResponseMessage } from './protos.js';

export interface CheckServiceDeps {
  /** The current runtime; read once per check, so a reload never changes a check half-way. */
  readonly runtime: () => Runtime;
  readonly log: Logger;
  readonly metrics: Metrics | undefined;
}

/**
 * The Authorization/Check handler. It always answers with a CheckResponse and never with a gRPC error. `started`
 * is when the call arrived (grpc_server passes it, since a batched call may run later in the same turn); the
 * check-duration metric counts from there.
 */
export function createCheckHandler(deps: CheckServiceDeps) {
  return (
    call: ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>,
    callback: sendUnaryData<CheckResponseMessage>,
    started: bigint = process.hrtime.bigint(),
  ): void => {
    void decide(call.request, deps).then(({ decision, requestId }) => {
      let response: CheckResponseMessage;
      try {
        response = toCheckResponse(decision);
      } catch (err) {
        decision = deny('InternalError', `building the response failed: ${(err as Error).message}`, undefined);
        response = toCheckResponse(decision);
      }
      callback(null, response);
      recordDecision(deps, decision, requestId, Number(process.hrtime.bigint() - started) / 1e9);
    }).catch((err: unknown) => {
      // decide never rejects, so only answering or recording can get here; an unhandled rejection would end the process.
      deps.log.error({ err: (err as Error)?.message ?? String(err) }, 'recording a check failed');
    });
  };
}

export type CheckHandler = ReturnType<typeof createCheckHandler>;

/** The decision, and the request id for its log line (from `headers` or `header_map`, as toAuthzRequest reads it). */
interface Outcome {
  readonly decision: Decision;
  readonly requestId: string | undefined;
}

async function decide(request: CheckRequestMessage, deps: CheckServiceDeps): Promise<Outcome> {
  let requestId: string | undefined;
  try {
    const runtime = deps.runtime();
    const req = toAuthzRequest(request);
    requestId = req.requestId;
    if (!deps.log.isLevelEnabled('debug')) return { decision: await authorize(req, runtime, { deadlineMs: runtime.config.server.checkDeadlineMs }), requestId };
    // debug: the same trace `tokengate explain` prints, one line per check.
    const steps: TraceStep[] = [];
    const decision = await authorize(req, runtime, { deadlineMs: runtime.config.server.checkDeadlineMs, trace: (s) => steps.push(s) });
    deps.log.debug({ requestId, steps }, 'check trace');
    return { decision, requestId };
  } catch (err) {
    return { decision: deny('InternalError', `unexpected error: ${(err as Error)?.message ?? String(err)}`, undefined), requestId };
  }
}

/**
 * Counts the decision and writes its log line (exported for bench/stages.mjs, which times it alone). Allows are
 * logged at info only with `logging.decisions: all`: at thousands of checks a second an info line per allow is most
 * of the log volume and, after the transport, the largest cost of a cached check; the metrics count them either way.
 */
export function recordDecision(deps: CheckServiceDeps, decision: Decision, requestId: string | undefined, seconds: number): void {
  const policy = decision.policy?.name ?? '';
  const verdict = decision.allowed ? (decision.wouldDeny ? 'would_deny' : 'allow') : 'deny';
  const reason = decision.allowed ? (decision.wouldDeny?.reason ?? '') : decision.reason;
  deps.metrics?.decisions.inc({ policy, decision: verdict, reason });
  deps.metrics?.checkDuration.observe(seconds);
  const logged = deps.runtime().config.logging.decisions;
  if (!decision.allowed) {
    // Internal errors and missing keys are the operator's problem, not the caller's: always a warning.
    const serious = decision.reason === 'InternalError' || decision.reason === 'KeysUnavailable';
    const level = serious ? 'warn' : logged === 'none' ? 'debug' : 'info';
    deps.log[level]({ requestId, policy, decision: verdict, reason, detail: decision.detail }, 'check');
  } else if (decision.wouldDeny) {
    const level = logged === 'none' ? 'debug' : 'warn';
    deps.log[level]({ requestId, policy, decision: verdict, reason, detail: decision.wouldDeny.detail }, 'check would deny (report-only)');
  } else {
    const level = logged === 'all' ? 'info' : 'debug';
    if (!deps.log.isLevelEnabled(level)) return;
    const sub = typeof decision.claims.sub === 'string' ? decision.claims.sub : undefined;
    deps.log[level]({ requestId, policy, decision: verdict, sub }, 'check');
  }
}
