import { describe, expect, it } from 'vitest';
import { documentMayName, issuerImpliedBy } from '../../src/net/discovery_url.js';

const T = '72f988bf-86f1-41af-91ab-2d7cd011db47';

describe('issuerImpliedBy: the issuer a discovery URL promises', () => {
  it.each([
    // OpenID Connect Discovery 1.0 §4.
    ['https://tenant.auth0.com/.well-known/openid-configuration', 'https://tenant.auth0.com'],
    ['https://idp.example.com/realms/a/.well-known/openid-configuration', 'https://idp.example.com/realms/a'],
    // RFC 8414 §3: inserted, and the appended form.
    ['https://as.example.com/.well-known/oauth-authorization-server/tenant1', 'https://as.example.com/tenant1'],
    ['https://idp.example.com/oauth2/default/.well-known/oauth-authorization-server', 'https://idp.example.com/oauth2/default'],
    ['https://as.example.com/.well-known/oauth-authorization-server', 'https://as.example.com'],
    // Entra: v2 and v1 tenant documents, multi-tenant templates, national clouds.
    [`https://login.microsoftonline.com/${T}/v2.0/.well-known/openid-configuration`, `https://login.microsoftonline.com/${T}/v2.0`],
    [`https://login.microsoftonline.com/${T}/.well-known/openid-configuration`, `https://sts.windows.net/${T}/`],
    ['https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration', 'https://login.microsoftonline.com/{tenantid}/v2.0'],
    ['https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration', 'https://login.microsoftonline.com/{tenantid}/v2.0'],
    ['https://login.microsoftonline.com/common/.well-known/openid-configuration', 'https://sts.windows.net/{tenantid}/'],
    [`https://login.partner.microsoftonline.cn/${T}/.well-known/openid-configuration`, `https://sts.chinacloudapi.cn/${T}/`],
    [`https://login.microsoftonline.us/${T}/.well-known/openid-configuration`, `https://sts.windows.net/${T}/`],
  ])('%s → %s', (url, issuer) => {
    expect(issuerImpliedBy(url)).toEqual({ issuer });
  });

  it.each([
    'https://contoso.b2clogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1_signin',
    'https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0/.well-known/openid-configuration',
    'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration',
    'https://login.microsoftonline.com/consumers/v2.0/.well-known/openid-configuration',
    'https://idp.example.com/metadata.json',
    'not a url',
  ])('%s implies no issuer', (url) => {
    expect(issuerImpliedBy(url)).toHaveProperty('unknown');
  });
});

describe('documentMayName (Discovery §4.3, §4.1)', () => {
  it('an implied issuer may carry the terminating "/" its URL dropped; nothing else differs', () => {
    expect(documentMayName('https://t.auth0.com/', 'https://t.auth0.com', true)).toBe(true);
    expect(documentMayName('https://t.auth0.com', 'https://t.auth0.com', true)).toBe(true);
    expect(documentMayName('https://t.auth0.com//', 'https://t.auth0.com', true)).toBe(false);
    expect(documentMayName('https://T.auth0.com', 'https://t.auth0.com', true)).toBe(false);
    // Written by the user: exactly that.
    expect(documentMayName('https://t.auth0.com/', 'https://t.auth0.com', false)).toBe(false);
  });
});
