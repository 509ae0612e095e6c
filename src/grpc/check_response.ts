import type { Allow, Decision, Deny } from '../authz/decision.js';
import type { DenyCategory } from '../errors.js';
import { safeText } from '../authz/header_value.js';
import type { CheckResponseMessage, HeaderValueOption, StructValue } from './protos.js';

/** google.rpc.Code values: the CheckResponse status Envoy reads the verdict from. */
const GRPC_OK = 0;
const GRPC_CODE: Readonly<Record<DenyCategory, number>> = {
  invalid_token: 16, // UNAUTHENTICATED
  insufficient_scope: 7, // PERMISSION_DENIED
  no_policy: 7, // PERMISSION_DENIED
  unavailable: 14, // UNAVAILABLE
};

/**
 * Builds the CheckResponse. Every decision, a denial included, is a successful RPC: Envoy reads the verdict from
 * `status`, and a gRPC error would leave the outcome to its failure_mode_allow setting.
 */
export function toCheckResponse(decision: Decision): CheckResponseMessage {
  return decision.allowed ? allowResponse(decision) : denyResponse(decision);
}

function str(value: string): StructValue {
  return { stringValue: value };
}

function overwrite(key: string, value: string): HeaderValueOption {
  // Envoy's default append action adds a second copy: a client-forged identity header would survive beside ours.
  return { header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
}

function allowResponse(decision: Allow): CheckResponseMessage {
  const fields: Record<string, StructValue> = {
    policy: str(decision.policy.name),
    'tokengate.policy': str(decision.policy.name),
    'tokengate.decision': str(decision.wouldDeny ? 'would_deny' : 'allow'),
  };
  // Claims are the token's word: a sub or iss with a control character would split an access log line that prints
  // the metadata, so it is left out by the rule the claim headers follow.
  const sub = typeof decision.claims.sub === 'string' ? safeText(decision.claims.sub) : undefined;
  const iss = typeof decision.claims.iss === 'string' ? safeText(decision.claims.iss) : undefined;
  if (sub !== undefined) fields.sub = str(sub);
  if (iss !== undefined) fields.iss = str(iss);
  if (decision.wouldDeny) fields['tokengate.reason'] = str(decision.wouldDeny.reason);
  return {
    status: { code: GRPC_OK },
    ok_response: {
      headers: decision.upstreamHeaders.map((h) => overwrite(h.key, h.value)),
      headers_to_remove: [...decision.headersToRemove],
      query_parameters_to_remove: [...decision.queryParametersToRemove],
    },
    dynamic_metadata: { fields },
  };
}

/** A denial's response depends only on policy and reason, so each is built once and reused. */
const denials = new WeakMap<object, Map<string, CheckResponseMessage>>();
const NO_POLICY = {};

function denyResponse(decision: Deny): CheckResponseMessage {
  const owner = decision.policy ?? NO_POLICY;
  let byReason = denials.get(owner);
  if (!byReason) denials.set(owner, (byReason = new Map()));
  let response = byReason.get(decision.reason);
  if (!response) {
    response = buildDenyResponse(decision);
    byReason.set(decision.reason, response);
  }
  return response;
}

function buildDenyResponse(decision: Deny): CheckResponseMessage {
  const headers = decision.responseHeaders.map((h) => overwrite(h.key, h.value));
  const fields: Record<string, StructValue> = {
    'tokengate.reason': str(decision.reason),
    'tokengate.decision': str('deny'),
  };
  if (decision.policy) fields['tokengate.policy'] = str(decision.policy.name);
  return {
    status: { code: GRPC_CODE[decision.category], message: decision.reason },
    denied_response: { status: { code: decision.httpStatus }, headers, body: decision.body },
    dynamic_metadata: { fields },
  };
}
