/** `<validate-jwt>` → a `validateJwt` policy body. */
import { issuerImpliedBy } from '../net/discovery_url.js';
import type { MapContext, Out } from './context.js';
import { requiredClaims } from './map_claims.js';
import {
  LOCATION_ATTRIBUTES,
  booleanAttribute,
  checkNames,
  clockSkew,
  failedValidation,
  list,
  outputTokenVariable,
  requireScheme,
  tokenLocation,
  type ClaimRule,
} from './map_common.js';
import { mapOpenIdConfig, type OpenIdEntry } from './map_discovery.js';
import { mapKeys } from './map_keys.js';
import { checkTokenVersions } from './token_versions.js';
import type { XmlElement } from './xml.js';

const JWT_ATTRIBUTES = [
  ...LOCATION_ATTRIBUTES,
  'failed-validation-httpcode',
  'failed-validation-error-message',
  'require-expiration-time',
  'require-scheme',
  'require-signed-tokens',
  'clock-skew',
  'output-token-variable-name',
];
const JWT_ELEMENTS = [
  'openid-config',
  'issuer-signing-keys',
  'decryption-keys',
  'audiences',
  'issuers',
  'required-claims',
];

export function mapValidateJwt(ctx: MapContext, el: XmlElement): Out {
  const report = ctx.report;
  checkNames(ctx, el, JWT_ATTRIBUTES, JWT_ELEMENTS);
  const out: Out = {};
  const failClosed: ClaimRule[] = [];
  const location = tokenLocation(ctx, el, out, failClosed);
  if (location === 'none') {
    const why =
      'none of header-name, query-parameter-name, token-value is set (APIM requires one): tokengate reads the ' +
      'Authorization header';
    report.warn(el.line, '<validate-jwt>', why);
  }
  requireScheme(ctx, el, out, location);
  failedValidation(ctx, el, out);
  booleanAttribute(ctx, el, 'require-expiration-time', 'requireExpirationTime', out);
  booleanAttribute(ctx, el, 'require-signed-tokens', 'requireSignedTokens', out);
  clockSkew(ctx, el, out);

  const issuers = list(ctx, el, 'issuers', 'issuer', 'issuers');
  const openid = mapOpenIdConfig(ctx, el, issuers);
  if (openid.entries.length > 0) out.openidConfig = openid.entries;
  const signingKeys = mapKeys(ctx, el, 'issuer-signing-keys', 'signing');
  if (signingKeys.length > 0) out.issuerSigningKeys = signingKeys;
  const decryptionKeys = mapKeys(ctx, el, 'decryption-keys', 'decryption');
  if (decryptionKeys.length > 0) out.decryptionKeys = decryptionKeys;
  const claims = requiredClaims(ctx, el);

  const audiences = list(ctx, el, 'audiences', 'audience', 'audiences');
  if (audiences === undefined) {
    out.audiences = [];
    const audClaim = claims.find((c) => c.name === 'aud');
    report.warn(
      el.line,
      '<validate-jwt>',
      audClaim
        ? 'no <audiences>: the audience is checked only by the required claim "aud", as in APIM; wrote `audiences: ' +
            '[]` beside it'
        : "no <audiences>: the original policy did not check the token's audience, so the import keeps that with " +
            "`audiences: []` (any audience); add your API's audience",
    );
  } else out.audiences = audiences;

  if (issuers !== undefined) out.issuers = issuers;
  else if (openid.entries.length === 0 && openid.unmapped.length > 0) {
    // The issuer came from the unmappable discovery document: `issuers: []` would accept any issuer.
    out.issuers = openid.unmapped.map((u) => report.placeholder(u.line, `issuer of ${u.url}`));
  } else if (openid.entries.length === 0) {
    out.issuers = [];
    report.warn(
      el.line,
      '<validate-jwt>',
      "no <issuers> and no <openid-config>: the original policy did not check the token's issuer, so the import " +
        'keeps that with `issuers: []` (any issuer); add your issuer',
    );
  }
  if (openid.allowedTenants) out.allowedTenants = openid.allowedTenants;
  bindStaticKeys(ctx, el, out, openid.entries, signingKeys);
  const allClaims = [...claims, ...failClosed];
  if (allClaims.length > 0) out.requiredClaims = allClaims;
  outputTokenVariable(ctx, el, out);
  checkTokenVersions(report, el.line, issuers ?? openid.named, audiences ?? [], claims);
  return out;
}

/**
 * APIM lets every key of a policy sign for every issuer it accepts; tokengate binds keys to issuers (RFC 8725 §3.8),
 * so beside a discovery document each static key needs `issuers`. The import keeps APIM's trust, said out loud.
 */
function bindStaticKeys(
  ctx: MapContext,
  el: XmlElement,
  out: Out,
  openid: OpenIdEntry[],
  keys: Record<string, unknown>[],
): void {
  if (openid.length === 0 || keys.length === 0) return;
  const issuers =
    Array.isArray(out.issuers) && out.issuers.length > 0
      ? (out.issuers as string[])
      : [...new Set(openid.flatMap(documentIssuers))];
  for (const key of keys) key.issuers = issuers;
  ctx.report.warn(
    el.line,
    '<issuer-signing-keys>',
    `APIM lets these keys sign for every issuer of the policy, and so does the import (each key gets issuers: ` +
      `[${issuers.join(', ')}]); ` +
      "tokengate verifies a token only with its own issuer's keys: narrow each key's issuers to the one it belongs to",
  );
}

/**
 * What a document may name: its entry's issuer, or the one its URL implies, with the terminating `/` that OpenID
 * Connect Discovery §4.1 lets the document add (Auth0 names `https://TENANT.auth0.com/`).
 */
function documentIssuers(entry: OpenIdEntry): string[] {
  if (entry.issuer !== undefined) return [entry.issuer];
  const implied = issuerImpliedBy(entry.url);
  if (!('issuer' in implied)) return [entry.url];
  return implied.issuer.endsWith('/') ? [implied.issuer] : [implied.issuer, `${implied.issuer}/`];
}
