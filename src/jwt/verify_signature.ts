import { constants, createHmac, timingSafeEqual, verify } from 'node:crypto';
import type { VerificationKey } from '../keys/verification_key.js';
import { jwsAlgorithm } from './algorithms.js';

/**
 * Verifies a JWS signature with node:crypto directly. Synchronous on purpose: one RS256 verification is
 * ~22 µs, less than the hop to the threadpool costs, and jose's extra per-token work (~30 µs on Node 20)
 * is avoided. The caller has already checked that `key` fits `alg` (keyFitsAlgorithm); the key family is checked
 * again here because node:crypto would otherwise happily run `verify('sha256', …)` with an EC key as DER ECDSA, or an
 * HMAC keyed with a public key's bytes. jose stays the reference implementation in test/security/differential.test.ts.
 */
export function verifySignature(alg: string, key: VerificationKey, signingInput: Buffer, signature: Buffer): boolean {
  const spec = jwsAlgorithm(alg);
  if (!spec || !spec.keyTypes.includes(key.type)) return false;
  if (key.key.type !== (spec.kind === 'hmac' ? 'secret' : 'public')) return false;
  try {
    switch (spec.kind) {
      case 'hmac': {
        const expected = createHmac(spec.hash!, key.key).update(signingInput).digest();
        return expected.length === signature.length && timingSafeEqual(expected, signature);
      }
      case 'pkcs1':
        if (!hasModulusLength(key, signature)) return false;
        return verify(spec.hash, signingInput, key.key, signature);
      case 'pss':
        if (!hasModulusLength(key, signature)) return false;
        return verify(
          spec.hash,
          signingInput,
          { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        );
      case 'ecdsa':
        // A high-S signature (s > n/2) is accepted, as jose and OpenSSL accept it: RFC 7518 §3.4 asks only for
        // R || S of the curve's length, not low S. Low-S rules exist against malleability (one message, two valid
        // signatures) in ledgers that key on the signature; a bearer check keys on nothing of the kind, and the
        // token cache keys on the whole token string, so a second string for the same claims gains nothing.
        if (signature.length !== spec.signatureLength) return false;
        return verify(spec.hash, signingInput, { key: key.key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'eddsa':
        return verify(null, signingInput, key.key, signature);
    }
  } catch {
    return false;
  }
}

/**
 * RFC 8017 §8.1.2 step 1 (PSS) and §8.2.2 step 1 (PKCS#1 v1.5): the signature must be exactly k bytes, k the modulus
 * length in bytes. OpenSSL's PKCS#1 v1.5 path checks this, its PSS path does not: a PSS signature whose first byte is 0
 * would verify with that byte dropped, a second accepted string for one signed token. Checked here for every RSA
 * algorithm, so the rule does not depend on the padding.
 */
function hasModulusLength(key: VerificationKey, signature: Buffer): boolean {
  const bits = key.key.asymmetricKeyDetails?.modulusLength;
  return bits !== undefined && signature.length === Math.ceil(bits / 8);
}
