import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { AuthzError } from '../errors.js';
import type { KeyType, VerificationKey } from '../keys/verification_key.js';

/** A proof's public key, imported, and its RFC 7638 thumbprint once check_dpop.ts has computed it. */
export interface ProofKey {
  readonly key: VerificationKey;
  thumbprint: string | undefined;
}

/** RFC 7638 §3.2: the members that define each key type (and so the key): nothing else changes the imported key. */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/** Clients keep one key for many proofs; this many recent keys stay imported (about 1 KiB each at most). */
const MAX_KEYS = 4096;
const keys = new Map<string, ProofKey>();

/**
 * The imported public key of a proof's `jwk` (private members are refused before this). A client signs every request
 * with the same key, so the import (~50-130 µs for EC) and the thumbprint are done once per key, not per proof: what
 * a proof then costs is one signature check. Keyed by the key's defining members, so two JWKs that differ only in
 * other members (kid, alg, use) share the import, which they would produce identically.
 */
export function proofKey(jwk: Record<string, unknown>): ProofKey {
  const required = typeof jwk.kty === 'string' && Object.hasOwn(REQUIRED, jwk.kty) ? REQUIRED[jwk.kty]! : undefined;
  if (!required) throw invalid(`the proof's jwk has kty ${JSON.stringify(jwk.kty)}; EC, RSA or OKP expected`);
  const values: string[] = [];
  for (const member of required) {
    const value = jwk[member];
    if (typeof value !== 'string') throw invalid(`the proof's jwk has no string "${member}"`);
    values.push(value);
  }
  // JSON: no value can run into the next one, so two different keys never share an id.
  const id = JSON.stringify(values);
  const known = keys.get(id);
  if (known) return known;
  let entry: ProofKey;
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    const type = keyType(key.asymmetricKeyType, key.asymmetricKeyDetails);
    entry = { key: { kid: undefined, alg: undefined, type, key }, thumbprint: undefined };
  } catch (err) {
    throw invalid(`the proof's jwk is not a usable public key: ${(err as Error).message}`);
  }
  // Oldest first out: a Map iterates in insertion order.
  if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
  keys.set(id, entry);
  return entry;
}

const CURVES: Readonly<Record<string, KeyType>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
/** RFC 7518 §3.3 and RFC 8725 §3.5: RSA keys below 2048 bits are refused, as for token keys. */
const MIN_RSA_BITS = 2048;

function keyType(type: string | undefined, details: { namedCurve?: string; modulusLength?: number } = {}): KeyType {
  if (type === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS) return 'RSA';
  if (type === 'ec' && details.namedCurve !== undefined && Object.hasOwn(CURVES, details.namedCurve)) {
    return CURVES[details.namedCurve]!;
  }
  if (type === 'ed25519') return 'Ed25519';
  if (type === 'ed448') return 'Ed448';
  throw new Error(`unsupported key (${type ?? 'unknown'}${type === 'rsa' ? `, RSA below ${MIN_RSA_BITS} bits` : ''})`);
}

function invalid(message: string): AuthzError {
  return new AuthzError('DpopProofInvalid', message);
}
