/**
 * docs/migrating-from-apim.md, "Worked example": the Entra ID article's validate-jwt filled in for v2.0 tokens and
 * for v1.0 tokens, imported, and run end to end with tokens shaped as Entra issues them (a single-string aud; v2.0:
 * iss on the authority with /v2.0, aud the client id, azp; v1.0: iss on sts.windows.net, aud the resource asked for,
 * appid). The document shows exactly the XML and YAML tested here; the article as published, with its own
 * placeholders, is refused with each placeholder named.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, importApimPolicy } from '../../src/apim/import_apim.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { ROOT } from '../helpers/paths.js';
import { startShapedIssuer, type ShapedIssuer } from '../helpers/shaped_issuer.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

const DOC = readFileSync(join(ROOT, 'docs', 'migrating-from-apim.md'), 'utf8');
const ARTICLE = readFileSync(join(ROOT, 'test', 'fixtures', 'apim', 'article-entra.xml'), 'utf8');
const TENANT = '3f0c4a6e-2b1d-4c8e-9a7f-5d6e7f8a9b0c';
const BACKEND = '6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const CLIENT = '0d9c8b7a-6f5e-4d3c-8b1a-0f9e8d7c6b5a';
const MESSAGE = 'Unauthorized. Access token is missing or invalid.';

const policyXml = (discovery: string, audience: string, issuer: string) =>
  `<validate-jwt header-name="Authorization" failed-validation-httpcode="401" failed-validation-error-message="${MESSAGE}">
    <openid-config url="${discovery}" />
    <audiences><audience>${audience}</audience></audiences>
    <issuers><issuer>${issuer}</issuer></issuers>
    <required-claims>
        <claim name="aud"><value>${audience}</value></claim>
    </required-claims>
</validate-jwt>
`;

const policyYaml = (discovery: string, documentIssuer: string, audience: string) => `policies:
  - name: backend-app
    validateJwt:
      headerName: Authorization
      failedValidationHttpCode: 401
      failedValidationErrorMessage: ${MESSAGE}
      openidConfig:
        - url: ${discovery}
          issuer: ${documentIssuer}
      audiences:
        - ${audience}
      issuers:
        - ${documentIssuer}
      requiredClaims:
        - name: aud
          values:
            - ${audience}
`;

const V2_URL = 'https://login.microsoftonline.com/TENANT_ID/v2.0/.well-known/openid-configuration';
const V1_URL = 'https://login.microsoftonline.com/TENANT_ID/.well-known/openid-configuration';
const VARIANTS = {
  v2: {
    xml: policyXml(V2_URL, 'BACKEND_APP_CLIENT_ID', 'https://login.microsoftonline.com/TENANT_ID/v2.0'),
    yaml: policyYaml(V2_URL, 'https://login.microsoftonline.com/TENANT_ID/v2.0', 'BACKEND_APP_CLIENT_ID'),
  },
  v1: {
    xml: policyXml(V1_URL, 'api://BACKEND_APP_CLIENT_ID', 'https://sts.windows.net/TENANT_ID/'),
    yaml: policyYaml(V1_URL, 'https://sts.windows.net/TENANT_ID/', 'api://BACKEND_APP_CLIENT_ID'),
  },
};

let idp: ShapedIssuer;
const running: RunningTokengate[] = [];
const o = () => idp.origin;

beforeAll(async () => {
  // The tenant's two documents as Entra serves them: the v2 one on the authority, the v1 one naming the v1 host.
  idp = await startShapedIssuer();
  await idp.document(`/login/${TENANT}/v2.0/.well-known/openid-configuration`, (x) => `${x}/login/${TENANT}/v2.0`, '/keys/v2', 'entra');
  await idp.document(`/login/${TENANT}/.well-known/openid-configuration`, (x) => `${x}/sts/${TENANT}/`, '/keys/v1', 'entra');
});

afterAll(async () => {
  for (const tg of running) await tg.stop();
  await idp?.close();
});

/** The import, checked against the document, then deployed as a user would: stand-ins replaced, hosts pointed here. */
async function importAndStart(variant: keyof typeof VARIANTS): Promise<RunningTokengate> {
  const { xml, yaml } = VARIANTS[variant];
  const r = importApimPolicy(xml, { source: 'backend-app.xml', name: 'backend-app' });
  expect(r.exitCode).toBe(0);
  // TENANT_ID is a stand-in: the importer says so, and writes the shape a tenant id gets.
  expect(r.diagnostics.map((d) => formatDiagnostic(d, 'backend-app.xml'))).toEqual([
    expect.stringMatching(/^backend-app\.xml:2: warning: <openid-config url>: "TENANT_ID" stands where Entra's tenant id/),
  ]);
  expect(r.yaml!.slice(r.yaml!.indexOf('policies:'))).toBe(yaml);
  const deployed = r.yaml!.replaceAll('TENANT_ID', TENANT).replaceAll('BACKEND_APP_CLIENT_ID', BACKEND);
  const tg = await startTokengate(
    deployed.replaceAll('https://login.microsoftonline.com', `${o()}/login`).replaceAll('https://sts.windows.net', `${o()}/sts`),
  );
  running.push(tg);
  return tg;
}

const v2Token = (claims: Record<string, unknown> = {}) =>
  idp.sign('entra', { iss: `${o()}/login/${TENANT}/v2.0`, tid: TENANT, aud: BACKEND, azp: CLIENT, ver: '2.0', ...claims });
const v1Token = (claims: Record<string, unknown> = {}) =>
  idp.sign('entra', { iss: `${o()}/sts/${TENANT}/`, tid: TENANT, aud: `api://${BACKEND}`, appid: CLIENT, ver: '1.0', ...claims });

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const middle = Math.floor(signature!.length / 2);
  return [header, payload, `${signature!.slice(0, middle)}${signature![middle] === 'A' ? 'B' : 'A'}${signature!.slice(middle + 1)}`].join('.');
}

async function expectDecision(tg: RunningTokengate, token: string | undefined, expected: 'allow' | string): Promise<void> {
  const res = await tg.client.check(envoyCheckRequest({ headers: token === undefined ? {} : bearer(token) }));
  if (expected === 'allow') {
    expect(res.status.code, `denied: ${reasonOf(res)}`).toBe(0);
    return;
  }
  expect(reasonOf(res)).toBe(expected);
  expect(res.denied_response?.status.code).toBe(401);
  expect(JSON.parse(res.denied_response!.body!)).toEqual({ statusCode: 401, message: MESSAGE });
}

describe('docs/migrating-from-apim.md, worked example', () => {
  it('shows the XML and the YAML this test imports, for both token versions', () => {
    for (const { xml, yaml } of Object.values(VARIANTS)) {
      expect(DOC).toContain(xml);
      expect(DOC).toContain(yaml);
    }
  });

  it('the article as published is refused: each of its placeholders is a gap at its line', () => {
    const r = importApimPolicy(ARTICLE, { source: 'article.xml', name: 'backend-app' });
    expect(r.exitCode).toBe(2);
    expect(r.diagnostics.map((d) => formatDiagnostic(d, 'article.xml'))).toEqual([
      'article.xml:4: <openid-config url>: template placeholder {aad-tenant} is not a value: give it with --named-value "aad-tenant=VALUE"',
      'article.xml:6: <audience>: template placeholder {audience-value - (ex:api://guid)} is not a value: write the value it stands for',
      'article.xml:9: <issuer>: template placeholder {issuer-value - (ex: https://sts.windows.net/{tenant id}/)} is not a value: write the value it stands for',
      'article.xml:13: <value>: template placeholder {backend-app-client-id} is not a value: give it with --named-value "backend-app-client-id=VALUE"',
    ]);
  });

  it('v2.0 (requestedAccessTokenVersion 2): a v2.0 token passes; any other denial is 401 with the configured message', async () => {
    const tg = await importAndStart('v2');
    await expectDecision(tg, await v2Token(), 'allow');
    await expectDecision(tg, await v2Token({ exp: Math.floor(Date.now() / 1000) - 120 }), 'TokenExpired');
    await expectDecision(tg, await v2Token({ aud: `api://${BACKEND}` }), 'TokenAudienceNotAllowed');
    await expectDecision(tg, await v1Token(), 'TokenIssuerNotAllowed');
    await expectDecision(tg, undefined, 'TokenNotPresent');
    await expectDecision(tg, tamper(await v2Token()), 'TokenSignatureInvalid');
  });

  it('v1.0 (null or 1): a v1.0 token for the Application ID URI passes with the v1 document\'s keys', async () => {
    const tg = await importAndStart('v1');
    await expectDecision(tg, await v1Token(), 'allow');
    // A v1.0 aud is the resource the client asked for: asked by client id, it is not the policy's audience.
    await expectDecision(tg, await v1Token({ aud: BACKEND }), 'TokenAudienceNotAllowed');
    await expectDecision(tg, await v2Token(), 'TokenIssuerNotAllowed');
  });
});
