import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Allow, Decision, Deny } from '../authz/decision.js';

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
export function answer(res: ServerResponse, decision: Decision, close: boolean): void {
  if (decision.allowed) writeAllow(res, decision, close);
  else writeDeny(res, decision, close);
}

const ENVOY_HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

function writeAllow(res: ServerResponse, decision: Allow, close: boolean): void {
  const headers: OutgoingHttpHeaders = { 'content-length': 0 };
  for (const { key, value } of decision.upstreamHeaders) headers[key] = wireText(value);
  if (decision.headersToRemove.length > 0) headers[ENVOY_HEADERS_TO_REMOVE] = decision.headersToRemove.join(',');
  if (close) headers.connection = 'close';
  res.writeHead(200, headers);
  res.end();
}

function writeDeny(res: ServerResponse, decision: Deny, close: boolean): void {
  const headers: OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(decision.body) };
  for (const { key, value } of decision.responseHeaders) headers[key] = value;
  headers['cache-control'] = 'no-store';
  if (close) headers.connection = 'close';
  res.writeHead(decision.httpStatus, headers);
  res.end(decision.body);
}

/** Beyond ASCII: node would refuse anything past U+00FF, and what it allows would go out as Latin-1 bytes. */
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A claim as header bytes. Over gRPC, Envoy writes a header value's UTF-8 bytes; here the same bytes go out, through
 * node's Latin-1 header encoding. Control characters never get here (header_value.ts drops such claims).
 */
function wireText(value: string): string {
  return NON_ASCII.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}
