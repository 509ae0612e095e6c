import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startShapedIssuer, type ShapedIssuer } from '../helpers/shaped_issuer.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '11111111-2222-3333-4444-555555555555';
const BACKEND = '6e74172b-be56-4843-9ff4-e66a39bb12e3';
const CLIENT = 'f8a9f1a4-7c1f-4b36-9d6c-2bd1bdbd3c11';

// The tenant's two documents (v2, and v1 naming https://sts.windows.net/{tenant}/), both served on one test
// authority with the same key, as Entra serves them; and the `common` multi-tenant endpoint on a dev issuer.
let tenant: ShapedIssuer;
let common: DevIssuer;
let tg: RunningTokengate;
const V1_ISSUER = `https://sts.windows.net/${TENANT}/`;

beforeAll(async () => {
  tenant = await startShapedIssuer();
  await tenant.document(`/${TENANT}/v2.0/.well-known/openid-configuration`, (o) => `${o}/${TENANT}/v2.0`, '/v2/keys', 'k1');
  await tenant.document(`/${TENANT}/.well-known/openid-configuration`, () => V1_ISSUER, '/v1/keys', 'k1');
  common = await startDevIssuer({ algorithms: ['RS256'], issuerPath: 'common/v2.0' });
  tg = await startTokengate(`
policies:
  - name: entra
    match: { pathPrefixes: ["/entra"] }
    validateAzureAdToken:
      tenantId: ${TENANT}
      authority: ${tenant.origin}
      v1IssuerOrigin: https://sts.windows.net
      clientApplicationIds: ["${CLIENT}"]
      backendApplicationIds: ["${BACKEND}"]
      requiredClaims: [{ name: scp, separator: " ", values: [Files.Read] }]
  - name: multi
    match: { pathPrefixes: ["/multi"] }
    validateJwt:
      openidConfig: [{ url: "${common.issuer}/.well-known/openid-configuration" }]
      issuers: ["${common.issuer.replace('/common/', '/{tenantid}/')}"]
      allowedTenants: ["${TENANT}"]
      audiences: ["${BACKEND}"]
`);
});

afterAll(async () => {
  await tg?.stop();
  await tenant?.close();
  await common?.close();
});

const check = async (path: string, token: string) => tg.client.check(envoyCheckRequest({ path, headers: bearer(token) }));

describe('validateAzureAdToken', () => {
  const v2 = () => ({ iss: `${tenant.origin}/${TENANT}/v2.0`, aud: BACKEND, azp: CLIENT, tid: TENANT, scp: 'Files.Read', ver: '2.0' });
  const v1 = () => ({ iss: V1_ISSUER, aud: `api://${BACKEND}`, appid: CLIENT, tid: TENANT, scp: 'Files.Read', ver: '1.0' });
  const sign = (claims: Record<string, unknown>) => tenant.sign('k1', claims);

  it('accepts v2 tokens (aud = client id, azp) and v1 tokens (aud = api://client id, sts.windows.net issuer, appid)', async () => {
    expect((await check('/entra', await sign(v2()))).status.code).toBe(0);
    expect((await check('/entra', await sign(v1()))).status.code).toBe(0);
  });

  it('rejects a client application not in clientApplicationIds', async () => {
    expect(reasonOf(await check('/entra', await sign({ ...v2(), azp: 'someone-else' })))).toBe('TokenClaimValueNotAllowed');
    expect(reasonOf(await check('/entra', await sign({ ...v1(), appid: undefined })))).toBe('TokenClaimValueNotAllowed');
  });

  it('rejects another backend, another tenant, and a missing scope', async () => {
    expect(reasonOf(await check('/entra', await sign({ ...v2(), aud: 'other-backend' })))).toBe('TokenAudienceNotAllowed');
    expect(reasonOf(await check('/entra', await sign({ ...v2(), iss: `${tenant.origin}/${OTHER_TENANT}/v2.0` })))).toBe('TokenIssuerNotAllowed');
    expect(reasonOf(await check('/entra', await sign({ ...v2(), scp: 'Files.Write' })))).toBe('TokenClaimValueNotAllowed');
  });
});

describe('multi-tenant issuers', () => {
  const forTenant = (tid: string) => ({ iss: common.issuer.replace('/common/', `/${tid}/`), tid, aud: BACKEND });

  it('keys come from the common discovery document, whose issuer is a {tenantid} template', () => {
    const status = tg.app.keySources().find((s) => s.id.includes('/common/'));
    expect(status).toMatchObject({ usable: true, lastError: undefined });
  });

  it('accepts an allowed tenant whose tid fills the issuer template', async () => {
    expect((await check('/multi', await common.sign(forTenant(TENANT)))).status.code).toBe(0);
  });

  it('rejects a tenant that is not allowed', async () => {
    expect(reasonOf(await check('/multi', await common.sign(forTenant(OTHER_TENANT))))).toBe('TokenIssuerNotAllowed');
  });

  it('rejects a tid that does not match the tenant in the issuer', async () => {
    expect(reasonOf(await check('/multi', await common.sign({ ...forTenant(TENANT), tid: OTHER_TENANT })))).toBe('TokenIssuerNotAllowed');
    expect(reasonOf(await check('/multi', await common.sign({ ...forTenant(TENANT), tid: undefined })))).toBe('TokenIssuerNotAllowed');
  });
});
