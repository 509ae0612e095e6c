/** `<validate-azure-ad-token>` → a `validateAzureAdToken` policy body (config/validate_azure_ad.ts expands it). */
import type { MapContext, Out } from './context.js';
import { requiredClaims } from './map_claims.js';
import {
  LOCATION_ATTRIBUTES,
  checkNames,
  failedValidation,
  list,
  outputTokenVariable,
  tokenLocation,
  type ClaimRule,
} from './map_common.js';
import { mapKeys } from './map_keys.js';
import { attribute, type XmlElement } from './xml.js';
import { isGuid, literal } from './values.js';

const AZURE_ATTRIBUTES = [
  'tenant-id',
  ...LOCATION_ATTRIBUTES,
  'authentication-endpoint',
  'failed-validation-httpcode',
  'failed-validation-error-message',
  'output-token-variable-name',
];
const AZURE_ELEMENTS = [
  'client-application-ids',
  'backend-application-ids',
  'audiences',
  'required-claims',
  'decryption-keys',
];
const WHAT = '<validate-azure-ad-token>';
const TENANT_PLACEHOLDER_ACTION =
  'replaced by a placeholder: tokengate validate rejects the policy until you write the tenant id';

export function mapValidateAzureAdToken(ctx: MapContext, el: XmlElement): Out {
  const report = ctx.report;
  checkNames(ctx, el, AZURE_ATTRIBUTES, AZURE_ELEMENTS);
  const out: Out = {};
  tenant(ctx, el, out);
  const endpoint = attribute(el, 'authentication-endpoint');
  if (endpoint) {
    const v = literal(endpoint.value);
    // APIM takes the host with or without https://; tokengate's authority is an origin, so the scheme is written out.
    if (v.ok) {
      out.authority = (/^[a-z][a-z0-9+.-]*:\/\//i.test(v.value) ? v.value : `https://${v.value}`).replace(/\/+$/, '');
      ctx.origins.set('authority', { line: endpoint.line, what: '<validate-azure-ad-token authentication-endpoint>' });
    } else {
      const action =
        'left out: keys come from the public cloud, https://login.microsoftonline.com, so tokens of another cloud ' +
        'are denied';
      report.unmappable(endpoint.line, '<validate-azure-ad-token authentication-endpoint>', v.why, action);
    }
  }
  const failClosed: ClaimRule[] = [];
  tokenLocation(ctx, el, out, failClosed);
  failedValidation(ctx, el, out);

  const clients = list(ctx, el, 'client-application-ids', 'application-id', 'clientApplicationIds');
  if (clients === undefined) {
    report.unmappable(
      el.line,
      WHAT,
      'no <client-application-ids>: APIM then accepts a token from any client application of the tenant, and ' +
        'tokengate is ' +
        'stricter, it always checks the caller (azp or appid): list the client application ids that may call, or ' +
        'write a ' +
        "validateJwt policy with the tenant's openidConfig and issuers to accept any client on purpose " +
        '(docs/entra-id.md)',
      'clientApplicationIds is left out, and tokengate validate rejects the policy until you add it',
    );
  } else out.clientApplicationIds = clients;
  const backends = list(ctx, el, 'backend-application-ids', 'application-id', 'backendApplicationIds');
  if (backends !== undefined) out.backendApplicationIds = backends;
  const audiences = list(ctx, el, 'audiences', 'audience', 'audiences');
  if (audiences !== undefined) out.audiences = audiences;
  if (backends === undefined && audiences === undefined) {
    report.unmappable(
      el.line,
      WHAT,
      'no <backend-application-ids> and no <audiences>: tokengate needs one of them, so that a token issued for ' +
        "another application of the tenant never passes: add the backend application's client id",
      'tokengate validate rejects the policy until you add backendApplicationIds or audiences',
    );
  }
  const claims = [...requiredClaims(ctx, el), ...failClosed];
  if (claims.length > 0) out.requiredClaims = claims;
  const decryptionKeys = mapKeys(ctx, el, 'decryption-keys', 'decryption');
  if (decryptionKeys.length > 0) out.decryptionKeys = decryptionKeys;
  outputTokenVariable(ctx, el, out);
  return out;
}

/**
 * tenant-id: a tenant id, or `common` / `organizations`, whose issuers are `{tenantid}` templates. Which tenants may
 * call is then something APIM's policy does not say, and tokengate will not guess it (`"*"` lets every Entra tenant
 * in): the import refuses, or with --allow-partial writes a placeholder tenant no token has.
 */
function tenant(ctx: MapContext, el: XmlElement, out: Out): void {
  const report = ctx.report;
  const given = attribute(el, 'tenant-id');
  if (!given) {
    const why = 'tenant-id is missing (APIM requires it): tokengate needs the directory (tenant) id';
    report.unmappable(
      el.line,
      WHAT,
      why,
      'tenantId is left out, and tokengate validate rejects the policy until you add it',
    );
    return;
  }
  const what = '<validate-azure-ad-token tenant-id>';
  ctx.origins.set('tenantId', { line: given.line, what });
  const v = literal(given.value);
  if (!v.ok) {
    report.unmappable(given.line, what, v.why, TENANT_PLACEHOLDER_ACTION);
    out.tenantId = report.placeholder(given.line, given.value);
  } else if (['common', 'organizations'].includes(v.value.toLowerCase())) {
    out.tenantId = v.value.toLowerCase();
    report.unmappable(
      given.line,
      what,
      `"${v.value}" accepts tokens of many tenants, and the policy does not say which: write allowedTenants: ` +
        `[TENANT_ID, ...] ` +
        'beside tenantId in the YAML ("*" for any Entra tenant, on purpose)',
      'allowedTenants is a placeholder no tenant id matches, so every token is denied until you list the tenants',
    );
    out.allowedTenants = [report.placeholder(given.line, `tenants allowed by ${v.value}`)];
  } else if (!isGuid(v.value)) {
    report.unmappable(
      given.line,
      what,
      `"${v.value}" is not a tenant id: tokengate needs the directory (tenant) id, a GUID, because Entra's issuer ` +
        `names the tenant by id (Entra admin center, Overview, Tenant ID)`,
      TENANT_PLACEHOLDER_ACTION,
    );
    out.tenantId = report.placeholder(given.line, v.value);
  } else out.tenantId = v.value;
}
