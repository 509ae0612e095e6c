import { isTenantId } from '../jwt/tenant_id.js';
import { entraV1IssuerOrigin } from '../net/discovery_url.js';
import { isLoopbackHost } from '../net/loopback.js';
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
  'allowedTenants',
  'v1IssuerOrigin',
];

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
/** APIM's tenant-id may name the multi-tenant endpoints: the issuers become `{tenantid}` templates. */
const MULTI_TENANT = new Set(['common', 'organizations']);

/**
 * `validateAzureAdToken`, the equivalent of APIM's validate-azure-ad-token. From `tenantId` and `authority` it derives
 * both documents and both issuers, each document's keys bound to its own issuer, as Microsoft's access-token guidance
 * validates them: v2 tokens against `{authority}/{tenant}/v2.0/.well-known/openid-configuration` (issuer
 * `{authority}/{tenant}/v2.0`), v1 tokens against `{authority}/{tenant}/.well-known/openid-configuration` (issuer
 * `https://sts.windows.net/{tenant}/`, or the cloud's own v1 host). `common` and `organizations` make both issuers
 * `{tenantid}` templates, filled from the token's `tid` and limited by `allowedTenants`. `backendApplicationIds` are
 * audiences (as the client id and as `api://{id}`), and `clientApplicationIds` are checked against `azp` (v2 tokens)
 * or `appid` (v1 tokens). It expands to an ordinary validateJwt policy.
 */
export function readValidateAzureAdToken(
  o: Raw,
  path: string,
  problems: Problems,
  keys: KeysConfig,
): ValidateJwtConfig {
  const tenantId = requiredString(o, 'tenantId', path, problems);
  const multiTenant = tenantId !== undefined && MULTI_TENANT.has(tenantId.toLowerCase());
  if (tenantId !== undefined && !isTenantId(tenantId) && !multiTenant) {
    problems.add(
      join(path, 'tenantId'),
      'must be the directory (tenant) id, a GUID, or common / organizations: ' +
        'the issuers name the tenant by id, never by domain name',
    );
  }
  const authority = readAuthority(o, path, problems);
  // The cloud's v1 host from Microsoft's table; for an authority outside it (a sovereign or test deployment), the
  // authority itself unless v1IssuerOrigin says otherwise. Either way the v1 document must name exactly that issuer.
  const v1Origin =
    optionalString(o, 'v1IssuerOrigin', path, problems)?.replace(/\/+$/, '') ??
    entraV1IssuerOrigin(new URL(authority).hostname) ??
    authority;
  const clientApplicationIds = stringList(o, 'clientApplicationIds', path, problems, { minItems: 1 });
  if (clientApplicationIds === undefined) {
    problems.add(
      join(path, 'clientApplicationIds'),
      'is required: tokengate is stricter than APIM, which accepts any client application when audiences are given; ' +
        "list the client ids allowed to call, or write a validateJwt policy with the tenant's openidConfig " +
        'and issuers ' +
        'to accept any client on purpose (docs/entra-id.md)',
    );
  }
  const backendApplicationIds = stringList(o, 'backendApplicationIds', path, problems) ?? [];
  const audiences = stringList(o, 'audiences', path, problems) ?? [];
  if (backendApplicationIds.length + audiences.length === 0) {
    problems.add(
      path,
      'needs backendApplicationIds or audiences: a token for any application of the tenant must not pass',
    );
  }
  const tenant = multiTenant ? tenantId!.toLowerCase() : (tenantId ?? '00000000-0000-0000-0000-000000000000');
  const issuerTenant = multiTenant ? '{tenantid}' : tenant;
  const v2Issuer = `${authority}/${issuerTenant}/v2.0`;
  const v1Issuer = `${v1Origin}/${issuerTenant}/`;
  // Re-read as an ordinary validateJwt section, so location, claims and response keys behave exactly the same.
  const jwt: Raw = {};
  for (const key of VALIDATE_JWT_KEYS) if (o[key] !== undefined) jwt[key] = o[key];
  jwt.openidConfig = [
    { url: `${authority}/${tenant}/v2.0/.well-known/openid-configuration`, issuer: v2Issuer, issuers: [v2Issuer] },
    { url: `${authority}/${tenant}/.well-known/openid-configuration`, issuer: v1Issuer, issuers: [v1Issuer] },
  ];
  jwt.issuers = [v2Issuer, v1Issuer];
  jwt.audiences = [
    ...new Set([...backendApplicationIds, ...backendApplicationIds.map((id) => `api://${id}`), ...audiences]),
  ];
  jwt.algorithms = ['RS256'];
  const config = readValidateJwt(jwt, path, problems, keys);
  return { ...config, clientApplicationIds: clientApplicationIds ?? [] };
}

/** APIM's authentication-endpoint, whose `https://` is optional there: the scheme is added when it is missing. */
function readAuthority(o: Raw, path: string, problems: Problems): string {
  const given = optionalString(o, 'authority', path, problems) ?? DEFAULT_AUTHORITY;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `https://${given}`;
  try {
    const url = new URL(withScheme);
    // Plain http only on loopback, as for key URLs: a test issuer, never a real authority.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
      throw new Error('not https');
    return url.origin;
  } catch {
    problems.add(join(path, 'authority'), `"${given}" is not an https authority such as ${DEFAULT_AUTHORITY}`);
    return DEFAULT_AUTHORITY;
  }
}
