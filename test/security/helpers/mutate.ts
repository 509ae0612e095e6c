// fast-check arbitraries for tokens: properly signed ones (recorded in a registry, so a test knows exactly which
// strings a given key signed) and mutations of them — bit flips, swapped segments, random base64url, header and
// payload JSON edits re-encoded with or without re-signing, alg changes, encoding tricks.
import fc from 'fast-check';
import type { KeyObject } from 'node:crypto';
import { b64u, noneCasings, signatureOf } from './forge.js';

export interface Signer {
  /** Stable name of the key (several signers share a key, one per algorithm). */
  readonly keyName: string;
  readonly alg: string;
  /** The kid the key is published under, if any. */
  readonly kid: string | undefined;
  readonly key: KeyObject | Buffer;
}

export interface SignedInfo {
  readonly signer: Signer;
  /** Signed by the standard path: `{alg, typ, kid?}` header and a claims object, nothing structurally odd. */
  readonly clean: boolean;
}

/** Every string some Signer produced, with who signed it. A string not in here was never signed by anyone. */
export const signedTokens = new Map<string, SignedInfo>();

export function signAndRecord(signer: Signer, headerText: string, payloadText: string, clean: boolean): string {
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  const token = `${input}.${signatureOf(signer.alg, signer.key, input).toString('base64url')}`;
  const previous = signedTokens.get(token);
  // Deterministic signatures (RSA PKCS#1, EdDSA, HMAC) can reproduce a string: it stays clean if it ever was.
  if (!previous || (clean && !previous.clean)) signedTokens.set(token, { signer, clean });
  return token;
}

const ALG_CHOICES = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512', 'Ed25519', 'ES256K', 'RSA-OAEP', ...noneCasings(), '', 'none '];
const B64URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export const base64urlString = (maxLength = 400): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...B64URL_CHARS), maxLength });

export interface TokenArbitraryOptions {
  readonly signers: readonly Signer[];
  readonly claims: fc.Arbitrary<Record<string, unknown>>;
  /** kids worth trying besides the signer's own (other keys' kids, hostile strings). */
  readonly kids: readonly string[];
}

/** A token signed the standard way by one of the signers, sometimes with another kid or none. */
export function signedTokenArb(o: TokenArbitraryOptions): fc.Arbitrary<string> {
  return fc
    .record({
      signer: fc.constantFrom(...o.signers),
      claims: o.claims,
      kidChoice: fc.oneof({ weight: 6, arbitrary: fc.constant<'own'>('own') }, fc.constant<'none'>('none'), fc.constantFrom(...o.kids)),
      typ: fc.constantFrom('JWT', 'at+jwt', undefined),
    })
    .map(({ signer, claims, kidChoice, typ }) => {
      const kid = kidChoice === 'own' ? signer.kid : kidChoice === 'none' ? undefined : kidChoice;
      const header: Record<string, unknown> = { alg: signer.alg };
      if (typ !== undefined) header.typ = typ;
      if (kid !== undefined) header.kid = kid;
      const clean = kidChoice === 'own' || kidChoice === 'none';
      return signAndRecord(signer, JSON.stringify(header), JSON.stringify(claims), clean);
    });
}

/** An unsigned (alg none-ish) token over generated claims. */
export function unsignedTokenArb(claims: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<string> {
  return fc
    .record({ alg: fc.constantFrom('none', 'none', 'none', ...noneCasings()), claims, signature: fc.oneof(fc.constant(''), base64urlString(90)) })
    .map(({ alg, claims, signature }) => `${b64u(JSON.stringify({ alg }))}.${b64u(JSON.stringify(claims))}.${signature}`);
}

function decodeJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function splitToken(token: string): [string, string, string] {
  const parts = token.split('.');
  return [parts[0] ?? '', parts[1] ?? '', parts.slice(2).join('.')];
}

/** An edit of a parsed JSON object, given as a function of the object's text (so duplicates and odd text are possible). */
type JsonEdit = (text: string, value: Record<string, unknown>) => string;

const set = (name: string, value: unknown): JsonEdit => (_t, v) => JSON.stringify({ ...v, [name]: value });
const remove = (name: string): JsonEdit => (_t, v) => {
  const copy = { ...v };
  delete copy[name];
  return JSON.stringify(copy);
};
/** Prepends a member textually: a duplicate when the name is already there (JSON.parse keeps the later one). */
const prepend = (name: string, value: unknown): JsonEdit => (t) => (t.startsWith('{') && t.length > 2 ? `{${JSON.stringify(name)}:${JSON.stringify(value)},${t.slice(1)}` : t);
const append = (name: string, value: unknown): JsonEdit => (t) => (t.endsWith('}') && t.length > 2 ? `${t.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(value)}}` : t);

function headerEdits(kids: readonly string[]): fc.Arbitrary<JsonEdit> {
  return fc.oneof(
    fc.constantFrom(...ALG_CHOICES).map((alg) => set('alg', alg)),
    fc.constantFrom(...ALG_CHOICES).map((alg) => prepend('alg', alg)),
    fc.constantFrom(...ALG_CHOICES).map((alg) => append('alg', alg)),
    fc.constant(remove('alg')),
    fc.constant(remove('kid')),
    fc.constantFrom(...kids, '../../etc/passwd', "' OR 1=1 --", '', 'x'.repeat(300)).map((kid) => set('kid', kid)),
    fc.constantFrom(...kids).map((kid) => prepend('kid', kid)),
    fc.constantFrom<unknown>(1, null, ['k'], { k: 1 }).map((kid) => set('kid', kid)),
    fc.constantFrom<[string, unknown][]>(
      [['crit', ['x-ext']], ['x-ext', 1]],
      [['crit', ['b64']], ['b64', false]],
      [['crit', ['b64']], ['b64', true]],
      [['crit', ['b64', 'b64']], ['b64', true]],
      [['crit', []]],
      [['crit', 'b64'], ['b64', true]],
      [['b64', false]],
      [['jku', 'http://127.0.0.1:9/jwks']],
      [['x5u', 'http://127.0.0.1:9/cert.pem']],
      [['jwk', { kty: 'oct', k: 'AAAA' }]],
      [['cty', 'JWT']],
      [['typ', 'JWE']],
      [['enc', 'A256GCM']],
      [['zip', 'DEF']],
    ).map((members): JsonEdit => (_t, v) => JSON.stringify({ ...v, ...Object.fromEntries(members) })),
  );
}

function payloadEdits(): fc.Arbitrary<JsonEdit> {
  const now = Math.floor(Date.now() / 1000);
  return fc.oneof(
    fc.constantFrom<unknown>('api://other', 42, { a: 1 }, ['api://a', 7], [], null, 'api://a').map((aud) => set('aud', aud)),
    fc.constantFrom('api://other', 'api://a').map((aud) => prepend('aud', aud)),
    fc.constantFrom<unknown>(String(now + 600), now + 10 * 365 * 86_400, now - 3600, -1, 1e308, null, true, now + 0.5).map((exp) => set('exp', exp)),
    fc.constantFrom(1, now + 3600).map((exp) => prepend('exp', exp)),
    fc.constantFrom<unknown>(String(now), -5, now + 3600).map((nbf) => set('nbf', nbf)),
    fc.constantFrom<unknown>(String(now), -5, now + 10 * 365 * 86_400).map((iat) => set('iat', iat)),
    fc.constantFrom('https://evil.example', 'https://iss.a').map((iss) => prepend('iss', iss)),
    fc.constantFrom<unknown>('https://iss.b', 1, ['https://iss.a']).map((iss) => set('iss', iss)),
    fc.constant(remove('exp')),
    fc.constant(remove('aud')),
    fc.constant(remove('iss')),
    fc.integer({ min: 2, max: 60 }).map((depth): JsonEdit => (t) => (t.endsWith('}') ? `${t.slice(0, -1)},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}` : t)),
    fc.constant(set('sub', 'alice\u0000admin')),
    fc.constant(set('sub', 'alice\r\nx-admin: 1')),
    fc.constant(prepend('scp', 'admin')),
    fc.constant(append('roles', ['Admin'])),
    fc.constantFrom('[]', 'null', '"eyJhbGciOiJub25lIn0.e30."', '123', '{}', '').map((text): JsonEdit => () => text),
  );
}

/** Mutations of a token, some re-signed by a signer (so they are signed, but not in the standard shape). */
export function mutatedTokenArb(base: fc.Arbitrary<string>, o: TokenArbitraryOptions): fc.Arbitrary<string> {
  const resign = fc.option(fc.constantFrom(...o.signers), { freq: 2 });
  const jsonMutation = (segmentIndex: 0 | 1, edits: fc.Arbitrary<JsonEdit>) =>
    fc.tuple(base, edits, resign).map(([token, edit, signer]) => {
      const parts = splitToken(token);
      const text = Buffer.from(parts[segmentIndex], 'base64url').toString('utf8');
      const value = decodeJson(parts[segmentIndex]);
      const edited = value !== null && typeof value === 'object' && !Array.isArray(value) ? edit(text, value as Record<string, unknown>) : text;
      const headerText = segmentIndex === 0 ? edited : Buffer.from(parts[0], 'base64url').toString('utf8');
      const payloadText = segmentIndex === 1 ? edited : Buffer.from(parts[1], 'base64url').toString('utf8');
      if (signer) return signAndRecord(signer, headerText, payloadText, false);
      return `${b64u(headerText)}.${b64u(payloadText)}.${parts[2]}`;
    });

  return fc.oneof(
    // Bit flips in the signature bytes.
    fc.tuple(base, fc.nat(), fc.integer({ min: 0, max: 7 })).map(([token, at, bit]) => {
      const [h, p, s] = splitToken(token);
      const sig = Buffer.from(s, 'base64url');
      if (sig.length === 0) return `${h}.${p}.${b64u(Buffer.from([1 << bit]))}`;
      sig[at % sig.length]! ^= 1 << bit;
      return `${h}.${p}.${b64u(sig)}`;
    }),
    // Any character replaced by another base64url character (or a separator).
    fc.tuple(base, fc.nat(), fc.constantFrom(...B64URL_CHARS, '.', '=', ' ', '+', '/', '\u0000', '%', ',')).map(([token, at, c]) => {
      const i = at % Math.max(1, token.length);
      return `${token.slice(0, i)}${c}${token.slice(i + 1)}`;
    }),
    // Segments swapped between tokens.
    fc.tuple(base, base, base, fc.constantFrom([0, 1, 2], [1, 0, 2], [0, 2, 1], [2, 1, 0])).map(([a, b, c, order]) => {
      const segs = [splitToken(a)[0], splitToken(b)[1], splitToken(c)[2]];
      return order.map((i) => segs[i]).join('.');
    }),
    fc.tuple(base, base).map(([a, b]) => {
      const [ha, pa] = splitToken(a);
      const [, , sb] = splitToken(b);
      return `${ha}.${pa}.${sb}`;
    }),
    // Random base64url segments, 1 to 6 of them.
    fc.array(base64urlString(200), { minLength: 1, maxLength: 6 }).map((segs) => segs.join('.')),
    // Header / payload JSON edits, re-encoded without re-signing or re-signed by some signer.
    jsonMutation(0, headerEdits(o.kids)),
    jsonMutation(1, payloadEdits()),
    // Signature removed, truncated, extended; padding, whitespace, trailing junk.
    base.map((t) => `${splitToken(t)[0]}.${splitToken(t)[1]}.`),
    fc.tuple(base, fc.nat()).map(([t, n]) => t.slice(0, t.length - 1 - (n % Math.max(1, t.length - 1)))),
    fc.tuple(base, fc.constantFrom('A', 'AA', 'AAA', '=', '==', ' ', '\n', '.', '..', '.e30', '\u0000')).map(([t, s]) => `${t}${s}`),
    fc.tuple(base, fc.nat()).map(([t, n]) => {
      const [h, p, s] = splitToken(t);
      const i = n % Math.max(1, s.length);
      return `${h}.${p}.${s.slice(0, i)}\n${s.slice(i)}`;
    }),
    base.map((t) => {
      // Standard base64 with padding instead of base64url.
      const [h, p, s] = splitToken(t);
      return `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`;
    }),
  );
}
