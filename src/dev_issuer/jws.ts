// The one JWS signer of the project's tooling: the dev issuer, the tests' issuers, the bench's token sets and the
// soak all sign through it. node:crypto directly: about three times jose's SignJWT rate for ES256 here, which the
// soak needs (~2k fresh tokens/s), and it takes the KeyObjects that worker threads can receive.
// (The security tests' forger, test/security/helpers/forge.ts, stays apart: it signs arbitrary header and payload
// bytes, HMAC secrets and odd PSS salt lengths on purpose, which no issuer does.)
import { constants, sign, type KeyObject } from 'node:crypto';
import { jwsAlgorithm } from '../jwt/algorithms.js';

/** A JSON value as one base64url segment of a compact JWS (RFC 7515 §7.1). */
export function jsonSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The signature `alg` gives over `signingInput` with a private key (RFC 7518 §3.3-§3.5, RFC 8037 §3.1). */
export function jwsSignature(alg: string, privateKey: KeyObject, signingInput: string): Buffer {
  const spec = jwsAlgorithm(alg);
  if (!spec || spec.symmetric) throw new Error(`jws: cannot sign ${alg} with a private key`);
  const data = Buffer.from(signingInput);
  switch (spec.kind) {
    case 'pkcs1':
      return sign(spec.hash, data, privateKey);
    case 'pss':
      // RFC 7518 §3.5: the salt is as long as the digest.
      return sign(spec.hash, data, {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      });
    case 'ecdsa':
      // RFC 7518 §3.4: R || S, not DER.
      return sign(spec.hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    default:
      return sign(null, data, privateKey);
  }
}

/**
 * Signs many tokens with one key and one protected header, encoded once. `header` gains `alg` (last, always the
 * key's); a `kid` or `typ` is the caller's to give.
 */
export class JwsSigner {
  readonly alg: string;
  readonly headerSegment: string;
  readonly #key: KeyObject;

  constructor(alg: string, privateKey: KeyObject, header: Record<string, unknown> = {}) {
    this.alg = alg;
    this.#key = privateKey;
    this.headerSegment = jsonSegment({ ...header, alg });
  }

  /** A compact JWS of `payload` (an object, JSON-encoded). */
  sign(payload: Record<string, unknown>): string {
    const input = `${this.headerSegment}.${jsonSegment(payload)}`;
    return `${input}.${jwsSignature(this.alg, this.#key, input).toString('base64url')}`;
  }
}

/** One token: a JwsSigner used once. */
export function signJwt(
  alg: string,
  privateKey: KeyObject,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  return new JwsSigner(alg, privateKey, header).sign(payload);
}
