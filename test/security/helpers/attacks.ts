// The hostile-token table of issue 7, built against a set of test keys. Shared by hostile_tokens.test.ts (through the
// real gRPC server) and differential.test.ts (tokengate's verifier against jose).
import { randomBytes } from 'node:crypto';
import { CompactEncrypt, importJWK } from 'jose';
import type { DenyReason } from '../../../src/errors.js';
import { b64u, claimsFor, forge, noneCasings, signatureOf, unsigned, type Bytes, type TestKey } from './forge.js';
import { MAX_TOKEN_LENGTH } from '../../../src/jwt/decode_jws.js';

export interface AttackContext {
  readonly now: number;
  readonly iss: string;
  readonly aud: string;
  /** Configured: RSA (kid rsa-1), EC P-256 (kid ec-1), oct (kid hs-1). */
  readonly rsa: TestKey;
  readonly ec: TestKey;
  readonly hs: TestKey;
  /** Keys of algorithms the policy does not allow (ES384, EdDSA). */
  readonly ec384: TestKey;
  readonly ed: TestKey;
  /** Never configured anywhere. */
  readonly attacker: TestKey;
  /** Where the attacker's JWKS / certificate would be fetched from (must never be). */
  readonly attackerUrl: string;
}

export type Expected = DenyReason | 'allow';

export interface AttackCase {
  readonly group: string;
  readonly name: string;
  readonly token: string;
  /**
   * For the policy these tokens are made for: issuerSigningKeys rsa-1, ec-1, hs-1; algorithms [RS256, ES256, HS256];
   * audiences [aud]; issuers [iss]; maxLifetime 7200; requireSignedTokens true.
   */
  readonly expect: Expected;
  /**
   * The policy the case is made for, when not the static one described on `expect`:
   * - `rsa`: the same RSA key (rsa-1), algorithms RS256/384/512 and PS256/384/512, same audience and issuer;
   * - `tenant`: the same RSA key, issuers [TENANT_TEMPLATE] with allowedTenants "*", same audience.
   */
  readonly policy?: 'rsa' | 'tenant';
}

export const POLICY_ALGORITHMS = ['RS256', 'ES256', 'HS256'] as const;
/** The issuer template of the `tenant` policy (allowedTenants "*"), laid out as Entra's multi-tenant issuer. */
export const TENANT_TEMPLATE = 'https://login.example.com/{tenantid}/v2.0';
export const POLICY_MAX_LIFETIME = 7200;

/** `{"a":…}` nested `depth` levels deep around `leaf`. */
export function nestedObject(depth: number, leaf = '1'): string {
  return '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
}

export function nestedArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

export async function buildAttackCases(ctx: AttackContext): Promise<AttackCase[]> {
  const { now, iss, aud, rsa, ec, hs, ec384, ed, attacker } = ctx;
  const good = claimsFor(now, iss, aud);
  const goodJson = JSON.stringify(good);
  const goodBody = goodJson.slice(1, -1); // the members, to splice extra (duplicate) members around
  const rs = (header: Record<string, unknown> | string | Buffer, payload: Record<string, unknown> | string | Buffer = good) =>
    forge('RS256', rsa.signing, typeof header === 'object' && !Buffer.isBuffer(header) ? { alg: 'RS256', typ: 'JWT', kid: rsa.kid, ...header } : header, payload);
  const rsClaims = (claims: Record<string, unknown>) => rs({}, { ...good, ...claims });
  const rsaPem = rsa.publicKey!.export({ type: 'spki', format: 'pem' }).toString();
  const rsaPkcs1Pem = rsa.publicKey!.export({ type: 'pkcs1', format: 'pem' }).toString();
  const rsaDer = rsa.publicKey!.export({ type: 'spki', format: 'der' });
  const rsaJwkJson = JSON.stringify(rsa.jwk);
  const rsaJwkWithKid = JSON.stringify({ ...rsa.jwk, kid: rsa.kid, alg: 'RS256', use: 'sig' });
  const ecPem = ec.publicKey!.export({ type: 'spki', format: 'pem' }).toString();
  const goodRs = rs({});
  const rsSignature = goodRs.split('.')[2]!;
  const cases: AttackCase[] = [];
  const add = (group: string, name: string, token: string, expect: Expected, policy?: AttackCase['policy']) =>
    cases.push({ group, name, token, expect, ...(policy ? { policy } : {}) });

  // Valid controls: the same policy accepts good tokens, so every denial below is about the attack.
  add('control', 'RS256 with kid', goodRs, 'allow');
  add('control', 'RS256 without kid', forge('RS256', rsa.signing, { alg: 'RS256', typ: 'JWT' }, good), 'allow');
  add('control', 'ES256 with kid', forge('ES256', ec.signing, { alg: 'ES256', kid: ec.kid }, good), 'allow');
  add('control', 'HS256 with kid', forge('HS256', hs.signing, { alg: 'HS256', kid: hs.kid }, good), 'allow');
  add('control', 'claim nested 10 deep (under the depth limit)', rsClaims({ ext: JSON.parse(nestedObject(10)) }), 'allow');

  // Algorithm confusion: HS256 keyed with the RSA public key in every form a verifier might take as "the key".
  const secrets: [string, Buffer][] = [
    ['spki PEM', Buffer.from(rsaPem)],
    ['spki PEM without trailing newline', Buffer.from(rsaPem.trim())],
    ['PKCS#1 PEM', Buffer.from(rsaPkcs1Pem)],
    ['spki DER', rsaDer],
    ['JWK JSON', Buffer.from(rsaJwkJson)],
    ['JWK JSON with kid/alg/use', Buffer.from(rsaJwkWithKid)],
    ['modulus bytes', Buffer.from(rsa.jwk.n!, 'base64url')],
  ];
  for (const [form, secret] of secrets) {
    add('alg confusion', `HS256 keyed with RSA public key (${form}), kid of the RSA key`, forge('HS256', secret, { alg: 'HS256', kid: rsa.kid }, good), 'TokenSignatureKeyNotFound');
    add('alg confusion', `HS256 keyed with RSA public key (${form}), no kid`, forge('HS256', secret, { alg: 'HS256' }, good), 'TokenSignatureInvalid');
    add('alg confusion', `HS256 keyed with RSA public key (${form}), kid of the HMAC key`, forge('HS256', secret, { alg: 'HS256', kid: hs.kid }, good), 'TokenSignatureInvalid');
  }
  add('alg confusion', 'HS256 keyed with EC public key (spki PEM), no kid', forge('HS256', Buffer.from(ecPem), { alg: 'HS256' }, good), 'TokenSignatureInvalid');
  add('alg confusion', 'HS384 keyed with RSA PEM (alg not allowed)', forge('HS384', Buffer.from(rsaPem), { alg: 'HS384' }, good), 'TokenAlgorithmNotAllowed');
  add('alg confusion', 'ES256 header over an RS256 signature', forge('RS256', rsa.signing, { alg: 'ES256', kid: rsa.kid }, good), 'TokenSignatureKeyNotFound');
  add('alg confusion', 'RS256 header over an ES256 signature, kid ec-1', forge('ES256', ec.signing, { alg: 'RS256', kid: ec.kid }, good), 'TokenSignatureKeyNotFound');

  // alg none in every casing, with no signature, a random one, and a real RS256 signature.
  for (const none of noneCasings()) {
    add('alg none', `alg "${none}", empty signature`, unsigned({ alg: none, typ: 'JWT' }, good), 'TokenAlgorithmNotAllowed');
    add('alg none', `alg "${none}", random signature`, unsigned({ alg: none }, good, randomBytes(32).toString('base64url')), 'TokenAlgorithmNotAllowed');
    add('alg none', `alg "${none}", kid rsa-1 and a real RS256 signature`, forge('RS256', rsa.signing, { alg: none, kid: rsa.kid }, good), 'TokenAlgorithmNotAllowed');
  }
  add('alg none', 'alg "none", no third segment at all', unsigned({ alg: 'none' }, good).slice(0, -1), 'JwtInvalid');

  // alg outside the policy's allow-list, each with a correct signature from a key of the right type.
  add('alg allow-list', 'PS256 signed by the configured RSA key', forge('PS256', rsa.signing, { alg: 'PS256', kid: rsa.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'RS512 signed by the configured RSA key', forge('RS512', rsa.signing, { alg: 'RS512', kid: rsa.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'ES384 (P-384 key)', forge('ES384', ec384.signing, { alg: 'ES384', kid: ec384.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'EdDSA (Ed25519 key)', forge('EdDSA', ed.signing, { alg: 'EdDSA', kid: ed.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'alg "Ed25519" (fully-specified name)', forge('EdDSA', ed.signing, { alg: 'Ed25519', kid: ed.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'alg "rs256" (wrong case)', forge('RS256', rsa.signing, { alg: 'rs256', kid: rsa.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'alg "RS256 " (trailing space)', forge('RS256', rsa.signing, { alg: 'RS256 ', kid: rsa.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'alg "constructor"', forge('RS256', rsa.signing, { alg: 'constructor', kid: rsa.kid }, good), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'alg "__proto__"', rs('{"alg":"__proto__","kid":"rsa-1"}'), 'TokenAlgorithmNotAllowed');
  add('alg allow-list', 'alg ["RS256"] (an array)', forge('RS256', rsa.signing, { alg: ['RS256'], kid: rsa.kid }, good), 'JwtInvalid');
  add('alg allow-list', 'alg "" (empty)', forge('RS256', rsa.signing, { alg: '', kid: rsa.kid }, good), 'JwtInvalid');
  add('alg allow-list', 'no alg member', forge('RS256', rsa.signing, { kid: rsa.kid }, good), 'JwtInvalid');

  // crit: only b64 is understood, and b64: false is forbidden in a JWT.
  add('crit', 'crit ["x-unknown"]', rs({ crit: ['x-unknown'], 'x-unknown': true }), 'JwtInvalid');
  add('crit', 'crit ["exp"] (a registered claim name)', rs({ crit: ['exp'], exp: now + 60 }), 'JwtInvalid');
  add('crit', 'crit ["b64", "x-unknown"]', rs({ crit: ['b64', 'x-unknown'], b64: true, 'x-unknown': 1 }), 'JwtInvalid');
  add('crit', 'crit [] (empty)', rs({ crit: [] }), 'JwtInvalid');
  add('crit', 'crit "b64" (not a list)', rs({ crit: 'b64', b64: true }), 'JwtInvalid');
  add('crit', 'crit ["b64"] without a b64 member', rs({ crit: ['b64'] }), 'JwtInvalid');
  add('crit', 'crit ["toString"] (inherited name)', rs({ crit: ['toString'] }), 'JwtInvalid');
  add('crit', 'crit ["b64", "b64"] (duplicate names)', rs({ crit: ['b64', 'b64'], b64: true }), 'JwtInvalid');
  add('crit', 'crit ["b64"], b64 "false" (string)', rs({ crit: ['b64'], b64: 'false' }), 'JwtInvalid');
  // b64: false (RFC 7797): the signature covers the raw payload bytes.
  const b64Header = b64u(JSON.stringify({ alg: 'RS256', kid: rsa.kid, b64: false, crit: ['b64'] }));
  const rawPayloadInput = `${b64Header}.${goodJson}`;
  add('b64 false', 'b64 false, crit b64, payload base64url-encoded', rs({ b64: false, crit: ['b64'] }), 'JwtInvalid');
  add('b64 false', 'b64 false, crit b64, unencoded payload in the compact form', `${rawPayloadInput}.${signatureOf('RS256', rsa.signing, rawPayloadInput).toString('base64url')}`, 'JwtInvalid');
  add('b64 false', 'b64 false, crit b64, detached payload', `${b64Header}..${signatureOf('RS256', rsa.signing, rawPayloadInput).toString('base64url')}`, 'JwtInvalid');
  const noDotPayload = 'hello-world_without-dots';
  const noDotInput = `${b64Header}.${noDotPayload}`;
  add('b64 false', 'b64 false, crit b64, unencoded payload that happens to be base64url', `${noDotInput}.${signatureOf('RS256', rsa.signing, noDotInput).toString('base64url')}`, 'JwtInvalid');

  // kid is only ever compared with the kids of configured keys.
  for (const kid of ['../../etc/passwd', '../../../../../../dev/null', "' OR 1=1 --", "rsa-1' OR '1'='1", 'file:///etc/passwd', `${ctx.attackerUrl}/jwks`, '__proto__', 'constructor', 'rsa-1 ', '*', '%2e%2e%2f']) {
    add('kid', `kid ${JSON.stringify(kid)}`, rs({ kid }), 'TokenSignatureKeyNotFound');
  }
  add('kid', 'kid with an escaped NUL ("rsa-1\\u0000")', rs({ kid: 'rsa-1\u0000' }), 'JwtInvalid');
  add('kid', 'kid of 300 characters', rs({ kid: 'k'.repeat(300) }), 'JwtInvalid');
  add('kid', 'kid a number', rs({ kid: 1 }), 'JwtInvalid');
  add('kid', 'kid an object', rs({ kid: { $ne: null } }), 'JwtInvalid');
  add('kid', 'kid empty', rs({ kid: '' }), 'JwtInvalid');

  // Header parameters that name a key: never fetched, never used.
  const attackerJwk = { ...attacker.jwk, kid: attacker.kid, alg: 'RS256', use: 'sig' };
  const byAttacker = (header: Record<string, unknown>) => forge('RS256', attacker.signing, { alg: 'RS256', ...header }, good);
  add('key in header', 'embedded jwk (attacker key), no kid', byAttacker({ jwk: attackerJwk }), 'TokenSignatureInvalid');
  add('key in header', 'embedded jwk, kid of the attacker key', byAttacker({ jwk: attackerJwk, kid: attacker.kid }), 'TokenSignatureKeyNotFound');
  add('key in header', 'embedded jwk, kid rsa-1', byAttacker({ jwk: { ...attackerJwk, kid: rsa.kid }, kid: rsa.kid }), 'TokenSignatureInvalid');
  add('key in header', 'jku to the attacker JWKS, kid of the attacker key', byAttacker({ jku: `${ctx.attackerUrl}/jwks`, kid: attacker.kid }), 'TokenSignatureKeyNotFound');
  add('key in header', 'jku to the attacker JWKS, kid rsa-1', byAttacker({ jku: `${ctx.attackerUrl}/jwks`, kid: rsa.kid }), 'TokenSignatureInvalid');
  add('key in header', 'x5u to the attacker certificate, no kid', byAttacker({ x5u: `${ctx.attackerUrl}/cert.pem` }), 'TokenSignatureInvalid');
  add('key in header', 'x5c with a bogus chain, kid rsa-1', byAttacker({ x5c: [randomBytes(300).toString('base64')], kid: rsa.kid }), 'TokenSignatureInvalid');
  add('key in header', 'jku + x5u + jwk together, kid of the attacker key', byAttacker({ jku: `${ctx.attackerUrl}/jwks`, x5u: `${ctx.attackerUrl}/cert.pem`, jwk: attackerJwk, kid: attacker.kid }), 'TokenSignatureKeyNotFound');

  // A JWT whose payload is itself a compact JWT, not a claims object.
  add('nested JWT', 'payload is a JSON string holding a JWT', rs({ cty: 'JWT' }, JSON.stringify(goodRs)), 'JwtInvalid');
  add('nested JWT', 'payload is the raw compact JWT', rs({ cty: 'JWT' }, goodRs), 'JwtInvalid');
  add('nested JWT', 'payload is a JSON array', rs({}, '[1,2]'), 'JwtInvalid');
  add('nested JWT', 'payload is null', rs({}, 'null'), 'JwtInvalid');

  // JWE where a JWS is expected.
  const encKey = await importJWK({ ...rsa.jwk, alg: 'RSA-OAEP-256' }, 'RSA-OAEP-256');
  add('JWE', 'RSA-OAEP-256 / A256GCM JWE of a good payload', await new CompactEncrypt(Buffer.from(goodJson)).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: rsa.kid }).encrypt(encKey), 'JwtInvalid');
  add('JWE', 'dir / A256GCM JWE with the HMAC secret', await new CompactEncrypt(Buffer.from(goodJson)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: hs.kid }).encrypt(randomBytes(32)), 'JwtInvalid');
  add('JWE', 'control: a JWE-looking "enc" member in a signed 3-part token is just an unknown header member', rs({ enc: 'A256GCM' }), 'allow');

  // Duplicate member names: JSON.parse keeps the last, a first-wins parser upstream would see the first.
  const rsHeader = (text: Bytes) => forge('RS256', rsa.signing, text, good);
  const rsPayload = (text: Bytes) => forge('RS256', rsa.signing, { alg: 'RS256', kid: rsa.kid }, text);
  add('duplicate members', 'header: alg twice (HS256 then RS256)', rsHeader('{"alg":"HS256","alg":"RS256","kid":"rsa-1"}'), 'JwtInvalid');
  add('duplicate members', 'header: alg twice (none then RS256)', rsHeader('{"alg":"none","alg":"RS256","kid":"rsa-1"}'), 'JwtInvalid');
  add('duplicate members', 'header: kid twice', rsHeader('{"alg":"RS256","kid":"attacker","kid":"rsa-1"}'), 'JwtInvalid');
  add('duplicate members', 'header: crit twice', rsHeader('{"alg":"RS256","crit":["x"],"crit":["b64"],"b64":true}'), 'JwtInvalid');
  add('duplicate members', 'payload: aud twice (other then ours)', rsPayload(`{"aud":"api://other",${goodBody}}`), 'JwtInvalid');
  add('duplicate members', 'payload: exp twice (expired then valid)', rsPayload(`{"exp":1,${goodBody}}`), 'JwtInvalid');
  add('duplicate members', 'payload: iss twice', rsPayload(`{"iss":"https://evil.example",${goodBody}}`), 'JwtInvalid');
  add('duplicate members', 'payload: sub twice with an escaped name (\\u0073ub)', rsPayload(`{${goodBody},"\\u0073ub":"admin"}`), 'JwtInvalid');
  add('duplicate members', 'payload: duplicate inside a nested claim', rsPayload(`{${goodBody},"realm_access":{"roles":["user"],"roles":["admin"]}}`), 'JwtInvalid');
  add('duplicate members', 'payload: __proto__ twice', rsPayload(`{${goodBody},"__proto__":{"a":1},"__proto__":{"a":2}}`), 'JwtInvalid');
  add('duplicate members', 'payload: same member and value twice', rsPayload(`{${goodBody},"sub":"alice"}`), 'JwtInvalid');
  add('duplicate members', 'payload: colon inside strings is not a member (control)', rsClaims({ note: 'a:b:c "x":y {z}', 'k:v': '::' }), 'allow');

  // Very deep JSON.
  add('deep JSON', 'claim: objects nested 33 deep', rsPayload(`{${goodBody},"ext":${nestedObject(33)}}`), 'JwtInvalid');
  add('deep JSON', 'claim: arrays nested 5000 deep', rsPayload(`{${goodBody},"ext":${nestedArray(5000)}}`), 'JwtInvalid');
  add('deep JSON', 'claim: objects nested 1000 deep', rsPayload(`{${goodBody},"ext":${nestedObject(1000)}}`), 'JwtInvalid');
  add('deep JSON', 'header: objects nested 40 deep', rsHeader(`{"alg":"RS256","kid":"rsa-1","x":${nestedObject(40)}}`), 'JwtInvalid');

  // Size.
  const [largest, smallestOver] = tokensAroundLength(MAX_TOKEN_LENGTH, (n) => rsClaims({ pad: 'x'.repeat(n) }));
  add('size', `token of ${largest.length} characters (at most MAX_TOKEN_LENGTH ${MAX_TOKEN_LENGTH}), control`, largest, 'allow');
  add('size', `token of ${smallestOver.length} characters (just over MAX_TOKEN_LENGTH)`, smallestOver, 'JwtInvalid');
  add('size', 'token of 64 KiB', rsClaims({ pad: 'x'.repeat(48 * 1024) }), 'JwtInvalid');

  // Invalid UTF-8 (the JSON around it is fine).
  const badUtf8 = (prefix: string, bytes: number[], suffix: string) => Buffer.concat([Buffer.from(prefix), Buffer.from(bytes), Buffer.from(suffix)]);
  add('invalid UTF-8', 'header: 0xFF inside a string', rsHeader(badUtf8('{"alg":"RS256","kid":"rsa-1","x":"', [0xff], '"}')), 'JwtInvalid');
  add('invalid UTF-8', 'payload: overlong "/" (C0 AF)', rsPayload(badUtf8(`{${goodBody},"x":"`, [0xc0, 0xaf], '"}')), 'JwtInvalid');
  add('invalid UTF-8', 'payload: UTF-8-encoded surrogate (ED A0 80)', rsPayload(badUtf8(`{${goodBody},"x":"`, [0xed, 0xa0, 0x80], '"}')), 'JwtInvalid');
  add('invalid UTF-8', 'payload: truncated sequence (E2 82)', rsPayload(badUtf8(`{${goodBody},"x":"`, [0xe2, 0x82], '"}')), 'JwtInvalid');
  add('invalid UTF-8', 'payload: Latin-1 "é" (E9)', rsPayload(badUtf8(`{${goodBody},"name":"Ren`, [0xe9], '"}')), 'JwtInvalid');

  // NUL bytes.
  add('NUL', 'claim with an escaped NUL (sub "alice\\u0000admin")', rsClaims({ sub: 'alice\u0000admin' }), 'JwtInvalid');
  add('NUL', 'member name with an escaped NUL', rsPayload(`{${goodBody},"ro\\u0000les":"admin"}`), 'JwtInvalid');
  add('NUL', 'raw NUL byte inside a claim string', rsPayload(`{${goodBody},"x":"a\u0000b"}`), 'JwtInvalid');
  add('NUL', 'NUL between header and payload segments', goodRs.replace('.', '\u0000.'), 'JwtInvalid');
  add('NUL', 'NUL at the end of the signature', `${goodRs}\u0000`, 'JwtInvalid');

  // Claim types and times.
  add('claims', 'exp as a string', rsClaims({ exp: String(now + 600) }), 'JwtInvalid');
  add('claims', 'nbf as a string', rsClaims({ nbf: String(now - 10) }), 'JwtInvalid');
  add('claims', 'iat as a string', rsClaims({ iat: String(now) }), 'JwtInvalid');
  add('claims', 'exp null', rsClaims({ exp: null }), 'JwtInvalid');
  add('claims', 'exp 1e400 (parses to Infinity)', rsPayload(`{${goodBody.replace(/"exp":\d+/, '"exp":1e400')}}`), 'JwtInvalid');
  add('claims', 'exp 10 years ahead (beyond maxLifetime)', rsClaims({ exp: now + 10 * 365 * 86_400 }), 'JwtInvalid');
  add('claims', 'exp 10 years ahead, no iat or nbf', rsClaims({ exp: now + 10 * 365 * 86_400, iat: undefined, nbf: undefined }), 'JwtInvalid');
  add(
    'claims',
    'exp 10 years ahead with iat just before exp and no nbf',
    rsClaims({ exp: now + 10 * 365 * 86_400, iat: now + 10 * 365 * 86_400 - 60, nbf: undefined }),
    'JwtInvalid',
  );
  add('claims', 'aud a number', rsClaims({ aud: 12345 }), 'JwtInvalid');
  add('claims', 'aud an object', rsClaims({ aud: { [aud]: true } }), 'JwtInvalid');
  add('claims', 'aud a list with a number', rsClaims({ aud: [aud, 1] }), 'JwtInvalid');
  add('claims', 'aud null', rsClaims({ aud: null }), 'JwtInvalid');
  add('claims', 'aud an empty list', rsClaims({ aud: [] }), 'TokenAudienceNotAllowed');
  add('claims', 'iat negative', rsClaims({ iat: -1 }), 'JwtInvalid');
  add('claims', 'nbf negative', rsClaims({ nbf: -100 }), 'JwtInvalid');
  add('claims', 'exp negative', rsClaims({ exp: -1 }), 'JwtInvalid');

  // Signature encoding: one signed token must have one accepted string.
  // Buffer.from(…, 'base64url') ignores a dangling last character (length % 4 == 1) and the spare bits of the last
  // character, so before decode_jws checked for canonical base64url each of these verified.
  const goodEs = forge('ES256', ec.signing, { alg: 'ES256', kid: ec.kid }, good);
  const goodHs = forge('HS256', hs.signing, { alg: 'HS256', kid: hs.kid }, good);
  for (const [alg, token] of [['RS256', goodRs], ['ES256', goodEs], ['HS256', goodHs]] as const) {
    const signature = token.split('.')[2]!;
    if (signature.length % 4 === 0) add('encoding', `${alg} signature with a dangling extra character`, `${token}A`, 'JwtInvalid');
    if (signature.length % 4 !== 0) add('encoding', `${alg} signature with its spare low bits set`, `${token.slice(0, -1)}${flipSpareBits(signature)}`, 'JwtInvalid');
  }
  add('encoding', 'signature with = padding', `${goodRs}==`, 'JwtInvalid');
  add('encoding', 'signature in standard base64 (+ and /)', `${goodRs.split('.').slice(0, 2).join('.')}.${Buffer.from(rsSignature, 'base64url').toString('base64')}`, 'JwtInvalid');
  add('encoding', 'empty signature with alg RS256', `${goodRs.split('.').slice(0, 2).join('.')}.`, 'TokenSignatureInvalid');
  add('encoding', 'four segments', `${goodRs}.e30`, 'JwtInvalid');
  add('encoding', 'whitespace inside the token', goodRs.replace('.', ' .'), 'JwtInvalid');

  // RSA signature length (RFC 8017 §8.1.2 and §8.2.2 step 1): the signature is exactly k bytes, k the modulus length.
  // A signature whose integer value has a leading zero byte verifies in OpenSSL's PSS path when that byte is dropped;
  // its PKCS#1 v1.5 path already refuses. One signed token, one accepted string.
  for (const alg of ['RS256', 'PS256', 'PS384', 'PS512'] as const) {
    const token = forge(alg, rsa.signing, { alg, kid: rsa.kid }, good);
    const group = alg.startsWith('PS') ? 'PSS signature length' : 'RSA signature length';
    add(group, `${alg} full-length signature, control`, token, 'allow', 'rsa');
    add(group, `${alg} signature with its leading zero byte dropped`, withLeadingZeroDropped(alg, rsa, good), 'TokenSignatureInvalid', 'rsa');
    const [h, p, s] = token.split('.') as [string, string, string];
    add(group, `${alg} signature with a zero byte prepended`, `${h}.${p}.${b64u(Buffer.concat([Buffer.from([0]), Buffer.from(s, 'base64url')]))}`, 'TokenSignatureInvalid', 'rsa');
  }

  // Issuer templates (issue 15, item 4): only the tenant segment compares without case; prefix and suffix are exact,
  // as a plain issuer is (RFC 8725 §3.8). And a tid must have the shape of an Entra tenant id, a GUID.
  const guid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const tenantIss = (tenant: string) => TENANT_TEMPLATE.replace('{tenantid}', tenant);
  const forTenant = (claims: Record<string, unknown>) => rs({}, { ...good, iss: tenantIss(guid), tid: guid, ...claims });
  add('issuer template', 'iss and tid of a GUID tenant, control', forTenant({}), 'allow', 'tenant');
  add('issuer template', 'tenant segment in upper case, tid in lower case, control', forTenant({ iss: tenantIss(guid.toUpperCase()) }), 'allow', 'tenant');
  add('issuer template', 'tid in upper case, control', forTenant({ tid: guid.toUpperCase() }), 'allow', 'tenant');
  const upper = (text: string) => text.toUpperCase().replace(guid.toUpperCase(), guid);
  add('issuer template', 'whole iss in upper case but the tenant', forTenant({ iss: upper(tenantIss(guid)) }), 'TokenIssuerNotAllowed', 'tenant');
  add('issuer template', 'scheme in upper case (HTTPS://)', forTenant({ iss: tenantIss(guid).replace('https', 'HTTPS') }), 'TokenIssuerNotAllowed', 'tenant');
  add('issuer template', 'host in upper case', forTenant({ iss: tenantIss(guid).replace('login.example.com', 'LOGIN.example.com') }), 'TokenIssuerNotAllowed', 'tenant');
  add('issuer template', 'suffix in upper case (/V2.0)', forTenant({ iss: tenantIss(guid).replace('v2.0', 'V2.0') }), 'TokenIssuerNotAllowed', 'tenant');
  add('issuer template', 'tid of another tenant than the iss', forTenant({ tid: '11111111-2222-3333-4444-555555555555' }), 'TokenIssuerNotAllowed', 'tenant');
  add('issuer template', 'no tid', forTenant({ tid: undefined }), 'TokenIssuerNotAllowed', 'tenant');
  for (const tid of ['a/b', '..', '.', '', 'contoso.onmicrosoft.com', `{${guid}}`, guid.replaceAll('-', ''), `${guid}\n`, `${guid} `, `x${guid}`, 'common']) {
    add('issuer template', `tid ${JSON.stringify(tid)} (not a GUID) filling the template`, forTenant({ iss: tenantIss(tid), tid }), 'TokenIssuerNotAllowed', 'tenant');
  }
  add('issuer template', 'tid a number', forTenant({ tid: 42 }), 'TokenIssuerNotAllowed', 'tenant');
  add('issuer template', 'tid a list holding the GUID', forTenant({ tid: [guid] }), 'TokenIssuerNotAllowed', 'tenant');

  return cases;
}

/**
 * A token signed with `alg` whose signature, as an integer, is below 2^(8(k-1)): its first byte is 0, and that byte is
 * dropped. PSS salts are random, so re-signing the same input gives a new signature; PKCS#1 v1.5 is deterministic, so
 * a counter claim varies the input. About 1 in 256 signatures qualifies.
 */
function withLeadingZeroDropped(alg: string, key: TestKey, claims: Record<string, unknown>): string {
  for (let i = 0; i < 20_000; i++) {
    const token = forge(alg, key.signing, { alg, kid: key.kid }, alg.startsWith('RS') ? { ...claims, jti: `zero-${i}` } : claims);
    const [h, p, s] = token.split('.') as [string, string, string];
    const raw = Buffer.from(s, 'base64url');
    if (raw[0] === 0) return `${h}.${p}.${b64u(raw.subarray(1))}`;
  }
  throw new Error(`no ${alg} signature with a leading zero byte in 20000 tries`);
}

/** The longest token of `make(n)` at most `limit` characters long, and the shortest one longer (binary search on n). */
function tokensAroundLength(limit: number, make: (n: number) => string): [string, string] {
  let lo = 0;
  let hi = limit;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (make(mid).length <= limit) lo = mid;
    else hi = mid;
  }
  return [make(lo), make(hi)];
}

/** The last character of a base64url string with the bits that carry no data changed (or the string unchanged if there are none). */
export function flipSpareBits(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const rest = segment.length % 4;
  const last = alphabet.indexOf(segment.at(-1)!);
  if (rest === 2) return alphabet[last ^ 0x01]!;
  if (rest === 3) return alphabet[last ^ 0x01]!;
  return segment.at(-1)!;
}
