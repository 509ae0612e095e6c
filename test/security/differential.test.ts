// Issue 6: tokengate's own signature path (decode_jws + keyFitsAlgorithm + verify_signature, through verifyToken) against
// jose as the reference, on valid tokens for every algorithm, the hostile-token table and ~2000 fuzz-mutated tokens.
// Same JWKS, same algorithms allow-list. The verdict compared is "signature and structure accepted": jose's
// jwtVerify with no claim options, where a claim-rule error (raised only after the signature verified) counts as
// accepted, since tokengate's verifyToken leaves claim rules to claims.ts.
import fc from 'fast-check';
import { randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, errors, jwtVerify, type CryptoKey as KeyLike, type JWK, type JWTHeaderParameters, type FlattenedJWSInput } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { TokenCache } from '../../src/authz/token_cache.js';
import { buildRuntime } from '../../src/authz/runtime.js';
import type { CompiledPolicy } from '../../src/authz/policy.js';
import { verifyToken } from '../../src/authz/verify_token.js';
import { parseConfigText } from '../../src/config/load.js';
import { AuthzError } from '../../src/errors.js';
import { buildAttackCases } from './helpers/attacks.js';
import { ALL_ALGS, b64u, claimsFor, ecKey, edKey, forge, hmacKey, rsaKey, type TestKey } from './helpers/forge.js';
import { mutatedTokenArb, signedTokenArb, type Signer } from './helpers/mutate.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_240_607);
const FUZZ_TOKENS = 2000;
const NOW = Math.floor(Date.now() / 1000);
const ISS = 'https://static.example.com';
const AUD = 'api://orders';

// Configured keys: every algorithm family; some JWKs pin an alg, some do not.
const rsa = rsaKey('rsa-1', 3072);
const rsa2 = rsaKey('rsa-2');
const rsaPinned = rsaKey('rsa-ps384');
const ec = ecKey('ec-1', 'P-256');
const ec384 = ecKey('ec384-1', 'P-384');
const ec521 = ecKey('ec521-1', 'P-521');
const ed = edKey('ed-1');
const hs = hmacKey('hs-1', randomBytes(32));
const hs384 = hmacKey('hs384-1', randomBytes(48), ['HS384']);
const hs512 = hmacKey('hs512-1', randomBytes(64), ['HS512']);
const CONFIGURED: { key: TestKey; pin?: string }[] = [
  { key: rsa },
  { key: rsa2 },
  { key: rsaPinned, pin: 'PS384' },
  { key: ec },
  { key: ec384, pin: 'ES384' },
  { key: ec521 },
  { key: ed },
  { key: hs },
  { key: hs384, pin: 'HS384' },
  { key: hs512, pin: 'HS512' },
];
// Never configured.
const attacker = rsaKey('attacker-1');
const attackerEc = ecKey('attacker-ec', 'P-256');
const attackerHs = hmacKey('hs-1', randomBytes(32)); // same kid as the real HMAC key

const JWKS: JWK[] = CONFIGURED.map(({ key, pin }) => ({ ...(key.jwk as JWK), kid: key.kid, ...(pin ? { alg: pin } : {}) }));

// --- tokengate -------------------------------------------------------------------------------------------------
let policy: CompiledPolicy;
const noCache = new TokenCache({ maxEntries: 0, maxBytes: 0, maxTtlMs: 0 });
const never = () => new Promise<void>(() => {});

interface Verdict {
  readonly ok: boolean;
  readonly detail: string;
}

async function tokengateVerdict(token: string): Promise<Verdict> {
  try {
    await verifyToken(token, policy, { cache: noCache, nowMs: NOW * 1000, deadline: never });
    return { ok: true, detail: 'verified' };
  } catch (err) {
    if (err instanceof AuthzError) return { ok: false, detail: `${err.reason}: ${err.message}` };
    throw err; // anything else is a bug in its own right
  }
}

// --- jose --------------------------------------------------------------------------------------------------------
const asymmetricJwks = createLocalJWKSet({ keys: JWKS.filter((k) => k.kty !== 'oct') });
const octJwks = JWKS.filter((k) => k.kty === 'oct');

/** Candidate keys for a token, following jose's LocalJWKSet rules; jose's JWKS refuses HS* by design, so oct is done here. */
async function joseKey(header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<Uint8Array | KeyLike> {
  if (typeof header.alg === 'string' && header.alg.startsWith('HS')) {
    const kid: unknown = header.kid;
    const candidates = octJwks.filter((k) => (kid === undefined || (typeof kid === 'string' && kid === k.kid)) && (k.alg === undefined || k.alg === header.alg));
    if (candidates.length === 0) throw new errors.JWKSNoMatchingKey();
    if (candidates.length === 1) return Buffer.from(candidates[0]!.k!, 'base64url');
    const multiple = new errors.JWKSMultipleMatchingKeys();
    (multiple as unknown as { [Symbol.asyncIterator]: () => AsyncGenerator<Uint8Array> })[Symbol.asyncIterator] = async function* () {
      for (const k of candidates) yield Buffer.from(k.k!, 'base64url');
    };
    throw multiple;
  }
  return asymmetricJwks(header, token);
}

const JOSE_OPTIONS = { algorithms: [...ALL_ALGS], currentDate: new Date(NOW * 1000) };
// jose raises these only after the signature verified and the payload parsed as a JSON object.
const signatureAccepted = (err: unknown) => err instanceof errors.JWTClaimValidationFailed || err instanceof errors.JWTExpired;

async function joseVerdict(token: string): Promise<Verdict> {
  try {
    await jwtVerify(token, joseKey, JOSE_OPTIONS);
    return { ok: true, detail: 'verified' };
  } catch (err) {
    if (signatureAccepted(err)) return { ok: true, detail: `verified (claims: ${(err as Error).message})` };
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      // jose leaves trying each candidate to the caller; this is its documented way of doing so.
      for await (const key of err as unknown as AsyncIterable<Uint8Array | KeyLike>) {
        try {
          await jwtVerify(token, key, JOSE_OPTIONS);
          return { ok: true, detail: 'verified (one of several candidates)' };
        } catch (inner) {
          if (signatureAccepted(inner)) return { ok: true, detail: 'verified (one of several candidates; claims failed)' };
        }
      }
      return { ok: false, detail: 'no candidate key verified' };
    }
    return { ok: false, detail: `${(err as { code?: string }).code ?? (err as Error).name}: ${(err as Error).message}` };
  }
}

// --- where the two may legitimately differ ---------------------------------------------------------------------
// Each entry: tokengate rejects and jose accepts, for a reason tokengate is deliberately stricter. A difference that is
// not one of these, or any token tokengate accepts and jose rejects, fails the test.
const KNOWN_DIFFERENCES: { id: string; match: RegExp; why: string; when?: (token: string) => boolean }[] = [
  {
    id: 'duplicate members',
    match: /has duplicate member names/,
    why: 'RFC 7515 §4 / RFC 7519 §4 allow last-wins parsing only if every consumer agrees; tokengate forwards the payload upstream, where a first-wins parser would see another aud/exp/alg. jose uses JSON.parse (last wins).',
  },
  {
    id: 'deep JSON',
    match: /nests deeper than/,
    why: 'tokengate caps nesting at MAX_JSON_DEPTH (32) so recursive code downstream never sees hostile depth; jose has no cap.',
  },
  {
    id: 'escaped NUL',
    match: /contains a NUL character/,
    why: 'tokengate refuses \\u0000 anywhere in header or payload (claims become headers, logs, metadata); jose accepts it.',
  },
  {
    id: 'non-canonical base64url',
    match: /is not canonical base64url/,
    why: "jose decodes with atob, which ignores the spare bits of the last character, so several strings carry one signature; tokengate accepts only the canonical one (one token, one string, for caches and logs).",
  },
  {
    id: 'lenient base64 in the signature',
    match: /signature is not base64url/,
    why: "jose's atob-based decoder strips ASCII whitespace and accepts = padding in the signature segment; tokengate accepts only the base64url alphabet (RFC 7515 §2: no padding, no whitespace).",
  },
  {
    id: 'duplicate crit names',
    match: /"crit" lists a name twice/,
    why: 'RFC 7515 §4.1.11 forbids producers to list a name twice in crit; jose 6 enforces that when signing or encrypting, not when verifying a JWS.',
  },
  {
    id: 'size cap',
    match: /is longer than \d+ characters/,
    why: 'tokengate refuses tokens over MAX_TOKEN_LENGTH (16 KiB) before parsing; jose has no limit.',
  },
  {
    id: 'b64 outside crit',
    match: /"b64" must be listed in "crit"/,
    why: 'RFC 7797 §6: b64 must be listed in crit. jose ignores a b64: false outside crit and reads the payload as base64url, while an RFC 7797 consumer reads raw bytes; tokengate refuses a token two parsers could read two ways.',
  },
  {
    // Stricter on purpose (issue 15, item 5): only a PS* signature that is not the modulus length of any configured
    // RSA key (256 or 384 bytes here) may be refused where jose accepts.
    id: 'RSA signature length',
    match: /^TokenSignatureInvalid: PS(256|384|512) signature does not verify/,
    when: (token) => ![256, 384].includes(Buffer.from(token.split('.')[2] ?? '', 'base64url').length),
    why: 'RFC 8017 §8.1.2 step 1: a PSS signature is exactly the modulus length. OpenSSL (and so jose on Node) accepts one with its leading zero byte dropped, a second string for one signed token; tokengate refuses it, as both already do for RS*.',
  },
];

interface Entry {
  readonly source: string;
  readonly name: string;
  readonly token: string;
  /** For the valid corpus: both must accept. */
  readonly mustAccept?: boolean;
  /** Listed in advance as a known difference (by id). */
  readonly expectDifference?: string;
}

const corpus: Entry[] = [];
const observed = new Map<string, number>();

function sig(alg: string, key: TestKey, header: Record<string, unknown>, payload = claimsFor(NOW, ISS, AUD)): string {
  return forge(alg, key.signing, { alg, ...header }, payload);
}

/** P-256 group order, for the high-S variant of an ECDSA signature. */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function highS(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const raw = Buffer.from(s, 'base64url');
  const sValue = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const flipped = Buffer.from((P256_N - sValue).toString(16).padStart(64, '0'), 'hex');
  return `${h}.${p}.${b64u(Buffer.concat([raw.subarray(0, 32), flipped]))}`;
}

function rsaSignatureWithLeadingZero(): string | undefined {
  // Re-sign with a counter until the RS256 signature's first byte is 0, then drop that byte (a too-short signature).
  for (let i = 0; i < 4000; i++) {
    const token = sig('RS256', rsa2, { kid: rsa2.kid }, claimsFor(NOW, ISS, AUD, { jti: String(i) }));
    const [h, p, s] = token.split('.') as [string, string, string];
    const raw = Buffer.from(s, 'base64url');
    if (raw[0] === 0) return `${h}.${p}.${b64u(raw.subarray(1))}`;
  }
  return undefined;
}

beforeAll(async () => {
  const yaml = `
policies:
  - name: differential
    validateJwt:
      issuerSigningKeys:
${CONFIGURED.map(({ key, pin }) => `        - jwk: ${JSON.stringify({ ...key.jwk, kid: key.kid, ...(pin ? { alg: pin } : {}) })}`).join('\n')}
      algorithms: ${JSON.stringify(ALL_ALGS)}
      audiences: []
      issuers: []
`;
  policy = buildRuntime(parseConfigText(yaml, 'differential')).policies[0]!;

  // 1. Valid tokens for every algorithm, with and without kid.
  for (const { key, pin } of CONFIGURED) {
    for (const alg of key.algs) {
      if (pin && pin !== alg) continue;
      corpus.push({ source: 'valid', name: `${alg} ${key.kid} with kid`, token: sig(alg, key, { kid: key.kid, typ: 'JWT' }), mustAccept: true });
      corpus.push({ source: 'valid', name: `${alg} ${key.kid} without kid`, token: sig(alg, key, {}), mustAccept: true });
    }
  }
  corpus.push({ source: 'valid', name: 'payload with a UTF-8 BOM', token: forge('RS256', rsa.signing, { alg: 'RS256', kid: rsa.kid }, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(claimsFor(NOW, ISS, AUD)))])) });
  corpus.push({ source: 'valid', name: 'non-ASCII claims', token: sig('ES256', ec, { kid: ec.kid }, claimsFor(NOW, ISS, AUD, { name: 'Zoë 😀 \u2028' })), mustAccept: true });

  // 2. Key-selection and signature-format edge cases.
  const edge = (name: string, token: string, expectDifference?: string) => corpus.push({ source: 'edge', name, token, ...(expectDifference ? { expectDifference } : {}) });
  edge('pinned PS384 key used for PS256', sig('PS256', rsaPinned, { kid: rsaPinned.kid }));
  edge('pinned PS384 key used for RS384', sig('RS384', rsaPinned, { kid: rsaPinned.kid }));
  edge('pinned HS384 key used for HS256', sig('HS256', hs384, { kid: hs384.kid }));
  edge('pinned HS512 key used for HS512 without kid', sig('HS512', hs512, {}));
  edge('ES256 signature claimed as ES384 with the P-384 kid', forge('ES256', ec.signing, { alg: 'ES384', kid: ec384.kid }, claimsFor(NOW, ISS, AUD)));
  edge('ES256 token with the P-521 key kid', sig('ES256', ec, { kid: ec521.kid }));
  edge('PS256 with salt length 0', forge('PS256', rsa.signing, { alg: 'PS256', kid: rsa.kid }, claimsFor(NOW, ISS, AUD), { pssSaltLength: 0 }));
  edge('PS256 with maximum salt length', forge('PS256', rsa.signing, { alg: 'PS256', kid: rsa.kid }, claimsFor(NOW, ISS, AUD), { pssSaltLength: -2 }));
  edge('ES256 with a DER signature', (() => {
    const header = b64u(JSON.stringify({ alg: 'ES256', kid: ec.kid }));
    const input = `${header}.${b64u(JSON.stringify(claimsFor(NOW, ISS, AUD)))}`;
    return `${input}.${b64u(cryptoSign('sha256', Buffer.from(input), ec.signing as KeyObject))}`;
  })());
  edge('ES256 high-S signature (n - s)', highS(sig('ES256', ec, { kid: ec.kid })));
  const shortRsa = rsaSignatureWithLeadingZero();
  if (shortRsa) edge('RS256 signature with its leading zero byte dropped', shortRsa);
  const goodRsa2 = sig('RS256', rsa2, { kid: rsa2.kid });
  edge('RS256 signature with a leading zero byte added', (() => {
    const [h, p, s] = goodRsa2.split('.') as [string, string, string];
    return `${h}.${p}.${b64u(Buffer.concat([Buffer.from([0]), Buffer.from(s, 'base64url')]))}`;
  })());
  edge('ES256 signature with = padding', `${sig('ES256', ec, { kid: ec.kid })}==`, 'lenient base64 in the signature');
  edge('RS256 signature with a newline inside', goodRsa2.replace(/(.{300})$/, '\n$1'), 'lenient base64 in the signature');
  edge('signed by an attacker key with the configured HMAC kid', sig('HS256', attackerHs, { kid: hs.kid }));
  edge('embedded jwk naming the attacker key', sig('RS256', attacker, { jwk: { ...attacker.jwk, kid: attacker.kid } }));
  edge('Ed25519 signature with alg "Ed25519"', forge('EdDSA', ed.signing, { alg: 'Ed25519', kid: ed.kid }, claimsFor(NOW, ISS, AUD)));
  edge('crit ["b64"] with b64 true (understood, a no-op)', sig('RS256', rsa, { kid: rsa.kid, crit: ['b64'], b64: true }));
  edge('b64 false without crit (jose ignores it, tokengate refuses it)', sig('RS256', rsa, { kid: rsa.kid, b64: false }));

  // 3. The hostile-token table, built against these keys.
  const attacks = await buildAttackCases({ now: NOW, iss: ISS, aud: AUD, rsa, ec, hs, ec384, ed, attacker, attackerUrl: 'http://127.0.0.1:9' });
  const ATTACK_DIFFERENCE: Record<string, string> = {
    'duplicate members': 'duplicate members',
    'deep JSON': 'deep JSON',
  };
  for (const c of attacks) {
    // Of the PSS length cases only the shortened signature is accepted by jose; a prepended zero byte both refuse.
    const listed = c.group === 'PSS signature length' && /leading zero byte dropped/.test(c.name) ? 'RSA signature length' : ATTACK_DIFFERENCE[c.group];
    const isControl = /control/.test(c.name) || c.expect === 'allow';
    corpus.push({
      source: 'attack',
      name: `${c.group}: ${c.name}`,
      token: c.token,
      ...(listed && !isControl ? { expectDifference: listed } : {}),
    });
  }

  // 4. Fuzz-mutated tokens, from a fixed seed.
  const signers: Signer[] = [...CONFIGURED, { key: attacker }, { key: attackerEc }, { key: attackerHs }].flatMap(({ key, pin }: { key: TestKey; pin?: string }) =>
    key.algs.filter((alg) => !pin || alg === pin).map((alg) => ({ keyName: key.kid, alg, kid: key.kid, key: key.signing })),
  );
  const options = {
    signers,
    kids: [...CONFIGURED.map(({ key }) => key.kid), attacker.kid],
    claims: fc.record({ iss: fc.constantFrom(ISS, 'x'), aud: fc.constantFrom(AUD, 'y'), exp: fc.constantFrom(NOW + 600, NOW - 600), sub: fc.string({ maxLength: 8 }) }),
  };
  const base = signedTokenArb(options);
  const tokens = fc.sample(fc.oneof({ weight: 1, arbitrary: base }, { weight: 4, arbitrary: mutatedTokenArb(base, options) }), { seed: SEED, numRuns: FUZZ_TOKENS });
  tokens.forEach((token, i) => corpus.push({ source: 'fuzz', name: `fuzz #${i} (seed ${SEED})`, token }));
}, 60_000);

describe('differential: tokengate verifier vs jose (same JWKS, same algorithms)', () => {
  it(`gives the same verdict on every token (valid corpus, edge cases, attack table, ${FUZZ_TOKENS} fuzz tokens)`, async () => {
    const mismatches: string[] = [];
    let accepted = 0;
    for (const entry of corpus) {
      const [ours, theirs] = await Promise.all([tokengateVerdict(entry.token), joseVerdict(entry.token)]);
      if (ours.ok) accepted++;
      const label = `${entry.source} / ${entry.name}: tokengate ${ours.ok ? 'accepts' : 'rejects'} (${ours.detail}), jose ${theirs.ok ? 'accepts' : 'rejects'} (${theirs.detail})`;
      if (entry.mustAccept && !(ours.ok && theirs.ok)) mismatches.push(`valid token not accepted by both: ${label}`);
      if (ours.ok === theirs.ok) {
        if (entry.expectDifference) mismatches.push(`listed as "${entry.expectDifference}" but both agree: ${label}`);
        continue;
      }
      // tokengate must never be the more lenient one.
      if (ours.ok) {
        mismatches.push(`TOKENGATE MORE LENIENT: ${label}`);
        continue;
      }
      const known = KNOWN_DIFFERENCES.find((d) => d.match.test(ours.detail) && (d.when?.(entry.token) ?? true));
      if (!known) mismatches.push(`unexplained difference: ${label}`);
      else if (entry.expectDifference && entry.expectDifference !== known.id) mismatches.push(`expected "${entry.expectDifference}", got "${known.id}": ${label}`);
      else observed.set(known.id, (observed.get(known.id) ?? 0) + 1);
    }
    expect(mismatches).toEqual([]);
    // The corpus must exercise both verdicts, or agreement proves nothing.
    expect(accepted).toBeGreaterThan(60);
    expect(corpus.length - accepted).toBeGreaterThan(1000);
  }, 60_000);

  it('every listed difference actually occurs in the corpus (the list is exact, not a blanket excuse)', () => {
    for (const d of KNOWN_DIFFERENCES) expect(observed.get(d.id) ?? 0, `${d.id}: ${d.why}`).toBeGreaterThan(0);
  });

  it('tokengate stays the stricter one for a public key given as an HMAC secret, whatever its form', async () => {
    const pem = rsa.publicKey!.export({ type: 'spki', format: 'pem' }).toString();
    for (const secret of [pem, pem.trim(), JSON.stringify(rsa.jwk)]) {
      const token = forge('HS256', Buffer.from(secret), { alg: 'HS256' }, claimsFor(NOW, ISS, AUD));
      expect((await tokengateVerdict(token)).ok).toBe(false);
      expect((await joseVerdict(token)).ok).toBe(false);
    }
  });
});
