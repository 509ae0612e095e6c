import type { KeyObject } from 'node:crypto';

/** Key families; a token's `alg` must belong to the family of the key that verifies it. */
export type KeyType = 'RSA' | 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'Ed448' | 'oct';

/** A key ready to verify signatures: imported once when it is loaded, never per request. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when the publisher pinned one: the token's `alg` must then equal it. */
  readonly alg: string | undefined;
  readonly type: KeyType;
  readonly key: KeyObject;
}

/** Which key type each JWS algorithm needs (RFC 7518 §3, RFC 8037). */
export const KEY_TYPE_OF_ALG: Readonly<Record<string, readonly KeyType[]>> = {
  RS256: ['RSA'], RS384: ['RSA'], RS512: ['RSA'],
  PS256: ['RSA'], PS384: ['RSA'], PS512: ['RSA'],
  ES256: ['P-256'], ES384: ['P-384'], ES512: ['P-521'],
  EdDSA: ['Ed25519', 'Ed448'],
  HS256: ['oct'], HS384: ['oct'], HS512: ['oct'],
};

export function keyFitsAlgorithm(key: VerificationKey, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  return Object.hasOwn(KEY_TYPE_OF_ALG, alg) && KEY_TYPE_OF_ALG[alg]!.includes(key.type);
}
