import { AuthzError } from '../errors.js';
import { MAX_TOKEN_LENGTH, decodeJws, isCompactJws, type DecodedJws } from '../jwt/decode_jws.js';
import { decryptJwe } from '../jwt/decrypt_jwe.js';
import { checkTokenType } from '../jwt/token_type.js';
import { verifySignature } from '../jwt/verify_signature.js';
import { keyFitsAlgorithm, keyIssuerFits, type VerificationKey } from '../keys/verification_key.js';
import { checkIssuer } from './claims.js';
import type { BoundKeySource } from './key_binding.js';
import type { CompiledPolicy } from './policy.js';
import type { TokenCache } from './token_cache.js';
import type { Trace } from './trace.js';
import { noteToken } from '../tracing/facts.js';
import type { TokenFacts } from '../tracing/hook.js';

export interface VerifyContext {
  readonly cache: TokenCache;
  readonly nowMs: number;
  /** Resolves when the check's deadline passes; waiting for keys races against it. */
  readonly deadline: () => Promise<void>;
  readonly trace?: Trace | undefined;
  /** Tracing on (and the check sampled): the token's alg, kid, issuer and cache hit are noted here. */
  readonly facts?: TokenFacts | undefined;
}

/** A token whose signature holds for one of the policy's keys (or an unsigned token the policy accepts). */
export interface VerifiedToken {
  readonly jws: DecodedJws;
  readonly key: VerificationKey | undefined;
}

/**
 * Checks the token's signature against the policy's keys, or has the policy's introspection endpoint judge it.
 * Only this step: time and claim rules are claims.ts, for a JWT's claims and an introspection answer's alike.
 * A signature found in the token cache is answered synchronously (see authorize.ts); anything else returns a promise.
 */
export function verifyToken(
  token: string,
  policy: CompiledPolicy,
  ctx: VerifyContext,
): VerifiedToken | Promise<VerifiedToken> {
  // RFC 7662: an opaque token (not a compact JWS or JWE), or any token with applyTo: all, is the endpoint's to judge.
  if (policy.introspection?.handles(token)) return policy.introspection.verify(token, ctx);
  const verified = cachedSignature(token, policy, ctx) ?? verifyJws(token, policy, ctx);
  const required = policy.requireTokenType;
  if (required === undefined) return verified;
  // RFC 9068 §4: checked on every use, cached or not, since the token cache is shared by policies.
  const typed = (v: VerifiedToken): VerifiedToken => {
    checkTokenType(v.jws.header, required, ctx.trace);
    return v;
  };
  return verified instanceof Promise ? verified.then(typed) : typed(verified);
}

/**
 * A token verified earlier, from the token cache. Encrypted tokens are never cached: a hit would skip the
 * decryption-key check of the next policy.
 */
function cachedSignature(token: string, policy: CompiledPolicy, ctx: VerifyContext): VerifiedToken | undefined {
  if (policy.decryptionKeys.length > 0 && isCompactJwe(token)) return undefined;
  const cached = ctx.cache.get(token, ctx.nowMs);
  // The key must still belong to a source this policy binds to the token's issuer (RFC 8725 §3.8).
  if (!cached || !policy.algorithms.has(cached.jws.alg) || !policy.keyTrustedFor(cached.key, cached.jws.payload.iss)) {
    return undefined;
  }
  ctx.trace?.({
    step: 'signature',
    ok: true,
    detail: `${cached.jws.alg}, key ${cached.key.kid ?? '(no kid)'}: verified earlier (token cache)`,
  });
  if (ctx.facts) noteToken(ctx.facts, cached.jws, true);
  return { jws: cached.jws, key: cached.key };
}

/**
 * The signature step for a JWT not in the token cache. The `jku`, `x5u` and `jwk` header parameters are never read,
 * so a token cannot choose its own key.
 */
async function verifyJws(token: string, policy: CompiledPolicy, ctx: VerifyContext): Promise<VerifiedToken> {
  const encrypted = policy.decryptionKeys.length > 0 && isCompactJwe(token);
  const signed = encrypted ? await decryptToSigned(token, policy, ctx) : token;
  if (typeof signed !== 'string') return signed;
  const jws = decodeJws(signed);
  if (ctx.facts) noteToken(ctx.facts, jws, false);
  ctx.trace?.({
    step: 'header',
    ok: true,
    detail: `alg ${jws.alg}, kid ${jws.kid ?? '(none)'}, typ ${String(jws.header.typ ?? '(none)')}`,
  });

  if (jws.alg.toLowerCase() === 'none') {
    if (policy.requireSignedTokens || jws.alg !== 'none' || jws.signature.length !== 0) {
      throw new AuthzError(
        'TokenAlgorithmNotAllowed',
        'unsigned token (alg none) and the policy requires signed tokens',
      );
    }
    // With decryption keys, the encryption is what vouches for unsigned claims (RFC 7516 §5.2): a bare unsigned
    // token outside a JWE this policy decrypted would make the encryption protect nothing.
    if (policy.decryptionKeys.length > 0) {
      throw new AuthzError(
        'TokenAlgorithmNotAllowed',
        'unsigned token (alg none) outside an encrypted token: the policy has decryptionKeys',
      );
    }
    ctx.trace?.({ step: 'signature', ok: true, detail: 'unsigned token accepted: requireSignedTokens is false' });
    return { jws, key: undefined };
  }
  if (!policy.algorithms.has(jws.alg)) {
    throw new AuthzError(
      'TokenAlgorithmNotAllowed',
      `alg ${jws.alg} is not in the policy's algorithms [${[...policy.algorithms].join(', ')}]`,
    );
  }

  const bound = boundToIssuer(policy, jws);
  let candidates = candidateKeys(bound, jws);
  if (candidates.length === 0 && jws.kid !== undefined) {
    candidates = await refetchForKid(bound, jws, ctx);
  }
  if (candidates.length === 0) {
    if (bound.some((b) => !b.source.usable())) {
      throw new AuthzError('KeysUnavailable', `no usable keys: ${unusableSources(bound)}`);
    }
    throw new AuthzError(
      'TokenSignatureKeyNotFound',
      jws.kid === undefined
        ? `no ${jws.alg} key for issuer ${describeIss(jws)} in the policy's key sources`
        : `no ${jws.alg} key with kid "${jws.kid}" for issuer ${describeIss(jws)} in the policy's key sources`,
    );
  }
  for (const key of candidates) {
    if (verifySignature(jws.alg, key, jws.signingInput, jws.signature)) {
      // Encrypted tokens are not cached: a hit would skip the decryption-key check of the next policy.
      if (!encrypted) ctx.cache.set(token, jws, key, ctx.nowMs);
      ctx.trace?.({
        step: 'signature',
        ok: true,
        detail: `${jws.alg} signature verified with key ${key.kid ?? '(no kid)'}`,
      });
      return { jws, key };
    }
  }
  throw new AuthzError(
    'TokenSignatureInvalid',
    `${jws.alg} signature does not verify with ${candidates.length} candidate key(s)`,
  );
}

function isCompactJwe(token: string): boolean {
  let dots = 0;
  for (let i = 0; i < token.length && dots < 5; i++) if (token.charCodeAt(i) === 46) dots++;
  return dots === 4;
}

/**
 * APIM's decryption-keys: the JWE wraps a signed token (cty JWT), which is then verified as usual. A JWE wrapping
 * bare claims is unsigned: accepted only when the policy says requireSignedTokens: false.
 */
async function decryptToSigned(
  token: string,
  policy: CompiledPolicy,
  ctx: VerifyContext,
): Promise<string | VerifiedToken> {
  if (token.length > MAX_TOKEN_LENGTH)
    throw new AuthzError('JwtInvalid', `token is longer than ${MAX_TOKEN_LENGTH} characters`);
  const plaintext = await decryptJwe(token, policy.decryptionKeys);
  if (isCompactJws(plaintext)) {
    ctx.trace?.({ step: 'decrypt', ok: true, detail: 'encrypted token decrypted; verifying the signed token inside' });
    return plaintext;
  }
  if (policy.requireSignedTokens) {
    throw new AuthzError(
      'TokenAlgorithmNotAllowed',
      'the encrypted token wraps unsigned claims and the policy requires signed tokens',
    );
  }
  const header = Buffer.from('{"alg":"none"}').toString('base64url');
  const unsigned = `${header}.${Buffer.from(plaintext).toString('base64url')}.`;
  ctx.trace?.({
    step: 'decrypt',
    ok: true,
    detail: 'encrypted token holds unsigned claims, accepted: requireSignedTokens is false',
  });
  return { jws: decodeJws(unsigned), key: undefined };
}

/**
 * RFC 8725 §3.8, OpenID Connect Core §10.1: only the keys of the token's own issuer may verify it. A token whose
 * issuer no source signs for is denied here, before any signature math; its issuer is named as the reason when the
 * policy does not accept that issuer at all.
 */
function boundToIssuer(policy: CompiledPolicy, jws: DecodedJws): readonly BoundKeySource[] {
  const iss = jws.payload.iss;
  const bound = policy.keySources.filter((b) => b.signsFor(iss));
  if (bound.length === 0) {
    checkIssuer(jws.payload, policy);
    const detail = policy.keySources.map((b) => `${b.source.id} signs for ${b.describe}`).join('; ');
    throw new AuthzError(
      'TokenSignatureKeyNotFound',
      `no key source of the policy signs for issuer ${describeIss(jws)} (${detail})`,
    );
  }
  return bound;
}

function describeIss(jws: DecodedJws): string {
  return JSON.stringify(jws.payload.iss ?? null);
}

function candidateKeys(bound: readonly BoundKeySource[], jws: DecodedJws): VerificationKey[] {
  const out: VerificationKey[] = [];
  for (const { source } of bound) {
    for (const key of jws.kid === undefined ? source.allKeys() : source.keysWithKid(jws.kid)) {
      if (keyFitsAlgorithm(key, jws.alg) && keyIssuerFits(key, jws.payload)) out.push(key);
    }
  }
  return out;
}

/** An unknown kid usually means the issuer rotated: refetch (bounded by cooldown) and retry, within the deadline. */
async function refetchForKid(
  bound: readonly BoundKeySource[],
  jws: DecodedJws,
  ctx: VerifyContext,
): Promise<VerificationKey[]> {
  const refreshed = Promise.all(bound.map((b) => b.source.refreshForUnknownKid())).then(() => true);
  const inTime = await Promise.race([refreshed, ctx.deadline().then(() => false)]);
  if (!inTime) {
    throw new AuthzError('KeysUnavailable', `still fetching keys for kid "${jws.kid}" when the check deadline passed`);
  }
  const candidates = candidateKeys(bound, jws);
  ctx.trace?.({
    step: 'keys',
    ok: candidates.length > 0,
    detail: `kid "${jws.kid}" unknown: refetched key sources, ${candidates.length} candidate key(s) now`,
  });
  return candidates;
}

function unusableSources(bound: readonly BoundKeySource[]): string {
  return bound
    .filter((b) => !b.source.usable())
    .map((b) => {
      const status = b.source.status();
      return `${status.id} (${status.lastError ?? 'not fetched yet'})`;
    })
    .join(', ');
}
