/**
 * What the corpus of corpus_e2e.test.ts is made of (the cases are in corpus_identity.ts and corpus_values.ts): for each policy file, what the import must say (exit code, one pattern per stderr
 * line), and for the ones that import (or, refused, import with --allow-partial), the documents a test issuer serves
 * in the shape of the real identity provider and the decisions tokengate must reach. A refused document's partial
 * import must deny every request its gap concerns.
 */
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactEncrypt, SignJWT } from 'jose';
import type { ShapedIssuer } from '../helpers/shaped_issuer.js';

export const T1 = '9c5e0f3a-7b2d-4e61-8a90-3f1d2c4b5a6e';
export const T2 = 'b4e1d2c3-0a9f-4e8d-9c7b-6a5f4e3d2c1b';
export const T3 = 'e7f6a5b4-c3d2-4e1f-8a0b-9c8d7e6f5a4b';
/** The API's application (client) id, and the calling application's. */
export const API = '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a';
export const CALLER = '0a1b2c3d-4e5f-4a6b-9c8d-7e6f5a4b3c2d';
export const HS_SECRET = Buffer.from('q0Yb1dXGTcs3hmYQm7cf5cdKoL8y0DR3u2uE8PW9y7w=', 'base64');

const BUNDLE = readFileSync(
  join(import.meta.dirname, '..', 'fixtures', 'apim', 'certs', 'jwt-signer.bundle.pem'),
  'utf8',
);
export const CERTIFICATE_BUNDLE = BUNDLE;
export const CERT_PRIVATE = createPrivateKey(BUNDLE);
const CERT_PUBLIC = new X509Certificate(BUNDLE.slice(BUNDLE.indexOf('-----BEGIN CERTIFICATE-----'))).publicKey;
export const STRANGER = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/** `base('login')`: where the case's identity provider host is served on the test issuer. */
export type Base = (sub: string) => string;

export interface CorpusRequest {
  readonly label: string;
  readonly method?: string;
  readonly path?: string;
  readonly token?: (idp: ShapedIssuer, base: Base) => Promise<string>;
  /** `allow`, a deny reason, or `deny` when any denial will do. */
  readonly expect: 'allow' | 'deny' | string;
}

export interface CorpusCase {
  readonly file: string;
  readonly summary: string;
  readonly exit: 0 | 1 | 2;
  readonly stderr: readonly RegExp[];
  readonly namedValues?: Record<string, string>;
  /** Certificate ids given the test bundle with --certificate. */
  readonly certificates?: readonly string[];
  /** Real origins → a path under the case's base on the test issuer (`/` for the test issuer's own origin). */
  readonly hosts?: Record<string, string>;
  /** Done to the YAML first: what the user's deployment does (sed), or what only a loopback test needs. */
  readonly edit?: (yaml: string, base: Base) => string;
  readonly setup?: (idp: ShapedIssuer, base: Base) => Promise<void>;
  readonly requests?: readonly CorpusRequest[];
}

export const sign = (claims: Record<string, unknown>, key: Parameters<SignJWT['sign']>[0], alg = 'RS256') =>
  new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('5m').sign(key);

/** A signed token encrypted for the certificate's key (RFC 7516 compact, RSA-OAEP-256 with A256GCM). */
export const nested = async (signed: string) =>
  new CompactEncrypt(new TextEncoder().encode(signed))
    .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' })
    .encrypt(CERT_PUBLIC);

export const now = () => Math.floor(Date.now() / 1000);
export const ENTRA_V2 = (b: Base, tid: string, extra: Record<string, unknown> = {}) => ({
  iss: `${b('login')}/${tid}/v2.0`,
  tid,
  aud: API,
  azp: CALLER,
  ver: '2.0',
  ...extra,
});
export const ENTRA_V1 = (b: Base, tid: string, extra: Record<string, unknown> = {}) => ({
  iss: `${b('sts')}/${tid}/`,
  tid,
  aud: `api://${API}`,
  appid: CALLER,
  ver: '1.0',
  ...extra,
});
export const ENTRA_HOSTS = { 'https://login.microsoftonline.com': 'login', 'https://sts.windows.net': 'sts' };

/** An Entra tenant's v2 document (and JWKS with key `kid`) under `base('login')`. */
export const entraV2Document = (tenant: string, kid: string) => (idp: ShapedIssuer, b: Base) =>
  idp.document(
    `${new URL(b('login')).pathname}/${tenant}/v2.0/.well-known/openid-configuration`,
    () => `${b('login')}/${tenant}/v2.0`,
    `${new URL(b('login')).pathname}/${tenant}/keys`,
    kid,
  );

export const NAMED_VALUES_MISSING = (line: number, name: string, what: string) =>
  new RegExp(
    `^c\\d\\d-[a-z0-9-]+\\.xml:${line}: ${what}: (named value \\{\\{${name}\\}\\}|template placeholder \\$\\{${name}\\}) (has no value|is not a value): give it with --named-value "${name}=VALUE"`,
  );
