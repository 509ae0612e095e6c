import { Environment } from '@marcbachmann/cel-js';
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
 * Parse-time limits of the CEL library: a backstop under tokengate's own bound (src/rules/bound.ts), which names the
 * rule and gives a clearer message first.
 */
const LIMITS = { maxAstNodes: 1000, maxDepth: 32, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 8 };

/**
 * The claims `scopes()` reads: set around one request's rule evaluations, which run synchronously (no handler is
 * async), so no other request can be between set and reset.
 */
let currentClaims: Claims | undefined;

/** scopes() per payload: a cached token brings the same payload object back, so its list is split once. */
const scopesByPayload = new WeakMap<Claims, readonly string[]>();

function scopes(): readonly string[] {
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

/**
 * The one CEL environment of every rule: the variables of README "Authorization rules", typed so the checker can
 * refuse a misspelt field or a wrong operand at load, and the `scopes()` helper. `claims` is `map<string, dyn>`: the
 * payload's values have whatever JSON type the issuer chose, so they are checked per request. Created once: the
 * library documents an environment as expensive, a parsed expression as cheap to run.
 */
export const RULE_ENVIRONMENT = new Environment({ limits: LIMITS })
  .registerType('Request', {
    ctor: RuleRequest,
    fields: { method: 'string', path: 'string', host: 'string', headers: 'map<string, string>' },
  })
  .registerVariable('claims', 'map<string, dyn>')
  .registerVariable('request', 'Request')
  .registerVariable('route', 'map<string, string>')
  .registerVariable('policy', 'string')
  .registerFunction('scopes(): list<string>', scopes);
