/**
 * How a denial is answered, by kind (RFC 6750 §3.1 and APIM together): a missing or invalid token is 401 with a
 * Bearer challenge, a valid token failing a rule is 403 insufficient_scope, a request no policy can judge is 403
 * without a challenge, and trouble on our side is 503.
 */
export type DenyCategory = 'invalid_token' | 'insufficient_scope' | 'no_policy' | 'unavailable';

/**
 * Every denial carries one of these stable reason codes, the one table of them: its category (which decides the
 * HTTP status and challenge) and the pipeline step `explain` names when it fails. They are APIM's validate-jwt
 * error reasons where APIM has one, so an APIM user reading logs or metrics recognises them. They go into logs,
 * metrics and the Check response's dynamic metadata, never into the response body.
 */
export const DENY_REASON_TABLE = {
  TokenNotPresent: { category: 'invalid_token', step: 'token' },
  TokenSchemeInvalid: { category: 'invalid_token', step: 'token' },
  JwtInvalid: { category: 'invalid_token', step: 'token' },
  TokenSignatureInvalid: { category: 'invalid_token', step: 'signature' },
  TokenSignatureKeyNotFound: { category: 'invalid_token', step: 'keys' },
  TokenExpired: { category: 'invalid_token', step: 'exp' },
  TokenNotYetValid: { category: 'invalid_token', step: 'nbf' },
  TokenAudienceNotAllowed: { category: 'invalid_token', step: 'aud' },
  TokenIssuerNotAllowed: { category: 'invalid_token', step: 'iss' },
  TokenClaimNotFound: { category: 'insufficient_scope', step: 'claim' },
  TokenClaimValueNotAllowed: { category: 'insufficient_scope', step: 'claim' },
  TokenAlgorithmNotAllowed: { category: 'invalid_token', step: 'algorithm' },
  TokenRevoked: { category: 'invalid_token', step: 'jti' },
  // RFC 9449 §4.3: the DPoP proof is missing, malformed, or does not fit this request or this token (htm, htu, iat,
  // ath, signature, a private key in its jwk).
  DpopProofInvalid: { category: 'invalid_token', step: 'dpop' },
  // RFC 9449 §11.1: a proof whose jti was accepted before.
  DpopProofReplayed: { category: 'invalid_token', step: 'dpop' },
  // RFC 9449 §6.1, §7.2: the token's cnf.jkt is not the proof's key, a bound token came as Bearer, or the DPoP scheme
  // came with an unbound token (or a policy requiring DPoP got a Bearer token).
  DpopBindingMismatch: { category: 'invalid_token', step: 'dpop' },
  // RFC 9449 §8: nonces are on and the proof has none, or a stale one; the 401 carries a fresh DPoP-Nonce.
  DpopNonceRequired: { category: 'invalid_token', step: 'dpop' },
  // RFC 8705 §3: a certificate-bound token without the client certificate it is bound to (or a malformed one).
  CertificateBindingMismatch: { category: 'invalid_token', step: 'certificate' },
  // A valid token that a policy's CEL rule does not allow, or a rule that could not be evaluated (never an allow).
  RuleDenied: { category: 'insufficient_scope', step: 'rule' },
  // RFC 7662 §2.2: the introspection endpoint answered `active: false` for the token.
  TokenInactive: { category: 'invalid_token', step: 'introspection' },
  PolicyNotFound: { category: 'no_policy', step: 'policy' },
  NoPolicyMatched: { category: 'no_policy', step: 'policy' },
  // A path that cannot be normalised unambiguously: no policy can be chosen for it.
  PathInvalid: { category: 'no_policy', step: 'path' },
  KeysUnavailable: { category: 'unavailable', step: 'keys' },
  // The introspection endpoint gave no usable answer (down, slow, 5xx, not a JSON object) within the check deadline.
  IntrospectionUnavailable: { category: 'unavailable', step: 'introspection' },
  // The DPoP replay store cannot say whether a proof is new (full, unreachable, too slow): refused, never let through.
  DpopReplayUnavailable: { category: 'unavailable', step: 'dpop' },
  InternalError: { category: 'unavailable', step: 'internal' },
} as const satisfies Record<string, { category: DenyCategory; step: string }>;

export type DenyReason = keyof typeof DENY_REASON_TABLE;

export const DENY_REASONS = Object.keys(DENY_REASON_TABLE) as readonly DenyReason[];

/** A request outcome: the token or the request does not satisfy the policy. */
export class AuthzError extends Error {
  readonly reason: DenyReason;
  /** For claim failures: the claim that failed, so logs and `explain` can name it. */
  readonly claim: string | undefined;
  /** The step `explain` names when it is more precise than the reason's (`rule readers` rather than `rule`). */
  readonly step: string | undefined;

  constructor(reason: DenyReason, message: string, options?: { claim?: string; step?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthzError';
    this.reason = reason;
    this.claim = options?.claim;
    this.step = options?.step;
  }
}

/** A configuration that cannot be used. `problems` holds one `path: message` line per problem. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG_INVALID';
  readonly problems: readonly string[];

  constructor(problems: readonly string[], source?: string) {
    super(`${source ? `${source}: ` : ''}invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type KeyFetchErrorCode =
  | 'ERR_KEYS_TIMEOUT'
  | 'ERR_KEYS_HTTP_STATUS'
  | 'ERR_KEYS_REDIRECT'
  | 'ERR_KEYS_TOO_LARGE'
  | 'ERR_KEYS_INVALID_JSON'
  | 'ERR_KEYS_INVALID_DOCUMENT'
  | 'ERR_KEYS_ISSUER_MISMATCH'
  | 'ERR_KEYS_NETWORK';

/** Fetching or parsing a discovery document or JWKS failed. */
export class KeyFetchError extends Error {
  readonly code: KeyFetchErrorCode;

  constructor(code: KeyFetchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeyFetchError';
    this.code = code;
  }
}

export type IntrospectionErrorCode =
  | 'ERR_INTROSPECTION_TIMEOUT'
  | 'ERR_INTROSPECTION_NETWORK'
  | 'ERR_INTROSPECTION_HTTP_STATUS'
  | 'ERR_INTROSPECTION_TOO_LARGE'
  | 'ERR_INTROSPECTION_INVALID_JSON'
  | 'ERR_INTROSPECTION_INVALID_RESPONSE'
  | 'ERR_INTROSPECTION_CLIENT_AUTH'
  | 'ERR_INTROSPECTION_DISCOVERY';

/** An introspection call (RFC 7662) that gave no usable answer. The message never holds the token or a secret. */
export class IntrospectionError extends Error {
  readonly code: IntrospectionErrorCode;

  constructor(code: IntrospectionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IntrospectionError';
    this.code = code;
  }
}
