import { ConfigError } from '../errors.js';
import { VALIDATE_JWT_KEYS, readValidateJwt } from './validate_jwt.js';
import {
  Problems,
  join,
  list,
  mapping,
  optionalBoolean,
  optionalEnum,
  optionalMapping,
  optionalNumber,
  optionalString,
  requiredString,
  stringList,
  type Raw,
} from './reader.js';
import type {
  Config,
  KeysConfig,
  LoggingConfig,
  MatchConfig,
  PolicyConfig,
  ServerConfig,
  ValidateJwtConfig,
} from './types.js';
import { AZURE_AD_KEYS, readValidateAzureAdToken } from './validate_azure_ad.js';
import { RULES_KEYS, readPolicyRules } from '../rules/read_rules.js';
import { HTTP_AUTHZ_KEYS, readHttpAuthz } from './validate_http_authz.js';
import { readTracing } from '../tracing/read_config.js';
import { readDpop } from './read_dpop.js';
import { CERTIFICATE_BINDING_KEYS, readCertificateBinding } from './certificate_binding.js';

const DEFAULT_GRPC_ADDRESS = '127.0.0.1:9191';
const DEFAULT_HTTP_ADDRESS = '127.0.0.1:9090';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DECISION_LOGGING = ['all', 'deny', 'none'] as const;

/** Checks raw YAML data and returns the config with defaults applied; throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source?: string): Config {
  const problems = new Problems();
  const sections = ['server', 'keys', 'logging', 'revokedTokens', 'policies', 'tracing'];
  const root = mapping(raw ?? {}, '', problems, sections) ?? {};
  const keys = readKeys(root, problems);
  const config: Config = {
    server: readServer(root, problems),
    keys,
    logging: readLogging(root, problems),
    revokedTokensFile: readRevokedTokens(root, problems),
    policies: readPolicies(root, problems, keys),
    tracing: readTracing(root, problems),
  };
  if (problems.list.length > 0) throw new ConfigError(problems.list, source);
  return deepFreeze(config);
}

function readServer(root: Raw, problems: Problems): ServerConfig {
  const path = 'server';
  const keys = ['grpc', 'http', 'httpAuthz', 'checkDeadlineMs', 'shutdownGraceSeconds', 'workers'];
  const o = optionalMapping(root, 'server', '', problems, keys) ?? {};
  const grpc = optionalMapping(o, 'grpc', path, problems, ['address']) ?? {};
  const grpcAddress = optionalString(grpc, 'address', join(path, 'grpc'), problems) ?? DEFAULT_GRPC_ADDRESS;
  checkAddress(grpcAddress, join(path, 'grpc.address'), problems, true);
  let httpAddress: string | undefined;
  if (o.http === false) httpAddress = undefined;
  else {
    const http = optionalMapping(o, 'http', path, problems, ['address']) ?? {};
    httpAddress = optionalString(http, 'address', join(path, 'http'), problems) ?? DEFAULT_HTTP_ADDRESS;
    checkAddress(httpAddress, join(path, 'http.address'), problems, false);
  }
  const authz = optionalMapping(o, 'httpAuthz', path, problems, HTTP_AUTHZ_KEYS);
  const httpAuthz = authz && readHttpAuthz(authz, join(path, 'httpAuthz'), problems);
  if (httpAuthz?.address) {
    const where = join(path, 'httpAuthz.address');
    checkAddress(httpAuthz.address, where, problems, true);
    // Its own listener: the ops port must stay reachable for probes whatever the checks do, and vice versa.
    for (const [other, name] of [
      [httpAddress, 'http'],
      [grpcAddress, 'grpc'],
    ] as const) {
      if (other && sameListener(httpAuthz.address, other))
        problems.add(where, `must differ from server.${name}.address`);
    }
  }
  return {
    grpcAddress,
    httpAddress,
    checkDeadlineMs:
      optionalNumber(o, 'checkDeadlineMs', path, problems, { min: 1, max: 60_000, integer: true }) ?? 150,
    shutdownGraceSeconds: optionalNumber(o, 'shutdownGraceSeconds', path, problems, { min: 0, max: 3600 }) ?? 10,
    workers: optionalNumber(o, 'workers', path, problems, { min: 1, max: 64, integer: true }) ?? 1,
    httpAuthz,
  };
}

/** The same Unix socket, or the same TCP port (whatever the hosts: two binds of one port are a mistake here). */
function sameListener(a: string, b: string): boolean {
  if (a.startsWith('unix:') || b.startsWith('unix:')) return a === b;
  const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
  return port(a) !== 0 && port(a) === port(b);
}

function checkAddress(address: string, path: string, problems: Problems, unixAllowed: boolean): void {
  if (address.startsWith('unix:')) {
    if (!unixAllowed) problems.add(path, 'must be host:port');
    else if (!address.slice(5).startsWith('/'))
      problems.add(path, 'a unix socket needs an absolute path: unix:/path/to.sock');
    return;
  }
  const m = /^(\[[0-9a-f:.]+\]|[^:\s]+):(\d{1,5})$/i.exec(address);
  if (!m || Number(m[2]) > 65535)
    problems.add(path, `must be host:port${unixAllowed ? ' or unix:/path' : ''}, got "${address}"`);
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
  const o = optionalMapping(root, 'logging', '', problems, ['level', 'decisions']) ?? {};
  return {
    level: optionalEnum(o, 'level', 'logging', problems, LOG_LEVELS) ?? 'info',
    decisions: optionalEnum(o, 'decisions', 'logging', problems, DECISION_LOGGING) ?? 'deny',
  };
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
    const allowed = ['name', 'mode', 'match', 'validateJwt', 'validateAzureAdToken', 'dpop', ...RULES_KEYS];
    allowed.push(...CERTIFICATE_BINDING_KEYS);
    const o = mapping(item, path, problems, allowed);
    if (!o) return;
    const name = requiredString(o, 'name', path, problems) ?? `#${i}`;
    if (seen.has(name)) problems.add(join(path, 'name'), `duplicate policy name "${name}"`);
    seen.add(name);
    const validateJwt = readRules(o, path, problems, keys);
    policies.push({
      name,
      mode: optionalEnum(o, 'mode', path, problems, ['enforce', 'report-only'] as const) ?? 'enforce',
      match: readMatch(o, path, problems),
      rulesKey:
        o.validateAzureAdToken !== undefined && o.validateJwt === undefined ? 'validateAzureAdToken' : 'validateJwt',
      validateJwt,
      dpop: readDpop(o, path, problems, validateJwt.token),
      ...readPolicyRules(o, path, problems),
      ...readCertificateBinding(o, path, problems),
    });
  });
  return policies;
}

/** A policy validates with `validateJwt`, or with the Entra shorthand `validateAzureAdToken`, which expands to it. */
function readRules(o: Raw, path: string, problems: Problems, keys: KeysConfig): ValidateJwtConfig {
  if (o.validateJwt !== undefined && o.validateAzureAdToken !== undefined) {
    problems.add(path, 'set either validateJwt or validateAzureAdToken, not both');
  }
  if (o.validateAzureAdToken !== undefined) {
    const azure = mapping(o.validateAzureAdToken, join(path, 'validateAzureAdToken'), problems, AZURE_AD_KEYS);
    return readValidateAzureAdToken(azure ?? {}, join(path, 'validateAzureAdToken'), problems, keys);
  }
  if (o.validateJwt === undefined) problems.add(join(path, 'validateJwt'), 'is required (or validateAzureAdToken)');
  const jwt =
    o.validateJwt === undefined
      ? undefined
      : mapping(o.validateJwt, join(path, 'validateJwt'), problems, VALIDATE_JWT_KEYS);
  return readValidateJwt(jwt ?? {}, join(path, 'validateJwt'), problems, keys);
}

function readRevokedTokens(root: Raw, problems: Problems): string | undefined {
  const o = optionalMapping(root, 'revokedTokens', '', problems, ['file']);
  return o ? requiredString(o, 'file', 'revokedTokens', problems) : undefined;
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

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
