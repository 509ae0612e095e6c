import { deny, type Decision } from '../authz/decision.js';
import { authorizeTraced, recordDecision, type DecisionDeps } from '../ops/decisions.js';
import { headersCarrier } from '../tracing/hook.js';
import { answer, plainAnswer } from './answer.js';
import { rebuildRequest } from './original_request.js';
import type { HttpReply, HttpRequest } from './wire/connection.js';

export interface HttpCheckOptions {
  readonly envoyPathPrefix: string;
  readonly maxConcurrentChecks: number;
}

/** At most one "shedding checks" warning per this, however long the overload lasts. */
const OVERLOAD_WARNING_INTERVAL_MS = 10_000;

/**
 * The request handler of the HTTP authorization listener: rebuild the original request, run the same pipeline as
 * gRPC, answer, then count and log the decision as gRPC does. A check that waits for nothing (a cached token) is
 * answered before the handler returns. Beyond `maxConcurrentChecks` checks waiting (for keys, introspection), a
 * request is answered 503 at once rather than queued behind them: a proxy reads that as "check failed" and denies.
 */
export function createHttpCheckHandler(deps: DecisionDeps, options: HttpCheckOptions) {
  let inFlight = 0;
  let lastOverloadWarning = 0;
  const failed = (reply: HttpReply, err: unknown): void => {
    // check never throws but for answering or recording; an unhandled rejection would end the process.
    deps.log.error({ err: (err as Error)?.message ?? String(err) }, 'answering an HTTP check failed');
    if (!reply.sent) plain(reply, 503, 'Service Unavailable. Access token could not be validated.');
  };
  return (req: HttpRequest, reply: HttpReply): void => {
    // performance.now(): a double, where hrtime.bigint() allocates a BigInt on each of the two reads.
    const started = performance.now();
    if (inFlight >= options.maxConcurrentChecks) {
      deps.metrics?.httpRejected.inc({ reason: 'overloaded' });
      if (Date.now() - lastOverloadWarning >= OVERLOAD_WARNING_INTERVAL_MS) {
        lastOverloadWarning = Date.now();
        const fields = { maxConcurrentChecks: options.maxConcurrentChecks };
        deps.log.warn(fields, 'HTTP checks over maxConcurrentChecks are answered 503');
      }
      return plain(reply, 503, 'Service Unavailable. Too many checks in flight.');
    }
    let waiting: Promise<void> | undefined;
    try {
      waiting = check(req, reply, deps, options, started);
    } catch (err) {
      return failed(reply, err);
    }
    if (waiting === undefined) return;
    inFlight++;
    waiting.then(
      () => inFlight--,
      (err: unknown) => {
        inFlight--;
        failed(reply, err);
      },
    );
  };
}

/** Answers the check; a promise only when the decision has to wait. */
function check(
  req: HttpRequest,
  reply: HttpReply,
  deps: DecisionDeps,
  options: HttpCheckOptions,
  started: number,
): Promise<void> | undefined {
  const { headers } = req;
  const rebuilt = rebuildRequest({
    method: req.method,
    target: req.target,
    headers,
    trusted: () => req.peerTrusted(),
    envoyPathPrefix: options.envoyPathPrefix,
  });
  if (rebuilt.kind === 'not_found') {
    deps.metrics?.httpRejected.inc({ reason: 'not_found' });
    plain(reply, 404, 'Not Found. Ask on /authz, /authz/{policy} or under the Envoy path prefix.');
    return undefined;
  }
  const requestId = rebuilt.kind === 'request' ? rebuilt.request.requestId : headers.headers['x-request-id'];
  // The proxy's own trace context: Envoy's http_service client puts its ext_authz span's there.
  const span = deps.tracer?.startCheck('http', [headersCarrier(headers.headers)]);
  const respond = (decision: Decision): void => {
    try {
      answer(reply, decision);
    } catch (err) {
      decision = deny('InternalError', `building the response failed: ${(err as Error).message}`, undefined);
      if (!reply.sent) answer(reply, decision);
    }
    recordDecision(deps, decision, requestId, (performance.now() - started) / 1000, 'http', span);
  };
  let decision: Decision | Promise<Decision>;
  try {
    if (rebuilt.kind === 'request') {
      const prelude = { step: 'request', ok: true, detail: rebuilt.detail };
      decision = authorizeTraced(rebuilt.request, deps.runtime(), deps.log, prelude, span);
    } else decision = deny('PathInvalid', rebuilt.detail, undefined);
  } catch (err) {
    decision = unexpected(err);
  }
  if (!(decision instanceof Promise)) {
    respond(decision);
    return undefined;
  }
  return decision.then(respond, (err: unknown) => respond(unexpected(err)));
}

function unexpected(err: unknown): Decision {
  return deny('InternalError', `unexpected error: ${(err as Error)?.message ?? String(err)}`, undefined);
}

function plain(reply: HttpReply, status: number, message: string): void {
  const { headers, body } = plainAnswer(status, message);
  reply.send(status, headers, body);
}
