const OPENID_CONFIGURATION = '/.well-known/openid-configuration';
const AUTHORIZATION_SERVER = '/.well-known/oauth-authorization-server';

/**
 * Entra's v1 tokens and documents name `https://<sts host>/{tenant}/`, whose host depends on the cloud, not on the
 * authority's (Microsoft's national-cloud issuer table: the US Government cloud shares the global v1 host).
 */
const ENTRA_V1_ISSUER_ORIGIN: Readonly<Record<string, string>> = {
  'login.microsoftonline.com': 'https://sts.windows.net',
  'login.microsoftonline.us': 'https://sts.windows.net',
  'login.partner.microsoftonline.cn': 'https://sts.chinacloudapi.cn',
};

/** Every v1 issuer host Entra uses. */
export const ENTRA_V1_ISSUER_ORIGINS: ReadonlySet<string> = new Set(Object.values(ENTRA_V1_ISSUER_ORIGIN));

/** Entra's multi-tenant documents, whose issuer is a `{tenantid}` template. */
const ENTRA_MULTI_TENANT = new Set(['common', 'organizations']);

/** The issuer a discovery URL promises, or why none can be read from it (then the config must name it). */
export type ImpliedIssuer = { readonly issuer: string } | { readonly unknown: string };

export function entraV1IssuerOrigin(host: string): string | undefined {
  return Object.hasOwn(ENTRA_V1_ISSUER_ORIGIN, host) ? ENTRA_V1_ISSUER_ORIGIN[host] : undefined;
}

/**
 * The issuer a discovery or metadata URL implies:
 * - OpenID Connect Discovery 1.0 §4: `{issuer}/.well-known/openid-configuration`;
 * - RFC 8414 §3: `{origin}/.well-known/oauth-authorization-server{issuer path}`, and the appended form
 *   `{issuer}/.well-known/oauth-authorization-server` that some servers (Okta's custom authorization servers) use;
 * - Entra: a tenant's v1 document names `https://sts.windows.net/{tenant}/` (per cloud), and the `common` and
 *   `organizations` documents name a `{tenantid}` template.
 * A query (Azure AD B2C's `?p=` user flow), a B2C host or any other path implies nothing: the issuer must be given.
 */
export function issuerImpliedBy(url: string): ImpliedIssuer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { unknown: 'it is not a URL' };
  }
  if (parsed.search !== '' || parsed.hash !== '')
    return { unknown: 'it has a query or fragment (an Azure AD B2C user flow?)' };
  if (parsed.hostname.endsWith('.b2clogin.com') || /\/b2c_1a?_/i.test(parsed.pathname)) {
    return { unknown: 'Azure AD B2C documents name an issuer that is not in their URL' };
  }
  const path = parsed.pathname;
  const entra = entraIssuer(parsed);
  if (entra) return entra;
  if (path.endsWith(OPENID_CONFIGURATION))
    return { issuer: parsed.origin + path.slice(0, -OPENID_CONFIGURATION.length) };
  if (path.endsWith(AUTHORIZATION_SERVER))
    return { issuer: parsed.origin + path.slice(0, -AUTHORIZATION_SERVER.length) };
  for (const wellKnown of [AUTHORIZATION_SERVER, OPENID_CONFIGURATION]) {
    if (path.startsWith(`${wellKnown}/`)) return { issuer: parsed.origin + path.slice(wellKnown.length) };
  }
  return { unknown: 'its path is not a well-known discovery path' };
}

/** Entra authorities: the tenant segment decides the issuer; a tenant named by domain name implies none. */
function entraIssuer(url: URL): ImpliedIssuer | undefined {
  const v1Origin = entraV1IssuerOrigin(url.hostname);
  if (!v1Origin) return undefined;
  const match = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/.exec(url.pathname);
  if (!match)
    return { unknown: 'it is not an Entra tenant discovery path ({authority}/{tenant}[/v2.0]/.well-known/...)' };
  const [, tenant, v2] = match as unknown as [string, string, string | undefined];
  if (tenant.toLowerCase() === 'consumers') {
    return { unknown: 'the consumers document names the Microsoft-account tenant by its id' };
  }
  if (ENTRA_MULTI_TENANT.has(tenant.toLowerCase())) {
    return { issuer: v2 ? `${url.origin}/{tenantid}/v2.0` : `${v1Origin}/{tenantid}/` };
  }
  // A domain name (contoso.onmicrosoft.com) is not what the issuer carries. Anything else stands for the tenant id,
  // a GUID or a placeholder such as TENANT_ID: the derived issuer has the same shape once it is filled in.
  if (tenant.includes('.')) {
    return { unknown: `Entra names the tenant "${tenant}" by its id (a GUID) in the issuer` };
  }
  return { issuer: v2 ? `${url.origin}/${tenant}/v2.0` : `${v1Origin}/${tenant}/` };
}

/**
 * Whether a fetched document may name `named` (OpenID Connect Discovery 1.0 §4.3, RFC 8414 §3.3): exactly the
 * expected issuer, or for an issuer implied by the URL, that issuer with a terminating `/`, which §4.1 removes before
 * building the URL (Auth0 names `https://TENANT.auth0.com/`).
 */
export function documentMayName(named: string, expected: string, implied: boolean): boolean {
  return named === expected || (implied && !expected.endsWith('/') && named === `${expected}/`);
}
