import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { deny, type Decision } from '../authz/decision.js';
import { authorizeTraced, recordDecision, type DecisionDeps } from '../ops/decisions.js';
import { headersCarrier } from '../tracing/hook.js';
import { answer } from './answer.js';
import { headerMap } from './header_map.js';
import { rebuildRequest } from './original_request.js';
import type { TrustsPeer } from './trusted_proxies.js';

export interface HttpCheckOptions {
  readonly trusts: TrustsPeer;
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
  const trusted = trustByConnection(options.trusts);
  let inFlight = 0;
  let lastOverloadWarning = 0;
  const failed = (res: ServerResponse, err: unknown): void => {
    // check never throws but for answering or recording; an unhandled rejection would end the process.
    deps.log.error({ err: (err as Error)?.message ?? String(err) }, 'answering an HTTP check failed');
    if (!res.headersSent) plain(res, 503, 'Service Unavailable. Access token could not be validated.');
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    // A check never reads a body: node discards any once the answer is sent (requestTimeout bounds how long a
    // client may take to send it), so the connection stays usable.
    if (inFlight >= options.maxConcurrentChecks) {
      deps.metrics?.httpRejected.inc({ reason: 'overloaded' });
      if (Date.now() - lastOverloadWarning >= OVERLOAD_WARNING_INTERVAL_MS) {
        lastOverloadWarning = Date.now();
        const fields = { maxConcurrentChecks: options.maxConcurrentChecks };
        deps.log.warn(fields, 'HTTP checks over maxConcurrentChecks are answered 503');
      }
      return plain(res, 503, 'Service Unavailable. Too many checks in flight.');
    }
    let waiting: Promise<void> | undefined;
    try {
      waiting = check(req, res, deps, options, trusted, started);
    } catch (err) {
      return failed(res, err);
    }
    if (waiting === undefined) return;
    inFlight++;
    waiting.then(
      () => inFlight--,
      (err: unknown) => {
        inFlight--;
        failed(res, err);
      },
    );
  };
}

/** Answers the check; a promise only when the decision has to wait. */
function check(
  req: IncomingMessage,
  res: ServerResponse,
  deps: DecisionDeps,
  options: HttpCheckOptions,
  trusted: (socket: Socket) => boolean,
  started: bigint,
): Promise<void> | undefined {
  const headers = headerMap(req.rawHeaders);
  const rebuilt = rebuildRequest({
    method: req.method ?? '',
    target: req.url ?? '',
    headers,
    trusted: () => trusted(req.socket),
    envoyPathPrefix: options.envoyPathPrefix,
  });
  if (rebuilt.kind === 'not_found') {
    deps.metrics?.httpRejected.inc({ reason: 'not_found' });
    plain(res, 404, 'Not Found. Ask on /authz, /authz/{policy} or under the Envoy path prefix.');
    return undefined;
  }
  const requestId = rebuilt.kind === 'request' ? rebuilt.request.requestId : headers.headers['x-request-id'];
  // The proxy's own trace context: Envoy's http_service client puts its ext_authz span's there.
  const span = deps.tracer?.startCheck('http', [headersCarrier(headers.headers)]);
  // After an Upgrade request node stops parsing the connection; a proxy must not send the next check on it.
  const close = headers.headers.upgrade !== undefined;
  const respond = (decision: Decision): void => {
    try {
      answer(res, decision, close);
    } catch (err) {
      decision = deny('InternalError', `building the response failed: ${(err as Error).message}`, undefined);
      if (!res.headersSent) answer(res, decision, close);
    }
    recordDecision(deps, decision, requestId, Number(process.hrtime.bigint() - started) / 1e9, 'http', span);
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

/**
 * Whether a connection's peer is a trusted proxy, worked out once per connection: the peer cannot change on a
 * kept-alive connection, and matching an address against the CIDR blocks costs more than the rest of the edge.
 */
function trustByConnection(trusts: TrustsPeer): (socket: Socket) => boolean {
  const known = new WeakMap<Socket, boolean>();
  return (socket) => {
    let trusted = known.get(socket);
    if (trusted === undefined) {
      trusted = trusts(socket.remoteAddress);
      known.set(socket, trusted);
    }
    return trusted;
  };
}

/** An answer that is no decision (overload, unknown path), in the APIM body's shape like every other answer. */
function plain(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ statusCode: status, message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
