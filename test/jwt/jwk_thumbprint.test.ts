// RFC 7638 thumbprints (src/jwt/jwk_thumbprint.ts), which DPoP's cnf.jkt binding compares: the same as jose's
// calculateJwkThumbprint for every asymmetric key type, whatever other members the JWK carries, and none for a key
// that lacks a required member or is not asymmetric.
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../src/jwt/jwk_thumbprint.js';

const keys: [string, JWK][] = [
  ['EC P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as JWK],
  ['EC P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }) as JWK],
  ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as JWK],
  ['OKP Ed25519', generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }) as JWK],
];

describe('jwkThumbprint (RFC 7638 §3)', () => {
  it.each(keys)('%s: equals jose, with or without optional members', async (_name, jwk) => {
    const expected = await calculateJwkThumbprint(jwk, 'sha256');
    expect(jwkThumbprint(jwk as Record<string, unknown>)).toBe(expected);
    // §3.2: only the required members count; kid, alg, use and the rest do not change it.
    const decorated = { alg: 'ES256', kid: 'k1', use: 'sig', ...jwk, key_ops: ['verify'] };
    expect(jwkThumbprint(decorated)).toBe(expected);
  });

  it('RFC 7638 §3.1 example: the RSA key whose thumbprint the RFC prints', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs' +
      'tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn' +
      '1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    expect(jwkThumbprint({ kty: 'RSA', n, e: 'AQAB', alg: 'RS256', kid: '2011-04-29' })).toBe(
      'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
    );
  });

  it('none for a symmetric key, an unknown kty, a missing or non-string required member', () => {
    const ec = keys[0]![1] as Record<string, unknown>;
    expect(jwkThumbprint({ kty: 'oct', k: 'c2VjcmV0' })).toBeUndefined();
    expect(jwkThumbprint({ ...ec, kty: 'XYZ' })).toBeUndefined();
    expect(jwkThumbprint({ ...ec, y: undefined })).toBeUndefined();
    expect(jwkThumbprint({ ...ec, x: 42 })).toBeUndefined();
    expect(jwkThumbprint({})).toBeUndefined();
  });
});
