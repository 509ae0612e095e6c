// Issue 7: property-based fuzzing of the Check pipeline. Random valid configs, random CheckRequests (random headers,
// context_extensions, tokens built from real, mutated and random segments). Invariants:
//   1. the handler never throws or rejects, and never answers InternalError;
//   2. an allow only ever happens for a token signed, unmodified, by a key configured in the selected policy (or an
//      unsigned token the policy explicitly accepts), whose claims satisfy the policy — checked against a model;
//      conversely a clean request carrying such a token is allowed (so the property can fail both ways);
//   3. every response is well-formed;
//   4. with keys of two issuers in one policy, an allow means the verifying key belongs to the token's iss
//      (RFC 8725 §3.8: each key is bound to its issuer with `issuers` on the key).
// Fixed seed by default (FUZZ_SEED=… to explore); fast-check prints the seed and counterexample on failure.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { authorize } from '../../src/authz/authorize.js';
import type { Decision } from '../../src/authz/decision.js';
import { buildRuntime, type Runtime } from '../../src/authz/runtime.js';
import { TokenCache } from '../../src/authz/token_cache.js';
import { parseConfigText } from '../../src/config/load.js';
import { DENY_REASONS } from '../../src/errors.js';
import { ASYMMETRIC_ALGORITHMS } from '../../src/jwt/algorithms.js';
import { toAuthzRequest } from '../../src/grpc/check_request.js';
import { toCheckResponse } from '../../src/grpc/check_response.js';
import type { CheckReply } from '../../src/grpc/check_client.js';
import type { CheckRequestMessage, CheckResponseMessage } from '../../src/grpc/protos.js';
import { envoyCheckRequest } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { ecKey, edKey, hmacKey, rsaKey, type TestKey } from './helpers/forge.js';
import { base64urlString, mutatedTokenArb, signedTokenArb, signedTokens, unsignedTokenArb, type Signer } from './helpers/mutate.js';

const SEED = Number(process.env.FUZZ_SEED ?? 7_007);
const DIRECT_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const GRPC_CONFIGS = 4;
const GRPC_REQUESTS_PER_CONFIG = 40;
// Whole seconds; every generated time offset is a multiple of 60 s, so the gRPC server's own clock (a few seconds
// later) decides exactly as the direct runs at NOW do.
const NOW = Math.floor(Date.now() / 1000);

// --- keys ----------------------------------------------------------------------------------------------------------
type KeyName = 'rsa' | 'ec' | 'ed' | 'hs';
const KEYS: Record<KeyName, TestKey> = {
  rsa: rsaKey('k-rsa'),
  ec: ecKey('k-ec', 'P-256'),
  ed: edKey('k-ed'), // configured without an id: a candidate for any kid (APIM semantics)
  hs: hmacKey('k-hs', Buffer.from('0123456789abcdef0123456789abcdef')),
};
const KEY_ID: Record<KeyName, string | undefined> = { rsa: 'k-rsa', ec: 'k-ec', ed: undefined, hs: 'k-hs' };
/** Whose keys they are, when a policy binds its keys: two issuers' keys side by side in one policy. */
const KEY_ISSUER: Record<KeyName, string> = { rsa: 'https://iss.a', hs: 'https://iss.a', ec: 'https://iss.b', ed: 'https://iss.b' };
// Attackers: same kids as the real keys where that is nastiest.
const ATTACKERS: TestKey[] = [rsaKey('k-rsa'), ecKey('a-ec', 'P-256'), edKey('a-ed'), hmacKey('k-hs', Buffer.from('attacker-secret-attacker-secret!'))];
const ATTACKER_NAMES = ['attacker-rsa', 'attacker-ec', 'attacker-ed', 'attacker-hs'];

const signers: Signer[] = [
  ...(Object.keys(KEYS) as KeyName[]).flatMap((name) => KEYS[name].algs.map((alg) => ({ keyName: name, alg, kid: KEYS[name].kid, key: KEYS[name].signing }))),
  ...ATTACKERS.flatMap((key, i) => key.algs.map((alg) => ({ keyName: ATTACKER_NAMES[i]!, alg, kid: key.kid, key: key.signing }))),
];

/** issuerSigningKeys entries, in one of the forms the schema accepts. */
function keyEntry(name: KeyName, form: number): Record<string, unknown> {
  const key = KEYS[name];
  switch (name) {
    case 'rsa':
      if (form === 0) return { pem: key.publicKey!.export({ type: 'spki', format: 'pem' }).toString(), id: 'k-rsa' };
      if (form === 1) return { n: key.jwk.n, e: key.jwk.e, id: 'k-rsa' };
      return { jwk: { ...key.jwk, kid: 'k-rsa' } };
    case 'ec':
      return form === 0 ? { pem: key.publicKey!.export({ type: 'spki', format: 'pem' }).toString(), id: 'k-ec' } : { jwk: { ...key.jwk, kid: 'k-ec' } };
    case 'ed':
      return form === 0 ? { pem: key.publicKey!.export({ type: 'spki', format: 'pem' }).toString() } : { jwk: { ...key.jwk } };
    case 'hs':
      return form === 0 ? { base64: (key.signing as Buffer).toString('base64'), id: 'k-hs' } : { jwk: { kty: 'oct', k: key.jwk.k, kid: 'k-hs' } };
  }
}

// --- configs ---------------------------------------------------------------------------------------------------------
type Location = 'bearer' | 'x-token' | 'x-token-scheme' | 'query' | 'cookie';
interface ClaimRule {
  name: string;
  match: 'all' | 'any';
  separator?: string;
  values: string[];
}
interface PolicyModel {
  name: string;
  mode: 'enforce' | 'report-only';
  prefix: string | undefined;
  keys: KeyName[];
  /** Each key carries `issuers: [KEY_ISSUER[key]]`: only that issuer's tokens may verify with it. */
  bindKeys: boolean;
  algorithms: string[] | undefined;
  audiences: string[];
  issuers: string[];
  requiredClaims: ClaimRule[];
  clockSkew: number;
  maxLifetime: number | undefined;
  requireExpirationTime: boolean;
  requireSignedTokens: boolean;
  location: Location;
  failedValidationHttpCode: 401 | 403 | undefined;
  outputSub: boolean;
  forwardPayload: boolean;
}

const ASYMMETRIC: string[] = [...ASYMMETRIC_ALGORITHMS];

const matchArb = fc.constantFrom<'all' | 'any'>('all', 'any');
const claimRuleArb: fc.Arbitrary<ClaimRule> = fc.oneof(
  fc.record({ match: matchArb, values: fc.subarray(['read', 'write'], { minLength: 1 }) }).map((r): ClaimRule => ({ name: 'scp', separator: ' ', ...r })),
  fc.record({ match: matchArb, values: fc.subarray(['Reader', 'Admin']) }).map((r): ClaimRule => ({ name: 'roles', ...r })),
  fc.subarray(['t1']).map((values): ClaimRule => ({ name: 'tid', match: 'all', values })),
);

const policyArb = (index: number): fc.Arbitrary<PolicyModel> =>
  fc
    .record({
      mode: fc.constantFrom<'enforce' | 'report-only'>('enforce', 'enforce', 'enforce', 'report-only'),
      prefix: fc.constantFrom(undefined, '/api', '/other'),
      keys: fc.subarray<KeyName>(['rsa', 'ec', 'ed', 'hs'], { minLength: 1 }),
      bindKeys: fc.boolean(),
      algorithmsPick: fc.option(fc.subarray([...ASYMMETRIC, 'HS256', 'HS384', 'HS512'], { minLength: 1 }), { freq: 3 }),
      audiences: fc.subarray(['api://a', 'api://b']),
      issuers: fc.subarray(['https://iss.a', 'https://iss.b']),
      requiredClaims: fc.array(claimRuleArb, { maxLength: 2 }),
      clockSkew: fc.constantFrom(0, 60, 300),
      maxLifetime: fc.constantFrom(undefined, 600, 3600, 7200),
      requireExpirationTime: fc.boolean(),
      requireSignedTokens: fc.constantFrom(true, true, true, false),
      location: fc.constantFrom<Location>('bearer', 'bearer', 'x-token', 'x-token-scheme', 'query', 'cookie'),
      failedValidationHttpCode: fc.constantFrom<401 | 403 | undefined>(undefined, undefined, 401, 403),
      outputSub: fc.boolean(),
      forwardPayload: fc.boolean(),
    })
    .map(({ algorithmsPick, ...p }) => {
      // HS* is only valid in the schema with a symmetric key configured.
      const algorithms = algorithmsPick?.filter((a) => !a.startsWith('HS') || p.keys.includes('hs'));
      return { ...p, name: `p${index}`, algorithms: algorithms && algorithms.length > 0 ? algorithms : undefined };
    });

interface ConfigModel {
  policies: PolicyModel[];
  keyForms: number[];
}

const configArb: fc.Arbitrary<ConfigModel> = fc
  .integer({ min: 1, max: 3 })
  .chain((n) => fc.record({ policies: fc.tuple(...Array.from({ length: n }, (_, i) => policyArb(i))), keyForms: fc.array(fc.nat(2), { minLength: 4, maxLength: 4 }) }));

function configYaml(c: ConfigModel): string {
  const names: KeyName[] = ['rsa', 'ec', 'ed', 'hs'];
  return stringify({
    policies: c.policies.map((p) => ({
      name: p.name,
      mode: p.mode,
      ...(p.prefix ? { match: { pathPrefixes: [p.prefix] } } : {}),
      validateJwt: {
        ...(p.location === 'bearer' ? {} : p.location === 'query' ? { queryParameterName: 'access_token' } : p.location === 'cookie' ? { cookieName: 'at' } : { headerName: 'x-token' }),
        ...(p.location === 'x-token-scheme' ? { requireScheme: 'Token' } : {}),
        issuerSigningKeys: p.keys.map((k) => ({
          ...keyEntry(k, c.keyForms[names.indexOf(k)]!),
          ...(p.bindKeys ? { issuers: [KEY_ISSUER[k]] } : {}),
        })),
        ...(p.algorithms ? { algorithms: p.algorithms } : {}),
        audiences: p.audiences,
        issuers: p.issuers,
        requiredClaims: p.requiredClaims,
        clockSkew: p.clockSkew,
        ...(p.maxLifetime ? { maxLifetime: p.maxLifetime } : {}),
        requireExpirationTime: p.requireExpirationTime,
        requireSignedTokens: p.requireSignedTokens,
        ...(p.failedValidationHttpCode ? { failedValidationHttpCode: p.failedValidationHttpCode } : {}),
        ...(p.outputSub ? { outputClaimsToHeaders: [{ claim: 'sub', header: 'x-sub' }] } : {}),
        ...(p.forwardPayload ? { forwardPayloadHeader: 'x-jwt-payload' } : {}),
      },
    })),
  });
}

/** The algorithms a policy ends up with: the list given, or the schema's default for its keys. */
function effectiveAlgorithms(p: PolicyModel): string[] {
  return p.algorithms ?? (p.keys.includes('hs') ? [...ASYMMETRIC, 'HS256', 'HS384', 'HS512'] : ASYMMETRIC);
}

// --- tokens ----------------------------------------------------------------------------------------------------------
const offset = (choices: number[]) => fc.option(fc.constantFrom(...choices), { freq: 4 });
const claimsArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    iss: fc.option(fc.constantFrom('https://iss.a', 'https://iss.b', 'https://evil.example'), { freq: 6 }),
    aud: fc.option(fc.constantFrom<unknown>('api://a', 'api://b', 'api://c', ['api://c', 'api://a'], ['api://c']), { freq: 6 }),
    exp: offset([-3600, -300, -60, 0, 60, 600, 3600, 7200, 10 * 365 * 86_400]),
    nbf: offset([-600, -60, 0, 60, 300]),
    iat: offset([-7200, -600, -60, 0, 60, 10 * 365 * 86_400 - 60]),
    scp: fc.option(fc.constantFrom('read', 'read write', 'write', 'write  read'), { freq: 3 }),
    roles: fc.option(fc.constantFrom(['Reader'], ['Admin', 'Reader'], []), { freq: 3 }),
    tid: fc.option(fc.constant('t1'), { freq: 3 }),
    sub: fc.constantFrom('alice', 'bob'),
  })
  .map((c) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(c)) {
      if (v === null || v === undefined) continue;
      out[k] = k === 'exp' || k === 'nbf' || k === 'iat' ? NOW + (v as number) : v;
    }
    return out;
  });

/** Claims that satisfy most generated policies (every issuer and audience, every claim value, a short lifetime). */
const goodClaimsArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    iss: fc.constantFrom('https://iss.a', 'https://iss.b'),
    exp: fc.constantFrom(60, 300),
    nbf: fc.option(fc.constantFrom(-60, 0)),
    iat: fc.option(fc.constantFrom(-60, 0)),
    sub: fc.constantFrom('alice', 'bob'),
  })
  .map(({ iss, exp, nbf, iat, sub }) => ({
    iss,
    aud: ['api://a', 'api://b'],
    exp: NOW + exp,
    ...(nbf === null ? {} : { nbf: NOW + nbf }),
    ...(iat === null ? {} : { iat: NOW + iat }),
    scp: 'read write',
    roles: ['Reader', 'Admin'],
    tid: 't1',
    sub,
  }));
const mixedClaimsArb = fc.oneof(goodClaimsArb, claimsArb);

const tokenOptions = { signers, claims: mixedClaimsArb, kids: ['k-rsa', 'k-ec', 'k-hs', 'a-ec', 'a-ed', 'k-ed'] };
const signedArb = signedTokenArb(tokenOptions);
/** `binary`: junk may hold lone surrogates, which protobuf cannot carry (so not for the gRPC runs). */
const tokenArb = (binary: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 5, arbitrary: signedArb },
    { weight: 1, arbitrary: unsignedTokenArb(claimsArb) },
    { weight: 5, arbitrary: mutatedTokenArb(signedArb, tokenOptions) },
    { weight: 1, arbitrary: fc.oneof(base64urlString(60), fc.string({ maxLength: 60 }), fc.string({ unit: binary ? 'binary' : 'grapheme', maxLength: 40 })) },
  );

// --- requests --------------------------------------------------------------------------------------------------------
type Placement = Location | 'none' | 'all';
interface RequestModel {
  request: object;
  /** The token placed, and where (the request is "clean" for a policy when it carries exactly that token there). */
  token: string;
  placement: Placement;
  scheme: string;
  headers: Record<string, string>;
  path: string;
  contextExtensions: Record<string, string>;
}

const headerNameArb = fc.oneof(
  fc.constantFrom('authorization', 'x-token', 'cookie', 'x-forwarded-for', 'content-type', 'constructor', 'x-sub', 'x-jwt-payload'),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
);
const headerValueArb = (binary: boolean) =>
  fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: binary ? 'binary' : 'grapheme', maxLength: 40 }), fc.constantFrom('Bearer', 'Bearer ', 'Bearer a.b.c', 'at=x; at=y', ' , '));

/**
 * A request aimed (mostly) at one of the config's policies: its location, its path or name, a token from one of its
 * keys and algorithms — then anything may be off: other placements, schemes, colliding headers, junk tokens.
 */
function requestArb(c: ConfigModel, binary: boolean): fc.Arbitrary<RequestModel> {
  return fc.nat(c.policies.length - 1).chain((i) => {
    const target = c.policies[i]!;
    const targetSigners = signers.filter((s) => target.keys.includes(s.keyName as KeyName) && effectiveAlgorithms(target).includes(s.alg));
    const forTarget = signedTokenArb({ ...tokenOptions, signers: targetSigners.length > 0 ? targetSigners : signers });
    return fc
      .record({
        path: fc.oneof({ weight: 3, arbitrary: fc.constant(target.prefix ? `${target.prefix}/x` : '/') }, fc.constantFrom('/api/orders', '/other/x', '/')),
        token: fc.oneof(
          { weight: 4, arbitrary: forTarget },
          { weight: 2, arbitrary: mutatedTokenArb(forTarget, tokenOptions) },
          { weight: 3, arbitrary: tokenArb(binary) },
        ),
        placement: fc.oneof({ weight: 5, arbitrary: fc.constant<Placement>(target.location) }, fc.constantFrom<Placement>('bearer', 'x-token', 'x-token-scheme', 'query', 'cookie', 'none', 'all')),
        scheme: fc.oneof({ weight: 5, arbitrary: fc.constant('Bearer ') }, fc.constantFrom('bearer ', 'BEARER   ', 'Basic ', '', 'Bearer')),
        extraHeaders: fc.dictionary(headerNameArb, headerValueArb(binary), { maxKeys: 3 }),
        extrasWin: fc.boolean(),
        contextExtensions: fc.oneof(
          { weight: 2, arbitrary: fc.constant({ policy: target.name }) },
          { weight: 2, arbitrary: fc.constant({}) },
          fc.dictionary(fc.constantFrom('policy', 'route', 'x'), fc.constantFrom('p0', 'p1', 'p2', 'nope', ''), { maxKeys: 2 }),
        ),
      })
      .map(({ path, token, placement, scheme, extraHeaders, extrasWin, contextExtensions }) => {
        const placed: Record<string, string> = {};
        let fullPath: string = path;
        const at = (where: Location) => placement === where || placement === 'all';
        if (at('bearer')) placed.authorization = `${scheme}${token}`;
        if (at('x-token')) placed['x-token'] = token;
        if (at('x-token-scheme')) placed['x-token'] = `Token ${token}`;
        if (at('query')) fullPath = `${path}?a=1&access_token=${token}`;
        if (at('cookie')) placed.cookie = `other=1; at=${token}`;
        const headers = extrasWin ? { ...placed, ...extraHeaders } : { ...extraHeaders, ...placed };
        const request = envoyCheckRequest({ path: fullPath, headers, contextExtensions });
        return { request, token, placement, scheme, headers, path: fullPath, contextExtensions };
      });
  });
}

// --- the model ---------------------------------------------------------------------------------------------------------
function selectModel(c: ConfigModel, r: RequestModel): PolicyModel | 'PolicyNotFound' | 'NoPolicyMatched' {
  const named = r.contextExtensions.policy;
  if (named !== undefined) return c.policies.find((p) => p.name === named) ?? 'PolicyNotFound';
  return c.policies.find((p) => p.prefix === undefined || r.path.startsWith(p.prefix)) ?? 'NoPolicyMatched';
}

/** Does the request carry the token exactly where the policy looks, in the canonical form, and nothing conflicting? */
function cleanFor(p: PolicyModel, r: RequestModel): boolean {
  switch (p.location) {
    case 'bearer':
      return r.headers.authorization === `Bearer ${r.token}`;
    case 'x-token':
      return r.headers['x-token'] === r.token;
    case 'x-token-scheme':
      return r.headers['x-token'] === `Token ${r.token}`;
    case 'query':
      return r.placement === 'query' || r.placement === 'all';
    case 'cookie':
      return r.headers.cookie === `other=1; at=${r.token}`;
  }
}

function decodeSegment(segment: string | undefined): unknown {
  try {
    return JSON.parse(Buffer.from(segment ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The token is signed, unmodified, by a key the policy configures, for an alg the policy allows and the kid rule holds. */
function legitimatelySigned(p: PolicyModel, token: string): { payload: Record<string, unknown>; clean: boolean } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const header = decodeSegment(parts[0]) as Record<string, unknown> | undefined;
  const payload = decodeSegment(parts[1]) as Record<string, unknown> | undefined;
  if (!header || typeof header !== 'object' || !payload || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const info = signedTokens.get(token);
  if (!info) {
    // Unsigned: only where the policy opted in, and only exactly alg "none" with no signature.
    if (!p.requireSignedTokens && header.alg === 'none' && parts[2] === '') return { payload, clean: true };
    return undefined;
  }
  const keyName = info.signer.keyName as KeyName;
  if (!p.keys.includes(keyName)) return undefined; // an attacker key, or a key of another policy
  if (header.alg !== info.signer.alg || !effectiveAlgorithms(p).includes(info.signer.alg)) return undefined;
  if (header.kid !== undefined && KEY_ID[keyName] !== undefined && header.kid !== KEY_ID[keyName]) return undefined;
  if (p.bindKeys && payload.iss !== KEY_ISSUER[keyName]) return undefined; // another issuer's key
  return { payload, clean: info.clean };
}

const numericDate = (v: unknown): number | undefined | null =>
  v === undefined ? undefined : typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;

function claimsSatisfy(p: PolicyModel, c: Record<string, unknown>, now: number): boolean {
  const exp = numericDate(c.exp);
  const nbf = numericDate(c.nbf);
  const iat = numericDate(c.iat);
  if (exp === null || nbf === null || iat === null) return false;
  if (exp === undefined ? p.requireExpirationTime : exp <= now - p.clockSkew) return false;
  if (nbf !== undefined && nbf > now + p.clockSkew) return false;
  if (p.maxLifetime !== undefined && (exp === undefined || exp - Math.min(nbf ?? iat ?? now, now) > p.maxLifetime)) return false;
  if (p.issuers.length > 0 && !(typeof c.iss === 'string' && p.issuers.includes(c.iss))) return false;
  if (p.audiences.length > 0) {
    const aud = c.aud;
    const list = aud === undefined ? [] : typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? (aud as string[]) : null;
    if (list === null || !list.some((a) => p.audiences.includes(a))) return false;
  }
  for (const rule of p.requiredClaims) {
    const raw = c[rule.name];
    if (raw === undefined || raw === null) return false;
    if (rule.values.length === 0) continue;
    const have = new Set<string>(
      typeof raw === 'string'
        ? rule.separator === undefined ? [raw] : raw.split(rule.separator).filter((v) => v !== '')
        : typeof raw === 'number' || typeof raw === 'boolean' ? [String(raw)]
        : Array.isArray(raw) ? raw.filter((v) => ['string', 'number', 'boolean'].includes(typeof v)).map(String)
        : [],
    );
    if (rule.match === 'all' ? !rule.values.every((v) => have.has(v)) : !rule.values.some((v) => have.has(v))) return false;
  }
  return true;
}

// --- well-formedness -------------------------------------------------------------------------------------------------
const REASONS = new Set<string>(DENY_REASONS);

/** Checks a CheckResponse. Returns the reason (denials and report-only would-denies). */
function assertWellFormed(res: CheckReply | CheckResponseMessage): string | undefined {
  const fields = res.dynamic_metadata?.fields ?? {};
  const reason = fields['tokengate.reason']?.stringValue;
  if (res.status.code === 0) {
    expect(res.ok_response).toBeDefined();
    expect(res.denied_response).toBeUndefined();
    expect(['allow', 'would_deny']).toContain(fields['tokengate.decision']?.stringValue);
    if (fields['tokengate.decision']?.stringValue === 'would_deny') expect(REASONS.has(reason!)).toBe(true);
    return reason;
  }
  expect([7, 14, 16]).toContain(res.status.code);
  expect(res.ok_response).toBeUndefined();
  const denied = res.denied_response!;
  expect(denied).toBeDefined();
  const numeric = denied.status.code;
  expect([401, 403, 503]).toContain(numeric);
  const body = JSON.parse(denied.body!) as { statusCode: unknown; message: unknown };
  expect(body.statusCode).toBe(numeric);
  expect(typeof body.message).toBe('string');
  expect(fields['tokengate.decision']?.stringValue).toBe('deny');
  expect(REASONS.has(reason!), `reason ${reason}`).toBe(true);
  return reason;
}

// --- runtime with a spy on the token the pipeline extracted -------------------------------------------------------------
class SpyCache extends TokenCache {
  lastToken: string | undefined;
  override get(token: string, nowMs: number) {
    this.lastToken = token;
    return super.get(token, nowMs);
  }
}

function runtimeFor(c: ConfigModel): { runtime: Runtime; spy: SpyCache } {
  const spy = new SpyCache();
  const runtime = { ...buildRuntime(parseConfigText(configYaml(c), 'fuzz')), cache: spy };
  return { runtime, spy };
}

const stats = { requests: 0, allowed: 0, boundAllowed: 0, cleanLegitAllowed: 0, wouldDeny: 0, reasons: new Map<string, number>() };

/** Runs one request through authorize() and checks every invariant; returns the decision. */
async function checkDirect(c: ConfigModel, rt: { runtime: Runtime; spy: SpyCache }, r: RequestModel): Promise<Decision> {
  rt.spy.lastToken = undefined;
  let decision: Decision;
  try {
    decision = await authorize(toAuthzRequest(r.request as CheckRequestMessage), rt.runtime, { deadlineMs: 150, nowMs: NOW * 1000 });
  } catch (err) {
    throw new Error(`authorize() threw: ${(err as Error)?.stack ?? String(err)}`);
  }
  stats.requests++;
  const reason = decision.allowed ? decision.wouldDeny?.reason : decision.reason;
  stats.reasons.set(reason ?? 'allow', (stats.reasons.get(reason ?? 'allow') ?? 0) + 1);
  expect(reason, decision.allowed ? decision.wouldDeny?.detail : decision.detail).not.toBe('InternalError');
  expect(reason).not.toBe('KeysUnavailable');
  assertWellFormed(toCheckResponse(decision));

  const selected = selectModel(c, r);
  if (typeof selected === 'string') {
    expect(decision.allowed).toBe(false);
    expect(reason).toBe(selected);
    return decision;
  }
  expect(decision.policy?.name).toBe(selected.name);
  if (selected.mode === 'report-only') {
    expect(decision.allowed, 'report-only lets every request through').toBe(true);
  }
  if (decision.allowed && decision.wouldDeny) {
    stats.wouldDeny++;
    // No identity was established: nothing identity-bearing goes upstream.
    expect(decision.upstreamHeaders).toEqual([]);
  }
  const fullyAllowed = decision.allowed && !decision.wouldDeny;
  if (decision.allowed && !decision.wouldDeny) {
    stats.allowed++;
    const token = rt.spy.lastToken;
    expect(token, 'an allow must have gone through the signature step').toBeDefined();
    const legit = legitimatelySigned(selected, token!);
    expect(legit, `ALLOWED A TOKEN NOT SIGNED BY A CONFIGURED KEY OF ITS ISSUER: ${token}`).toBeDefined();
    if (selected.bindKeys && selected.keys.length > 1) stats.boundAllowed++;
    expect(claimsSatisfy(selected, legit!.payload, NOW), `allowed claims the policy rejects: ${JSON.stringify(legit!.payload)}`).toBe(true);
    // A client-forged identity header never survives: it is overwritten from the token, or removed.
    if (selected.outputSub) {
      const sub = decision.upstreamHeaders.find((h) => h.key === 'x-sub');
      if (sub) expect(sub.value).toBe(String(legit!.payload.sub));
      else expect(decision.headersToRemove).toContain('x-sub');
    }
  }
  // The converse, for clean requests: a properly signed token whose claims satisfy the policy is allowed.
  if (cleanFor(selected, r)) {
    const legit = legitimatelySigned(selected, r.token);
    if (legit?.clean && claimsSatisfy(selected, legit.payload, NOW)) {
      expect(fullyAllowed, `denied a good token: ${decision.allowed ? '' : `${decision.reason} ${decision.detail}`}`).toBe(true);
      stats.cleanLegitAllowed++;
    }
  }
  return decision;
}

describe('fuzz: authorize() against random configs and requests', () => {
  it(`holds the invariants for ${DIRECT_RUNS} random configs (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(configArb.chain((c) => fc.tuple(fc.constant(c), fc.array(requestArb(c, true), { minLength: 1, maxLength: 6 }))), async ([c, requests]) => {
        const rt = runtimeFor(c);
        for (const r of requests) await checkDirect(c, rt, r);
      }),
      { seed: SEED, numRuns: DIRECT_RUNS, endOnFailure: false },
    );
    // The run must have exercised the allow path, including the model's converse, or the invariants prove little.
    expect(stats.allowed).toBeGreaterThan(DIRECT_RUNS / 10);
    expect(stats.cleanLegitAllowed).toBeGreaterThan(DIRECT_RUNS / 20);
    expect(stats.reasons.size).toBeGreaterThan(10);
    expect(stats.boundAllowed, 'allows under policies holding two issuers\' keys').toBeGreaterThan(DIRECT_RUNS / 50);
    console.log(`fuzz (seed ${SEED}): ${stats.requests} checks, ${stats.allowed} allowed (${stats.cleanLegitAllowed} by the converse), ${stats.wouldDeny} would-deny; ${[...stats.reasons].map(([r, n]) => `${r} ${n}`).join(', ')}`);
  }, 60_000);
});

describe('fuzz: through the real gRPC server', () => {
  let tg: RunningTokengate | undefined;
  afterAll(async () => tg?.stop());

  it(`answers ${GRPC_CONFIGS} configs × ${GRPC_REQUESTS_PER_CONFIG} requests well-formed, and exactly as authorize() does`, async () => {
    await fc.assert(
      fc.asyncProperty(configArb.chain((c) => fc.tuple(fc.constant(c), fc.array(requestArb(c, false), { minLength: GRPC_REQUESTS_PER_CONFIG, maxLength: GRPC_REQUESTS_PER_CONFIG }))), async ([c, requests]) => {
        tg = await startTokengate(configYaml(c));
        try {
          const rt = runtimeFor(c);
          const responses = await Promise.all(requests.map((r) => tg!.client.check(r.request)));
          for (const [i, r] of requests.entries()) {
            const res = responses[i]!;
            const reason = assertWellFormed(res);
            const expected = await checkDirect(c, rt, r);
            expect(res.status.code === 0, `request ${i}: gRPC ${reason ?? 'allow'}`).toBe(expected.allowed);
            expect(reason).toBe(expected.allowed ? expected.wouldDeny?.reason : expected.reason);
          }
        } finally {
          await tg.stop();
          tg = undefined;
        }
      }),
      { seed: SEED, numRuns: GRPC_CONFIGS, endOnFailure: true },
    );
  }, 60_000);
});
