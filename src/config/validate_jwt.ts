import { ALL_ALGORITHMS, ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS, jwsAlgorithm } from '../jwt/algorithms.js';
import { TENANT_PLACEHOLDER } from '../jwt/issuer_pattern.js';
import { parseClaimPath } from '../jwt/claim_path.js';
import { readIntrospection } from './read_introspection.js';
import {
  checkIssuerBindings,
  readDecryptionKeys,
  readJwksUri,
  readOpenIdConfig,
  readStaticKeys,
} from './read_key_sources.js';
import {
  Problems,
  join,
  mappingList,
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
  type ClaimHeaderConfig,
  type KeysConfig,
  type RequiredClaimConfig,
  type StaticKeyConfig,
  type TokenLocation,
  type ValidateJwtConfig,
} from './types.js';

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
  'requireTokenType',
  'introspection',
];

export function readValidateJwt(o: Raw, path: string, problems: Problems, keys: KeysConfig): ValidateJwtConfig {
  const openidConfig = readOpenIdConfig(o, path, problems, keys);
  const jwksUri = readJwksUri(o, path, problems, keys);
  const issuerSigningKeys = readStaticKeys(o, path, problems);
  checkIssuerBindings(path, problems, { openidConfig, jwksUri, staticKeys: issuerSigningKeys });
  const requiredClaims = readRequiredClaims(o, path, problems);
  const requireSignedTokens = optionalBoolean(o, 'requireSignedTokens', path, problems, true);

  const audiences = stringList(o, 'audiences', path, problems);
  const hasAudienceRule = requiredClaims.some((c) => c.name === 'aud');
  if (audiences === undefined && !hasAudienceRule) {
    problems.add(join(path, 'audiences'), 'is required (write `audiences: []` to accept any audience on purpose)');
  }
  const given = stringList(o, 'issuers', path, problems);
  // Without an issuers list, the policy accepts the issuers its discovery documents sign for.
  const issuers = given ?? [...new Set(openidConfig.flatMap((c) => c.issuers ?? [c.issuer]))];
  const allowedTenants = readAllowedTenants(o, path, problems, issuers);
  if (given === undefined && openidConfig.length === 0) {
    problems.add(
      join(path, 'issuers'),
      'is required when there is no openidConfig to take issuers from ' +
        '(write `issuers: []` to accept any issuer on purpose)',
    );
  }
  const introspection = readIntrospection(o, path, problems, openidConfig);
  // With introspection, a policy may accept opaque tokens only: a JWT then finds no key and is denied.
  // Counted as written, not as read: a key whose shape is wrong is already reported, and is not also "no key source".
  const written = (key: string) => (Array.isArray(o[key]) ? (o[key] as unknown[]).length : 0);
  if (
    requireSignedTokens &&
    o.introspection === undefined &&
    written('openidConfig') + written('jwksUri') + written('issuerSigningKeys') === 0
  ) {
    problems.add(path, 'needs at least one key source: openidConfig, jwksUri or issuerSigningKeys');
  }

  return {
    token: readTokenLocation(o, path, problems),
    openidConfig,
    jwksUri,
    issuerSigningKeys,
    audiences: audiences ?? [],
    issuers,
    issuersFromDocuments: given === undefined,
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
    requireTokenType: optionalString(o, 'requireTokenType', path, problems),
    introspection,
  };
}

export function readTokenLocation(o: Raw, path: string, problems: Problems): TokenLocation {
  const given = ['headerName', 'queryParameterName', 'cookieName'].filter((k) => o[k] !== undefined);
  if (given.length > 1)
    problems.add(path, `set only one of headerName, queryParameterName, cookieName (got ${given.join(', ')})`);
  const scheme = optionalString(o, 'requireScheme', path, problems);
  if (o.queryParameterName !== undefined) {
    return { kind: 'query', name: requiredString(o, 'queryParameterName', path, problems) ?? '' };
  }
  if (o.cookieName !== undefined) {
    return { kind: 'cookie', name: requiredString(o, 'cookieName', path, problems) ?? '' };
  }
  const name = (readHeaderName(o, 'headerName', path, problems) ?? 'authorization').toLowerCase();
  // APIM: require-scheme applies to the Authorization header; a custom header carries the bare token unless told
  // otherwise.
  return { kind: 'header', name, scheme: scheme ?? (name === 'authorization' ? 'Bearer' : undefined) };
}

export function readHeaderName(o: Raw, key: string, path: string, problems: Problems): string | undefined {
  const name = optionalString(o, key, path, problems);
  if (name !== undefined && !HEADER_NAME.test(name))
    problems.add(join(path, key), `"${name}" is not a valid header name`);
  return name?.toLowerCase();
}

function readAlgorithms(o: Raw, path: string, problems: Problems, keys: readonly StaticKeyConfig[]): string[] {
  const hasSymmetricKey = keys.some((k) => k.form === 'symmetric' || (k.form === 'jwk' && k.jwk.kty === 'oct'));
  const given = stringList(o, 'algorithms', path, problems, { minItems: 1 });
  if (given === undefined) {
    return hasSymmetricKey ? [...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS] : [...ASYMMETRIC_ALGORITHMS];
  }
  given.forEach((alg, i) => {
    const itemPath = join(join(path, 'algorithms'), i);
    if (alg.toLowerCase() === 'none')
      problems.add(itemPath, '"none" is never allowed: unsigned tokens are controlled by requireSignedTokens');
    else if (!jwsAlgorithm(alg))
      problems.add(itemPath, `unknown algorithm "${alg}" (expected one of ${ALL_ALGORITHMS.join(', ')})`);
    else if (jwsAlgorithm(alg)!.symmetric && !hasSymmetricKey) {
      problems.add(
        itemPath,
        `${alg} needs a symmetric key in issuerSigningKeys (base64): HS* is never verified with a public key`,
      );
    }
  });
  return given;
}

export function readRequiredClaims(o: Raw, path: string, problems: Problems): RequiredClaimConfig[] {
  return mappingList(o, 'requiredClaims', path, problems, ['name', 'match', 'separator', 'values'], (c, itemPath) => {
    const name = readClaimPath(c, 'name', itemPath, problems);
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

/** A claim name or path (src/authz/claim_path.ts): dotted, a JSON Pointer, or brackets. */
function readClaimPath(c: Raw, key: string, itemPath: string, problems: Problems): string | undefined {
  const text = requiredString(c, key, itemPath, problems);
  if (text === undefined) return undefined;
  const path = parseClaimPath(text);
  if ('error' in path) problems.add(join(itemPath, key), path.error);
  return 'error' in path ? undefined : text;
}

export function readClaimHeaders(o: Raw, path: string, problems: Problems): ClaimHeaderConfig[] {
  return mappingList(o, 'outputClaimsToHeaders', path, problems, ['claim', 'header'], (c, itemPath) => {
    const claim = readClaimPath(c, 'claim', itemPath, problems);
    const header = readHeaderName(c, 'header', itemPath, problems);
    if (c.header === undefined) problems.add(join(itemPath, 'header'), 'is required');
    if (header && ['host', 'authorization', 'content-length', 'transfer-encoding'].includes(header)) {
      problems.add(join(itemPath, 'header'), `"${header}" cannot carry a claim`);
    }
    return claim && header && isNonEmptyString(header) ? { claim, header } : undefined;
  });
}

function readAllowedTenants(
  o: Raw,
  path: string,
  problems: Problems,
  issuers: readonly string[],
): readonly string[] | '*' | undefined {
  const templates = issuers.filter((i) => TENANT_PLACEHOLDER.test(i));
  let allowed: readonly string[] | '*' | undefined;
  if (o.allowedTenants === '*') allowed = '*';
  else if (o.allowedTenants !== undefined)
    allowed = stringList(o, 'allowedTenants', path, problems, { minItems: 1 })?.map((t) => t.toLowerCase());
  if (templates.length > 0 && allowed === undefined) {
    problems.add(
      join(path, 'allowedTenants'),
      `is required with the issuer template ${templates[0]}: list the tenant ids to accept, or "*" for any tenant`,
    );
  }
  if (allowed !== undefined && templates.length === 0) {
    problems.add(
      join(path, 'allowedTenants'),
      'needs an issuer template with {tenantid} in issuers, e.g. https://login.microsoftonline.com/{tenantid}/v2.0',
    );
  }
  return allowed;
}
