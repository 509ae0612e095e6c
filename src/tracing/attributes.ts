import type { Attributes } from '@opentelemetry/api';
import type { Decision } from '../authz/decision.js';
import type { TokenFacts } from './hook.js';

/** The attribute names, one place: README "Tracing" lists them and the tests read them from here. */
export const ATTR = {
  transport: 'tokengate.transport',
  policy: 'tokengate.policy',
  decision: 'tokengate.decision',
  reason: 'tokengate.reason',
  alg: 'tokengate.token.alg',
  kid: 'tokengate.token.kid',
  issuer: 'tokengate.token.issuer',
  tokenCacheHit: 'tokengate.token_cache.hit',
  sub: 'enduser.id',
  keySource: 'tokengate.key_source',
  keyFetchResult: 'tokengate.key_fetch.result',
  keyFetchKeys: 'tokengate.key_fetch.keys',
  keyFetchError: 'tokengate.key_fetch.error_code',
  introspectionEndpoint: 'tokengate.introspection.endpoint',
  introspectionResult: 'tokengate.introspection.result',
  introspectionCacheHit: 'tokengate.introspection.cache_hit',
} as const;

/** Header values and `iss` are the caller's: a span never carries more of them than this. */
const MAX_TOKEN_VALUE = 256;

/**
 * A decided check's attributes. Never the token, and of its claims only the issuer and, with `tracing.recordSub`,
 * the `sub` of a token that was accepted. The decision and reason are the metrics' labels (src/ops/decisions.ts).
 */
export function decisionAttributes(decision: Decision, facts: TokenFacts, recordSub: boolean): Attributes {
  const attributes: Attributes = {
    [ATTR.decision]: decision.allowed ? (decision.wouldDeny ? 'would_deny' : 'allow') : 'deny',
  };
  if (decision.policy) attributes[ATTR.policy] = decision.policy.name;
  const reason = decision.allowed ? decision.wouldDeny?.reason : decision.reason;
  if (reason) attributes[ATTR.reason] = reason;
  if (facts.alg !== undefined) attributes[ATTR.alg] = bounded(facts.alg);
  if (facts.kid !== undefined) attributes[ATTR.kid] = bounded(facts.kid);
  // An introspected token has no JWS header; the answer's `iss`, when it names one, is its issuer.
  const issuer = facts.issuer ?? (decision.allowed ? decision.claims.iss : undefined);
  if (typeof issuer === 'string') attributes[ATTR.issuer] = bounded(issuer);
  if (facts.cacheHit !== undefined) attributes[ATTR.tokenCacheHit] = facts.cacheHit;
  // Only a token that was accepted has a `sub` worth naming; a report-only pass established no identity.
  if (recordSub && decision.allowed && !decision.wouldDeny && typeof decision.claims.sub === 'string') {
    attributes[ATTR.sub] = bounded(decision.claims.sub);
  }
  return attributes;
}

function bounded(value: string): string {
  return value.length > MAX_TOKEN_VALUE ? value.slice(0, MAX_TOKEN_VALUE) : value;
}
