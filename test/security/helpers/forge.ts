// Token forging for the security tests: sign arbitrary header and payload *bytes* (duplicate members, invalid
// UTF-8, unencoded payloads…) with node:crypto, which jose's SignJWT cannot produce since it serialises objects.
import {
  constants,
  createHmac,
  generateKeyPairSync,
  sign as cryptoSign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { ALL_ALGORITHMS, ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS, jwsAlgorithm } from '../../../src/jwt/algorithms.js';

export type Bytes = string | Buffer;

// The algorithm facts come from tokengate's own table, so the forger and the verifier cannot drift apart.
export const ASYMMETRIC = ASYMMETRIC_ALGORITHMS;
export const SYMMETRIC = SYMMETRIC_ALGORITHMS;
export const ALL_ALGS: readonly string[] = ALL_ALGORITHMS;

export function b64u(input: Bytes): string {
  return (typeof input === 'string' ? Buffer.from(input, 'utf8') : input).toString('base64url');
}

function hashOf(alg: string): string {
  const hash = jwsAlgorithm(alg)?.hash;
  if (!hash) throw new Error(`forge: no digest for ${alg}`);
  return hash;
}

/** The signature bytes `alg` gives over `signingInput` with `key` (a private KeyObject, or secret bytes for HS*). */
export function signatureOf(alg: string, key: KeyObject | Buffer, signingInput: string, options: { pssSaltLength?: number } = {}): Buffer {
  const data = Buffer.from(signingInput, 'latin1');
  const kind = jwsAlgorithm(alg)?.kind;
  if (kind === 'hmac') return createHmac(hashOf(alg), key).update(data).digest();
  const k = key as KeyObject;
  if (kind === 'pkcs1') return cryptoSign(hashOf(alg), data, k);
  if (kind === 'pss') {
    return cryptoSign(hashOf(alg), data, {
      key: k,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: options.pssSaltLength ?? constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  if (kind === 'ecdsa') return cryptoSign(hashOf(alg), data, { key: k, dsaEncoding: 'ieee-p1363' });
  if (kind === 'eddsa') return cryptoSign(null, data, k);
  throw new Error(`forge: cannot sign ${alg}`);
}

/**
 * A compact JWS over the given header and payload. Objects are JSON-serialised; strings and Buffers are used as the
 * exact bytes to encode (so duplicate members or bad UTF-8 survive). `signAs` picks the algorithm used to compute
 * the signature when it differs from the header (e.g. a header claiming `alg: none` with a real RS256 signature).
 */
export function forge(
  signAs: string,
  key: KeyObject | Buffer,
  header: Bytes | Record<string, unknown>,
  payload: Bytes | Record<string, unknown>,
  options: { pssSaltLength?: number; rawPayloadSegment?: string } = {},
): string {
  const h = b64u(typeof header === 'string' || Buffer.isBuffer(header) ? header : JSON.stringify(header));
  const p = options.rawPayloadSegment ?? b64u(typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload));
  const input = `${h}.${p}`;
  return `${input}.${signatureOf(signAs, key, input, options).toString('base64url')}`;
}

/** An unsigned token: `header.payload.` plus an optional signature segment. */
export function unsigned(header: Bytes | Record<string, unknown>, payload: Bytes | Record<string, unknown>, signature = ''): string {
  const h = b64u(typeof header === 'string' || Buffer.isBuffer(header) ? header : JSON.stringify(header));
  const p = b64u(typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload));
  return `${h}.${p}.${signature}`;
}

export interface TestKey {
  readonly kid: string;
  /** The algorithms this key can sign. */
  readonly algs: readonly string[];
  /** Private KeyObject, or the secret for HS*. */
  readonly signing: KeyObject | Buffer;
  /** The public JWK (or the oct JWK), without kid/alg. */
  readonly jwk: JsonWebKey;
  readonly publicKey: KeyObject | undefined;
}

function asymmetric(kid: string, algs: readonly string[], pair: { privateKey: KeyObject; publicKey: KeyObject }): TestKey {
  return { kid, algs, signing: pair.privateKey, publicKey: pair.publicKey, jwk: pair.publicKey.export({ format: 'jwk' }) };
}

export function rsaKey(kid: string, modulusLength = 2048): TestKey {
  return asymmetric(kid, ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'], generateKeyPairSync('rsa', { modulusLength }));
}

export function ecKey(kid: string, curve: 'P-256' | 'P-384' | 'P-521'): TestKey {
  const alg = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[curve];
  return asymmetric(kid, [alg], generateKeyPairSync('ec', { namedCurve: curve }));
}

export function edKey(kid: string): TestKey {
  return asymmetric(kid, ['EdDSA'], generateKeyPairSync('ed25519'));
}

export function hmacKey(kid: string, secret: Buffer, algs: readonly string[] = SYMMETRIC): TestKey {
  return { kid, algs, signing: secret, publicKey: undefined, jwk: { kty: 'oct', k: secret.toString('base64url') } };
}

/** YAML lines for `issuerSigningKeys` entries (flow style, one per line), indented by `indent` spaces. */
export function staticKeysYaml(keys: readonly { key: TestKey; pinAlg?: string }[], indent: number): string {
  const pad = ' '.repeat(indent);
  return keys
    .map(({ key, pinAlg }) => `${pad}- jwk: ${JSON.stringify({ ...key.jwk, kid: key.kid, ...(pinAlg ? { alg: pinAlg } : {}) })}`)
    .join('\n');
}

/** The standard good claims for `now` (seconds). */
export function claimsFor(now: number, iss: string, aud: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss, aud, sub: 'alice', iat: now, nbf: now, exp: now + 600, ...extra };
}

/** Every casing of "none": none, nonE, …, NONE (16). */
export function noneCasings(): string[] {
  const out: string[] = [];
  for (let mask = 0; mask < 16; mask++) {
    out.push([...'none'].map((c, i) => ((mask >> i) & 1 ? c.toUpperCase() : c)).join(''));
  }
  return out;
}
