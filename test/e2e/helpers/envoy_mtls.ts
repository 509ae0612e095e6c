import { request as httpsRequest } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { ManagedProcess } from '../../helpers/child_process.js';
import { envoyBin } from '../../helpers/envoy_binary.js';
import { httpGet, type HttpResult } from '../../helpers/http.js';
import { ROOT } from '../../helpers/paths.js';
import type { TestCa, TestCertificate } from '../../helpers/certificates.js';

/** envoy/envoy.yaml's variant with a mutual-TLS listener and include_peer_certificate (RFC 8705 §3). */
export const SHIPPED_MTLS_ENVOY_CONFIG = join(ROOT, 'envoy/envoy-mtls.yaml');

/** The certificate files the shipped variant names, in /etc/envoy/tls/. */
export const MTLS_CONFIG_FILES = {
  serverCert: '/etc/envoy/tls/server.pem',
  serverKey: '/etc/envoy/tls/server.key',
  clientCa: '/etc/envoy/tls/client-ca.pem',
} as const;

/** The config text with the certificate files of this run instead of /etc/envoy/tls/. */
export function withTlsFiles(text: string, ca: TestCa, server: TestCertificate): string {
  const files = { serverCert: server.certFile, serverKey: server.keyFile, clientCa: ca.certFile };
  let out = text;
  for (const [key, path] of Object.entries(MTLS_CONFIG_FILES)) {
    if (out.split(path).length !== 2) throw new Error(`${path} must appear exactly once in the mTLS config`);
    out = out.replace(path, files[key as keyof typeof files]);
  }
  return out;
}

/**
 * The mTLS variant as data, with its two additions taken out (the listener's transport_socket and the ext_authz
 * filter's include_peer_certificate): what remains must be envoy/envoy.yaml, so the variant cannot drift from it.
 */
export function withoutMtlsAdditions(text: string): unknown {
  const config = parse(text) as {
    static_resources: { listeners: { filter_chains: Record<string, unknown>[] }[] };
  };
  for (const listener of config.static_resources.listeners) {
    for (const chain of listener.filter_chains) {
      delete chain.transport_socket;
      const filters = chain.filters as { typed_config: { http_filters?: { typed_config: Record<string, unknown> }[] } }[];
      for (const filter of filters)
        for (const http of filter.typed_config.http_filters ?? []) delete http.typed_config.include_peer_certificate;
    }
  }
  return config;
}

/** A request over TLS to Envoy's listener on 127.0.0.1, with `client` as the client certificate (or none). */
export function httpsGet(
  port: number,
  path: string,
  options: { ca: TestCa; client?: TestCertificate; headers?: Record<string, string> },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: options.headers ?? {},
        ca: options.ca.pem,
        // The server certificate names localhost and 127.0.0.1; a Host header of another name must not change that.
        servername: 'localhost',
        ...(options.client
          ? { cert: readFileSync(options.client.certFile), key: readFileSync(options.client.keyFile) }
          : {}),
        // A fresh TLS connection for every request: no session is reused across client certificates.
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} over TLS on port ${port}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * envoy/envoy.yaml behind a proxy that ended TLS and set x-forwarded-client-cert (docs/sender-constrained-tokens.md):
 * the connection manager forwards the header as it came (ALWAYS_FORWARD_ONLY: the default SANITIZE removes it before
 * any filter), and ext_authz sends it to tokengate (allowed_headers).
 */
export function trustingXfcc(text: string): string {
  const doc = parseDocument(text);
  const hcm = ['static_resources', 'listeners', 0, 'filter_chains', 0, 'filters', 0, 'typed_config'];
  doc.setIn([...hcm, 'forward_client_cert_details'], 'ALWAYS_FORWARD_ONLY');
  const patterns = [...hcm, 'http_filters', 0, 'typed_config', 'allowed_headers', 'patterns'];
  const list = doc.getIn(patterns) as { add(value: unknown): void } | undefined;
  if (!list) throw new Error('envoy.yaml: no ext_authz allowed_headers to extend');
  list.add(doc.createNode({ exact: 'x-forwarded-client-cert' }));
  return doc.toString();
}

/**
 * A real TLS-terminating proxy in front (an Envoy of its own): it requires a client certificate from `ca`, replaces
 * any x-forwarded-client-cert the client sent with one describing the client's certificate (SANITIZE_SET, Cert=
 * included), and forwards everything to 127.0.0.1:`nextPort` over plain HTTP.
 */
export async function startFrontProxy(options: {
  dir: string;
  port: number;
  adminPort: number;
  nextPort: number;
  ca: TestCa;
  server: TestCertificate;
}): Promise<ManagedProcess> {
  const config = `admin: { address: { socket_address: { address: 127.0.0.1, port_value: ${options.adminPort} } } }
static_resources:
  listeners:
  - name: front
    address: { socket_address: { address: 127.0.0.1, port_value: ${options.port} } }
    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates:
            - certificate_chain: { filename: ${options.server.certFile} }
              private_key: { filename: ${options.server.keyFile} }
            validation_context: { trusted_ca: { filename: ${options.ca.certFile} } }
      filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: front
          forward_client_cert_details: SANITIZE_SET
          set_current_client_cert_details: { cert: true, subject: true, uri: true, dns: true }
          route_config:
            virtual_hosts:
            - { name: all, domains: ["*"], routes: [ { match: { prefix: / }, route: { cluster: next } } ] }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: next
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: next
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${options.nextPort} } } } } ] } ]
`;
  const configFile = join(options.dir, 'front-proxy.yaml');
  writeFileSync(configFile, config);
  const args = ['-c', configFile, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warn'];
  const proc = new ManagedProcess('front-proxy', envoyBin(), args, join(options.dir, 'front-proxy.log'));
  try {
    await proc.waitUntil(`front proxy admin /ready == LIVE on port ${options.adminPort}`, async () => {
      const res = await httpGet(options.adminPort, '/ready', { timeoutMs: 1000 }).catch(() => undefined);
      return res?.body.trim() === 'LIVE';
    });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}
