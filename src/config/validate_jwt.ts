import { importDecryptionKey, importStaticKey } from '../keys/import_key.js';
import {
  Problems,
  join,
  mappingList,
  mapping,
  optionalBoolean,
  optionalEnum,
  optionalList,
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
  type DecryptionKeyConfig,
  type KeysConfig,
  type OpenIdConfigEntry,
  type RequiredClaimConfig,
  type StaticKeyConfig,
  type TokenLocation,
  type ValidateJwtConfig,
} from './types.js';

const DISCOVERY_SUFFIX = '/.well-known/openid-configuration';
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/i;

export const VALIDATE_JWT_KEYS = [
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
  'decryptionKeys',
  'allowedTenants',
];

export function readValidateJwt(o: Raw, path: string, problems: Problems, keys: KeysConfig): ValidateJwtConfig {
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
  const allowedTenants = readAllowedTenants(o, path, problems, issuers ?? []);
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
    decryptionKeys: readDecryptionKeys(o, path, problems),
    clientApplicationIds: undefined,
    allowedTenants,
  };
}

export function readTokenLocation(o: Raw, path: string, problems: Problems): TokenLocation {
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

export function readHeaderName(o: Raw, key: string, path: string, problems: Problems): string | undefined {
  const name = optionalString(o, key, path, problems);
  if (name !== undefined && !HEADER_NAME.test(name)) problems.add(join(path, key), `"${name}" is not a valid header name`);
  return name?.toLowerCase();
}

export function readOpenIdConfig(o: Raw, path: string, problems: Problems, keys: KeysConfig): OpenIdConfigEntry[] {
  return mappingList(o, 'openidConfig', path, problems, ['url', 'issuer'], (entry, itemPath) => {
    const url = requiredString(entry, 'url', itemPath, problems);
    if (url === undefined) return undefined;
    checkKeyUrl(url, join(itemPath, 'url'), problems, keys);
    return { url, issuer: optionalString(entry, 'issuer', itemPath, problems) };
  });
}

/** The issuer a discovery URL promises (OpenID Connect Discovery 1.0 §4.3). */
export function issuerOfDiscoveryUrl(url: string): string {
  return url.endsWith(DISCOVERY_SUFFIX) ? url.slice(0, -DISCOVERY_SUFFIX.length) : url;
}

export function checkKeyUrl(url: string, path: string, problems: Problems, keys: KeysConfig): void {
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

export function readStaticKeys(o: Raw, path: string, problems: Problems): StaticKeyConfig[] {
  return readKeyEntries<StaticKeyConfig>(o, 'issuerSigningKeys', path, problems, {
    members: ['jwk', 'pem', 'n', 'e', 'base64', 'id'],
    jwkMembers: JWK_MEMBERS,
    hint: 'must give one of jwk, pem, n + e, or base64',
    importKey: importStaticKey,
  });
}

export function readDecryptionKeys(o: Raw, path: string, problems: Problems): DecryptionKeyConfig[] {
  return readKeyEntries<DecryptionKeyConfig>(o, 'decryptionKeys', path, problems, {
    members: ['jwk', 'pem', 'base64', 'id'],
    jwkMembers: [...JWK_MEMBERS, 'd', 'p', 'q', 'dp', 'dq', 'qi'],
    hint: 'must give one of jwk (private), pem (private key), or base64 (symmetric)',
    importKey: importDecryptionKey,
  });
}

/** A list of keys in the config's key forms; each is imported once here, so a bad key fails the config, not a request. */
function readKeyEntries<K extends StaticKeyConfig | DecryptionKeyConfig>(
  o: Raw,
  listKey: string,
  path: string,
  problems: Problems,
  forms: { members: string[]; jwkMembers: string[]; hint: string; importKey: (key: K) => unknown },
): K[] {
  return mappingList(o, listKey, path, problems, forms.members, (entry, itemPath) => {
    const id = optionalString(entry, 'id', itemPath, problems);
    let key: StaticKeyConfig | undefined;
    if (entry.jwk !== undefined) {
      const jwk = mapping(entry.jwk, join(itemPath, 'jwk'), problems, forms.jwkMembers);
      if (jwk) key = { form: 'jwk', jwk: id !== undefined && jwk.kid === undefined ? { ...jwk, kid: id } : jwk };
    } else if (entry.pem !== undefined) {
      const pem = requiredString(entry, 'pem', itemPath, problems);
      if (pem) key = { form: 'pem', pem, id };
    } else if (forms.members.includes('n') && (entry.n !== undefined || entry.e !== undefined)) {
      const n = requiredString(entry, 'n', itemPath, problems);
      const e = requiredString(entry, 'e', itemPath, problems);
      if (n && e) key = { form: 'rsa', n, e, id };
    } else if (entry.base64 !== undefined) {
      const base64 = requiredString(entry, 'base64', itemPath, problems);
      if (base64) key = { form: 'symmetric', base64, id };
    } else {
      problems.add(itemPath, forms.hint);
    }
    if (!key) return undefined;
    try {
      forms.importKey(key as K);
      return key as K;
    } catch (err) {
      problems.add(itemPath, (err as Error).message);
      return undefined;
    }
  });
}

export const JWK_MEMBERS = ['kty', 'kid', 'alg', 'use', 'key_ops', 'n', 'e', 'crv', 'x', 'y', 'k', 'x5c', 'x5t', 'x5t#S256'];

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

export function readRequiredClaims(o: Raw, path: string, problems: Problems): RequiredClaimConfig[] {
  return mappingList(o, 'requiredClaims', path, problems, ['name', 'match', 'separator', 'values'], (c, itemPath) => {
    const name = requiredString(c, 'name', itemPath, problems);
    const separator = c.separator;
    if (separator !== undefined && (typeof separator !== 'string' || separator.length === 0)) {
      problems.add(join(itemPath, 'separator'), 'must be a non-empty string such as " " or ","');
    }
    const values = (optionalList(c, 'values', itemPath, problems) ?? []).flatMap((v, j) => {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [String(v)];
      problems.add(join(join(itemPath, 'values'), j), 'must be a string');
      return [];
    });
    if (!name) return undefined;
    return {
      name,
      match: optionalEnum(c, 'match', itemPath, problems, ['all', 'any'] as const) ?? 'all',
      separator: typeof separator === 'string' && separator.length > 0 ? separator : undefined,
      values,
    };
  });
}

export function readClaimHeaders(o: Raw, path: string, problems: Problems): ClaimHeaderConfig[] {
  return mappingList(o, 'outputClaimsToHeaders', path, problems, ['claim', 'header'], (c, itemPath) => {
    const claim = requiredString(c, 'claim', itemPath, problems);
    const header = readHeaderName(c, 'header', itemPath, problems);
    if (c.header === undefined) problems.add(join(itemPath, 'header'), 'is required');
    if (header && ['host', 'authorization', 'content-length', 'transfer-encoding'].includes(header)) {
      problems.add(join(itemPath, 'header'), `"${header}" cannot carry a claim`);
    }
    return claim && header && isNonEmptyString(header) ? { claim, header } : undefined;
  });
}

/** An issuer such as `https://login.microsoftonline.com/{tenantid}/v2.0`: the token's `tid` fills the placeholder. */
export const TENANT_PLACEHOLDER = /\{tenantid\}/i;

function readAllowedTenants(o: Raw, path: string, problems: Problems, issuers: readonly string[]): readonly string[] | '*' | undefined {
  const templates = issuers.filter((i) => TENANT_PLACEHOLDER.test(i));
  let allowed: readonly string[] | '*' | undefined;
  if (o.allowedTenants === '*') allowed = '*';
  else if (o.allowedTenants !== undefined) allowed = stringList(o, 'allowedTenants', path, problems, { minItems: 1 })?.map((t) => t.toLowerCase());
  if (templates.length > 0 && allowed === undefined) {
    problems.add(join(path, 'allowedTenants'), `is required with the issuer template ${templates[0]}: list the tenant ids to accept, or "*" for any tenant`);
  }
  if (allowed !== undefined && templates.length === 0) {
    problems.add(join(path, 'allowedTenants'), 'needs an issuer template with {tenantid} in issuers, e.g. https://login.microsoftonline.com/{tenantid}/v2.0');
  }
  return allowed;
}

