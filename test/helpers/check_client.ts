import type { CheckReply } from '../../src/grpc/check_client.js';
import type { CheckResponseMessage } from '../../src/grpc/protos.js';

/** A response as the client decodes it, or as the server builds it (the helpers read only what both share). */
type Reply = CheckReply | CheckResponseMessage;

export {
  createCheckClient,
  HEADER_APPEND_ACTION,
  type CheckClient,
  type CheckReply,
} from '../../src/grpc/check_client.js';

export { envoyCheckRequest, type EnvoyRequestOptions } from '../../src/testkit/check_request.js';

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The upstream headers an allow response sets, as a plain object. */
export function upstreamHeaders(res: Reply): Record<string, string> {
  return Object.fromEntries((res.ok_response?.headers ?? []).map((h) => [h.header.key, h.header.value]));
}

export function responseHeader(res: Reply, name: string): string | undefined {
  return res.denied_response?.headers?.find((h) => h.header.key === name)?.header.value;
}

export function reasonOf(res: Reply): string | undefined {
  return res.dynamic_metadata?.fields['tokengate.reason']?.stringValue;
}
