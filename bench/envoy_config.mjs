#!/usr/bin/env node
// Envoy bootstraps for the through-Envoy part of the bench: one listener (loopback, gRPC/h2c and HTTP/1.1), all traffic
// routed to a gRPC upstream (bench/ceiling_server.mjs, an allow-all Check service), with one of these auth setups:
//
//   noauth     no auth filter (the baseline)
//   jwt_authn  Envoy's own JWT filter with the same JWKS (local file), issuer and audience, plus an RBAC filter for the
//              scope rule (scp must contain the scope) on the verified payload; jwt_cache_config on (100 tokens/worker)
//   ext_authz  ext_authz gRPC -> tokengate, the settings of the shipped envoy/envoy.yaml (timeout 0.25 s, fail closed,
//              503 on error, allowed_headers authorization/cookie/x-request-id, context_extensions policy=orders)
//   ext_authz_ceiling  the same ext_authz filter, but its gRPC service is the allow-all grpc-js server
//              (bench/ceiling_server.mjs): what the hop costs when the authorization server does nothing at all
//
// No access log in any variant (the shipped config logs every request to stdout; that cost is the same in all of them
// and would only blur the difference).
//
//   node bench/envoy_config.mjs --validate [--envoy BIN]   render all four into bench/out/envoy/ and run
//                                                          `envoy --mode validate` on each
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { toolPaths } from '../scripts/tools.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const VARIANTS = ['noauth', 'jwt_authn', 'ext_authz', 'ext_authz_ceiling'];

/** The variants that check the token: a forged one must be refused there (the bench's preflight). */
export const TOKEN_CHECKING_VARIANTS = new Set(['jwt_authn', 'ext_authz']);

const EXT_AUTHZ_VARIANTS = new Set(['ext_authz', 'ext_authz_ceiling']);

/**
 * @param {'noauth'|'jwt_authn'|'ext_authz'|'ext_authz_ceiling'} variant
 * @param {{ listenerPort: number, adminPort: number, upstreamPort: number, tokengatePort?: number, authzCeilingPort?: number }} ports
 * @param {{ jwksFile: string, issuer: string, audience: string, scope: string, policy: string }} auth
 */
export function envoyBenchConfig(variant, ports, auth) {
  if (!VARIANTS.includes(variant)) throw new Error(`unknown variant ${variant}`);
  const filters = [];
  const perRoute = {};
  if (variant === 'jwt_authn') {
    filters.push({
      name: 'envoy.filters.http.jwt_authn',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
        providers: {
          bench: {
            issuer: auth.issuer,
            audiences: [auth.audience],
            local_jwks: { filename: auth.jwksFile },
            forward: true,
            payload_in_metadata: 'jwt_payload',
            claim_to_headers: [{ header_name: 'x-user-sub', claim_name: 'sub' }],
            jwt_cache_config: { jwt_cache_size: 100 },
          },
        },
        rules: [{ match: { prefix: '/' }, requires: { provider_name: 'bench' } }],
      },
    });
    const scope = auth.scope.replace(/[.\\^$|?*+()[\]{}]/g, '\\$&');
    filters.push({
      name: 'envoy.filters.http.rbac',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
        rules: {
          action: 'ALLOW',
          policies: {
            scope: {
              permissions: [{ any: true }],
              principals: [
                {
                  sourced_metadata: {
                    metadata_source: 'DYNAMIC',
                    metadata_matcher: {
                      filter: 'envoy.filters.http.jwt_authn',
                      path: [{ key: 'jwt_payload' }, { key: 'scp' }],
                      // RE2, whole-string match: the space-separated scp list contains the scope.
                      value: { string_match: { safe_regex: { regex: `(.* )?${scope}( .*)?` } } },
                    },
                  },
                },
              ],
            },
          },
        },
      },
    });
  }
  if (EXT_AUTHZ_VARIANTS.has(variant)) {
    filters.push({
      name: 'envoy.filters.http.ext_authz',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
        transport_api_version: 'V3',
        grpc_service: { envoy_grpc: { cluster_name: 'tokengate' }, timeout: '0.25s' },
        failure_mode_allow: false,
        status_on_error: { code: 'ServiceUnavailable' },
        allowed_headers: { patterns: [{ exact: 'authorization' }, { exact: 'cookie' }, { exact: 'x-request-id' }] },
      },
    });
    perRoute['envoy.filters.http.ext_authz'] = {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
      check_settings: { context_extensions: { policy: auth.policy } },
    };
  }
  filters.push({
    name: 'envoy.filters.http.router',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
  });

  const h2 = {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
  const cluster = (name, port) => ({
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: h2,
    load_assignment: {
      cluster_name: name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] },
      ],
    },
  });
  const clusters = [cluster('upstream_grpc', ports.upstreamPort)];
  // Both ext_authz variants name the cluster `tokengate`, so the filter config is byte-for-byte the same.
  if (variant === 'ext_authz') clusters.push(cluster('tokengate', ports.tokengatePort));
  if (variant === 'ext_authz_ceiling') clusters.push(cluster('tokengate', ports.authzCeilingPort));

  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: ports.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'bench',
          address: { socket_address: { address: '127.0.0.1', port_value: ports.listenerPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'bench',
                    codec_type: 'AUTO',
                    route_config: {
                      name: 'bench',
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes: [
                            {
                              match: { prefix: '/' },
                              route: { cluster: 'upstream_grpc', timeout: '0s' },
                              ...(Object.keys(perRoute).length ? { typed_per_filter_config: perRoute } : {}),
                            },
                          ],
                        },
                      ],
                    },
                    http_filters: filters,
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters,
    },
  };
}

/** Writes the four configs (JSON is valid YAML for Envoy) and returns their paths. */
export function writeEnvoyConfigs(dir, ports, auth) {
  mkdirSync(dir, { recursive: true });
  const files = {};
  for (const v of VARIANTS) {
    files[v] = join(dir, `envoy_${v}.yaml`);
    writeFileSync(files[v], `${JSON.stringify(envoyBenchConfig(v, ports, auth), null, 2)}\n`);
  }
  return files;
}

/** $ENVOY_BIN, else where scripts/install-envoy.sh puts Envoy (the per-machine tools cache, scripts/tools.sh). */
export function defaultEnvoyBin() {
  return process.env.ENVOY_BIN || toolPaths().envoy;
}

export function validateEnvoyConfig(envoyBin, file) {
  return execFileSync(envoyBin, ['--mode', 'validate', '-c', file, '--log-level', 'warn'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: { validate: { type: 'boolean', default: false }, envoy: { type: 'string' } },
  });
  const envoy = values.envoy ?? defaultEnvoyBin();
  const files = writeEnvoyConfigs(
    join(HERE, 'out', 'envoy'),
    { listenerPort: 18500, adminPort: 18501, upstreamPort: 18502, tokengatePort: 18491, authzCeilingPort: 18503 },
    {
      jwksFile: join(HERE, 'out', 'data', 'jwks.json'),
      issuer: 'http://127.0.0.1:18480',
      audience: 'api://tokengate-bench',
      scope: 'orders.read',
      policy: 'orders',
    },
  );
  for (const [v, f] of Object.entries(files)) {
    if (values.validate) {
      try {
        validateEnvoyConfig(envoy, f);
        process.stdout.write(`${v}: ${f}: OK\n`);
      } catch (err) {
        process.stdout.write(`${v}: ${f}: INVALID\n${err.stdout ?? ''}${err.stderr ?? ''}\n`);
        process.exitCode = 1;
      }
    } else process.stdout.write(`${v}: ${f}\n`);
  }
}
