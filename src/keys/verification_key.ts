import type { KeyObject } from 'node:crypto';
import { jwsAlgorithm, type KeyType } from '../jwt/algorithms.js';

export type { KeyType };

/** A key ready to verify signatures: imported once when it is loaded, never per request. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when the publisher pinned one: the token's `alg` must then equal it. */
  readonly alg: string | undefined;
  readonly type: KeyType;
  readonly key: KeyObject;
}

/** Whether `key` may verify `alg`: the key's family (JWS_ALGORITHMS), and the JWK's own `alg` when it pins one. */
export function keyFitsAlgorithm(key: VerificationKey, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  return jwsAlgorithm(alg)?.keyTypes.includes(key.type) ?? false;
}
