import { constants, createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { IntrospectionClientAuth } from '../config/types.js';
import { jwsAlgorithm, type KeyType } from '../jwt/algorithms.js';
import { WatchedFile } from './watched_file.js';

/** What one introspection request carries to authenticate tokengate as a client. */
export interface ClientCredentials {
  readonly headers: Readonly<Record<string, string>>;
  readonly params: Readonly<Record<string, string>>;
}

export interface ClientAuthenticator {
  readonly method: IntrospectionClientAuth['method'];
  /** Fresh for each call: a private_key_jwt assertion is single-use (RFC 7523 §3, `jti`). */
  credentials(nowMs: number, endpoint: string): ClientCredentials;
  /** Why the credential file's last reload failed, while it stays failed. */
  lastError(): string | undefined;
  start(): void;
  stop(): void;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** RFC 7523 §3: the assertion must expire; a minute covers clock skew and the call, and little else. */
const ASSERTION_LIFETIME_SECONDS = 60;

/** Reads the secret or key file now (throws, naming the file, when it is unusable) and watches it once started. */
export function createClientAuth(
  clientId: string,
  auth: IntrospectionClientAuth,
  onReloadError: (message: string) => void,
): ClientAuthenticator {
  if (auth.method === 'private_key_jwt') {
    const file = new WatchedFile(
      auth.keyFile,
      (text) => readSigningKey(text, auth.algorithm, auth.keyId),
      onReloadError,
    );
    return authenticator(auth.method, file, (nowMs, endpoint) => ({
      headers: {},
      params: {
        client_id: clientId,
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: assertion(file.value, clientId, auth.audience ?? endpoint, nowMs),
      },
    }));
  }
  const file = new WatchedFile(auth.secretFile, readSecret, onReloadError);
  if (auth.method === 'client_secret_post') {
    return authenticator(auth.method, file, () => ({
      headers: {},
      params: { client_id: clientId, client_secret: file.value },
    }));
  }
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
  return authenticator(auth.method, file, () => ({
    headers: {
      authorization: `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(file.value)}`).toString('base64')}`,
    },
    params: {},
  }));
}

function authenticator<T>(
  method: IntrospectionClientAuth['method'],
  file: WatchedFile<T>,
  credentials: (nowMs: number, endpoint: string) => ClientCredentials,
): ClientAuthenticator {
  return { method, credentials, lastError: () => file.lastError, start: () => file.start(), stop: () => file.stop() };
}

/** A secret file holds the secret alone; the line break an editor or `echo` adds is not part of it. */
function readSecret(text: string): string {
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length === 0) throw new Error('the secret file is empty');
  return secret;
}

/** application/x-www-form-urlencoded, as RFC 6749 Appendix B defines it (a space is `+`). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

interface SigningKey {
  readonly key: KeyObject;
  readonly alg: string;
  readonly kid: string | undefined;
}

/** A private key as PEM (PKCS#8, PKCS#1 or SEC1) or as a private JWK. */
function readSigningKey(text: string, algorithm: string | undefined, keyId: string | undefined): SigningKey {
  let key: KeyObject;
  let kid = keyId;
  try {
    if (text.trimStart().startsWith('{')) {
      const jwk = JSON.parse(text) as Record<string, unknown>;
      if (kid === undefined && typeof jwk.kid === 'string') kid = jwk.kid;
      key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else {
      key = createPrivateKey(text);
    }
  } catch {
    // The parser's own message could quote the file: say only what it should have been.
    throw new Error('is not a private key (PEM or a private JWK)');
  }
  const type = keyType(key);
  const alg = algorithm ?? defaultAlgorithm(type);
  if (!type || !alg || !jwsAlgorithm(alg)?.keyTypes.includes(type) || jwsAlgorithm(alg)!.symmetric) {
    throw new Error(
      `a ${type ?? key.asymmetricKeyType ?? 'symmetric'} key cannot sign ${alg ?? 'any supported algorithm'}`,
    );
  }
  return { key, alg, kid };
}

const CURVES: Readonly<Record<string, KeyType>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function keyType(key: KeyObject): KeyType | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return 'RSA';
    case 'ec':
      return CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return undefined;
  }
}

function defaultAlgorithm(type: KeyType | undefined): string | undefined {
  const defaults: Partial<Record<KeyType, string>> = {
    RSA: 'RS256',
    'P-256': 'ES256',
    'P-384': 'ES384',
    'P-521': 'ES512',
    Ed25519: 'EdDSA',
    Ed448: 'EdDSA',
  };
  return type && defaults[type];
}

/**
 * RFC 7523 §2.2 and §3: a JWT signed with the client's key, `iss` = `sub` = the client id, `aud` = the endpoint (or
 * the configured audience), a fresh `jti` so it cannot be replayed, and an `exp` a minute away.
 */
function assertion(signer: SigningKey, clientId: string, audience: string, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const header = { alg: signer.alg, typ: 'JWT', ...(signer.kid === undefined ? {} : { kid: signer.kid }) };
  const claims = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: randomUUID(),
    iat: now,
    exp: now + ASSERTION_LIFETIME_SECONDS,
  };
  const input = `${base64url(header)}.${base64url(claims)}`;
  const spec = jwsAlgorithm(signer.alg)!;
  const signature = sign(spec.hash, Buffer.from(input), {
    key: signer.key,
    dsaEncoding: 'ieee-p1363',
    ...(spec.kind === 'pss'
      ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
      : {}),
  });
  return `${input}.${signature.toString('base64url')}`;
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
