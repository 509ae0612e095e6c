// Signing keys of the development issuer: generation, the published JWKS, and
// signing. Keys stay in memory only; a restart of the dev issuer rotates them all.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../jwt/algorithms.js';

/** Every asymmetric JWS algorithm: an issuer publishes public keys, never a secret. */
export const SUPPORTED_ALGORITHMS: readonly string[] = ASYMMETRIC_ALGORITHMS;

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  published: boolean;
}

export function assertSupportedAlgorithm(alg: string): void {
  if (!SUPPORTED_ALGORITHMS.includes(alg)) {
    throw new Error(`dev issuer: unsupported algorithm "${alg}" (supported: ${SUPPORTED_ALGORITHMS.join(', ')})`);
  }
}

export class KeyRing {
  // Insertion order matters: the newest published key of an alg is its "current" key,
  // and the JWKS lists keys in the order they were added.
  readonly #keys = new Map<string, SigningKey>();

  async add(alg: string, kid?: string): Promise<SigningKey> {
    assertSupportedAlgorithm(alg);
    if (kid !== undefined && (kid === '' || this.#keys.has(kid))) {
      throw new Error(`dev issuer: kid "${kid}" is empty or already in use`);
    }
    // extractable so callers can export the private key for out-of-band tooling.
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(publicKey);
    // A thumbprint-derived kid is stable for the key and readable in logs.
    const finalKid = kid ?? `${alg.toLowerCase()}-${(await calculateJwkThumbprint(jwk)).slice(0, 12)}`;
    if (this.#keys.has(finalKid)) throw new Error(`dev issuer: kid "${finalKid}" already in use`);
    const key: SigningKey = {
      kid: finalKid,
      alg,
      privateKey,
      publicJwk: { ...jwk, kid: finalKid, alg, use: 'sig' },
      published: true,
    };
    this.#keys.set(finalKid, key);
    return key;
  }

  unpublish(kid: string): void {
    const key = this.#keys.get(kid);
    if (!key) throw new Error(`dev issuer: unknown kid "${kid}"`);
    key.published = false;
  }

  published(): SigningKey[] {
    return [...this.#keys.values()].filter((k) => k.published);
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.published().map((k) => ({ ...k.publicJwk })) };
  }

  // An explicit kid may name an unpublished key, so tests can mint tokens the
  // verifier must reject; picking by alg only considers published keys.
  pick(alg: string | undefined, kid: string | undefined): SigningKey {
    if (kid !== undefined) {
      const key = this.#keys.get(kid);
      if (!key) throw new Error(`dev issuer: unknown kid "${kid}"`);
      if (alg !== undefined && alg !== key.alg) {
        throw new Error(`dev issuer: kid "${kid}" is a ${key.alg} key, not ${alg}`);
      }
      return key;
    }
    if (alg === undefined) throw new Error('dev issuer: no algorithm given and none configured');
    const current = this.published().filter((k) => k.alg === alg).at(-1);
    if (!current) {
      throw new Error(`dev issuer: no published ${alg} key (pass an explicit kid to sign with an unpublished key)`);
    }
    return current;
  }
}

export async function signJwt(
  key: SigningKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown>,
): Promise<string> {
  // jose refuses to sign headers whose `crit` names extensions it does not know;
  // declaring them here lets tests produce such tokens for the verifier to reject.
  const crit = Array.isArray(header['crit'])
    ? Object.fromEntries(header['crit'].filter((c): c is string => typeof c === 'string').map((c) => [c, false]))
    : undefined;
  return new SignJWT(payload)
    .setProtectedHeader({ ...header, alg: key.alg })
    .sign(key.privateKey, crit ? { crit } : undefined);
}
