import type { CheckReply } from '../../src/grpc/check_client.js';
import type { CheckResponseMessage } from '../../src/grpc/protos.js';

/** A response as the client decodes it, or as the server builds it (the helpers read only what both share). */
type Reply = CheckReply | CheckResponseMessage;

export { createCheckClient, HEADER_APPEND_ACTION, type CheckClient, type CheckReply } from '../../src/grpc/check_client.js';

export interface EnvoyRequestOptions {
  method?: string;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
  contextExtensions?: Record<string, string>;
  /** Send headers as header_map with raw_value bytes, as Envoy does with encode_raw_headers: true. */
  rawHeaders?: boolean;
}

/** A CheckRequest shaped as Envoy's HTTP ext_authz filter sends it: pseudo-headers, lower-case keys, attributes. */
export function envoyCheckRequest(options: EnvoyRequestOptions = {}): object {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/orders';
  const host = options.host ?? 'api.example.com';
  const headers: Record<string, string> = {
    ':authority': host,
    ':method': method,
    ':path': path,
    ':scheme': 'http',
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': 'http',
    'x-request-id': 'f5a1c0de-0000-4000-8000-000000000001',
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const http: Record<string, unknown> = { id: '1234567890', method, path, host, scheme: 'http', protocol: 'HTTP/1.1' };
  if (options.rawHeaders) {
    http.header_map = { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) };
  } else {
    http.headers = headers;
  }
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 51234 } } },
      destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
      request: { time: { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 }, http },
      context_extensions: options.contextExtensions ?? {},
    },
  };
}

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
