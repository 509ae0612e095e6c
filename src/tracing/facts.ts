import type { DecodedJws } from '../jwt/decode_jws.js';
import type { TokenFacts } from './hook.js';

/** Notes the token's algorithm, key id and issuer for the check's span, and whether the token cache answered. */
export function noteToken(facts: TokenFacts, jws: DecodedJws, cacheHit: boolean): void {
  facts.alg = jws.alg;
  facts.kid = jws.kid;
  const iss = jws.payload.iss;
  facts.issuer = typeof iss === 'string' ? iss : undefined;
  facts.cacheHit = cacheHit;
}
