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

  // Only SP and HTAB are white space here. String.prototype.trim() strips every Unicode space, so each of these
  // was accepted. After the scheme comes 1*SP: anything else glued to the scheme makes another scheme
  // (TokenSchemeInvalid); anything else in or around the token makes a malformed token (JwtInvalid).
  add('white space', '"Bearer  <token>" (two spaces: 1*SP)', `Bearer  ${token}`, 'allow');
  add('white space', '" \tBearer <token> \t" (OWS around the value)', ` \tBearer ${token} \t`, 'allow');
  for (const [label, ch] of UNICODE_SPACES) {
    add('white space', `token followed by ${label}`, `Bearer ${token}${ch}`, 'JwtInvalid');
    add('white space', `${label} between the space and the token`, `Bearer ${ch}${token}`, 'JwtInvalid');
    add('white space', `${label} instead of the space after Bearer`, `Bearer${ch}${token}`, 'TokenSchemeInvalid');
    add('white space', `${label} before Bearer`, `${ch}Bearer ${token}`, 'TokenSchemeInvalid');
  }
  add('white space', 'HTAB instead of the space after Bearer (the ABNF says 1*SP)', `Bearer\t${token}`, 'TokenSchemeInvalid');
  add('white space', 'HTAB between the space and the token', `Bearer \t${token}`, 'JwtInvalid');
  add('white space', 'a second word after the token', `Bearer ${token} extra`, 'JwtInvalid');
  add('white space', 'CR LF after the token', `Bearer ${token}\r\n`, 'JwtInvalid');
  return cases;
}

/** Unicode white space that String.prototype.trim() removes and RFC 9110's OWS does not include. */
export const UNICODE_SPACES: readonly (readonly [string, string])[] = [
  ['U+00A0 (no-break space)', '\u00a0'],
  ['U+3000 (ideographic space)', '\u3000'],
  ['U+2028 (line separator)', '\u2028'],
  ['U+FEFF (byte order mark)', '\ufeff'],
  ['U+000B (vertical tab)', '\u000b'],
];

/** Cases for a custom header that carries the bare token (no scheme): the same b64token and OWS rules. */
export function bareHeaderCases(token: string): HeaderCase[] {
  const cases: HeaderCase[] = [];
  const add = (group: string, name: string, value: string | undefined, expect: Expected) => cases.push({ group, name, value, expect });
  add('control', 'the bare token', token, 'allow');
  add('control', 'the token with SP and HTAB around it', ` \t${token}\t `, 'allow');
  add('no token', 'only spaces and tabs', ' \t ', 'TokenNotPresent');
  for (const [label, ch] of UNICODE_SPACES) {
    add('white space', `token followed by ${label}`, `${token}${ch}`, 'JwtInvalid');
    add('white space', `token preceded by ${label}`, `${ch}${token}`, 'JwtInvalid');
  }
  add('white space', '"Bearer <token>" where no scheme is expected', `Bearer ${token}`, 'JwtInvalid');
  return cases;
}
