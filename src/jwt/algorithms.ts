/** Key families; a token's `alg` must belong to the family of the key that verifies it. */
export type KeyType = 'RSA' | 'P-256' | 'P-384' | 'P-521' | 'Ed25519' | 'Ed448' | 'oct';

export interface JwsAlgorithm {
  /** The digest, for node:crypto; EdDSA hashes internally. */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  readonly kind: 'pkcs1' | 'pss' | 'ecdsa' | 'eddsa' | 'hmac';
  /** The key types it verifies with (RFC 7518 §3, RFC 8037 §3.1). */
  readonly keyTypes: readonly KeyType[];
  /** HMAC: verified only with the policy's own secrets, never with a key from the network. */
  readonly symmetric: boolean;
  /**
   * ECDSA: the exact length of an IEEE P1363 (R || S) signature (RFC 7518 §3.4). RSA signatures are exactly the
   * modulus length instead (RFC 8017 §8.1.2, §8.2.2), which depends on the key.
   */
  readonly signatureLength?: number;
}

const rsa = (hash: JwsAlgorithm['hash'], kind: 'pkcs1' | 'pss'): JwsAlgorithm => ({
  hash,
  kind,
  keyTypes: ['RSA'],
  symmetric: false,
});
const hmac = (hash: JwsAlgorithm['hash']): JwsAlgorithm => ({ hash, kind: 'hmac', keyTypes: ['oct'], symmetric: true });

/** The JWS algorithms tokengate knows, the one table of their facts. `none` is not one of them. */
export const JWS_ALGORITHMS = {
  RS256: rsa('sha256', 'pkcs1'),
  RS384: rsa('sha384', 'pkcs1'),
  RS512: rsa('sha512', 'pkcs1'),
  PS256: rsa('sha256', 'pss'),
  PS384: rsa('sha384', 'pss'),
  PS512: rsa('sha512', 'pss'),
  ES256: { hash: 'sha256', kind: 'ecdsa', keyTypes: ['P-256'], symmetric: false, signatureLength: 64 },
  ES384: { hash: 'sha384', kind: 'ecdsa', keyTypes: ['P-384'], symmetric: false, signatureLength: 96 },
  ES512: { hash: 'sha512', kind: 'ecdsa', keyTypes: ['P-521'], symmetric: false, signatureLength: 132 },
  EdDSA: { hash: null, kind: 'eddsa', keyTypes: ['Ed25519', 'Ed448'], symmetric: false },
  HS256: hmac('sha256'),
  HS384: hmac('sha384'),
  HS512: hmac('sha512'),
} as const satisfies Record<string, JwsAlgorithm>;

export type JwsAlgorithmName = keyof typeof JWS_ALGORITHMS;

export const ALL_ALGORITHMS = Object.keys(JWS_ALGORITHMS) as readonly JwsAlgorithmName[];
export const ASYMMETRIC_ALGORITHMS = ALL_ALGORITHMS.filter((a) => !JWS_ALGORITHMS[a].symmetric);
export const SYMMETRIC_ALGORITHMS = ALL_ALGORITHMS.filter((a) => JWS_ALGORITHMS[a].symmetric);

/** The algorithm named by a token or a config, or undefined. hasOwn: `alg` may be "constructor". */
export function jwsAlgorithm(alg: string): JwsAlgorithm | undefined {
  return Object.hasOwn(JWS_ALGORITHMS, alg) ? JWS_ALGORITHMS[alg as JwsAlgorithmName] : undefined;
}
