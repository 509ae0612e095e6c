import { ASYMMETRIC_ALGORITHMS, jwsAlgorithm } from '../jwt/algorithms.js';
import { isLoopbackHost } from '../net/loopback.js';
import {
  Problems,
  join,
  optionalBoolean,
  optionalEnum,
  optionalMapping,
  optionalNumber,
  optionalString,
  requiredString,
  type Raw,
} from './reader.js';
import type { IntrospectionClientAuth, IntrospectionConfig, OpenIdConfigEntry } from './types.js';

export const INTROSPECTION_KEYS = [
  'endpoint',
  'clientId',
  'clientAuthMethod',
  'clientSecretFile',
  'privateKeyJwt',
  'cacheSeconds',
  'negativeCacheSeconds',
  'cacheMaxEntries',
  'cacheMaxBytes',
  'timeout',
  'applyTo',
  'allowInsecureHttp',
];

const PRIVATE_KEY_JWT_KEYS = ['keyFile', 'algorithm', 'keyId', 'audience'];

/**
 * The `introspection:` section of a policy (RFC 7662). Only its shape: the secret or key file is read, and the key
 * imported, when the runtime is built (src/introspection/build.ts), which `tokengate validate` runs too. Without an
 * `endpoint`, the policy's one openidConfig document names it (`introspection_endpoint`, RFC 8414 §2).
 */
export function readIntrospection(
  o: Raw,
  path: string,
  problems: Problems,
  openidConfig: readonly OpenIdConfigEntry[],
): IntrospectionConfig | undefined {
  const section = optionalMapping(o, 'introspection', path, problems, INTROSPECTION_KEYS);
  if (!section) return undefined;
  const at = join(path, 'introspection');
  const allowInsecureHttp = optionalBoolean(section, 'allowInsecureHttp', at, problems, false);
  const endpoint = optionalString(section, 'endpoint', at, problems);
  if (endpoint !== undefined) {
    const problem = endpointProblem(endpoint, allowInsecureHttp);
    if (problem) problems.add(join(at, 'endpoint'), problem);
  } else if (section.endpoint === undefined && openidConfig.length !== 1) {
    problems.add(
      join(at, 'endpoint'),
      'is required, unless the policy has exactly one openidConfig whose document names its introspection_endpoint',
    );
  }
  const discovery = endpoint === undefined ? openidConfig[0]?.url : undefined;
  const clientId = requiredString(section, 'clientId', at, problems);
  const clientAuth = readClientAuth(section, at, problems);
  if ((endpoint ?? discovery) === undefined || clientId === undefined || clientAuth === undefined) return undefined;
  return {
    endpoint,
    discovery,
    clientId,
    clientAuth,
    cacheSeconds: optionalNumber(section, 'cacheSeconds', at, problems, { min: 0, max: 86_400 }) ?? 60,
    negativeCacheSeconds: optionalNumber(section, 'negativeCacheSeconds', at, problems, { min: 0, max: 300 }) ?? 5,
    cacheMaxEntries:
      optionalNumber(section, 'cacheMaxEntries', at, problems, { min: 0, max: 10_000_000, integer: true }) ?? 10_000,
    cacheMaxBytes:
      optionalNumber(section, 'cacheMaxBytes', at, problems, { min: 0, max: 4 * 1024 ** 3, integer: true }) ??
      16 * 1024 * 1024,
    timeoutMs: (optionalNumber(section, 'timeout', at, problems, { min: 0.05, max: 60 }) ?? 1) * 1000,
    applyTo: optionalEnum(section, 'applyTo', at, problems, ['opaque', 'all'] as const) ?? 'opaque',
    allowInsecureHttp,
  };
}

/** Secrets come from files only: an inline secret would sit in a ConfigMap and in every dump of the config. */
function readClientAuth(section: Raw, at: string, problems: Problems): IntrospectionClientAuth | undefined {
  const method = optionalEnum(section, 'clientAuthMethod', at, problems, [
    'client_secret_basic',
    'client_secret_post',
    'private_key_jwt',
  ] as const);
  const secretFile = optionalString(section, 'clientSecretFile', at, problems);
  const jwt = optionalMapping(section, 'privateKeyJwt', at, problems, PRIVATE_KEY_JWT_KEYS);
  if ((secretFile === undefined) === (jwt === undefined)) {
    problems.add(at, 'set exactly one of clientSecretFile (client_secret_basic/post) or privateKeyJwt (RFC 7523)');
    return undefined;
  }
  if (jwt) {
    if (method !== undefined && method !== 'private_key_jwt') {
      problems.add(join(at, 'clientAuthMethod'), `${method} needs clientSecretFile, not privateKeyJwt`);
    }
    return readPrivateKeyJwt(jwt, join(at, 'privateKeyJwt'), problems);
  }
  if (method === 'private_key_jwt') {
    problems.add(join(at, 'clientAuthMethod'), 'private_key_jwt needs privateKeyJwt: { keyFile: ... }');
    return undefined;
  }
  return secretFile === undefined ? undefined : { method: method ?? 'client_secret_basic', secretFile };
}

function readPrivateKeyJwt(o: Raw, at: string, problems: Problems): IntrospectionClientAuth | undefined {
  const keyFile = requiredString(o, 'keyFile', at, problems);
  const algorithm = optionalString(o, 'algorithm', at, problems);
  // RFC 7523 §3: a client assertion is signed; a shared-secret MAC would be client_secret_jwt, another method.
  if (algorithm !== undefined && (!jwsAlgorithm(algorithm) || jwsAlgorithm(algorithm)!.symmetric)) {
    problems.add(join(at, 'algorithm'), `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')}, got "${algorithm}"`);
  }
  const audience = optionalString(o, 'audience', at, problems);
  if (keyFile === undefined) return undefined;
  return { method: 'private_key_jwt', keyFile, algorithm, keyId: optionalString(o, 'keyId', at, problems), audience };
}

/**
 * Why a URL may not be an introspection endpoint, or undefined when it may: the token and our credentials travel in
 * the request, so plain http only where no one else can read it. Also applied to an endpoint a document names.
 */
export function endpointProblem(url: string, allowInsecureHttp: boolean): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${url}" is not a valid URL`;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'must not carry credentials: use clientSecretFile or privateKeyJwt';
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol !== 'http:') return `must be an https:// URL, got ${parsed.protocol}`;
  if (!isLoopbackHost(parsed.hostname) && !allowInsecureHttp) {
    return 'must be https:// (plain http is allowed for loopback hosts, or with allowInsecureHttp: true)';
  }
  return undefined;
}
