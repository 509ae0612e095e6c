import type { DenyReason } from '../errors.js';
import type { CompiledPolicy } from './policy.js';

export interface UpstreamHeader {
  readonly key: string;
  readonly value: string;
}

export interface Allow {
  readonly allowed: true;
  readonly policy: CompiledPolicy;
  readonly claims: Readonly<Record<string, unknown>>;
  /** Headers set on the upstream request, overwriting any the client sent. */
  readonly upstreamHeaders: readonly UpstreamHeader[];
  readonly headersToRemove: readonly string[];
  readonly queryParametersToRemove: readonly string[];
  /** report-only policies: the denial this request would have received. */
  readonly wouldDeny: Deny | undefined;
}

export interface Deny {
  readonly allowed: false;
  readonly policy: CompiledPolicy | undefined;
  readonly reason: DenyReason;
  /** For logs and `explain` only; never sent to the client. */
  readonly detail: string;
  readonly httpStatus: number;
  /** google.rpc.Code carried in CheckResponse.status. */
  readonly grpcCode: number;
  readonly wwwAuthenticate: string | undefined;
  /** APIM's error body: {"statusCode": N, "message": "..."}. */
  readonly body: string;
}

export type Decision = Allow | Deny;

export const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAVAILABLE = 14;
const GRPC_UNAUTHENTICATED = 16;

type Category = 'invalid_token' | 'insufficient_scope' | 'no_policy' | 'unavailable';

const CATEGORY: Readonly<Record<DenyReason, Category>> = {
  TokenNotPresent: 'invalid_token',
  TokenSchemeInvalid: 'invalid_token',
  JwtInvalid: 'invalid_token',
  TokenSignatureInvalid: 'invalid_token',
  TokenSignatureKeyNotFound: 'invalid_token',
  TokenExpired: 'invalid_token',
  TokenNotYetValid: 'invalid_token',
  TokenAudienceNotAllowed: 'invalid_token',
  TokenIssuerNotAllowed: 'invalid_token',
  TokenAlgorithmNotAllowed: 'invalid_token',
  TokenRevoked: 'invalid_token',
  TokenClaimNotFound: 'insufficient_scope',
  TokenClaimValueNotAllowed: 'insufficient_scope',
  PolicyNotFound: 'no_policy',
  NoPolicyMatched: 'no_policy',
  // A path that cannot be normalised unambiguously: no policy can be chosen for it (403, no Bearer challenge).
  PathInvalid: 'no_policy',
  KeysUnavailable: 'unavailable',
  InternalError: 'unavailable',
};

const DEFAULT_MESSAGE: Readonly<Record<Category, string>> = {
  invalid_token: 'Unauthorized. Access token is missing or invalid.',
  insufficient_scope: 'Forbidden. Access token does not grant access to this resource.',
  no_policy: 'Forbidden. No access policy applies to this request.',
  unavailable: 'Service Unavailable. Access token could not be validated.',
};

/**
 * The denial for a reason, following RFC 6750 and APIM together: a missing or invalid token is 401 with a Bearer
 * challenge, a valid token failing a claim rule is 403 insufficient_scope, and trouble on our side is 503. A policy's
 * failedValidationHttpCode and failedValidationErrorMessage replace the status and message of token denials.
 */
export function deny(reason: DenyReason, detail: string, policy: CompiledPolicy | undefined): Deny {
  const category = CATEGORY[reason];
  const base = { invalid_token: 401, insufficient_scope: 403, no_policy: 403, unavailable: 503 }[category];
  const isTokenDenial = category === 'invalid_token' || category === 'insufficient_scope';
  const httpStatus = (isTokenDenial ? policy?.spec.failedValidationHttpCode : undefined) ?? base;
  const message = (isTokenDenial ? policy?.spec.failedValidationErrorMessage : undefined) ?? DEFAULT_MESSAGE[category];
  return {
    allowed: false,
    policy,
    reason,
    detail,
    httpStatus,
    grpcCode: { invalid_token: GRPC_UNAUTHENTICATED, insufficient_scope: GRPC_PERMISSION_DENIED, no_policy: GRPC_PERMISSION_DENIED, unavailable: GRPC_UNAVAILABLE }[category],
    wwwAuthenticate: challenge(reason, category),
    body: JSON.stringify({ statusCode: httpStatus, message }),
  };
}

function challenge(reason: DenyReason, category: Category): string | undefined {
  // RFC 6750 §3.1: a request with no token gets a bare challenge, without an error code.
  if (reason === 'TokenNotPresent') return 'Bearer';
  if (category === 'invalid_token') return 'Bearer error="invalid_token"';
  if (category === 'insufficient_scope') return 'Bearer error="insufficient_scope"';
  return undefined;
}
