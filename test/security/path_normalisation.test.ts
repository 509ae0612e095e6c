// Issue 15 item 7: the policy is chosen by the path normalised as RFC 3986 §6.2.2 / §5.2.4 and as Envoy's
// normalize_path + merge_slashes would, never by the raw `:path`; a path that cannot be normalised without a guess is
// denied 403 PathInvalid. Each request goes through the real gRPC server. The controls (a public token allowed at
// /public, an admin token allowed at /admin) show the table can fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { explain } from '../../src/explain.js';
import type { CheckReply } from '../../src/grpc/check_client.js';
import { bearer, envoyCheckRequest, reasonOf, responseHeader } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { claimsFor, forge, rsaKey, staticKeysYaml } from './helpers/forge.js';

const ISS = 'https://static.example.com';
const NOW = Math.floor(Date.now() / 1000);
const key = rsaKey('path-rsa-1');
const tokenFor = (aud: string) => forge('RS256', key.signing, { alg: 'RS256', kid: key.kid }, claimsFor(NOW, ISS, aud));
const publicToken = tokenFor('api://public');
const adminToken = tokenFor('api://admin');

// Three policies that differ only in the audience they accept: which one judged a request shows in the outcome.
// `rest` (no match) is the weaker catch-all that a raw `//admin` fell through to.
const policy = (name: string, aud: string, match: string, token = '', mode = 'enforce') => `
  - name: ${name}
    mode: ${mode}
    ${match}
    validateJwt:
      issuerSigningKeys:
${staticKeysYaml([{ key }], 8)}
      issuers: ["${ISS}"]
      audiences: ["${aud}"]
      algorithms: ["RS256"]${token}`;
const CONFIG = `
policies:${policy('admin', 'api://admin', 'match: { pathPrefixes: ["/admin"] }')}${
  policy('public', 'api://public', 'match: { pathPrefixes: ["/public"] }')}${
  policy('query', 'api://public', 'match: { pathPrefixes: ["/qs"] }', '\n      queryParameterName: access_token')}${
  policy('trial', 'api://trial', 'match: { pathPrefixes: ["/trial"] }', '', 'report-only')}${
  policy('rest', 'api://public', '')}
`;

let tg: RunningTokengate;

beforeAll(async () => {
  tg = await startTokengate(CONFIG);
});

afterAll(async () => {
  await tg?.stop();
});

function check(path: string, token: string | undefined, contextExtensions?: Record<string, string>): Promise<CheckReply> {
  const headers = token === undefined ? {} : bearer(token);
  return tg.client.check(envoyCheckRequest({ path, headers, ...(contextExtensions ? { contextExtensions } : {}) }));
}

const policyOf = (res: CheckReply) => res.dynamic_metadata?.fields['tokengate.policy']?.stringValue;

function expectAllowed(res: CheckReply, policyName: string): void {
  expect(res.status.code, `denied with ${reasonOf(res)}`).toBe(0);
  expect(res.ok_response).toBeDefined();
  expect(policyOf(res)).toBe(policyName);
}

function expectDenied(res: CheckReply, reason: string, policyName: string | undefined): void {
  expect(res.status.code, 'must never be allowed').not.toBe(0);
  expect(res.ok_response).toBeUndefined();
  expect(reasonOf(res)).toBe(reason);
  expect(policyOf(res)).toBe(policyName);
}

/** 403 with a reason of its own, no Bearer challenge (the token is not at fault), APIM's body. */
function expectPathInvalid(res: CheckReply): void {
  expectDenied(res, 'PathInvalid', undefined);
  expect(res.status.code).toBe(7);
  expect(res.denied_response?.status.code).toBe(403);
  expect(responseHeader(res, 'www-authenticate')).toBeUndefined();
  expect(JSON.parse(res.denied_response!.body!)).toMatchObject({ statusCode: 403 });
}

// Each of these is /admin once normalised; on the raw path the first nine were judged by `public` and the last
// three fell through to `rest`, so the public token was allowed at /admin.
const TRAVERSALS = [
  '/public/../admin',
  '/public/%2e%2e/admin',
  '/public/%2E%2E/admin',
  '/public/.%2e/admin',
  '/public/./../admin',
  '/public/x/../../admin',
  '/public/../admin/',
  '/public/../admin?x=1',
  '/public/../../../admin',
  '//admin',
  '/./admin',
  '/%61dmin',
];

describe('the policy is chosen by the normalised path', () => {
  it('controls: the public token is allowed at /public, the admin token at /admin, each denied at the other', async () => {
    expectAllowed(await check('/public/x', publicToken), 'public');
    expectAllowed(await check('/admin', adminToken), 'admin');
    expectDenied(await check('/admin', publicToken), 'TokenAudienceNotAllowed', 'admin');
    expectDenied(await check('/public/x', adminToken), 'TokenAudienceNotAllowed', 'public');
  });

  for (const path of TRAVERSALS) {
    it(`${path} is judged by the /admin policy: public token denied, admin token allowed`, async () => {
      expectDenied(await check(path, publicToken), 'TokenAudienceNotAllowed', 'admin');
      expectAllowed(await check(path, adminToken), 'admin');
    });
  }

  it('a path already normal is matched as sent, including a merged slash inside the public tree', async () => {
    expectAllowed(await check('/public//x', publicToken), 'public');
    expectAllowed(await check('/public/%7Ex/a%3ab', publicToken), 'public');
  });

  it('the query is kept unchanged: a query-parameter token is still found after the path is normalised', async () => {
    const res = await check(`/public/../qs?a=%2F..%2F&access_token=${publicToken}`, undefined);
    expectAllowed(res, 'query');
  });
});

// Each hides a separator, or a dot segment some servers see and others do not.
const AMBIGUOUS = [
  '/public/..%2fadmin',
  '/public/..%2Fadmin',
  '/public%2f..%2fadmin',
  '/public/..%5cadmin',
  '/public/..%5Cadmin',
  '/public/..\\admin',
  '/public\\..\\admin',
  '/public/..;/admin',
  '/public/%2e%2e;x=1/admin',
  '/public/x//../../admin',
  '/public#/../admin',
  '/public/%zz',
  '/public/%2',
];

describe('a path that cannot be normalised unambiguously is denied 403 PathInvalid', () => {
  for (const path of AMBIGUOUS) {
    it(`${JSON.stringify(path)} → denied PathInvalid, whichever token`, async () => {
      expectPathInvalid(await check(path, publicToken));
      expectPathInvalid(await check(path, adminToken));
    });
  }

  it('also when the route names the policy through context_extensions (fail closed)', async () => {
    expectPathInvalid(await check('/public/..%2fadmin', publicToken, { policy: 'public' }));
    expectPathInvalid(await check('/public/..\\admin', publicToken, { policy: 'public' }));
  });

  it('also for a report-only policy, which would have let any other denial through', async () => {
    const res = await check('/trial/x', publicToken);
    expectAllowed(res, 'trial');
    expect(reasonOf(res)).toBe('TokenAudienceNotAllowed');
    expectPathInvalid(await check('/trial/..%2fx', publicToken));
    expectPathInvalid(await check('/trial/..%2fx', publicToken, { policy: 'trial' }));
  });

  it('a route that names its policy keeps it for a traversal that normalises: the route, not the path, chose', async () => {
    expectAllowed(await check('/public/../admin', publicToken, { policy: 'public' }), 'public');
  });

  it('the denial log line names the problem but not the query, which can carry a token', async () => {
    expectPathInvalid(await check(`/public/..%2fadmin?access_token=${publicToken}`, undefined));
    const lines = tg.logs.filter((l) => l.reason === 'PathInvalid');
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines.at(-1))).toContain('encoded slash');
    expect(tg.rawLog()).not.toContain(publicToken.split('.')[2]);
  });
});

describe('tokengate explain shows the path step', () => {
  const request = (path: string) => ({ token: publicToken, method: 'GET', path, host: 'api.example.com', headers: {}, contextExtensions: {} });

  it('a normalised path: the step says what was matched, and the /admin policy decides', async () => {
    const e = await explain(parseConfigText(CONFIG), request('/public/%2e%2e/admin'));
    expect(e.steps[0]).toEqual({ step: 'path', ok: true, detail: '/public/%2e%2e/admin is matched as /admin' });
    expect(e.policy).toBe('admin');
    expect(e.reason).toBe('TokenAudienceNotAllowed');
  });

  it('an ambiguous path: the failing step is "path", the denial 403 PathInvalid', async () => {
    const e = await explain(parseConfigText(CONFIG), request('/public/..%2fadmin'));
    expect(e.steps.at(-1)).toMatchObject({ step: 'path', ok: false });
    expect(e.steps.at(-1)?.detail).toContain('encoded slash');
    expect(e).toMatchObject({ decision: 'deny', reason: 'PathInvalid', httpStatus: 403, policy: null });
  });
});
