import { createHash, createHmac, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

/** A DPoP client's key pair, as a client library would hold it: the private key and its public JWK. */
export interface ProofKey {
  readonly privateKey: KeyObject;
  readonly publicJwk: Record<string, unknown>;
  readonly thumbprint: string;
}

export async function es256Key(): Promise<ProofKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { privateKey, publicJwk, thumbprint: await calculateJwkThumbprint(publicJwk as JWK, 'sha256') };
}

export interface ProofOptions {
  htm?: string;
  htu?: string;
  /** Seconds. */
  iat?: number;
  jti?: string;
  /** The access token whose hash goes in `ath`; undefined = no ath (a token request's proof). */
  token?: string;
  ath?: string;
  nonce?: string;
  /** Header overrides: typ, alg, jwk (e.g. the private JWK). */
  header?: Record<string, unknown>;
  /** Sign with HMAC-SHA256 over this secret instead of the key (the HS256 proof). */
  hmacSecret?: Buffer;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A DPoP proof (RFC 9449 §4.2) signed with `key` (ES256), every part overridable for the broken-rule tests. */
export function dpopProof(key: ProofKey, options: ProofOptions = {}): string {
  const header = {
    typ: 'dpop+jwt',
    alg: options.hmacSecret ? 'HS256' : 'ES256',
    jwk: key.publicJwk,
    ...options.header,
  };
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomUUID(),
    htm: options.htm ?? 'GET',
    htu: options.htu ?? 'http://api.example.com/orders',
    iat: options.iat ?? Math.floor(Date.now() / 1000),
  };
  if (options.token !== undefined) claims.ath = createHash('sha256').update(options.token).digest('base64url');
  if (options.ath !== undefined) claims.ath = options.ath;
  if (options.nonce !== undefined) claims.nonce = options.nonce;
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = options.hmacSecret
    ? createHmac('sha256', options.hmacSecret).update(input).digest()
    : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
