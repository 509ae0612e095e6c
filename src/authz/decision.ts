import { DENY_REASON_TABLE, type DenyCategory, type DenyReason } from '../errors.js';
import type { CompiledPolicy } from './policy.js';
import { dpopChallengeHeaders } from '../dpop/challenge.js';

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
  /** The kind of denial; a transport maps it to its own status codes. */
  readonly category: DenyCategory;
  /** For logs and `explain` only; never sent to the client. */
  readonly detail: string;
  readonly httpStatus: number;
  /** The response headers of the denial: content type, and the Bearer challenge when there is one. */
  readonly responseHeaders: readonly ResponseHeader[];
  /** APIM's error body: {"statusCode": N, "message": "..."}. */
  readonly body: string;
}

export interface ResponseHeader {
  readonly key: string;
  readonly value: string;
}

export type Decision = Allow | Deny;

/** Per category: the HTTP status, the RFC 6750 §3.1 error code of the challenge, and the default message. */
const CATEGORY: Readonly<Record<DenyCategory, { status: number; bearerError: string | undefined; message: string }>> = {
  invalid_token: {
    status: 401,
    bearerError: 'invalid_token',
    message: 'Unauthorized. Access token is missing or invalid.',
  },
  insufficient_scope: {
    status: 403,
    bearerError: 'insufficient_scope',
    message: 'Forbidden. Access token does not grant access to this resource.',
  },
  no_policy: { status: 403, bearerError: undefined, message: 'Forbidden. No access policy applies to this request.' },
  unavailable: {
    status: 503,
    bearerError: undefined,
    message: 'Service Unavailable. Access token could not be validated.',
  },
};

/** APIM's error body, the one shape of every answer that is not an allow, whatever the transport. */
export function apimErrorBody(statusCode: number, message: string): string {
  return JSON.stringify({ statusCode, message });
}

/**
 * The denial for a reason (see DENY_REASON_TABLE). A policy's failedValidationHttpCode and
 * failedValidationErrorMessage replace the status and message of token denials, as in APIM.
 */
export function deny(reason: DenyReason, detail: string, policy: CompiledPolicy | undefined): Deny {
  const category = DENY_REASON_TABLE[reason].category;
  const kind = CATEGORY[category];
  const isTokenDenial = category === 'invalid_token' || category === 'insufficient_scope';
  const httpStatus = (isTokenDenial ? policy?.failedValidation.httpStatus : undefined) ?? kind.status;
  const message = (isTokenDenial ? policy?.failedValidation.message : undefined) ?? kind.message;
  const responseHeaders: ResponseHeader[] = [{ key: 'content-type', value: 'application/json' }];
  // RFC 6750 §3.1: a request with no token gets a bare challenge, without an error code.
  const challenge = reason === 'TokenNotPresent' ? 'Bearer' : kind.bearerError && `Bearer error="${kind.bearerError}"`;
  // RFC 9449 §7.1: a policy that takes DPoP answers with the DPoP challenge (and its nonce, with nonces on).
  if (policy?.dpop) responseHeaders.push(...dpopChallengeHeaders(reason, policy.dpop, Date.now()));
  else if (challenge) responseHeaders.push({ key: 'www-authenticate', value: challenge });
  return {
    allowed: false,
    policy,
    reason,
    category,
    detail,
    httpStatus,
    responseHeaders,
    body: apimErrorBody(httpStatus, message),
  };
}
