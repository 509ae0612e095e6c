import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { deny, type Decision } from '../authz/decision.js';
import { authorizeTraced, recordDecision as recordAnyDecision, type DecisionDeps } from '../ops/decisions.js';
import { headersCarrier, metadataCarrier, type CheckSpan } from '../tracing/hook.js';
import { toAuthzRequest } from './check_request.js';
import { toCheckResponse } from './check_response.js';
import type { CheckRequestMessage, CheckResponseMessage } from './protos.js';

export type CheckServiceDeps = DecisionDeps;

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
    const respond = ({ decision, requestId, span }: Outcome): void => {
      let response: CheckResponseMessage;
      try {
        response = toCheckResponse(decision);
      } catch (err) {
        decision = deny('InternalError', `building the response failed: ${(err as Error).message}`, undefined);
        response = toCheckResponse(decision);
      }
      callback(null, response);
      recordDecision(deps, decision, requestId, Number(process.hrtime.bigint() - started) / 1e9, span);
    };
    // decide never throws nor rejects, so only answering or recording can fail; an unhandled rejection would end
    // the process.
    const failed = (err: unknown): void => {
      deps.log.error({ err: (err as Error)?.message ?? String(err) }, 'recording a check failed');
    };
    // A check that waits for nothing (a cached token) is answered at once, without a promise (authorize.ts).
    const outcome = decide(call, deps);
    if (outcome instanceof Promise) void outcome.then(respond).catch(failed);
    else {
      try {
        respond(outcome);
      } catch (err) {
        failed(err);
      }
    }
  };
}

export type CheckHandler = ReturnType<typeof createCheckHandler>;

/** The decision, and the request id for its log line (from `headers` or `header_map`, as toAuthzRequest reads it). */
interface Outcome {
  readonly decision: Decision;
  readonly requestId: string | undefined;
  /** Tracing on: the check's span, ended when the decision is recorded. */
  readonly span?: CheckSpan | undefined;
}

function decide(
  call: ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>,
  deps: CheckServiceDeps,
): Outcome | Promise<Outcome> {
  let requestId: string | undefined;
  let span: CheckSpan | undefined;
  try {
    const runtime = deps.runtime();
    const req = toAuthzRequest(call.request);
    requestId = req.requestId;
    // Envoy's ext_authz client puts its span's context in the call's metadata; the CheckRequest's headers carry the
    // downstream request's own (when allowed_headers lets them through).
    span = deps.tracer?.startCheck('grpc', [metadataCarrier(call.metadata), headersCarrier(req.headers)]);
    const decision = authorizeTraced(req, runtime, deps.log, undefined, span);
    if (!(decision instanceof Promise)) return { decision, requestId, span };
    const known = { requestId, span };
    return decision.then(
      (d) => ({ decision: d, ...known }),
      (err: unknown) => unexpected(err, known.requestId, known.span),
    );
  } catch (err) {
    return unexpected(err, requestId, span);
  }
}

function unexpected(err: unknown, requestId: string | undefined, span: CheckSpan | undefined): Outcome {
  const detail = `unexpected error: ${(err as Error)?.message ?? String(err)}`;
  return { decision: deny('InternalError', detail, undefined), requestId, span };
}

/** Counts and logs a gRPC check's decision (exported for bench/stages.mjs, which times it alone). */
export function recordDecision(
  deps: CheckServiceDeps,
  decision: Decision,
  requestId: string | undefined,
  seconds: number,
  span?: CheckSpan,
): void {
  recordAnyDecision(deps, decision, requestId, seconds, 'grpc', span);
}
