import { POLICY_EXTENSION_KEY } from '../authz/select_policy.js';
import { hostWithoutPort, type AuthzRequest } from '../authz/request.js';
import type { HeaderMap } from './header_map.js';
import { TOKEN } from './token.js';

/**
 * Rebuilds the request a proxy asks about from the HTTP request that asks, the way each proxy describes it:
 *
 * - Envoy `http_service`: the check request is the original request, method and headers included, its path behind
 *   the filter's `path_prefix` (`/envoy/orders/1?x` asks about `/orders/1?x`). Nothing forwarded is read.
 * - nginx `auth_request`, on `/authz` or `/authz/{policy}`: `X-Original-Method` and `X-Original-URI` (which the
 *   documented `proxy_set_header` lines set from `$request_method` and `$request_uri`).
 * - Caddy `forward_auth`, on the same paths: `X-Forwarded-Method` and `X-Forwarded-Uri`, which it always sets.
 *
 * Forwarded headers are read only from a trusted proxy: from anyone else they are ignored and the request is judged
 * as it arrived, so a client cannot choose the path it is judged by. Where they are read, doubt denies: both kinds at
 * once (a proxy that passed on a client's headers of the other kind), one of a pair without the other, a header
 * given twice, or a trusted proxy that sent neither. The host is `X-Forwarded-Host` when a trusted proxy sent it,
 * else `Host`. `X-Forwarded-Proto` is not needed: no policy matches on the scheme.
 *
 * The client-certificate headers (`X-Forwarded-Client-Cert`, RFC 9440 `Client-Cert`) are the same kind of claim made
 * by a proxy, in either form: from a peer that is not a trusted proxy they are dropped before the pipeline sees them,
 * or a client reaching this listener directly could present any public certificate for a stolen bound token.
 */

/** What the check is about; `detail` says how it was rebuilt, for the debug trace (never the query). */
export type Rebuilt =
  | { readonly kind: 'request'; readonly request: AuthzRequest; readonly detail: string }
  /** The original request cannot be known without a guess: denied PathInvalid, before any policy is chosen. */
  | { readonly kind: 'ambiguous'; readonly detail: string }
  /** Neither an /authz path nor under the Envoy prefix. */
  | { readonly kind: 'not_found' };

export interface RebuildInput {
  readonly method: string;
  /** The request target as it arrived (node's `req.url`). */
  readonly target: string;
  readonly headers: HeaderMap;
  /** Whether the peer is a trusted proxy; asked only where forwarded headers could be read. */
  readonly trusted: () => boolean;
  readonly envoyPathPrefix: string;
}

const AUTHZ = '/authz';
const NO_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({});

/** The forwarded headers of each proxy that sends them; read on every check a trusted proxy forwards. */
const NGINX = { proxy: 'nginx', method: 'x-original-method', uri: 'x-original-uri' } as const;
const CADDY = { proxy: 'Caddy', method: 'x-forwarded-method', uri: 'x-forwarded-uri' } as const;

export function rebuildRequest(input: RebuildInput): Rebuilt {
  const { target } = input;
  const headers = withoutUntrustedCertificates(input);
  const prefix = input.envoyPathPrefix;
  if (target.startsWith(prefix) && target.charCodeAt(prefix.length) === SLASH) {
    const path = target.slice(prefix.length);
    const detail = `Envoy http_service: ${input.method} ${shown(path)}`;
    return request(input.method, path, headers.headers.host, NO_EXTENSIONS, headers, detail);
  }
  const route = authzRoute(target);
  if (!route) return { kind: 'not_found' };
  const extensions = route.policy === undefined ? NO_EXTENSIONS : { [POLICY_EXTENSION_KEY]: route.policy };
  if (!input.trusted()) {
    const detail = `as it arrived (not from a trusted proxy): ${input.method} ${shown(target)}`;
    return request(input.method, target, headers.headers.host, extensions, headers, detail);
  }
  return forwarded(headers, extensions);
}

/** RFC 8705 §3 via a proxy: the certificate headers count only when a trusted proxy set them. */
const CERTIFICATE_HEADERS = ['x-forwarded-client-cert', 'client-cert'] as const;

function withoutUntrustedCertificates(input: RebuildInput): HeaderMap {
  const { headers } = input;
  if (!CERTIFICATE_HEADERS.some((name) => headers.headers[name] !== undefined) || input.trusted()) return headers;
  const kept = Object.assign(Object.create(null) as Record<string, string>, headers.headers);
  for (const name of CERTIFICATE_HEADERS) delete kept[name];
  return { headers: kept, repeated: headers.repeated };
}

/** `/authz` or `/authz/{policy}` (one percent-decoded segment), with any query; undefined for any other path. */
function authzRoute(target: string): { policy: string | undefined } | undefined {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (path === AUTHZ) return { policy: undefined };
  if (!path.startsWith(`${AUTHZ}/`)) return undefined;
  const segment = path.slice(AUTHZ.length + 1);
  if (segment === '' || segment.includes('/')) return undefined;
  try {
    return { policy: decodeURIComponent(segment) };
  } catch {
    return undefined;
  }
}

function forwarded(headers: HeaderMap, extensions: Readonly<Record<string, string>>): Rebuilt {
  const h = headers.headers;
  const sentNginx = h[NGINX.method] !== undefined || h[NGINX.uri] !== undefined;
  const sentCaddy = h[CADDY.method] !== undefined || h[CADDY.uri] !== undefined;
  if (!sentNginx && !sentCaddy) {
    return ambiguous('a trusted proxy asked without X-Original-URI (nginx) or X-Forwarded-Uri (Caddy)');
  }
  if (sentNginx && sentCaddy) {
    return ambiguous("both nginx's X-Original-Method/-URI and Caddy's X-Forwarded-Method/-Uri headers are present");
  }
  const flavour = sentNginx ? NGINX : CADDY;
  if (headers.repeated.size > 0) {
    for (const name of [flavour.method, flavour.uri, 'x-forwarded-host']) {
      if (headers.repeated.has(name)) return ambiguous(`the ${name} header is given more than once`);
    }
  }
  const method = h[flavour.method];
  const uri = h[flavour.uri];
  if (method === undefined || uri === undefined) {
    return ambiguous(`${flavour.proxy}: ${method === undefined ? flavour.method : flavour.uri} is missing`);
  }
  // RFC 9110 §9.1: a method is a token.
  if (!TOKEN.test(method)) return ambiguous(`${flavour.method} is not an HTTP method`);
  const forwardedHost = h['x-forwarded-host'];
  // RFC 9110 §7.2: a host holds no comma; a list here is a chain of proxies, and which one is meant is a guess.
  if (forwardedHost?.includes(',')) return ambiguous('x-forwarded-host holds more than one host');
  const host = forwardedHost ?? h.host;
  const detail = `${flavour.uri} and ${flavour.method} of a trusted proxy (${flavour.proxy}): ${method} ${shown(uri)}`;
  return request(method, uri, host, extensions, headers, detail);
}

function request(
  method: string,
  path: string,
  host: string | undefined,
  contextExtensions: Readonly<Record<string, string>>,
  headers: HeaderMap,
  detail: string,
): Rebuilt {
  const request: AuthzRequest = {
    method: method.toUpperCase(),
    path,
    host: hostWithoutPort(host ?? ''),
    headers: headers.headers,
    contextExtensions,
    requestId: headers.headers['x-request-id'],
  };
  return { kind: 'request', request, detail };
}

function ambiguous(detail: string): Rebuilt {
  return { kind: 'ambiguous', detail: `the original request cannot be rebuilt unambiguously: ${detail}` };
}

const SLASH = 0x2f;
const SHOWN_LENGTH = 256;

/** For the trace: never the query, which can carry a token; cut short. */
function shown(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  return path.length > SHOWN_LENGTH ? `${path.slice(0, SHOWN_LENGTH)}…` : path;
}
