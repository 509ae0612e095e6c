// Signing keys of the development issuer: generation, the published JWKS, and
// signing. Keys stay in memory only; a restart of the dev issuer rotates them all.
import { createPublicKey, KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8 } from 'jose';
import type { CryptoKey, JWK } from 'jose';
import { ASYMMETRIC_ALGORITHMS } from '../jwt/algorithms.js';
import { signJwt as signCompact } from './jws.js';

/** Every asymmetric JWS algorithm: an issuer publishes public keys, never a secret. */
export const SUPPORTED_ALGORITHMS: readonly string[] = ASYMMETRIC_ALGORITHMS;

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  /** The same private key, for node:crypto (./jws.ts) and for worker threads, which can receive KeyObjects. */
  readonly keyObject: KeyObject;
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

  /**
   * A new key for `alg`, or the PKCS#8 PEM `pem` (a key made beforehand, e.g. the bench's, whose tokens exist
   * already). `onAdded` runs as the key enters the ring, before any JWKS can list it.
   */
  async add(alg: string, kid?: string, pem?: string, onAdded?: (key: SigningKey) => void): Promise<SigningKey> {
    assertSupportedAlgorithm(alg);
    if (kid !== undefined && (kid === '' || this.#keys.has(kid))) {
      throw new Error(`dev issuer: kid "${kid}" is empty or already in use`);
    }
    // extractable so callers can export the private key for out-of-band tooling.
    const privateKey =
      pem === undefined
        ? (await generateKeyPair(alg, { extractable: true })).privateKey
        : await importPKCS8(pem, alg, { extractable: true });
    const keyObject = KeyObject.from(privateKey);
    const jwk = await exportJWK(createPublicKey(keyObject));
    // A thumbprint-derived kid is stable for the key and readable in logs.
    const finalKid = kid ?? `${alg.toLowerCase()}-${(await calculateJwkThumbprint(jwk)).slice(0, 12)}`;
    if (this.#keys.has(finalKid)) throw new Error(`dev issuer: kid "${finalKid}" already in use`);
    const key: SigningKey = {
      kid: finalKid,
      alg,
      privateKey,
      keyObject,
      publicJwk: { ...jwk, kid: finalKid, alg, use: 'sig' },
      published: true,
    };
    this.#keys.set(finalKid, key);
    onAdded?.(key);
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
    const current = this.published()
      .filter((k) => k.alg === alg)
      .at(-1);
    if (!current) {
      throw new Error(`dev issuer: no published ${alg} key (pass an explicit kid to sign with an unpublished key)`);
    }
    return current;
  }
}

/** A compact JWS by `key`; `header` gains the key's `alg`. */
export function signJwt(key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown>): string {
  return signCompact(key.alg, key.keyObject, header, payload);
}
