// The CheckRequest Envoy's HTTP ext_authz filter sends, built once for the tests, the bench's data and the soak.

export interface EnvoyRequestOptions {
  method?: string;
  path?: string;
  host?: string;
  /** `:scheme` and attributes.request.http.scheme (default http). */
  scheme?: string;
  /** Request headers besides the pseudo-headers, over the defaults (a curl user agent, x-forwarded-proto, a fixed
   * x-request-id); keys are lower-cased, as Envoy sends them. */
  headers?: Record<string, string>;
  contextExtensions?: Record<string, string>;
  /** Send headers as header_map with raw_value bytes, as Envoy does with encode_raw_headers: true. */
  rawHeaders?: boolean;
  /** attributes.request.http.id (Envoy's stream id). */
  id?: string;
  /** attributes.source's port. */
  sourcePort?: number;
  /** attributes.source.certificate: the client certificate, URL-encoded PEM (include_peer_certificate: true). */
  peerCertificate?: string;
  /** attributes.request.time as proto-loader takes it (default), or as ghz's JSON data files spell a Timestamp. */
  timeAs?: 'proto' | 'json';
}

/** A CheckRequest shaped as Envoy's HTTP ext_authz filter sends it: pseudo-headers, lower-case keys, attributes.
 * Field names are the proto names (proto-loader with keepCase and ghz's jsonpb both accept them). */
export function envoyCheckRequest(options: EnvoyRequestOptions = {}): object {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/orders';
  const host = options.host ?? 'api.example.com';
  const scheme = options.scheme ?? 'http';
  const headers: Record<string, string> = {
    ':authority': host,
    ':method': method,
    ':path': path,
    ':scheme': scheme,
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': scheme,
    'x-request-id': 'f5a1c0de-0000-4000-8000-000000000001',
    ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const http: Record<string, unknown> = {
    id: options.id ?? '1234567890',
    method,
    path,
    host,
    scheme,
    protocol: 'HTTP/1.1',
  };
  if (options.rawHeaders) {
    http.header_map = {
      headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })),
    };
  } else {
    http.headers = headers;
  }
  const seconds = Math.floor(Date.now() / 1000);
  return {
    attributes: {
      source: {
        address: { socket_address: { address: '10.0.0.7', port_value: options.sourcePort ?? 51234 } },
        ...(options.peerCertificate === undefined ? {} : { certificate: options.peerCertificate }),
      },
      destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
      request: {
        time:
          options.timeAs === 'json' ? new Date(seconds * 1000).toISOString() : { seconds: String(seconds), nanos: 0 },
        http,
      },
      context_extensions: options.contextExtensions ?? {},
    },
  };
}
