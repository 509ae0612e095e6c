import { createHash } from 'node:crypto';
import type { AuthzRequest } from '../authz/request.js';
import type { Trace } from '../authz/trace.js';
import { AuthzError } from '../errors.js';
import { jwkThumbprint } from '../jwt/jwk_thumbprint.js';
import type { CompiledDpop } from './compile.js';
import { proofHtu, requestHtu } from './htu.js';
import { verifyProof, type VerifiedProof } from './proof.js';
import type { ClaimResult } from './replay_cache.js';
import { replayKey } from './replay_store.js';

export interface DpopContext {
  readonly nowMs: number;
  /** Resolves when the check's deadline passes; a replay store slower than that is `unavailable`. */
  readonly deadline: () => Promise<void>;
  readonly trace?: Trace | undefined;
}

/** RFC 9449 §11.1 leaves `jti`'s length open; 256 characters hold any UUID or random value with room to spare. */
const MAX_JTI_LENGTH = 256;

/**
 * The sender-constraint step for DPoP (RFC 9449), after the token is verified. Returns undefined when there is
 * nothing to wait for (no proof, or a proof checked at once: its key's thumbprint known, an in-process replay cache),
 * so the check stays synchronous; a promise when it waits (a new key's thumbprint, the primary, Redis).
 *
 * - §7.2: a DPoP-bound token (`cnf.jkt`) is never accepted as a bearer token, whatever the policy says; a policy
 *   without `dpop:` cannot check its proof, so it refuses it too.
 * - `required: true`: only DPoP-bound tokens with their proof pass. `false`: an unbound Bearer token still passes.
 * - `Authorization: DPoP <token>`: the token must be bound, and the proof must hold (§4.3, see verifyRequestProof).
 */
export function checkDpop(
  req: AuthzRequest,
  token: string,
  scheme: string | undefined,
  claims: Readonly<Record<string, unknown>>,
  dpop: CompiledDpop | undefined,
  ctx: DpopContext,
): Promise<void> | undefined {
  const jkt = boundThumbprint(claims);
  const viaDpop = scheme !== undefined && scheme.toLowerCase() === 'dpop';
  if (!dpop || !viaDpop) {
    if (jkt !== undefined) {
      throw binding(
        dpop
          ? 'the token is DPoP-bound (cnf.jkt) but came as a Bearer token (RFC 9449 §7.2)'
          : 'the token is DPoP-bound (cnf.jkt) and the policy has no dpop section to check its proof (RFC 9449 §7.2)',
      );
    }
    if (!dpop) return undefined;
    if (dpop.required) throw binding('the policy requires DPoP (dpop.required): a Bearer token is refused');
    // A proof beside a Bearer token is a confused client or a downgrade attempt: refused rather than ignored.
    if (Object.hasOwn(req.headers, 'dpop')) throw invalid('a DPoP header came with a Bearer token');
    ctx.trace?.({ step: 'dpop', ok: true, detail: 'a Bearer token that is not DPoP-bound: dpop.required is false' });
    return undefined;
  }
  if (jkt === undefined) throw binding('the DPoP scheme with a token that is not DPoP-bound (no cnf.jkt)');
  return verifyRequestProof(req, token, jkt, dpop, ctx);
}

/** §6.1: `cnf.jkt`, the thumbprint the token is bound to; undefined when it has none. A malformed one is refused. */
function boundThumbprint(claims: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = claims.cnf;
  if (cnf === undefined) return undefined;
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw binding("the token's cnf is not an object");
  if (!Object.hasOwn(cnf, 'jkt')) return undefined;
  const jkt = (cnf as Record<string, unknown>).jkt;
  if (typeof jkt !== 'string' || jkt.length === 0) throw binding("the token's cnf.jkt is not a string");
  return jkt;
}

/**
 * §4.3: the checks of the proof against this request and this token, then the replay check last. Synchronous when
 * nothing needs waiting for (the key's thumbprint known, an in-process replay cache): undefined then, else a promise.
 */
function verifyRequestProof(
  req: AuthzRequest,
  token: string,
  jkt: string,
  dpop: CompiledDpop,
  ctx: DpopContext,
): Promise<void> | undefined {
  // §4.3 step 1: exactly one DPoP header. Envoy joins repeated headers with a comma, which no JWS contains.
  const header = Object.hasOwn(req.headers, 'dpop') ? req.headers.dpop!.replace(/^[ \t]+|[ \t]+$/g, '') : '';
  if (header === '') throw invalid('no DPoP header (RFC 9449 §4.3: the DPoP scheme needs a proof)');
  if (header.includes(',')) throw invalid('more than one DPoP header');
  const proof = verifyProof(header, dpop.algorithms);
  const claims = proof.jws.payload;

  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw invalid(`the proof's jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`);
  }
  // §4.3 step 8: the method, exactly (methods are case-sensitive, RFC 9110 §9.1).
  if (claims.htm !== req.method) {
    throw invalid(`the proof's htm ${JSON.stringify(short(claims.htm))} is not the request's method ${req.method}`);
  }
  const htu = checkHtu(req, claims.htu, dpop);
  checkIat(claims.iat, dpop, ctx.nowMs);
  // §8, §9: with nonces on, the proof must carry one we issued lately; the 401 hands out a fresh one.
  if (dpop.nonce && !dpop.nonce.accepts(claims.nonce, ctx.nowMs)) {
    const problem = claims.nonce === undefined ? 'the proof has no nonce' : "the proof's nonce is stale or not ours";
    throw new AuthzError('DpopNonceRequired', `${problem} (dpop.nonce is on)`);
  }
  // §4.3 step 12, §7.1: ath = base64url(SHA-256(the access token's ASCII)).
  const ath = createHash('sha256').update(token).digest('base64url');
  if (claims.ath !== ath) {
    throw invalid(claims.ath === undefined ? 'the proof has no ath' : "the proof's ath is not the hash of this token");
  }
  const passed = () =>
    ctx.trace?.({
      step: 'dpop',
      ok: true,
      detail: `${proof.jws.alg} proof verified for ${req.method} ${shortUri(htu)}; key matches cnf.jkt; jti first use`,
    });
  const bindAndClaim = (thumbprint: string): Promise<void> | undefined => {
    // §6.1, RFC 7638: the token is bound to the proof's key.
    if (thumbprint !== jkt) throw binding("the proof's key is not the one the token is bound to (cnf.jkt)");
    const replay = checkReplay(thumbprint, jti, claims.iat as number, dpop, ctx);
    if (replay) return replay.then(passed);
    passed();
    return undefined;
  };
  return bindAndClaim(proof.key.thumbprint ?? thumbprintOf(proof));
}

/** Computed once per key (proof_keys.ts keeps it with the imported key). */
function thumbprintOf(proof: VerifiedProof): string {
  const thumbprint = jwkThumbprint(proof.jwk as Record<string, unknown>);
  if (thumbprint === undefined) throw invalid("the proof's jwk has no RFC 7638 thumbprint");
  proof.key.thumbprint = thumbprint;
  return thumbprint;
}

/** §4.3 step 9: returns the URI both sides normalise to. */
function checkHtu(req: AuthzRequest, htu: unknown, dpop: CompiledDpop): string {
  const expected = requestHtu(req, dpop.externalOrigin);
  if (typeof expected !== 'string') {
    throw invalid(`cannot rebuild the request URI to compare htu with: ${expected.problem} (see dpop.externalOrigin)`);
  }
  const given = typeof htu === 'string' ? proofHtu(htu) : undefined;
  if (given === undefined) throw invalid("the proof's htu is not an absolute http(s) URI");
  if (given !== expected) {
    throw invalid(`the proof's htu ${shortUri(given)} is not the request URI ${shortUri(expected)}`);
  }
  return expected;
}

/** §4.3 step 11: iat within the window, past and future measured separately (defaults 60 s and 5 s). */
function checkIat(iat: unknown, dpop: CompiledDpop, nowMs: number): void {
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('the proof has no numeric iat');
  const ageMs = nowMs - iat * 1000;
  if (ageMs > dpop.iatPastMs) throw invalid(`the proof was issued ${Math.round(ageMs / 1000)} s ago: too old`);
  if (-ageMs > dpop.iatFutureMs) throw invalid(`the proof's iat is ${Math.round(-ageMs / 1000)} s in the future`);
}

/**
 * §11.1: the jti is accepted once while its proof could pass the iat check, so the entry lives until then. Checked
 * last: a proof refused for any other reason does not take a place in the store.
 */
function checkReplay(
  thumbprint: string,
  jti: string,
  iat: number,
  dpop: CompiledDpop,
  ctx: DpopContext,
): Promise<void> | undefined {
  const expiresAtMs = Math.max(iat * 1000 + dpop.iatPastMs, ctx.nowMs + 1);
  const claim = dpop.replay.claim(replayKey(thumbprint, jti), expiresAtMs, ctx.nowMs);
  if (typeof claim === 'string') return settleClaim(claim, dpop);
  return Promise.race([claim, ctx.deadline().then(() => 'late' as const)]).then((result) => settleClaim(result, dpop));
}

function settleClaim(result: ClaimResult | 'late', dpop: CompiledDpop): undefined {
  if (result === 'fresh') return;
  if (result === 'replayed')
    throw new AuthzError('DpopProofReplayed', "the proof's jti was used before (RFC 9449 §11.1)");
  const why = result === 'full' ? 'is full' : result === 'late' ? 'did not answer in time' : 'is unavailable';
  throw new AuthzError('DpopReplayUnavailable', `the replay store (${dpop.replay.describe}) ${why}`);
}

function short(value: unknown): unknown {
  return typeof value === 'string' && value.length > 16 ? `${value.slice(0, 16)}…` : value;
}

/** URIs in messages: normalised ones only (no query), cut short. */
function shortUri(uri: string): string {
  return uri.length > 120 ? `${uri.slice(0, 120)}…` : uri;
}

function invalid(message: string): AuthzError {
  return new AuthzError('DpopProofInvalid', message);
}

function binding(message: string): AuthzError {
  return new AuthzError('DpopBindingMismatch', message);
}
