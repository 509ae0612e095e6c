import { HttpRequestError, httpRequest } from '../net/http_request.js';
import { IntrospectionError } from '../errors.js';
import { MAX_JSON_DEPTH } from '../jwt/decode_jws.js';
import type { ClientCredentials } from './client_auth.js';

/** An introspection answer (RFC 7662 §2.2): `active`, and for an active token its claims. */
export interface IntrospectionAnswer {
  readonly active: boolean;
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Answers are a few hundred bytes; anything near this is not an introspection response. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/**
 * One introspection request (RFC 7662 §2.1): a form-encoded POST of the token with client authentication. Every
 * failure is an IntrospectionError, so the caller can only deny on it. Redirects are never followed: the body
 * carries the token and, with client_secret_post, our secret. Nothing here puts the token or a secret in a message.
 */
export async function introspectOnce(
  endpoint: string,
  token: string,
  credentials: ClientCredentials,
  timeoutMs: number,
): Promise<IntrospectionAnswer> {
  let response;
  try {
    response = await httpRequest(endpoint, {
      method: 'POST',
      headers: {
        ...credentials.headers,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token', ...credentials.params }).toString(),
      timeoutMs,
      maxBytes: MAX_RESPONSE_BYTES,
    });
  } catch (err) {
    throw failure(err);
  }
  if (response.status !== 200) {
    const code = response.status === 401 ? 'ERR_INTROSPECTION_CLIENT_AUTH' : 'ERR_INTROSPECTION_HTTP_STATUS';
    const hint = response.status === 401 ? ' (the endpoint refused our client authentication)' : '';
    throw new IntrospectionError(code, `HTTP ${response.status}${hint}`);
  }
  return parseAnswer(response.text);
}

/** RFC 7662 §2.2: a JSON object whose `active` is a boolean. Anything else is a fault, never an inactive token. */
export function parseAnswer(text: string): IntrospectionAnswer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new IntrospectionError('ERR_INTROSPECTION_INVALID_JSON', 'response is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : typeof body;
    throw new IntrospectionError('ERR_INTROSPECTION_INVALID_RESPONSE', `response is ${kind}, not a JSON object`);
  }
  const claims = body as Record<string, unknown>;
  if (typeof claims.active !== 'boolean') {
    throw new IntrospectionError(
      'ERR_INTROSPECTION_INVALID_RESPONSE',
      'response has no boolean "active" (RFC 7662 §2.2)',
    );
  }
  if (tooDeep(claims)) {
    throw new IntrospectionError(
      'ERR_INTROSPECTION_INVALID_RESPONSE',
      `response nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  // §2.2: an inactive answer says nothing more, whatever else the server put in it.
  return claims.active ? { active: true, claims } : { active: false, claims: {} };
}

/** The same nesting bound as a JWT payload, so claims from either source are safe for recursive code downstream. */
function tooDeep(root: object): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) return true;
    for (const item of Object.values(value))
      if (item !== null && typeof item === 'object') stack.push([item, depth + 1]);
  }
  return false;
}

function failure(err: unknown): IntrospectionError {
  if (!(err instanceof HttpRequestError)) {
    return new IntrospectionError('ERR_INTROSPECTION_NETWORK', (err as Error)?.message ?? 'network error', {
      cause: err,
    });
  }
  const code = {
    timeout: 'ERR_INTROSPECTION_TIMEOUT',
    'too-large': 'ERR_INTROSPECTION_TOO_LARGE',
    network: 'ERR_INTROSPECTION_NETWORK',
  } as const;
  return new IntrospectionError(code[err.kind], err.message, { cause: err });
}
