import { describe, expect, it } from 'vitest';
import { AuthzError } from '../../src/errors.js';
import { checkTokenType, normalizeTokenType } from '../../src/jwt/token_type.js';

const required = normalizeTokenType('at+jwt');
const verdict = (header: Record<string, unknown>) => {
  try {
    checkTokenType(header, required);
    return 'ok';
  } catch (err) {
    return (err as AuthzError).reason;
  }
};

describe('requireTokenType (RFC 9068 §4, RFC 7515 §4.1.9)', () => {
  it('accepts the type in any case, with or without application/', () => {
    for (const typ of ['at+jwt', 'AT+JWT', 'At+Jwt', 'application/at+jwt', 'Application/AT+JWT']) {
      expect(verdict({ alg: 'RS256', typ })).toBe('ok');
    }
    expect(normalizeTokenType('application/AT+JWT')).toBe('at+jwt');
  });

  it('refuses another type, a missing typ and a typ that is not a string (an ID token has JWT or none)', () => {
    for (const header of [
      { typ: 'JWT' },
      {},
      { typ: 'at+jwt2' },
      { typ: 'application/jwt' },
      { typ: ['at+jwt'] },
      { typ: null },
    ]) {
      expect(verdict({ alg: 'RS256', ...header })).toBe('JwtInvalid');
    }
  });

  it('stricter than a prefix match: application/ is dropped only at the start', () => {
    expect(verdict({ typ: 'x-application/at+jwt' })).toBe('JwtInvalid');
    expect(verdict({ typ: 'application/application/at+jwt' })).toBe('JwtInvalid');
  });
});
