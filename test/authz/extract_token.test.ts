// extractToken on its own: RFC 6750 §2.1 (credentials = scheme 1*SP b64token), RFC 9110 §5.5 (only SP and HTAB
// surround a field value), RFC 6750 §3.1 (no token is TokenNotPresent, answered with a bare challenge).
import { describe, expect, it } from 'vitest';
import type { TokenLocation } from '../../src/config/types.js';
import { extractToken } from '../../src/authz/extract_token.js';
import type { AuthzRequest } from '../../src/authz/request.js';
import { AuthzError } from '../../src/errors.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
const BEARER: TokenLocation = { kind: 'header', name: 'authorization', scheme: 'Bearer' };

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
