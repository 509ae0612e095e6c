import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { bindToAnyIssuer, keyTrustedFor } from '../authz/key_binding.js';
import type { CompiledPolicy } from '../authz/policy.js';
import { importJwk } from '../keys/import_key.js';
import { StaticKeySource } from '../keys/static_key_source.js';
import type { VerificationKey } from '../keys/verification_key.js';

/** The algorithm a case is signed with: the first of these the policy allows. */
const PREFERENCE = ['ES256', 'RS256', 'PS256', 'EdDSA', 'ES384', 'ES512', 'RS384', 'RS512', 'PS384', 'PS512'] as const;
const SYMMETRIC = ['HS256', 'HS384', 'HS512'] as const;

interface ThrowawayKey {
  readonly alg: string;
  readonly signingKey: KeyObject | Uint8Array;
  readonly verificationKey: VerificationKey;
}

/**
 * Keys made for one `tokengate test` run and forgotten after it: each policy's key sources are replaced by a static
 * source holding them, so a case's claims can be signed on the fly and no key source is ever fetched.
 */
export class ThrowawayKeys {
  readonly #keys = new Map<string, ThrowawayKey>();

  /** The policy with these keys as its only key source, trusted for any issuer its own checks accept. */
  substitute(policy: CompiledPolicy): CompiledPolicy {
    const key = this.#forPolicy(policy);
    const keys = key ? [key.verificationKey] : [];
    const bound = [bindToAnyIssuer(new StaticKeySource(`tokengate-test:${policy.name}`, keys))];
    return { ...policy, keySources: bound, keyTrustedFor: (key, iss) => keyTrustedFor(bound, key, iss) };
  }

  /** A compact JWS of `claims` for this policy, with the algorithm it prefers. */
  async sign(policy: CompiledPolicy, claims: Record<string, unknown>): Promise<string> {
    const key = this.#forPolicy(policy);
    if (!key) throw new Error(`policy ${policy.name} allows no algorithm tokengate test can sign with`);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.verificationKey.kid! })
      .sign(key.signingKey);
  }

  /** One key per algorithm, made when a policy first needs it (an RSA key takes a moment). */
  #forPolicy(policy: CompiledPolicy): ThrowawayKey | undefined {
    const alg = [...PREFERENCE, ...SYMMETRIC].find((a) => policy.algorithms.has(a));
    return alg === undefined ? undefined : this.#key(alg);
  }

  #key(alg: string): ThrowawayKey | undefined {
    let key = this.#keys.get(alg);
    if (!key) {
      key = make(alg);
      if (key) this.#keys.set(alg, key);
    }
    return key;
  }
}

function make(alg: string): ThrowawayKey | undefined {
  const kid = `tokengate-test-${alg.toLowerCase()}`;
  if ((SYMMETRIC as readonly string[]).includes(alg)) {
    const secret = randomBytes(64);
    const verificationKey = importJwk({ kty: 'oct', k: secret.toString('base64url'), kid, alg });
    return { alg, signingKey: secret, verificationKey };
  }
  const pair = keyPair(alg);
  if (!pair) return undefined;
  const jwk = pair.publicKey.export({ format: 'jwk' });
  return { alg, signingKey: pair.privateKey, verificationKey: importJwk({ ...jwk, kid, alg }) };
}

function keyPair(alg: string): { publicKey: KeyObject; privateKey: KeyObject } | undefined {
  if (alg.startsWith('RS') || alg.startsWith('PS')) return generateKeyPairSync('rsa', { modulusLength: 2048 });
  if (alg === 'EdDSA') return generateKeyPairSync('ed25519');
  const curve = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg];
  return curve ? generateKeyPairSync('ec', { namedCurve: curve }) : undefined;
}
