import { hostWithoutPort, type AuthzRequest } from '../authz/request.js';
import type { CheckRequestMessage } from './protos.js';

const NO_STRINGS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Turns Envoy's CheckRequest into the pipeline's plain AuthzRequest. Headers come from
 * `attributes.request.http.headers` (lower-case keys, pseudo-headers included), or from `header_map` when Envoy
 * is configured with `encode_raw_headers`; repeated raw headers are joined with a comma as Envoy does in the map.
 */
export function toAuthzRequest(check: CheckRequestMessage): AuthzRequest {
  const http = check.attributes?.request?.http;
  const headers =
    http?.headers && Object.keys(http.headers).length > 0 ? http.headers : foldHeaderMap(http?.header_map?.headers);
  const authority = http?.host || headers[':authority'] || headers.host || '';
  return {
    method: (http?.method || headers[':method'] || '').toUpperCase(),
    path: http?.path || headers[':path'] || '',
    host: hostWithoutPort(authority),
    headers,
    contextExtensions: check.attributes?.context_extensions ?? NO_STRINGS,
    requestId: headers['x-request-id'],
    scheme: http?.scheme || headers[':scheme'] || undefined,
    authority: authority || undefined,
    clientCertificate: check.attributes?.source?.certificate || undefined,
  };
}

function foldHeaderMap(
  list: { key?: string; value?: string; raw_value?: Buffer }[] | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, value, raw_value } of list ?? []) {
    if (!key) continue;
    const name = key.toLowerCase();
    const text = raw_value && raw_value.length > 0 ? raw_value.toString('utf8') : (value ?? '');
    headers[name] = headers[name] === undefined ? text : `${headers[name]},${text}`;
  }
  return headers;
}
