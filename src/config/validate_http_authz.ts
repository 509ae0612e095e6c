import { isIP } from 'node:net';
import { join, optionalNumber, optionalString, requiredString, stringList, type Problems, type Raw } from './reader.js';
import type { HttpAuthzConfig, TrustedProxy } from './types.js';

export const HTTP_AUTHZ_KEYS = [
  'address',
  'trustedProxies',
  'envoyPathPrefix',
  'maxConcurrentChecks',
  'maxConnections',
  'maxHeaderBytes',
  'requestTimeoutMs',
  'keepAliveTimeoutMs',
] as const;

/** The paths the nginx and Caddy checks are served on; the Envoy prefix must not shadow them. */
export const HTTP_AUTHZ_PATH = '/authz';

/**
 * `server.httpAuthz` (already checked to be a mapping with HTTP_AUTHZ_KEYS). The address itself is checked by
 * validate.ts, beside the other listeners it must not share a port with.
 */
export function readHttpAuthz(o: Raw, path: string, problems: Problems): HttpAuthzConfig {
  const int = (key: string, min: number, max: number, fallback: number) =>
    optionalNumber(o, key, path, problems, { min, max, integer: true }) ?? fallback;
  return {
    address: requiredString(o, 'address', path, problems) ?? '',
    trustedProxies: (stringList(o, 'trustedProxies', path, problems) ?? []).flatMap((entry, i) => {
      const proxy = parseTrustedProxy(entry);
      if (typeof proxy === 'string') problems.add(join(join(path, 'trustedProxies'), i), proxy);
      return typeof proxy === 'string' ? [] : [proxy];
    }),
    envoyPathPrefix: readEnvoyPathPrefix(o, path, problems),
    maxConcurrentChecks: int('maxConcurrentChecks', 1, 100_000, 1000),
    maxConnections: int('maxConnections', 1, 1_000_000, 4096),
    // node:http's own default is 16 KiB; Entra tokens with many groups and a few cookies pass that.
    maxHeaderBytes: int('maxHeaderBytes', 1024, 1024 * 1024, 32 * 1024),
    requestTimeoutMs: int('requestTimeoutMs', 100, 120_000, 10_000),
    // Longer than nginx's upstream keepalive_timeout (60 s): the proxy, not tokengate, should close an idle
    // connection, or a request sent just as tokengate closes it fails.
    keepAliveTimeoutMs: int('keepAliveTimeoutMs', 1000, 3_600_000, 65_000),
  };
}

function readEnvoyPathPrefix(o: Raw, path: string, problems: Problems): string {
  const prefix = optionalString(o, 'envoyPathPrefix', path, problems) ?? '/envoy';
  const where = join(path, 'envoyPathPrefix');
  // Envoy writes path_prefix + :path, and :path starts with "/": the prefix starts with "/" and does not end with one.
  const dotSegment = prefix.split('/').some((s) => s === '.' || s === '..');
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(prefix) || dotSegment) {
    problems.add(where, `must be like /envoy (segments of letters, digits, . _ ~ -), got "${prefix}"`);
  } else if (prefix === HTTP_AUTHZ_PATH || prefix.startsWith(`${HTTP_AUTHZ_PATH}/`)) {
    problems.add(where, `must not be ${HTTP_AUTHZ_PATH} or under it: that is where nginx and Caddy ask`);
  }
  return prefix;
}

/** `unix`, an IP address (one host), or a CIDR block `address/prefix`; a string is the problem. */
export function parseTrustedProxy(entry: string): TrustedProxy | string {
  if (entry === 'unix') return { kind: 'unix' };
  const slash = entry.indexOf('/');
  const network = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(network);
  if (family === 0) return `must be "unix", an IP address or a CIDR block like 10.0.0.0/8, got "${entry}"`;
  const max = family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : entry.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return `the prefix length of "${entry}" must be 0 to ${max}`;
  return { kind: 'cidr', network, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}
