import { AuthzError, DENY_REASON_TABLE } from '../errors.js';
import { checkCertificateBinding } from './certificate_binding.js';
import { checkClaims } from './claims.js';
import { deny, type Allow, type Decision, type Deny, type UpstreamHeader } from './decision.js';
import { extractDpopToken, extractToken } from './extract_token.js';
import { checkDpop } from '../dpop/check_dpop.js';
import { headerValue } from './header_value.js';
import type { CompiledPolicy } from './policy.js';
import type { AuthzRequest } from './request.js';
import type { Runtime } from './runtime.js';
import { selectPolicy } from './select_policy.js';
import type { Trace } from './trace.js';
import { verifyToken, type VerifiedToken } from './verify_token.js';
import { applyRules } from '../rules/evaluate.js';
import type { TokenFacts } from '../tracing/hook.js';

export interface AuthorizeOptions {
  /** Checks still waiting for keys after this are denied with KeysUnavailable. */
  readonly deadlineMs: number;
  readonly trace?: Trace | undefined;
  readonly nowMs?: number;
  /** Tracing on: what verification learns of the token, for the check's span. */
  readonly facts?: TokenFacts | undefined;
}

/** One check on its way through the pipeline, once its policy and token are known. */
interface Check {
  readonly req: AuthzRequest;
  readonly runtime: Runtime;
  readonly policy: CompiledPolicy;
  readonly token: string;
  /** The scheme the token came with, under a policy with `dpop` (RFC 9449 §7.1); else undefined. */
  readonly scheme: string | undefined;
  readonly nowMs: number;
  readonly deadline: () => Promise<void>;
  readonly trace: Trace | undefined;
}

/**
 * The request pipeline: select the policy, extract the token, verify its signature, check the sender constraint and
 * the claims, then build the decision. Never throws and never rejects: anything unexpected is an InternalError
 * denial. A check that waits for nothing (the token's signature in the token cache, no DPoP proof) is decided
 * synchronously and the Decision returned as it is: at thousands of checks a second, the promises and microtask turns
 * of an async pipeline cost as much as the cached check itself. A check that waits (keys, introspection, a DPoP
 * replay store) returns a promise.
 */
export function authorize(
  req: AuthzRequest,
  runtime: Runtime,
  options: AuthorizeOptions,
): Decision | Promise<Decision> {
  const nowMs = options.nowMs ?? Date.now();
  const trace = options.trace;
  let policy: CompiledPolicy | undefined;
  try {
    policy = selectPolicy(req, runtime.policies, runtime.byName, trace);
    // RFC 9449 §7.1: a policy with dpop takes `Authorization: DPoP <token>` too; the scheme decides the proof check.
    const presented = policy.dpop ? extractDpopToken(req, policy.token, trace, runtime.cache) : undefined;
    const token = presented?.token ?? extractToken(req, policy.token, trace, runtime.cache);
    const deadline = deadlineAfter(nowMs + options.deadlineMs);
    const check: Check = { req, runtime, policy, token, scheme: presented?.scheme, nowMs, deadline, trace };
    const verified = verifyToken(token, policy, { cache: runtime.cache, nowMs, deadline, trace, facts: options.facts });
    if (!(verified instanceof Promise)) return afterSignature(check, verified);
    return verified.then(
      (v) => afterSignature(check, v),
      (err: unknown) => denied(err, check.policy, trace),
    );
  } catch (err) {
    return denied(err, policy, trace);
  }
}

/** Sender constraint (RFC 9449): the DPoP proof, or the refusal of a DPoP-bound token without one; then the claims. */
function afterSignature(check: Check, verified: VerifiedToken): Decision | Promise<Decision> {
  try {
    const { nowMs, deadline, trace } = check;
    const dpop = checkDpop(check.req, check.token, check.scheme, verified.jws.payload, check.policy.dpop, {
      nowMs,
      deadline,
      trace,
    });
    if (!dpop) return judge(check, verified);
    return dpop.then(
      () => judge(check, verified),
      (err: unknown) => denied(err, check.policy, trace),
    );
  } catch (err) {
    return denied(err, check.policy, check.trace);
  }
}

/** The certificate binding, the claims, revocation and the rules, none of which waits; then the decision. */
function judge(check: Check, verified: VerifiedToken): Decision {
  const { req, runtime, policy, nowMs, trace } = check;
  try {
    // Sender constraint before the claims, as DPoP's: without its certificate, a bound token says nothing (401),
    // not even which scope it lacks (403).
    checkCertificateBinding(req, verified.jws.payload, policy.certificateBinding, trace);
    checkClaims(verified.jws.payload, policy, nowMs, trace);
    checkRevocation(verified, runtime, trace);
    // Authorization after authentication: a revoked or expired token is a 401 before any rule is asked.
    const wouldDeny = policy.rules && applyRules(policy.rules, policy.name, req, verified.jws.payload, trace);
    return allow(policy, verified, wouldDeny === undefined ? undefined : deny('RuleDenied', wouldDeny, policy));
  } catch (err) {
    return denied(err, policy, trace);
  }
}

/** Any failure as its denial; under a report-only policy, an allow that says what would have been denied. */
function denied(err: unknown, policy: CompiledPolicy | undefined, trace: Trace | undefined): Decision {
  const denial =
    err instanceof AuthzError
      ? deny(err.reason, err.message, policy)
      : deny('InternalError', `unexpected error: ${(err as Error)?.message ?? String(err)}`, policy);
  if (trace) trace({ step: failedStep(err), ok: false, detail: denial.detail });
  if (policy?.mode === 'report-only' && denial.reason !== 'InternalError') return reportOnly(policy, denial);
  return denial;
}

function checkRevocation(verified: VerifiedToken, runtime: Runtime, trace?: Trace): void {
  if (!runtime.revocations) return;
  const { jti, exp } = verified.jws.payload;
  if (runtime.revocations.isRevoked(jti, exp)) {
    throw new AuthzError('TokenRevoked', `jti ${JSON.stringify(jti)} is in the revoked tokens list`, { claim: 'jti' });
  }
  trace?.({
    step: 'jti',
    ok: true,
    detail: jti === undefined ? 'no jti claim' : `${JSON.stringify(jti)} is not revoked`,
  });
}

/** Time and identity claims are steps of their own in `explain`; any other claim is "claim NAME". */
const CLAIM_STEPS = new Set(['exp', 'nbf', 'iat', 'iss', 'aud']);

/** Names the check that failed, for `explain` and debug traces. */
function failedStep(err: unknown): string {
  if (!(err instanceof AuthzError)) return DENY_REASON_TABLE.InternalError.step;
  if (err.step !== undefined) return err.step;
  if (err.claim !== undefined) return CLAIM_STEPS.has(err.claim) ? err.claim : `claim ${err.claim}`;
  return DENY_REASON_TABLE[err.reason].step;
}

function allow(policy: CompiledPolicy, verified: VerifiedToken, wouldDeny: Deny | undefined): Allow {
  const claims = verified.jws.payload;
  const upstreamHeaders: UpstreamHeader[] = [];
  const headersToRemove: string[] = [];
  for (const { path, header } of policy.claimHeaders) {
    const value = headerValue(path.read(claims));
    // A claim the token lacks (or one that cannot be a header value) must still not let a client-supplied header
    // of that name through.
    if (value === undefined) headersToRemove.push(header);
    else upstreamHeaders.push({ key: header, value });
  }
  if (policy.forwardPayloadHeader)
    upstreamHeaders.push({ key: policy.forwardPayloadHeader, value: verified.jws.payloadSegment });
  const queryParametersToRemove: string[] = [];
  if (policy.removeToken) {
    if (policy.token.kind === 'header') headersToRemove.push(policy.token.name);
    else if (policy.token.kind === 'query') queryParametersToRemove.push(policy.token.name);
  }
  return { allowed: true, policy, claims, upstreamHeaders, headersToRemove, queryParametersToRemove, wouldDeny };
}

/** report-only: the request passes, but carries no identity headers, since no identity was established. */
function reportOnly(policy: CompiledPolicy, denial: Deny): Allow {
  const identityHeaders = policy.claimHeaders.map((h) => h.header);
  if (policy.forwardPayloadHeader) identityHeaders.push(policy.forwardPayloadHeader);
  return {
    allowed: true,
    policy,
    claims: {},
    upstreamHeaders: [],
    headersToRemove: identityHeaders,
    queryParametersToRemove: [],
    wouldDeny: denial,
  };
}

function deadlineAfter(atMs: number): () => Promise<void> {
  let promise: Promise<void> | undefined;
  return () => {
    promise ??= new Promise((resolve) => setTimeout(resolve, Math.max(0, atMs - Date.now())).unref());
    return promise;
  };
}
