// Issue 17 §1: discovery documents as real issuers publish them, each served by a test issuer in exactly that shape,
// from discovery to an allowed Check: OpenID Connect Discovery 1.0 §4.1 (a terminating "/"), RFC 8414 §3 (inserted
// and appended well-known paths), Azure AD B2C (the issuer is not in the URL), Entra's multi-tenant template with
// the keys' own `issuer`, and validateAzureAdToken's two documents, each bound to its own issuer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startShapedIssuer, type ShapedIssuer } from '../helpers/shaped_issuer.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { configProblems } from '../helpers/config_problems.js';

const AUD = 'api://orders';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = 'f8a9f1a4-7c1f-4b36-9d6c-2bd1bdbd3c11';
const BACKEND = '6e74172b-be56-4843-9ff4-e66a39bb12e3';

let idp: ShapedIssuer;
let tg: RunningTokengate;
const o = () => idp.origin;

beforeAll(async () => {
  idp = await startShapedIssuer();
  // Auth0: the document names its issuer with the slash that the URL drops (Discovery §4.1).
  await idp.document('/auth0/.well-known/openid-configuration', (x) => `${x}/auth0/`, '/auth0/jwks', 'auth0');
  // B2C: user flow as a query; the issuer names the tenant id instead.
  await idp.document('/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1_signin', (x) => `${x}/${TENANT}/v2.0/`, '/b2c/keys', 'b2c');
  // RFC 8414 §3: the well-known segment inserted before the issuer's path; and Okta's appended form.
  await idp.document('/.well-known/oauth-authorization-server/tenant1', (x) => `${x}/tenant1`, '/tenant1/keys', 'as');
  await idp.document('/oauth2/default/.well-known/oauth-authorization-server', (x) => `${x}/oauth2/default`, '/oauth2/default/keys', 'okta');
  // Entra multi-tenant: a {tenantid} template, keys carrying it as their own issuer.
  await idp.document('/common/v2.0/.well-known/openid-configuration', (x) => `${x}/{tenantid}/v2.0`, '/common/keys', 'common', `${o()}/{tenantid}/v2.0`);
  // Entra tenant, both documents (validateAzureAdToken): v2 names {authority}/{tenant}/v2.0, v1 the v1 host's.
  await idp.document(`/${TENANT}/v2.0/.well-known/openid-configuration`, (x) => `${x}/${TENANT}/v2.0`, '/v2/keys', 'v2key', `${o()}/${TENANT}/v2.0`);
  await idp.document(`/${TENANT}/.well-known/openid-configuration`, (x) => `${x}/sts/${TENANT}/`, '/v1/keys', 'v1key');
  // A document naming someone else (mix-up, Discovery §4.3).
  await idp.document('/mixup/.well-known/openid-configuration', (x) => `${x}/elsewhere`, '/mixup/keys', 'mixup');

  tg = await startTokengate(
    `
policies:
  - { name: auth0, match: { pathPrefixes: ["/auth0"] }, validateJwt: { openidConfig: [{ url: "\${O}/auth0/.well-known/openid-configuration" }], audiences: ["${AUD}"] } }
  - name: b2c
    match: { pathPrefixes: ["/b2c"] }
    validateJwt:
      openidConfig: [{ url: "\${O}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1_signin", issuer: "\${O}/${TENANT}/v2.0/" }]
      audiences: ["${AUD}"]
  - { name: rfc8414, match: { pathPrefixes: ["/as"] }, validateJwt: { openidConfig: [{ url: "\${O}/.well-known/oauth-authorization-server/tenant1" }], audiences: ["${AUD}"] } }
  - { name: okta, match: { pathPrefixes: ["/okta"] }, validateJwt: { openidConfig: [{ url: "\${O}/oauth2/default/.well-known/oauth-authorization-server" }], audiences: ["${AUD}"] } }
  - name: common
    match: { pathPrefixes: ["/common"] }
    validateJwt:
      openidConfig: [{ url: "\${O}/common/v2.0/.well-known/openid-configuration", issuer: "\${O}/{tenantid}/v2.0" }]
      allowedTenants: ["${TENANT}", "${OTHER_TENANT}"]
      audiences: ["${AUD}"]
  - name: entra
    match: { pathPrefixes: ["/entra"] }
    validateAzureAdToken:
      tenantId: ${TENANT}
      authority: \${O}
      v1IssuerOrigin: \${O}/sts
      clientApplicationIds: ["${CLIENT}"]
      backendApplicationIds: ["${BACKEND}"]
  - { name: mixup, match: { pathPrefixes: ["/mixup"] }, validateJwt: { openidConfig: [{ url: "\${O}/mixup/.well-known/openid-configuration" }], audiences: ["${AUD}"] } }
`,
    { O: idp.origin },
  );
});

afterAll(async () => {
  await tg?.stop();
  await idp?.close();
});

async function check(path: string, token: string) {
  const res = await tg.client.check(envoyCheckRequest({ path, headers: bearer(token) }));
  return { code: res.status?.code ?? 0, reason: reasonOf(res) };
}

const ALLOWED = { code: 0, reason: undefined };

describe('discovery documents in the shapes real issuers publish', () => {
  it('Auth0: an issuer with a terminating "/" (Discovery §4.1) is accepted exactly as the document names it', async () => {
    expect(await check('/auth0', await idp.sign('auth0', { iss: `${o()}/auth0/`, aud: AUD }))).toEqual(ALLOWED);
    expect((await check('/auth0', await idp.sign('auth0', { iss: `${o()}/auth0`, aud: AUD }))).reason).toBe('TokenIssuerNotAllowed');
  });

  it('Azure AD B2C: the issuer given on the entry, not derived from the URL', async () => {
    expect(await check('/b2c', await idp.sign('b2c', { iss: `${o()}/${TENANT}/v2.0/`, aud: AUD }))).toEqual(ALLOWED);
  });

  it('RFC 8414: the inserted well-known path, and the appended one some servers use', async () => {
    expect(await check('/as', await idp.sign('as', { iss: `${o()}/tenant1`, aud: AUD }))).toEqual(ALLOWED);
    expect(await check('/okta', await idp.sign('okta', { iss: `${o()}/oauth2/default`, aud: AUD }))).toEqual(ALLOWED);
  });

  it('Entra multi-tenant: the template document, and the key’s own issuer checked against the token’s tenant', async () => {
    const v2 = (tid: string, extra: Record<string, unknown> = {}) => ({ iss: `${o()}/${tid}/v2.0`, tid, aud: AUD, ...extra });
    expect(await check('/common', await idp.sign('common', v2(TENANT)))).toEqual(ALLOWED);
    expect(await check('/common', await idp.sign('common', v2(OTHER_TENANT)))).toEqual(ALLOWED);
    // A tid that does not fill the key's issuer with the token's own iss: the key does not sign for it.
    const crossed = await idp.sign('common', { ...v2(TENANT), tid: OTHER_TENANT });
    expect((await check('/common', crossed)).code).not.toBe(0);
  });

  it('a document naming another issuer is refused (mix-up, Discovery §4.3): its keys are never used', async () => {
    const res = await check('/mixup', await idp.sign('mixup', { iss: `${o()}/mixup`, aud: AUD }));
    expect(res).toEqual({ code: 14, reason: 'KeysUnavailable' });
    const readyz = (await (await fetch(`http://127.0.0.1:${tg.app.opsPort!}/readyz`)).json()) as { sources: { source: string; lastError: string | null }[] };
    expect(readyz.sources.find((s) => s.source.includes('/mixup/'))?.lastError).toMatch(/names issuer ".*\/elsewhere", expected ".*\/mixup"/);
  });
});

describe('validateAzureAdToken: the v1 document for v1 tokens, the v2 document for v2 tokens', () => {
  const v2 = () => ({ iss: `${o()}/${TENANT}/v2.0`, tid: TENANT, aud: BACKEND, azp: CLIENT, ver: '2.0' });
  // As Entra issues them: a single-string aud (v2: the client id; v1: whatever resource was asked for).
  const v1 = () => ({ iss: `${o()}/sts/${TENANT}/`, tid: TENANT, aud: `api://${BACKEND}`, appid: CLIENT, ver: '1.0' });

  it('each token version passes with its own document’s keys', async () => {
    expect(await check('/entra', await idp.sign('v2key', v2()))).toEqual(ALLOWED);
    expect(await check('/entra', await idp.sign('v1key', v1()))).toEqual(ALLOWED);
  });

  it('a v1 document’s key cannot sign a v2 token, nor the reverse (each bound to its issuer)', async () => {
    expect((await check('/entra', await idp.sign('v1key', v2()))).reason).toBe('TokenSignatureKeyNotFound');
    expect((await check('/entra', await idp.sign('v2key', v1()))).reason).toBe('TokenSignatureKeyNotFound');
  });
});

describe('a discovery URL whose issuer cannot be derived is refused at load, in one line with the fix', () => {
  const problems = (url: string): readonly string[] =>
    configProblems(`policies: [{ name: p, validateJwt: { openidConfig: [{ url: "${url}" }], audiences: [x] } }]`);

  it.each([
    ['https://contoso.b2clogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1_signin', /query/],
    ['https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0/.well-known/openid-configuration', /B2C/],
    ['https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration', /by its id/],
    ['https://idp.example.com/metadata.json', /not a well-known discovery path/],
  ])('%s', (url, why) => {
    const found = problems(url);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^policies\[0\]\.validateJwt\.openidConfig\[0\]: the issuer cannot be read from this URL/);
    expect(found[0]).toMatch(why);
    expect(found[0]).toMatch(/add issuer: /);
  });

  it('Entra common and organizations imply the {tenantid} template, which then needs allowedTenants', () => {
    expect(problems('https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration')).toEqual([
      expect.stringMatching(/allowedTenants: is required with the issuer template https:\/\/login\.microsoftonline\.com\/\{tenantid\}\/v2\.0/),
    ]);
    expect(problems('https://login.microsoftonline.com/organizations/.well-known/openid-configuration')).toEqual([
      expect.stringMatching(/allowedTenants: is required with the issuer template https:\/\/sts\.windows\.net\/\{tenantid\}\//),
    ]);
  });
});
