/**
 * Imported APIM policies, run end to end: the import's YAML starts a real tokengate (gRPC, real key fetching from a
 * test issuer), and tables of tokens get the decisions APIM's policy would give. The docs' worked example runs in
 * worked_example_e2e.test.ts, the corpus of public policy shapes in corpus_e2e.test.ts.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, importApimPolicy } from '../../src/apim/import_apim.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startShapedIssuer, type ShapedIssuer } from '../helpers/shaped_issuer.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

const TENANT = '3f0c4a6e-2b1d-4c8e-9a7f-5d6e7f8a9b0c';
const BACKEND_APP = '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const CLIENT_APP = '0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a';
const MESSAGE = 'Unauthorized. Access token is missing or invalid.';

const now = () => Math.floor(Date.now() / 1000);
const running: RunningTokengate[] = [];
afterAll(async () => {
  for (const tg of running) await tg.stop();
});

/** Imports the XML (failing the test on anything unexpected on "stderr") and starts tokengate with the YAML. */
async function startImported(xml: string, options: { name: string; allowPartial?: boolean; expectedStderr?: string[] }): Promise<RunningTokengate> {
  const result = importApimPolicy(xml, { source: 'policy.xml', name: options.name, allowPartial: options.allowPartial });
  expect(result.diagnostics.map((d) => formatDiagnostic(d, 'policy.xml'))).toEqual(options.expectedStderr ?? []);
  expect(result.exitCode).toBe(0);
  const tg = await startTokengate(result.yaml!);
  running.push(tg);
  return tg;
}

type Expected = 'allow' | { reason: string; status?: 401 | 403; message?: string };

async function expectDecision(tg: RunningTokengate, token: string | undefined, expected: Expected, policy?: string): Promise<void> {
  const res = await tg.client.check(
    envoyCheckRequest({ headers: token === undefined ? {} : bearer(token), ...(policy ? { contextExtensions: { policy } } : {}) }),
  );
  if (expected === 'allow') {
    expect(res.status.code, `denied: ${reasonOf(res)}`).toBe(0);
    return;
  }
  expect(res.status.code, 'allowed').not.toBe(0);
  expect(reasonOf(res)).toBe(expected.reason);
  const status = expected.status ?? 401;
  expect(res.denied_response?.status.code).toBe(status);
  const body = JSON.parse(res.denied_response!.body!) as unknown;
  if (expected.message === undefined) expect(body).toMatchObject({ statusCode: status });
  else expect(body).toEqual({ statusCode: status, message: expected.message });
}

describe('issuer-signing-keys in each form, imported and verified', () => {
  const AUD = 'api://static';
  const ISS = 'https://static.example.com';
  const policyWith = (key: string) => `<validate-jwt header-name="Authorization" require-scheme="Bearer">
    <issuer-signing-keys>${key}</issuer-signing-keys>
    <audiences><audience>${AUD}</audience></audiences>
    <issuers><issuer>${ISS}</issuer></issuers>
</validate-jwt>`;
  const sign = (alg: string, kid: string, key: Parameters<SignJWT['sign']>[0], claims: Record<string, unknown> = {}) =>
    new SignJWT({ iss: ISS, aud: AUD, ...claims }).setProtectedHeader({ alg, kid }).setExpirationTime('5m').sign(key);

  it('<key id>Base64</key>: a symmetric key verifies HS256 tokens', async () => {
    const secret = randomBytes(32);
    const tg = await startImported(policyWith(`<key id="hs1">${secret.toString('base64')}</key>`), { name: 'hs' });
    await expectDecision(tg, await sign('HS256', 'hs1', secret), 'allow');
    await expectDecision(tg, await sign('HS256', 'hs1', randomBytes(32)), { reason: 'TokenSignatureInvalid' });
    await expectDecision(tg, await sign('HS256', 'hs1', secret, { aud: 'api://other' }), { reason: 'TokenAudienceNotAllowed' });
  });

  it('<key id n e>: an RSA public key verifies RS256 tokens', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const tg = await startImported(policyWith(`<key id="rsa1" n="${jwk.n}" e="${jwk.e}" />`), { name: 'rsa' });
    await expectDecision(tg, await sign('RS256', 'rsa1', privateKey), 'allow');
    await expectDecision(tg, await sign('RS256', 'rsa1', other.privateKey), { reason: 'TokenSignatureInvalid' });
    await expectDecision(tg, await sign('RS256', 'rsa1', privateKey, { iss: 'https://evil.example.com' }), { reason: 'TokenIssuerNotAllowed' });
  });
});

describe('validate-azure-ad-token, imported and run against the test tenant', () => {
  let tg: RunningTokengate;
  let entra: ShapedIssuer;

  beforeAll(async () => {
    // The tenant's v2 and v1 documents on one test authority, with one key as Entra has. For an authority outside
    // Microsoft's table the v1 issuer is {authority}/{tenant}/.
    entra = await startShapedIssuer();
    await entra.document(`/${TENANT}/v2.0/.well-known/openid-configuration`, (o) => `${o}/${TENANT}/v2.0`, '/v2/keys', 'k1');
    await entra.document(`/${TENANT}/.well-known/openid-configuration`, (o) => `${o}/${TENANT}/`, '/v1/keys', 'k1');
    // authentication-endpoint points the tenant's discovery at the test issuer: {endpoint}/{tenant}/v2.0/.well-known/...
    const xml = `<validate-azure-ad-token tenant-id="${TENANT}" authentication-endpoint="${entra.origin}"
    failed-validation-httpcode="401" failed-validation-error-message="${MESSAGE}">
    <client-application-ids><application-id>${CLIENT_APP}</application-id></client-application-ids>
    <backend-application-ids><application-id>${BACKEND_APP}</application-id></backend-application-ids>
    <required-claims><claim name="roles" match="any"><value>Orders.Reader</value><value>Orders.Admin</value></claim></required-claims>
</validate-azure-ad-token>`;
    tg = await startImported(xml, { name: 'entra' });
  });

  afterAll(async () => entra?.close());

  const valid = { aud: BACKEND_APP, azp: CLIENT_APP, roles: ['Orders.Reader'] };
  const signV2 = (claims: Record<string, unknown>) => entra.sign('k1', { ...claims, iss: `${entra.origin}/${TENANT}/v2.0` });
  const table: [string, Record<string, unknown>, Expected][] = [
    ['a valid v2 token (aud = backend client id, azp = client app)', valid, 'allow'],
    ['aud as the Application ID URI', { ...valid, aud: `api://${BACKEND_APP}` }, 'allow'],
    ['another client application', { ...valid, azp: '99999999-9999-4999-8999-999999999999' }, { reason: 'TokenClaimValueNotAllowed' }],
    ['another backend application', { ...valid, aud: '88888888-8888-4888-8888-888888888888' }, { reason: 'TokenAudienceNotAllowed' }],
    ['no required role', { ...valid, roles: ['Orders.Writer'] }, { reason: 'TokenClaimValueNotAllowed' }],
    ['expired', { ...valid, exp: now() - 60 }, { reason: 'TokenExpired' }],
  ];
  for (const [label, claims, expected] of table) {
    it(`${label}: ${expected === 'allow' ? 'allowed' : `denied (${expected.reason})`}`, async () => {
      await expectDecision(tg, await signV2(claims), expected);
    });
  }

  it('a v1 token (v1 issuer, appid, aud as the Application ID URI) passes with the v1 document’s keys', async () => {
    const v1 = { iss: `${entra.origin}/${TENANT}/`, aud: `api://${BACKEND_APP}`, appid: CLIENT_APP, roles: ['Orders.Reader'] };
    await expectDecision(tg, await entra.sign('k1', v1), 'allow');
  });
});

describe('--allow-partial fails closed', () => {
  it('an unmappable audience or claim value becomes a placeholder that denies every token', async () => {
    const secret = randomBytes(32);
    const key = `<issuer-signing-keys><key>${secret.toString('base64')}</key></issuer-signing-keys>`;
    const xml = `<policies><inbound>
<validate-jwt header-name="Authorization">${key}
  <audiences><audience>@(context.Request.OriginalUrl.Host)</audience></audiences>
  <issuers><issuer>https://static.example.com</issuer></issuers>
</validate-jwt>
<validate-jwt header-name="Authorization">${key}
  <audiences><audience>api.example.com</audience></audiences>
  <issuers><issuer>https://static.example.com</issuer></issuers>
  <required-claims><claim name="groups" match="all"><value>{{admin-group-id}}</value><value>operators</value></claim></required-claims>
</validate-jwt>
</inbound></policies>`;
    const tg = await startImported(xml, {
      name: 'partial',
      allowPartial: true,
      expectedStderr: [
        'policy.xml:3: <audience>: the audience is the request\'s host name, which APIM evaluates per request; tokengate has no request-host audience rule: write one policy per host name, with match: { hosts: [HOST] } and audiences: [HOST] (one policy listing every host would let a token issued for one host in at another) [--allow-partial: replaced by a placeholder no token carries, so this check denies until you write the value]',
        'policy.xml:6: <validate-jwt>: APIM runs this validation and the one at line 2 on the same requests, so a token must pass both; tokengate decides a request with one policy: merge them into one policy with both sets of checks [--allow-partial: "partial-2" and the policies it runs with get a required claim no token carries: every request they decide is denied until you merge them]',
        'policy.xml:9: <value>: named value {{admin-group-id}} has no value: give it with --named-value "admin-group-id=VALUE" or --named-values FILE [--allow-partial: replaced by a placeholder no token carries, so this rule denies until you write the value]',
      ],
    });
    // What the expression and the named value would have given in APIM: still denied, never allowed.
    const token = await new SignJWT({ iss: 'https://static.example.com', aud: 'api.example.com', groups: ['admins', 'operators'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(secret);
    await expectDecision(tg, token, { reason: 'TokenAudienceNotAllowed' }, 'partial');
    await expectDecision(tg, token, { reason: 'TokenClaimValueNotAllowed', status: 403 }, 'partial-2');
  });
});
