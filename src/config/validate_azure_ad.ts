import { isTenantId } from '../jwt/tenant_id.js';
import { Problems, join, optionalString, requiredString, stringList, type Raw } from './reader.js';
import type { KeysConfig, ValidateJwtConfig } from './types.js';
import { VALIDATE_JWT_KEYS, readValidateJwt } from './validate_jwt.js';

/** The keys of APIM's validate-azure-ad-token, plus tokengate's own response and location keys. */
export const AZURE_AD_KEYS = [
  'tenantId',
  'authority',
  'clientApplicationIds',
  'backendApplicationIds',
  'audiences',
  'requiredClaims',
  'decryptionKeys',
  'headerName',
  'queryParameterName',
  'cookieName',
  'requireScheme',
  'failedValidationHttpCode',
  'failedValidationErrorMessage',
  'outputClaimsToHeaders',
  'forwardPayloadHeader',
  'removeToken',
  'clockSkew',
];

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const V1_ISSUER_HOST = 'https://sts.windows.net';

/**
 * `validateAzureAdToken`, the equivalent of APIM's validate-azure-ad-token: the tenant's keys and both of its
 * issuers (v1 `https://sts.windows.net/{tenant}/` and v2 `{authority}/{tenant}/v2.0`) are derived from `tenantId`;
 * `backendApplicationIds` are audiences (as the client id and as `api://{id}`), and `clientApplicationIds` are
 * checked against `azp` (v2 tokens) or `appid` (v1 tokens). It expands to an ordinary validateJwt policy.
 */
export function readValidateAzureAdToken(o: Raw, path: string, problems: Problems, keys: KeysConfig): ValidateJwtConfig {
  const tenantId = requiredString(o, 'tenantId', path, problems);
  if (tenantId !== undefined && !isTenantId(tenantId)) {
    problems.add(join(path, 'tenantId'), 'must be the directory (tenant) id, a GUID: the v2 issuer names the tenant by id, never by domain name');
  }
  const authority = (optionalString(o, 'authority', path, problems) ?? DEFAULT_AUTHORITY).replace(/\/+$/, '');
  const clientApplicationIds = stringList(o, 'clientApplicationIds', path, problems, { minItems: 1 });
  if (clientApplicationIds === undefined) problems.add(join(path, 'clientApplicationIds'), 'is required: list the client application ids allowed to call');
  const backendApplicationIds = stringList(o, 'backendApplicationIds', path, problems) ?? [];
  const audiences = stringList(o, 'audiences', path, problems) ?? [];
  if (backendApplicationIds.length + audiences.length === 0) {
    problems.add(path, 'needs backendApplicationIds or audiences: a token for any application of the tenant must not pass');
  }
  const tenant = tenantId ?? '00000000-0000-0000-0000-000000000000';
  // Re-read as an ordinary validateJwt section, so location, claims and response keys behave exactly the same.
  const jwt: Raw = {};
  for (const key of VALIDATE_JWT_KEYS) if (o[key] !== undefined) jwt[key] = o[key];
  jwt.openidConfig = [{ url: `${authority}/${tenant}/v2.0/.well-known/openid-configuration` }];
  jwt.issuers = [`${authority}/${tenant}/v2.0`, `${V1_ISSUER_HOST}/${tenant}/`];
  jwt.audiences = [...new Set([...backendApplicationIds, ...backendApplicationIds.map((id) => `api://${id}`), ...audiences])];
  jwt.algorithms = ['RS256'];
  const config = readValidateJwt(jwt, path, problems, keys);
  return { ...config, clientApplicationIds: clientApplicationIds ?? [] };
}
