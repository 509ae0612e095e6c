// extractToken on its own: RFC 6750 §2.1 (credentials = scheme 1*SP b64token), RFC 9110 §5.5 (only SP and HTAB
// surround a field value), RFC 6750 §3.1 (no token is TokenNotPresent, answered with a bare challenge).
import { describe, expect, it } from 'vitest';
import type { TokenLocation } from '../../src/config/types.js';
import { extractToken } from '../../src/authz/extract_token.js';
import type { AuthzRequest } from '../../src/authz/request.js';
import { AuthzError } from '../../src/errors.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const BEARER: TokenLocation = { kind: 'header', name: 'authorization', scheme: 'Bearer' };
const CUSTOM: TokenLocation = { kind: 'header', name: 'x-token', scheme: undefined };
/** White space String.prototype.trim() strips and OWS (SP, HTAB) does not include. */
const UNICODE_SPACES = ['\u00a0', '\u3000', '\u2028', '\u2029', '\ufeff', '\u000b', '\u000c', '\u0085', '\u2003'];

function request(headers: Record<string, string>): AuthzRequest {
  return { method: 'GET', path: '/', host: 'api.example.com', headers, contextExtensions: {}, requestId: undefined } as AuthzRequest;
}

/** The token, or the reason extraction was denied with. */
function outcome(location: TokenLocation, value: string | undefined): string {
  const name = location.kind === 'header' ? location.name : '';
  try {
    return extractToken(request(value === undefined ? {} : { [name]: value }), location);
  } catch (err) {
    if (err instanceof AuthzError) return err.reason;
    throw err;
  }
}

describe('Authorization: Bearer', () => {
  it('takes the token after the scheme, whatever the scheme\'s case', () => {
    expect(outcome(BEARER, `Bearer ${TOKEN}`)).toBe(TOKEN);
    expect(outcome(BEARER, `bearer ${TOKEN}`)).toBe(TOKEN);
    expect(outcome(BEARER, `BEARER ${TOKEN}`)).toBe(TOKEN);
  });

  it('no header, an empty one, or the scheme with no token → TokenNotPresent', () => {
    for (const value of [undefined, '', 'Bearer', 'Bearer ', 'Bearer     ', 'bearer \t', '  Bearer  ']) {
      expect(outcome(BEARER, value), JSON.stringify(value)).toBe('TokenNotPresent');
    }
  });

  it('another scheme, with or without credentials → TokenSchemeInvalid', () => {
    for (const value of ['Basic', 'Basic ', `Basic ${TOKEN}`, `Bearerx ${TOKEN}`, TOKEN]) {
      expect(outcome(BEARER, value), JSON.stringify(value)).toBe('TokenSchemeInvalid');
    }
  });
});

describe('RFC 6750 §2.1: scheme 1*SP b64token, with only SP and HTAB around it', () => {
  it('one or more SP after the scheme; SP and HTAB around the value', () => {
    expect(outcome(BEARER, `Bearer   ${TOKEN}`)).toBe(TOKEN);
    expect(outcome(BEARER, ` \t Bearer ${TOKEN} \t `)).toBe(TOKEN);
  });

  it('every b64token character is accepted, "=" only at the end (what the token means is decode_jws\'s concern)', () => {
    expect(outcome(BEARER, 'Bearer aZ09-._~+/==')).toBe('aZ09-._~+/==');
    expect(outcome(BEARER, 'Bearer a=b')).toBe('JwtInvalid');
    expect(outcome(BEARER, 'Bearer =')).toBe('JwtInvalid');
  });

  for (const ch of UNICODE_SPACES) {
    const label = `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    it(`${label}: around or inside the token → JwtInvalid; glued to the scheme → TokenSchemeInvalid`, () => {
      expect(outcome(BEARER, `Bearer ${TOKEN}${ch}`)).toBe('JwtInvalid');
      expect(outcome(BEARER, `Bearer ${ch}${TOKEN}`)).toBe('JwtInvalid');
      expect(outcome(BEARER, `Bearer ${TOKEN.replace('.', `${ch}.`)}`)).toBe('JwtInvalid');
      expect(outcome(BEARER, `Bearer${ch}${TOKEN}`)).toBe('TokenSchemeInvalid');
      expect(outcome(BEARER, `Bearer${ch} ${TOKEN}`)).toBe('TokenSchemeInvalid');
      expect(outcome(BEARER, `${ch}Bearer ${TOKEN}`)).toBe('TokenSchemeInvalid');
      expect(outcome(BEARER, `Bearer ${ch}`)).toBe('JwtInvalid');
    });
  }

  it('HTAB, CR, LF or a second word between or after the parts', () => {
    expect(outcome(BEARER, `Bearer\t${TOKEN}`)).toBe('TokenSchemeInvalid');
    expect(outcome(BEARER, `Bearer \t${TOKEN}`)).toBe('JwtInvalid');
    expect(outcome(BEARER, `Bearer ${TOKEN}\r\n`)).toBe('JwtInvalid');
    expect(outcome(BEARER, `Bearer ${TOKEN} ${TOKEN}`)).toBe('JwtInvalid');
    expect(outcome(BEARER, `Bearer ${TOKEN}, Bearer ${TOKEN}`)).toBe('JwtInvalid');
  });

  it('a header without a scheme follows the same rules', () => {
    expect(outcome(CUSTOM, TOKEN)).toBe(TOKEN);
    expect(outcome(CUSTOM, `\t ${TOKEN} \t`)).toBe(TOKEN);
    for (const value of [undefined, '', ' \t ']) expect(outcome(CUSTOM, value), JSON.stringify(value)).toBe('TokenNotPresent');
    for (const ch of UNICODE_SPACES) {
      expect(outcome(CUSTOM, `${TOKEN}${ch}`)).toBe('JwtInvalid');
      expect(outcome(CUSTOM, `${ch}${TOKEN}`)).toBe('JwtInvalid');
      expect(outcome(CUSTOM, ch)).toBe('JwtInvalid');
    }
    expect(outcome(CUSTOM, `Bearer ${TOKEN}`)).toBe('JwtInvalid');
  });

  it('a long run of spaces before a non-space is answered in linear time (no backtracking)', () => {
    expect(outcome(BEARER, `Bearer ${' '.repeat(500_000)}x${' '.repeat(500_000)}\u00a0`)).toBe('JwtInvalid');
    expect(outcome(CUSTOM, `${' '.repeat(500_000)}\u00a0${' '.repeat(500_000)}x`)).toBe('JwtInvalid');
  });
});
