/**
 * Every denial carries one of these stable reason codes. They are APIM's validate-jwt error reasons where
 * APIM has one, so an APIM user reading logs or metrics recognises them. They go into logs, metrics and the
 * Check response's dynamic metadata, never into the response body.
 */
export const DENY_REASONS = [
  'TokenNotPresent',
  'TokenSchemeInvalid',
  'JwtInvalid',
  'TokenSignatureInvalid',
  'TokenSignatureKeyNotFound',
  'TokenExpired',
  'TokenNotYetValid',
  'TokenAudienceNotAllowed',
  'TokenIssuerNotAllowed',
  'TokenClaimNotFound',
  'TokenClaimValueNotAllowed',
  'TokenAlgorithmNotAllowed',
  'TokenRevoked',
  'PolicyNotFound',
  'NoPolicyMatched',
  'PathInvalid',
  'KeysUnavailable',
  'InternalError',
] as const;

export type DenyReason = (typeof DENY_REASONS)[number];

/** A request outcome: the token or the request does not satisfy the policy. */
export class AuthzError extends Error {
  readonly reason: DenyReason;
  /** For claim failures: the claim that failed, so logs and `explain` can name it. */
  readonly claim: string | undefined;

  constructor(reason: DenyReason, message: string, options?: { claim?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthzError';
    this.reason = reason;
    this.claim = options?.claim;
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
