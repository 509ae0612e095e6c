import { apimErrorBody, type Allow, type Decision, type Deny } from '../authz/decision.js';
import type { HttpReply } from './wire/connection.js';
import type { HeaderPair } from './wire/response.js';

/**
 * The HTTP answer to a check, what the three proxies read:
 *
 * - An allow is 200 with no body, and the claim headers as response headers: nginx picks them up with
 *   `auth_request_set $x $upstream_http_x_user_oid`, Caddy with `copy_headers`, Envoy with `allowed_upstream_headers`
 *   (each of which overwrites a header of that name the client sent). Headers the upstream must not see (a claim
 *   the token lacks, the token itself with `removeToken`) are listed in `x-envoy-auth-headers-to-remove`, which Envoy
 *   applies; the nginx and Caddy examples clear those headers themselves.
 * - A denial is the same status, `WWW-Authenticate` and JSON body as over gRPC. Caddy and Envoy pass all three on;
 *   nginx passes the status and, for 401, the challenge. A 5xx is "the check failed" to all three: nginx answers
 *   500, Envoy its `status_on_error`, Caddy the 503 itself; none lets the request through.
 *
 * Query parameters to remove (a `queryParameterName` token with `removeToken`) have no HTTP form in any of the three.
 */
export function answer(reply: HttpReply, decision: Decision): void {
  if (decision.allowed) writeAllow(reply, decision);
  else writeDeny(reply, decision);
}

/** An answer that is no decision, in the APIM body's shape like every other answer. */
export interface PlainAnswer {
  readonly status: number;
  readonly headers: readonly HeaderPair[];
  readonly body: string;
}

const PLAIN_HEADERS: readonly HeaderPair[] = [
  ['content-type', 'application/json'],
  ['cache-control', 'no-store'],
];

/** For an overload, an unknown path, or a request the HTTP parser refused. */
export function plainAnswer(status: number, message: string): PlainAnswer {
  return { status, headers: PLAIN_HEADERS, body: apimErrorBody(status, message) };
}

const ENVOY_HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

function writeAllow(reply: HttpReply, decision: Allow): void {
  const headers: HeaderPair[] = [];
  for (const { key, value } of decision.upstreamHeaders) headers.push([key, wireText(value)]);
  if (decision.headersToRemove.length > 0) headers.push([ENVOY_HEADERS_TO_REMOVE, decision.headersToRemove.join(',')]);
  reply.send(200, headers, '');
}

function writeDeny(reply: HttpReply, decision: Deny): void {
  const headers: HeaderPair[] = [];
  for (const { key, value } of decision.responseHeaders) headers.push([key, value]);
  headers.push(['cache-control', 'no-store']);
  reply.send(decision.httpStatus, headers, decision.body);
}

/** Beyond ASCII: a header value goes out one byte per character (Latin-1). */
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A claim as header bytes. Over gRPC, Envoy writes a header value's UTF-8 bytes; here the same bytes go out, one
 * Latin-1 character per byte. Control characters never get here (header_value.ts drops such claims), and the
 * response writer refuses any that would.
 */
function wireText(value: string): string {
  return NON_ASCII.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}
