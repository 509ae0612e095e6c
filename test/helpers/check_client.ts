import { credentials, loadPackageDefinition, type Client, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { EXTERNAL_AUTH_PROTO, LOADER_OPTIONS, type CheckResponseMessage } from '../../src/grpc/protos.js';

/** A real grpc-js client for Authorization/Check and grpc.health.v1.Health, as Envoy would call them. */
export interface CheckClient {
  check(request: object): Promise<CheckResponseMessage>;
  health(service?: string): Promise<string>;
  close(): void;
}

let constructors: { Authorization: ServiceClientConstructor; Health: ServiceClientConstructor } | undefined;

function load() {
  if (!constructors) {
    const auth = loadPackageDefinition(loadSync(EXTERNAL_AUTH_PROTO, LOADER_OPTIONS)) as any;
    const healthProto = loadSync(require_health_proto(), { keepCase: true, enums: String, defaults: true });
    const health = loadPackageDefinition(healthProto) as any;
    constructors = { Authorization: auth.envoy.service.auth.v3.Authorization, Health: health.grpc.health.v1.Health };
  }
  return constructors;
}

function require_health_proto(): string {
  // grpc-health-check ships the health.proto it serves.
  return new URL('../../node_modules/grpc-health-check/proto/health/v1/health.proto', import.meta.url).pathname;
}

export function createCheckClient(address: string): CheckClient {
  const { Authorization, Health } = load();
  const auth = new Authorization(address, credentials.createInsecure()) as Client & Record<string, Function>;
  const health = new Health(address, credentials.createInsecure()) as Client & Record<string, Function>;
  return {
    check: (request) =>
      new Promise((resolve, reject) =>
        auth.Check!(request, { deadline: Date.now() + 10_000 }, (err: Error | null, res: CheckResponseMessage) => (err ? reject(err) : resolve(res))),
      ),
    health: (service = '') =>
      new Promise((resolve, reject) =>
        health.Check!({ service }, { deadline: Date.now() + 5_000 }, (err: Error | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
      ),
    close() {
      auth.close();
      health.close();
    },
  };
}

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
export function upstreamHeaders(res: CheckResponseMessage): Record<string, string> {
  return Object.fromEntries((res.ok_response?.headers ?? []).map((h) => [h.header.key, h.header.value]));
}

export function responseHeader(res: CheckResponseMessage, name: string): string | undefined {
  return res.denied_response?.headers?.find((h) => h.header.key === name)?.header.value;
}

export function reasonOf(res: CheckResponseMessage): string | undefined {
  return res.dynamic_metadata?.fields['tokengate.reason']?.stringValue;
}
