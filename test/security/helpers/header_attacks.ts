// The header-level rows of the attack table: how the token is carried, not what it says. Each case is the raw value
// of the header a policy reads, built around a good token; hostile_tokens.test.ts sends each through the real gRPC
// server. RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; RFC 9110 §5.5: only SP and HTAB surround a value.
import type { Expected } from './attacks.js';

export interface HeaderCase {
  readonly group: string;
  readonly name: string;
  /** The header's value; undefined sends no such header at all. */
  readonly value: string | undefined;
  readonly expect: Expected;
}

/** Cases for the Authorization header of a policy with the default `Bearer` scheme. */
export function bearerHeaderCases(token: string): HeaderCase[] {
  const cases: HeaderCase[] = [];
  const add = (group: string, name: string, value: string | undefined, expect: Expected) => cases.push({ group, name, value, expect });

  add('control', '"Bearer <token>"', `Bearer ${token}`, 'allow');
  add('control', '"bearer <token>" (the scheme is case-insensitive, RFC 9110 §11.1)', `bearer ${token}`, 'allow');

  // RFC 6750 §3.1: a request without a token gets a bare challenge. A scheme followed only by spaces carries none.
  add('no token', 'no Authorization header', undefined, 'TokenNotPresent');
  add('no token', 'empty value', '', 'TokenNotPresent');
  add('no token', '"Bearer " (scheme, one space)', 'Bearer ', 'TokenNotPresent');
  add('no token', '"Bearer    " (scheme, several spaces)', 'Bearer    ', 'TokenNotPresent');
  add('no token', '"bearer \\t" (scheme, space and tab)', 'bearer \t', 'TokenNotPresent');
  add('no token', '"Bearer" (as Envoy passes "Bearer " once it strips trailing OWS)', 'Bearer', 'TokenNotPresent');
  add('scheme', '"Basic " (another scheme, no credentials)', 'Basic ', 'TokenSchemeInvalid');
  add('scheme', '"Basic <token>"', `Basic ${token}`, 'TokenSchemeInvalid');
  return cases;
}
