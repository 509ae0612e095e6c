import type { ResponseHeader } from '../authz/decision.js';
import { DENY_REASON_TABLE, type DenyReason } from '../errors.js';
import type { CompiledDpop } from './compile.js';

/** RFC 9449 §7.1, §12.2: the error code of the DPoP challenge, by reason; others take their category's code. */
const DPOP_ERRORS: Partial<Record<DenyReason, string>> = {
  DpopProofInvalid: 'invalid_dpop_proof',
  DpopProofReplayed: 'invalid_dpop_proof',
  DpopNonceRequired: 'use_dpop_nonce',
};

const CATEGORY_ERRORS: Readonly<Record<string, string>> = {
  invalid_token: 'invalid_token',
  insufficient_scope: 'insufficient_scope',
};

/**
 * The challenge of a denial under a policy with `dpop:` (RFC 9449 §7.1): `DPoP error="…", algs="ES256 …"`. With
 * `required: false` the policy takes bearer tokens too, so a denial that is not about a proof also carries the Bearer
 * challenge (RFC 9110 §11.6.1: several challenges in one field). With nonces on, every 401 hands out a fresh
 * `DPoP-Nonce` (§8), so a client learns it from whatever failure it meets first.
 */
export function dpopChallengeHeaders(reason: DenyReason, dpop: CompiledDpop, nowMs: number): ResponseHeader[] {
  const category = DENY_REASON_TABLE[reason].category;
  const error = reason === 'TokenNotPresent' ? undefined : (DPOP_ERRORS[reason] ?? CATEGORY_ERRORS[category]);
  if (error === undefined && reason !== 'TokenNotPresent') return [];
  const params = `${error === undefined ? '' : `error="${error}", `}algs="${dpop.algs}"`;
  const aboutProof = reason.startsWith('Dpop');
  const bearer = error === undefined ? 'Bearer' : `Bearer error="${error}"`;
  const value = dpop.required || aboutProof ? `DPoP ${params}` : `${bearer}, DPoP ${params}`;
  const headers: ResponseHeader[] = [{ key: 'www-authenticate', value }];
  if (dpop.nonce && category === 'invalid_token') headers.push({ key: 'dpop-nonce', value: dpop.nonce.issue(nowMs) });
  return headers;
}
