import {
  X509Certificate,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import type { DecryptionKeyConfig, StaticKeyConfig } from '../config/types.js';
import type { KeyType, VerificationKey } from './verification_key.js';

const MIN_RSA_BITS = 2048;
const MIN_SECRET_BYTES = 16;

/** Imports one JWK from a JWKS or the config. Throws an Error saying why a key is unusable. */
export function importJwk(jwk: Readonly<Record<string, unknown>>): VerificationKey {
  const kid = optionalMember(jwk, 'kid');
  const alg = optionalMember(jwk, 'alg');
  const use = optionalMember(jwk, 'use');
  if (use !== undefined && use !== 'sig') throw new Error(`key ${kid ?? '(no kid)'} has use "${use}", not "sig"`);
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) {
    throw new Error(`key ${kid ?? '(no kid)'} has key_ops without "verify"`);
  }
  if (jwk.d !== undefined) throw new Error(`key ${kid ?? '(no kid)'} is a private key: publish only public keys`);
  if (jwk.kty === 'oct') {
    if (typeof jwk.k !== 'string') throw new Error('an oct key needs "k"');
    return secretKey(Buffer.from(jwk.k, 'base64url'), kid, alg);
  }
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') {
    throw new Error(`key ${kid ?? '(no kid)'} has unsupported kty ${JSON.stringify(jwk.kty)}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (err) {
    throw new Error(`key ${kid ?? '(no kid)'} is not a valid ${String(jwk.kty)} JWK: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const issuer = optionalMember(jwk, 'issuer');
  return { kid, alg, type: publicKeyType(key), key, ...(issuer === undefined ? {} : { issuer }) };
}

/** Imports a key given in the policy's `issuerSigningKeys`, in any of its forms. */
export function importStaticKey(spec: StaticKeyConfig): VerificationKey {
  switch (spec.form) {
    case 'jwk':
      return importJwk(spec.jwk);
    case 'rsa':
      return { ...importJwk({ kty: 'RSA', n: spec.n, e: spec.e }), kid: spec.id };
    case 'symmetric': {
      return secretKey(base64Bytes(spec.base64), spec.id, undefined);
    }
    case 'pem':
      return { kid: spec.id, alg: undefined, ...importPem(spec.pem) };
  }
}

function importPem(pem: string): { type: KeyType; key: KeyObject } {
  if (/PRIVATE KEY-----/.test(pem)) throw new Error('pem: give the public key or certificate, never a private key');
  let key: KeyObject;
  try {
    key = pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
  } catch (err) {
    throw new Error(`pem: not a PEM public key or X.509 certificate (${(err as Error).message})`, { cause: err });
  }
  return { type: publicKeyType(key), key };
}

function secretKey(bytes: Buffer, kid: string | undefined, alg: string | undefined): VerificationKey {
  if (bytes.length < MIN_SECRET_BYTES) throw new Error(`a symmetric key needs at least ${MIN_SECRET_BYTES} bytes`);
  return { kid, alg, type: 'oct', key: createSecretKey(bytes) };
}

function publicKeyType(key: KeyObject): KeyType {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details.modulusLength ?? 0) < MIN_RSA_BITS) throw new Error(`RSA keys need at least ${MIN_RSA_BITS} bits`);
      return 'RSA';
    case 'ec': {
      const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[details.namedCurve ?? ''];
      if (!curve) throw new Error(`unsupported EC curve ${details.namedCurve}`);
      return curve as KeyType;
    }
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType}`);
  }
}

function optionalMember(jwk: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = jwk[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`JWK member "${name}" must be a string`);
  return value;
}

/** A key that decrypts JWE tokens: a private RSA/EC/OKP key, or a symmetric key for A*KW / dir. */
export interface DecryptionKey {
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

export function importDecryptionKey(spec: DecryptionKeyConfig): DecryptionKey {
  try {
    switch (spec.form) {
      case 'symmetric':
        return { kid: spec.id, key: decryptionSecret(base64Bytes(spec.base64)) };
      case 'pem':
        return { kid: spec.id, key: createPrivateKey(spec.pem) };
      case 'jwk': {
        const kid = optionalMember(spec.jwk, 'kid');
        if (spec.jwk.kty === 'oct') {
          if (typeof spec.jwk.k !== 'string') throw new Error('an oct key needs "k"');
          return { kid, key: decryptionSecret(Buffer.from(spec.jwk.k, 'base64url')) };
        }
        if (spec.jwk.d === undefined) throw new Error('a decryption JWK must be a private key (with "d")');
        return { kid, key: createPrivateKey({ key: spec.jwk as JsonWebKey, format: 'jwk' }) };
      }
    }
  } catch (err) {
    throw new Error(`decryption key: ${(err as Error).message}`, { cause: err });
  }
}

/** The smallest key any JWE algorithm uses is 16 bytes (A128KW, dir with A128GCM; RFC 7518 §4.4, §5.3). */
function decryptionSecret(bytes: Buffer): KeyObject {
  if (bytes.length < MIN_SECRET_BYTES)
    throw new Error(`a symmetric key needs at least ${MIN_SECRET_BYTES} bytes: no JWE algorithm uses fewer`);
  return createSecretKey(bytes);
}

/** The config's `base64` keys: standard base64 (APIM's form), checked strictly since Buffer.from skips bad input. */
function base64Bytes(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) throw new Error('base64: not valid base64');
  return Buffer.from(text, 'base64');
}
