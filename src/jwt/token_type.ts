import { AuthzError } from '../errors.js';
import type { Trace } from '../authz/trace.js';

/**
 * A media type as RFC 7515 §4.1.9 compares `typ`: without case, and with the `application/` prefix optional (a
 * `typ` without a `/` stands for `application/` + it). So `at+jwt`, `AT+JWT` and `application/at+jwt` are one type.
 */
export function normalizeTokenType(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * RFC 9068 §4 (and RFC 8725 §3.11, explicit typing): with `requireTokenType`, a JWS whose header `typ` is another
 * type, or missing, is refused, so that an ID token (`typ: JWT` or none) is never accepted as an access token.
 * `required` is already normalised.
 */
export function checkTokenType(header: Readonly<Record<string, unknown>>, required: string, trace?: Trace): void {
  const typ = header.typ;
  if (typeof typ !== 'string' || normalizeTokenType(typ) !== required) {
    const got = typeof typ === 'string' ? `typ ${JSON.stringify(typ.slice(0, 64))}` : 'no typ';
    throw new AuthzError('JwtInvalid', `token header has ${got}; the policy requires typ "${required}" (RFC 9068 §4)`);
  }
  trace?.({ step: 'typ', ok: true, detail: `${typ} is the required token type` });
}
