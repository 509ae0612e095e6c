import { AuthzError } from '../errors.js';
import { MAX_TOKEN_LENGTH, decodeJws, isCompactJws, type DecodedJws } from '../jwt/decode_jws.js';
import { decryptJwe } from '../jwt/decrypt_jwe.js';
import { verifySignature } from '../jwt/verify_signature.js';
import { keyFitsAlgorithm, type VerificationKey } from '../keys/verification_key.js';
import type { CompiledPolicy } from './policy.js';
import type { TokenCache } from './token_cache.js';
import type { Trace } from './trace.js';

export interface VerifyContext {
  readonly cache: TokenCache;
  readonly nowMs: number;
  /** Resolves when the check's deadline passes; waiting for keys races against it. */
  readonly deadline: () => Promise<void>;
  readonly trace?: Trace | undefined;
}

/** A token whose signature holds for one of the policy's keys (or an unsigned token the policy accepts). */
export interface VerifiedToken {
  readonly jws: DecodedJws;
  readonly key: VerificationKey | undefined;
}

/**
 * Checks the token's signature against the policy's keys. Only the signature step: time and claim rules are
 * claims.ts. The `jku`, `x5u` and `jwk` header parameters are never read, so a token cannot choose its own key.
 */
export async function verifyToken(token: string, policy: CompiledPolicy, ctx: VerifyContext): Promise<VerifiedToken> {
  const encrypted = policy.decryptionKeys.length > 0 && isCompactJwe(token);
  if (!encrypted) {
    const cached = ctx.cache.get(token, ctx.nowMs);
    if (cached && policy.algorithms.has(cached.jws.alg) && policy.hasKey(cached.key)) {
      ctx.trace?.({ step: 'signature', ok: true, detail: `${cached.jws.alg}, key ${cached.key.kid ?? '(no kid)'}: verified earlier (token cache)` });
      return { jws: cached.jws, key: cached.key };
    }
  }
  const signed = encrypted ? await decryptToSigned(token, policy, ctx) : token;
  if (typeof signed !== 'string') return signed;
  const jws = decodeJws(signed);
  ctx.trace?.({ step: 'header', ok: true, detail: `alg ${jws.alg}, kid ${jws.kid ?? '(none)'}, typ ${String(jws.header.typ ?? '(none)')}` });

  if (jws.alg.toLowerCase() === 'none') {
    if (policy.spec.requireSignedTokens || jws.alg !== 'none' || jws.signature.length !== 0) {
      throw new AuthzError('TokenAlgorithmNotAllowed', 'unsigned token (alg none) and the policy requires signed tokens');
    }
    ctx.trace?.({ step: 'signature', ok: true, detail: 'unsigned token accepted: requireSignedTokens is false' });
    return { jws, key: undefined };
  }
  if (!policy.algorithms.has(jws.alg)) {
    throw new AuthzError('TokenAlgorithmNotAllowed', `alg ${jws.alg} is not in the policy's algorithms [${[...policy.algorithms].join(', ')}]`);
  }

  let candidates = candidateKeys(policy, jws);
  if (candidates.length === 0 && jws.kid !== undefined) {
    candidates = await refetchForKid(policy, jws, ctx);
  }
  if (candidates.length === 0) {
    if (policy.sources.some((s) => !s.usable())) {
      throw new AuthzError('KeysUnavailable', `no usable keys: ${unusableSources(policy)}`);
    }
    throw new AuthzError('TokenSignatureKeyNotFound', jws.kid === undefined
      ? `no ${jws.alg} key in the policy's key sources`
      : `no ${jws.alg} key with kid "${jws.kid}" in the policy's key sources`);
  }
  for (const key of candidates) {
    if (verifySignature(jws.alg, key, jws.signingInput, jws.signature)) {
      // Encrypted tokens are not cached: a hit would skip the decryption-key check of the next policy.
      if (!encrypted) ctx.cache.set(token, jws, key, ctx.nowMs);
      ctx.trace?.({ step: 'signature', ok: true, detail: `${jws.alg} signature verified with key ${key.kid ?? '(no kid)'}` });
      return { jws, key };
    }
  }
  throw new AuthzError('TokenSignatureInvalid', `${jws.alg} signature does not verify with ${candidates.length} candidate key(s)`);
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
async function decryptToSigned(token: string, policy: CompiledPolicy, ctx: VerifyContext): Promise<string | VerifiedToken> {
  if (token.length > MAX_TOKEN_LENGTH) throw new AuthzError('JwtInvalid', `token is longer than ${MAX_TOKEN_LENGTH} characters`);
  const plaintext = await decryptJwe(token, policy.decryptionKeys);
  if (isCompactJws(plaintext)) {
    ctx.trace?.({ step: 'decrypt', ok: true, detail: 'encrypted token decrypted; verifying the signed token inside' });
    return plaintext;
  }
  if (policy.spec.requireSignedTokens) {
    throw new AuthzError('TokenAlgorithmNotAllowed', 'the encrypted token wraps unsigned claims and the policy requires signed tokens');
  }
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(plaintext).toString('base64url')}.`;
  ctx.trace?.({ step: 'decrypt', ok: true, detail: 'encrypted token holds unsigned claims, accepted: requireSignedTokens is false' });
  return { jws: decodeJws(unsigned), key: undefined };
}

function candidateKeys(policy: CompiledPolicy, jws: DecodedJws): VerificationKey[] {
  const out: VerificationKey[] = [];
  for (const source of policy.sources) {
    for (const key of jws.kid === undefined ? source.allKeys() : source.keysWithKid(jws.kid)) {
      if (keyFitsAlgorithm(key, jws.alg)) out.push(key);
    }
  }
  return out;
}

/** An unknown kid usually means the issuer rotated: refetch (bounded by cooldown) and try again, within the deadline. */
async function refetchForKid(policy: CompiledPolicy, jws: DecodedJws, ctx: VerifyContext): Promise<VerificationKey[]> {
  const refreshed = Promise.all(policy.sources.map((s) => s.refreshForUnknownKid())).then(() => true);
  const inTime = await Promise.race([refreshed, ctx.deadline().then(() => false)]);
  if (!inTime) {
    throw new AuthzError('KeysUnavailable', `still fetching keys for kid "${jws.kid}" when the check deadline passed`);
  }
  const candidates = candidateKeys(policy, jws);
  ctx.trace?.({
    step: 'keys',
    ok: candidates.length > 0,
    detail: `kid "${jws.kid}" unknown: refetched key sources, ${candidates.length} candidate key(s) now`,
  });
  return candidates;
}

function unusableSources(policy: CompiledPolicy): string {
  return policy.sources
    .filter((s) => !s.usable())
    .map((s) => {
      const status = s.status();
      return `${status.id} (${status.lastError ?? 'not fetched yet'})`;
    })
    .join(', ');
}
