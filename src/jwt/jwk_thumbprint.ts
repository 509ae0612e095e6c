import { createHash } from 'node:crypto';

/**
 * RFC 7638 JWK thumbprint with SHA-256, base64url: what DPoP's `cnf.jkt` holds (RFC 9449 §6.1). Our own rather than
 * jose's `calculateJwkThumbprint`, so that serving loads no jose (its import is tens of milliseconds of start-up); the
 * tests compare the two on every key type.
 */

/** §3.2: the required members of each key type, in lexicographic order. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/** undefined when the key is not an asymmetric JWK with its required members as strings. */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = typeof jwk.kty === 'string' ? REQUIRED[jwk.kty] : undefined;
  if (!members) return undefined;
  const picked: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string') return undefined;
    picked[name] = value;
  }
  // §3.3: JSON with no whitespace, members in the order above (insertion order is JSON.stringify's order).
  return createHash('sha256').update(JSON.stringify(picked)).digest('base64url');
}
