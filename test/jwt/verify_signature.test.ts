// verify_signature against real keys from node:crypto: the exact RSA signature length of RFC 8017 for every RSA
// algorithm, and the ECDSA rules (exact R || S length, high S accepted).
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/jwt/verify_signature.js';
import type { VerificationKey } from '../../src/keys/verification_key.js';

const INPUT = Buffer.from('eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9');
const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;

function rsaPair(bits: number): { privateKey: KeyObject; key: VerificationKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKey, key: { kid: undefined, alg: undefined, type: 'RSA', key: publicKey } };
}

function rsaSign(alg: string, privateKey: KeyObject, input: Buffer): Buffer {
  const padding = alg.startsWith('PS') ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
  return sign(`sha${alg.slice(2)}`, input, { key: privateKey, padding, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
}

/** A signature whose first byte is 0 (about 1 in 256), with the input it signs: PKCS#1 v1.5 needs varied inputs. */
function signatureStartingWithZero(alg: string, privateKey: KeyObject): { input: Buffer; signature: Buffer } {
  for (let i = 0; i < 20_000; i++) {
    const input = Buffer.concat([INPUT, Buffer.from(`.${i}`)]);
    const signature = rsaSign(alg, privateKey, input);
    if (signature[0] === 0) return { input, signature };
  }
  throw new Error(`no ${alg} signature starting with a zero byte`);
}

describe('RSA signatures are exactly the modulus length (RFC 8017 §8.1.2, §8.2.2)', () => {
  const rsa2048 = rsaPair(2048);

  for (const alg of RSA_ALGS) {
    it(`${alg}: the full-length signature verifies; with its leading zero byte dropped, or a zero byte added, it does not`, () => {
      const { input, signature } = signatureStartingWithZero(alg, rsa2048.privateKey);
      expect(signature.length).toBe(256);
      expect(verifySignature(alg, rsa2048.key, input, signature)).toBe(true);
      expect(verifySignature(alg, rsa2048.key, input, signature.subarray(1))).toBe(false);
      expect(verifySignature(alg, rsa2048.key, input, Buffer.concat([Buffer.from([0]), signature]))).toBe(false);
    });
  }

  it('a modulus that is not a whole number of bytes (2052 bits) needs ceil(bits / 8) = 257 bytes', () => {
    const odd = rsaPair(2052);
    for (const alg of ['RS256', 'PS256']) {
      const signature = rsaSign(alg, odd.privateKey, INPUT);
      expect(signature.length).toBe(257);
      expect(verifySignature(alg, odd.key, INPUT, signature)).toBe(true);
      expect(verifySignature(alg, odd.key, INPUT, Buffer.concat([signature, Buffer.from([0])]))).toBe(false);
    }
  });
});

describe('ECDSA', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key: VerificationKey = { kid: undefined, alg: undefined, type: 'P-256', key: publicKey };
  const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
  const signature = sign('sha256', INPUT, { key: privateKey, dsaEncoding: 'ieee-p1363' });

  it('a high-S signature (r, n - s) verifies: RFC 7518 §3.4 does not require low S, and jose accepts it too', () => {
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const highS = Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
    expect(highS.equals(signature)).toBe(false);
    expect(verifySignature('ES256', key, INPUT, signature)).toBe(true);
    expect(verifySignature('ES256', key, INPUT, highS)).toBe(true);
  });

  it('R || S must be exactly 64 bytes for ES256 (a DER signature or a shortened one is refused)', () => {
    expect(verifySignature('ES256', key, INPUT, sign('sha256', INPUT, privateKey))).toBe(false);
    expect(verifySignature('ES256', key, INPUT, signature.subarray(1))).toBe(false);
  });
});
