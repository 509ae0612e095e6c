import { ConfigError } from '../errors.js';
import { importStaticKey } from '../keys/import_key.js';
import {
  Problems,
  join,
  list,
  mapping,
  optionalBoolean,
  optionalEnum,
  optionalList,
  optionalMapping,
  optionalNumber,
  optionalString,
  requiredString,
  stringList,
  isNonEmptyString,
  type Raw,
} from './reader.js';
import {
  ALL_ALGORITHMS,
  ASYMMETRIC_ALGORITHMS,
  SYMMETRIC_ALGORITHMS,
  type ClaimHeaderConfig,
  type Config,
  type KeysConfig,
  type LoggingConfig,
  type MatchConfig,
  type OpenIdConfigEntry,
  type PolicyConfig,
  type RequiredClaimConfig,
  type ServerConfig,
  type StaticKeyConfig,
  type TokenLocation,
  type ValidateJwtConfig,
} from './types.js';

const DEFAULT_GRPC_ADDRESS = '127.0.0.1:9191';
const DEFAULT_HTTP_ADDRESS = '127.0.0.1:9090';
const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/i;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Checks raw YAML data and returns the configuration with defaults applied; throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source?: string): Config {
  const problems = new Problems();
  const root = mapping(raw ?? {}, '', problems, ['server', 'keys', 'logging', 'policies']) ?? {};
  const keys = readKeys(root, problems);
  const config: Config = {
    server: readServer(root, problems),
    keys,
    logging: readLogging(root, problems),
    policies: readPolicies(root, problems, keys),
  };
  if (problems.list.length > 0) throw new ConfigError(problems.list, source);
  return deepFreeze(config);
}

function readServer(root: Raw, problems: Problems): ServerConfig {
  const path = 'server';
  const o = optionalMapping(root, 'server', '', problems, ['grpc', 'http', 'checkDeadlineMs', 'shutdownGraceSeconds']) ?? {};
  const grpc = optionalMapping(o, 'grpc', path, problems, ['address']) ?? {};
  const grpcAddress = optionalString(grpc, 'address', join(path, 'grpc'), problems) ?? DEFAULT_GRPC_ADDRESS;
  checkAddress(grpcAddress, join(path, 'grpc.address'), problems, true);
  let httpAddress: string | undefined = DEFAULT_HTTP_ADDRESS;
  if (o.http === false) httpAddress = undefined;
  else {
    const http = optionalMapping(o, 'http', path, problems, ['address']) ?? {};
    httpAddress = optionalString(http, 'address', join(path, 'http'), problems) ?? DEFAULT_HTTP_ADDRESS;
    checkAddress(httpAddress, join(path, 'http.address'), problems, false);
  }
  return {
    grpcAddress,
    httpAddress,
    checkDeadlineMs: optionalNumber(o, 'checkDeadlineMs', path, problems, { min: 1, max: 60_000, integer: true }) ?? 150,
    shutdownGraceSeconds: optionalNumber(o, 'shutdownGraceSeconds', path, problems, { min: 0, max: 3600 }) ?? 10,
  };
}

function checkAddress(address: string, path: string, problems: Problems, unixAllowed: boolean): void {
  if (address.startsWith('unix:')) {
    if (!unixAllowed) problems.add(path, 'must be host:port');
    else if (!address.slice(5).startsWith('/')) problems.add(path, 'a unix socket needs an absolute path: unix:/path/to.sock');
    return;
  }
  const m = /^(\[[0-9a-f:.]+\]|[^:\s]+):(\d{1,5})$/i.exec(address);
  if (!m || Number(m[2]) > 65535) problems.add(path, `must be host:port${unixAllowed ? ' or unix:/path' : ''}, got "${address}"`);
}

function readKeys(root: Raw, problems: Problems): KeysConfig {
  const path = 'keys';
  const o =
    optionalMapping(root, 'keys', '', problems, [
      'fetchTimeout',
      'refreshInterval',
      'cooldown',
      'maxStale',
      'allowInsecureHttp',
      'followRedirects',
    ]) ?? {};
  return {
    fetchTimeoutSeconds: optionalNumber(o, 'fetchTimeout', path, problems, { min: 0.05, max: 120 }) ?? 5,
    refreshIntervalSeconds: optionalNumber(o, 'refreshInterval', path, problems, { min: 60, max: 86_400 }) ?? 600,
    cooldownSeconds: optionalNumber(o, 'cooldown', path, problems, { min: 0, max: 3600 }) ?? 30,
    maxStaleSeconds: optionalNumber(o, 'maxStale', path, problems, { min: 0, max: 30 * 86_400 }) ?? 86_400,
    allowInsecureHttp: optionalBoolean(o, 'allowInsecureHttp', path, problems, false),
    followRedirects: optionalBoolean(o, 'followRedirects', path, problems, false),
  };
}

function readLogging(root: Raw, problems: Problems): LoggingConfig {
  const o = optionalMapping(root, 'logging', '', problems, ['level']) ?? {};
  return { level: optionalEnum(o, 'level', 'logging', problems, LOG_LEVELS) ?? 'info' };
}

function readPolicies(root: Raw, problems: Problems, keys: KeysConfig): PolicyConfig[] {
  if (root.policies === undefined) {
    problems.add('policies', 'is required: list at least one policy');
    return [];
  }
  const items = list(root.policies, 'policies', problems) ?? [];
  if (Array.isArray(root.policies) && items.length === 0) problems.add('policies', 'must not be empty');
  const seen = new Set<string>();
  const policies: PolicyConfig[] = [];
  items.forEach((item, i) => {
    const path = join('policies', i);
    const o = mapping(item, path, problems, ['name', 'mode', 'match', 'validateJwt']);
    if (!o) return;
    const name = requiredString(o, 'name', path, problems) ?? `#${i}`;
    if (seen.has(name)) problems.add(join(path, 'name'), `duplicate policy name "${name}"`);
    seen.add(name);
    const jwt = o.validateJwt === undefined ? undefined : mapping(o.validateJwt, join(path, 'validateJwt'), problems, VALIDATE_JWT_KEYS);
    if (o.validateJwt === undefined) problems.add(join(path, 'validateJwt'), 'is required');
    policies.push({
      name,
      mode: optionalEnum(o, 'mode', path, problems, ['enforce', 'report-only'] as const) ?? 'enforce',
      match: readMatch(o, path, problems),
      validateJwt: readValidateJwt(jwt ?? {}, join(path, 'validateJwt'), problems, keys),
    });
  });
  return policies;
}

function readMatch(o: Raw, path: string, problems: Problems): MatchConfig | undefined {
  const m = optionalMapping(o, 'match', path, problems, ['hosts', 'pathPrefixes', 'methods']);
  if (!m) return undefined;
  const matchPath = join(path, 'match');
  const pathPrefixes = stringList(m, 'pathPrefixes', matchPath, problems, { minItems: 1 });
  pathPrefixes?.forEach((prefix, i) => {
    if (!prefix.startsWith('/')) problems.add(join(join(matchPath, 'pathPrefixes'), i), 'must start with /');
  });
  return {
    hosts: stringList(m, 'hosts', matchPath, problems, { minItems: 1 })?.map((h) => h.toLowerCase()),
    pathPrefixes,
    methods: stringList(m, 'methods', matchPath, problems, { minItems: 1 })?.map((v) => v.toUpperCase()),
  };
}

const VALIDATE_JWT_KEYS = [
  'headerName',
  'queryParameterName',
  'cookieName',
  'requireScheme',
  'openidConfig',
  'jwksUri',
  'issuerSigningKeys',
  'audiences',
  'issuers',
  'algorithms',
  'requireExpirationTime',
  'requireSignedTokens',
  'clockSkew',
  'maxLifetime',
  'requiredClaims',
  'failedValidationHttpCode',
  'failedValidationErrorMessage',
  'outputClaimsToHeaders',
  'forwardPayloadHeader',
  'removeToken',
];

function readValidateJwt(o: Raw, path: string, problems: Problems, keys: KeysConfig): ValidateJwtConfig {
  const openidConfig = readOpenIdConfig(o, path, problems, keys);
  const jwksUri = stringList(o, 'jwksUri', path, problems) ?? [];
  jwksUri.forEach((url, i) => checkKeyUrl(url, join(join(path, 'jwksUri'), i), problems, keys));
  const issuerSigningKeys = readStaticKeys(o, path, problems);
  const requiredClaims = readRequiredClaims(o, path, problems);
  const requireSignedTokens = optionalBoolean(o, 'requireSignedTokens', path, problems, true);

  const audiences = stringList(o, 'audiences', path, problems);
  const hasAudienceRule = requiredClaims.some((c) => c.name === 'aud');
  if (audiences === undefined && !hasAudienceRule) {
    problems.add(join(path, 'audiences'), 'is required (write `audiences: []` to accept any audience on purpose)');
  }
  const issuers = stringList(o, 'issuers', path, problems);
  if (issuers === undefined && openidConfig.length === 0) {
    problems.add(
      join(path, 'issuers'),
      'is required when there is no openidConfig to take issuers from (write `issuers: []` to accept any issuer on purpose)',
    );
  }
  if (requireSignedTokens && openidConfig.length + jwksUri.length + issuerSigningKeys.length === 0) {
    problems.add(path, 'needs at least one key source: openidConfig, jwksUri or issuerSigningKeys');
  }

  return {
    token: readTokenLocation(o, path, problems),
    openidConfig,
    jwksUri,
    issuerSigningKeys,
    audiences: audiences ?? [],
    issuers,
    algorithms: readAlgorithms(o, path, problems, issuerSigningKeys),
    requireExpirationTime: optionalBoolean(o, 'requireExpirationTime', path, problems, true),
    requireSignedTokens,
    clockSkewSeconds: optionalNumber(o, 'clockSkew', path, problems, { min: 0, max: 86_400 }) ?? 0,
    maxLifetimeSeconds: optionalNumber(o, 'maxLifetime', path, problems, { min: 1, max: 365 * 86_400 }),
    requiredClaims,
    failedValidationHttpCode: optionalNumber(o, 'failedValidationHttpCode', path, problems, {
      min: 400,
      max: 599,
      integer: true,
    }),
    failedValidationErrorMessage: optionalString(o, 'failedValidationErrorMessage', path, problems),
    outputClaimsToHeaders: readClaimHeaders(o, path, problems),
    forwardPayloadHeader: readHeaderName(o, 'forwardPayloadHeader', path, problems),
    removeToken: optionalBoolean(o, 'removeToken', path, problems, false),
  };
}

function readTokenLocation(o: Raw, path: string, problems: Problems): TokenLocation {
  const given = ['headerName', 'queryParameterName', 'cookieName'].filter((k) => o[k] !== undefined);
  if (given.length > 1) problems.add(path, `set only one of headerName, queryParameterName, cookieName (got ${given.join(', ')})`);
  const scheme = optionalString(o, 'requireScheme', path, problems);
  if (o.queryParameterName !== undefined) {
    return { kind: 'query', name: requiredString(o, 'queryParameterName', path, problems) ?? '' };
  }
  if (o.cookieName !== undefined) {
    return { kind: 'cookie', name: requiredString(o, 'cookieName', path, problems) ?? '' };
  }
  const name = (readHeaderName(o, 'headerName', path, problems) ?? 'authorization').toLowerCase();
  // APIM: require-scheme applies to the Authorization header; a custom header carries the bare token unless told otherwise.
  return { kind: 'header', name, scheme: scheme ?? (name === 'authorization' ? 'Bearer' : undefined) };
}

function readHeaderName(o: Raw, key: string, path: string, problems: Problems): string | undefined {
  const name = optionalString(o, key, path, problems);
  if (name !== undefined && !HEADER_NAME.test(name)) problems.add(join(path, key), `"${name}" is not a valid header name`);
  return name?.toLowerCase();
}

function readOpenIdConfig(o: Raw, path: string, problems: Problems, keys: KeysConfig): OpenIdConfigEntry[] {
  const items = optionalList(o, 'openidConfig', path, problems) ?? [];
  const out: OpenIdConfigEntry[] = [];
  items.forEach((item, i) => {
    const itemPath = join(join(path, 'openidConfig'), i);
    const entry = mapping(item, itemPath, problems, ['url', 'issuer']);
    if (!entry) return;
    const url = requiredString(entry, 'url', itemPath, problems);
    if (url === undefined) return;
    checkKeyUrl(url, join(itemPath, 'url'), problems, keys);
    const issuer = optionalString(entry, 'issuer', itemPath, problems);
    out.push({ url, issuer });
  });
  return out;
}

/** The issuer a discovery URL promises (OpenID Connect Discovery 1.0 §4.3). */
export function issuerOfDiscoveryUrl(url: string): string {
  return url.endsWith(DISCOVERY_SUFFIX) ? url.slice(0, -DISCOVERY_SUFFIX.length) : url;
}

function checkKeyUrl(url: string, path: string, problems: Problems, keys: KeysConfig): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problems.add(path, `"${url}" is not a valid URL`);
    return;
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol !== 'http:') {
    problems.add(path, `must be an https:// URL, got ${parsed.protocol}`);
    return;
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/i.test(parsed.hostname);
  if (!loopback && !keys.allowInsecureHttp) {
    problems.add(path, 'must be https:// (plain http is allowed for loopback hosts, or anywhere with keys.allowInsecureHttp: true)');
  }
}

function readStaticKeys(o: Raw, path: string, problems: Problems): StaticKeyConfig[] {
  const items = optionalList(o, 'issuerSigningKeys', path, problems) ?? [];
  const out: StaticKeyConfig[] = [];
  items.forEach((item, i) => {
    const itemPath = join(join(path, 'issuerSigningKeys'), i);
    const entry = mapping(item, itemPath, problems, ['jwk', 'pem', 'n', 'e', 'base64', 'id']);
    if (!entry) return;
    const id = optionalString(entry, 'id', itemPath, problems);
    let key: StaticKeyConfig | undefined;
    if (entry.jwk !== undefined) {
      const jwk = mapping(entry.jwk, join(itemPath, 'jwk'), problems, JWK_MEMBERS);
      if (jwk) key = { form: 'jwk', jwk: id !== undefined && jwk.kid === undefined ? { ...jwk, kid: id } : jwk };
    } else if (entry.pem !== undefined) {
      const pem = requiredString(entry, 'pem', itemPath, problems);
      if (pem) key = { form: 'pem', pem, id };
    } else if (entry.n !== undefined || entry.e !== undefined) {
      const n = requiredString(entry, 'n', itemPath, problems);
      const e = requiredString(entry, 'e', itemPath, problems);
      if (n && e) key = { form: 'rsa', n, e, id };
    } else if (entry.base64 !== undefined) {
      const base64 = requiredString(entry, 'base64', itemPath, problems);
      if (base64) key = { form: 'symmetric', base64, id };
    } else {
      problems.add(itemPath, 'must give one of jwk, pem, n + e, or base64');
    }
    if (!key) return;
    try {
      importStaticKey(key);
      out.push(key);
    } catch (err) {
      problems.add(itemPath, (err as Error).message);
    }
  });
  return out;
}

const JWK_MEMBERS = ['kty', 'kid', 'alg', 'use', 'key_ops', 'n', 'e', 'crv', 'x', 'y', 'k', 'x5c', 'x5t', 'x5t#S256'];

function readAlgorithms(o: Raw, path: string, problems: Problems, keys: readonly StaticKeyConfig[]): string[] {
  const hasSymmetricKey = keys.some((k) => k.form === 'symmetric' || (k.form === 'jwk' && k.jwk.kty === 'oct'));
  const given = stringList(o, 'algorithms', path, problems, { minItems: 1 });
  if (given === undefined) {
    return hasSymmetricKey ? [...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS] : [...ASYMMETRIC_ALGORITHMS];
  }
  given.forEach((alg, i) => {
    const itemPath = join(join(path, 'algorithms'), i);
    if (alg.toLowerCase() === 'none') problems.add(itemPath, '"none" is never allowed: unsigned tokens are controlled by requireSignedTokens');
    else if (!ALL_ALGORITHMS.includes(alg)) problems.add(itemPath, `unknown algorithm "${alg}" (expected one of ${ALL_ALGORITHMS.join(', ')})`);
    else if (alg.startsWith('HS') && !hasSymmetricKey) {
      problems.add(itemPath, `${alg} needs a symmetric key in issuerSigningKeys (base64): HS* is never verified with a public key`);
    }
  });
  return given;
}

function readRequiredClaims(o: Raw, path: string, problems: Problems): RequiredClaimConfig[] {
  const items = optionalList(o, 'requiredClaims', path, problems) ?? [];
  const out: RequiredClaimConfig[] = [];
  items.forEach((item, i) => {
    const itemPath = join(join(path, 'requiredClaims'), i);
    const c = mapping(item, itemPath, problems, ['name', 'match', 'separator', 'values']);
    if (!c) return;
    const name = requiredString(c, 'name', itemPath, problems);
    const separator = c.separator === undefined ? undefined : c.separator;
    if (separator !== undefined && (typeof separator !== 'string' || separator.length === 0)) {
      problems.add(join(itemPath, 'separator'), 'must be a non-empty string such as " " or ","');
    }
    const values = (optionalList(c, 'values', itemPath, problems) ?? []).flatMap((v, j) => {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [String(v)];
      problems.add(join(join(itemPath, 'values'), j), 'must be a string');
      return [];
    });
    if (name) {
      out.push({
        name,
        match: optionalEnum(c, 'match', itemPath, problems, ['all', 'any'] as const) ?? 'all',
        separator: typeof separator === 'string' && separator.length > 0 ? separator : undefined,
        values,
      });
    }
  });
  return out;
}

function readClaimHeaders(o: Raw, path: string, problems: Problems): ClaimHeaderConfig[] {
  const items = optionalList(o, 'outputClaimsToHeaders', path, problems) ?? [];
  const out: ClaimHeaderConfig[] = [];
  items.forEach((item, i) => {
    const itemPath = join(join(path, 'outputClaimsToHeaders'), i);
    const c = mapping(item, itemPath, problems, ['claim', 'header']);
    if (!c) return;
    const claim = requiredString(c, 'claim', itemPath, problems);
    const header = readHeaderName(c, 'header', itemPath, problems);
    if (c.header === undefined) problems.add(join(itemPath, 'header'), 'is required');
    if (header && ['host', 'authorization', 'content-length', 'transfer-encoding'].includes(header)) {
      problems.add(join(itemPath, 'header'), `"${header}" cannot carry a claim`);
    }
    if (claim && header && isNonEmptyString(header)) out.push({ claim, header });
  });
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
