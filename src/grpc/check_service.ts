import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { deny, type Decision } from '../authz/decision.js';
import { authorizeTraced, recordDecision as recordAnyDecision, type DecisionDeps } from '../ops/decisions.js';
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
    void decide(call.request, deps)
      .then(({ decision, requestId }) => {
        let response: CheckResponseMessage;
        try {
          response = toCheckResponse(decision);
        } catch (err) {
          decision = deny('InternalError', `building the response failed: ${(err as Error).message}`, undefined);
          response = toCheckResponse(decision);
        }
        callback(null, response);
        recordDecision(deps, decision, requestId, Number(process.hrtime.bigint() - started) / 1e9);
      })
      .catch((err: unknown) => {
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
    return { decision: await authorizeTraced(req, runtime, deps.log), requestId };
  } catch (err) {
    return {
      decision: deny('InternalError', `unexpected error: ${(err as Error)?.message ?? String(err)}`, undefined),
      requestId,
    };
  }
}

/** Counts and logs a gRPC check's decision (exported for bench/stages.mjs, which times it alone). */
export function recordDecision(
  deps: CheckServiceDeps,
  decision: Decision,
  requestId: string | undefined,
  seconds: number,
): void {
  recordAnyDecision(deps, decision, requestId, seconds, 'grpc');
}
