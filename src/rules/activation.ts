// What a rule reads from one request, without the CEL library itself: evaluation and explain need these, and
// loading them must not load the engine (src/rules/engine.ts).
import { scopesOf } from './scopes.js';

type Claims = Readonly<Record<string, unknown>>;

/** `request` as rules see it: a declared type, so `request.metod` is a type error at load, not a denial per request. */
export class RuleRequest {
  constructor(
    readonly method: string,
    /** Normalised as policies are matched (RFC 3986 §6.2.2), without the query string. */
    readonly path: string,
    readonly host: string,
    /** Lower-case names, as Envoy sends them. */
    readonly headers: Readonly<Record<string, string>>,
  ) {}
}

/** What one evaluation reads: the CEL variables. */
export interface RuleActivation {
  readonly claims: Claims;
  readonly request: RuleRequest;
  /** Envoy's per-route context_extensions. */
  readonly route: Readonly<Record<string, string>>;
  /** The name of the policy that selected the request. */
  readonly policy: string;
}

/**
 * The claims `scopes()` reads: set around one request's rule evaluations, which run synchronously (no handler is
 * async), so no other request can be between set and reset.
 */
let currentClaims: Claims | undefined;

/** scopes() per payload: a cached token brings the same payload object back, so its list is split once. */
const scopesByPayload = new WeakMap<Claims, readonly string[]>();

/** The `scopes()` of a rule: the scopes of the claims being evaluated. */
export function scopes(): readonly string[] {
  if (currentClaims === undefined) return [];
  let list = scopesByPayload.get(currentClaims);
  if (list === undefined) {
    list = Object.freeze(scopesOf(currentClaims));
    scopesByPayload.set(currentClaims, list);
  }
  return list;
}

/** Runs `evaluate` with `scopes()` reading these claims. */
export function withClaims<T>(claims: Claims, evaluate: () => T): T {
  const previous = currentClaims;
  currentClaims = claims;
  try {
    return evaluate();
  } finally {
    currentClaims = previous;
  }
}

/** The scopes of a payload as `scopes()` returns them, for `explain`. */
export function scopesFor(claims: Claims): readonly string[] {
  return withClaims(claims, scopes);
}
