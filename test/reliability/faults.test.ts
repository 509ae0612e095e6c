import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { metric } from '../helpers/tokengate_process.js';
import { waitUntil } from '../helpers/wait.js';

let issuer: DevIssuer | undefined;
let tg: RunningTokengate | undefined;
let extra: Server | undefined;

afterEach(async () => {
  await tg?.stop();
  await issuer?.close();
  await new Promise((resolve) => (extra ? extra.close(resolve) : resolve(undefined)));
  tg = issuer = extra = undefined;
});

function config(keys: string, source = 'openidConfig: [{ url: "${ISSUER}/.well-known/openid-configuration" }]'): string {
  return `keys: { ${keys} }
policies:
  - name: api
    validateJwt:
      ${source}
      issuers: ["\${ISSUER}"]
      audiences: ["api://faults"]
`;
}

async function start(keys: string, options: { source?: string; waitForKeys?: boolean } = {}) {
  issuer ??= await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://faults' });
  tg = await startTokengate(config(keys, options.source), { ISSUER: issuer.issuer }, { waitForKeys: options.waitForKeys ?? true });
  return { issuer, tg };
}

const checkToken = async (token: string) => tg!.client.check(envoyCheckRequest({ headers: bearer(token) }));
const sourceStatus = () => tg!.app.keySources()[0]!;

describe('identity provider faults', () => {
  it('issuer down: known keys keep passing within maxStale, /readyz and metrics show the failing source, then KeysUnavailable', async () => {
    const { issuer, tg } = await start('cooldown: 0, maxStale: 2');
    const token = await issuer.sign({});
    await issuer.stop();
    // An unknown kid forces a refetch, which fails: from now on the keys age towards maxStale.
    await checkToken(await issuer.sign({}, { header: { kid: 'unknown' } }));
    await waitUntil(() => sourceStatus().lastError !== undefined, 'the failed refetch');
    expect((await checkToken(token)).status.code).toBe(0);
    const readyz = await fetch(`http://127.0.0.1:${tg.app.opsPort}/readyz`);
    expect(readyz.status).toBe(200);
    expect(JSON.stringify(await readyz.json())).toMatch(/ECONNREFUSED/);
    const failures = `tokengate_key_fetches_total{source="${issuer.issuer}/.well-known/openid-configuration",result="error"}`;
    expect(await metric(`http://127.0.0.1:${tg.app.opsPort}`, failures)).toBeGreaterThanOrEqual(1);
    // Past maxStale the source's tokens are denied with 503, and readiness goes red.
    await waitUntil(async () => reasonOf(await checkToken(token)) === 'KeysUnavailable', 'keys past maxStale', 10_000);
    expect((await checkToken(token)).denied_response?.status.code).toBe(503);
    expect((await fetch(`http://127.0.0.1:${tg.app.opsPort}/readyz`)).status).toBe(503);
  });

  const documentFaults: [string, Parameters<DevIssuer['setFault']>[0], RegExp][] = [
    ['answers after the fetch timeout', { kind: 'delay', ms: 4000 }, /no answer within 1500 ms/],
    ['returns 500', { kind: 'status', status: 500 }, /HTTP 500/],
    ['returns invalid JSON', { kind: 'body', body: '{"keys": [' }, /not JSON/],
    ['redirects to another host', { kind: 'redirect', location: 'http://127.0.0.2:1/keys' }, /redirect to http:\/\/127\.0\.0\.2:1\/keys not followed/],
  ];
  for (const [name, fault, error] of documentFaults) {
    it(`JWKS ${name}: the source reports it, no key is made up, tokens are denied with 503`, async () => {
      issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://faults' });
      issuer.setFault(fault, 'jwks');
      // 1.5 s: long enough that a loaded CI machine still gets the 500 / the bad JSON / the redirect in time.
      await start('fetchTimeout: 1.5', { source: 'jwksUri: ["${ISSUER}/keys"]' });
      expect(sourceStatus()).toMatchObject({ usable: false, keyCount: 0 });
      expect(sourceStatus().lastError).toMatch(error);
      expect(reasonOf(await checkToken(await issuer.sign({})))).toBe('KeysUnavailable');
    });
  }

  it('a redirect is followed only when keys.followRedirects is true', async () => {
    issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://faults' });
    issuer.setFault({ kind: 'redirect', location: `${issuer.jwksUri}?moved=1` }, 'jwks');
    // The redirect target is the same issuer's JWKS; the fault applies to it too, so serve the target elsewhere.
    const jwks = await (await fetch(issuer.jwksUri, { redirect: 'manual' })).headers.get('location');
    expect(jwks).toBe(`${issuer.jwksUri}?moved=1`);
    issuer.setFault(undefined);
    const body = await (await fetch(issuer.jwksUri)).text();
    extra = createServer((_req, res) => {
      res.writeHead(302, { location: issuer!.jwksUri });
      res.end();
    });
    await new Promise<void>((resolve) => extra!.listen(0, '127.0.0.1', resolve));
    const redirector = `http://127.0.0.1:${(extra.address() as { port: number }).port}/keys`;
    await start('followRedirects: true', { source: `jwksUri: ["${redirector}"]` });
    expect(sourceStatus()).toMatchObject({ usable: true, keyCount: JSON.parse(body).keys.length });
    expect((await checkToken(await issuer.sign({}))).status.code).toBe(0);
  });

  it('a JWKS with malformed keys beside good ones: the good ones still work', async () => {
    issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://faults' });
    const good = JSON.parse(await (await fetch(issuer.jwksUri)).text()).keys;
    const bad = [{ kty: 'RSA', kid: 'broken', n: '!!', e: 'AQAB' }, { kty: 'EC', kid: 'short', crv: 'P-256', x: 'AA', y: 'AA' }, 'not-a-key', { kty: 'RSA', kid: 'tiny', n: 'AQAB', e: 'AQAB' }];
    issuer.setFault({ kind: 'body', body: JSON.stringify({ keys: [...bad, ...good] }) }, 'jwks');
    await start('', { source: 'jwksUri: ["${ISSUER}/keys"]' });
    expect(sourceStatus()).toMatchObject({ usable: true, keyCount: good.length });
    expect((await checkToken(await issuer.sign({}))).status.code).toBe(0);
    expect(reasonOf(await checkToken(await issuer.sign({}, { header: { kid: 'broken' } })))).toBe('TokenSignatureKeyNotFound');
    expect(tg!.rawLog()).toMatch(/JWKS keys skipped/);
  });

  it('a discovery document naming another issuer is rejected', async () => {
    issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://faults' });
    const doc = JSON.parse(await (await fetch(issuer.discoveryUrl)).text());
    issuer.setFault({ kind: 'body', body: JSON.stringify({ ...doc, issuer: 'https://evil.example.com' }) }, 'discovery');
    await start('');
    expect(sourceStatus().lastError).toMatch(/names issuer "https:\/\/evil\.example\.com"/);
    expect(reasonOf(await checkToken(await issuer.sign({})))).toBe('KeysUnavailable');
  });
});

describe('key rotation', () => {
  it('a removed key stops working after the next refresh; the new one works at once', async () => {
    const { issuer } = await start('cooldown: 0');
    const oldKid = issuer.keys()[0]!.kid;
    const oldToken = await issuer.sign({});
    const newKid = await issuer.addKey('ES256');
    expect((await checkToken(await issuer.sign({}, { kid: newKid }))).status.code).toBe(0);
    issuer.removeKey(oldKid);
    // Until a refresh, the cached old key still verifies (the issuer may have tokens in flight signed with it).
    expect((await checkToken(oldToken)).status.code).toBe(0);
    await checkToken(await issuer.sign({}, { header: { kid: 'forces-a-refresh' } }));
    expect(reasonOf(await checkToken(oldToken))).toBe('TokenSignatureKeyNotFound');
  });
});

describe('key-fetch amplification', () => {
  it('10 000 checks with random unknown kids cause at most a handful of JWKS fetches; known-key checks keep passing', async () => {
    const { issuer, tg } = await start('cooldown: 30');
    const before = issuer.hits.jwks;
    const good = await issuer.sign({});
    const [, payload, signature] = good.split('.') as [string, string, string];
    let allowed = 0;
    for (let batch = 0; batch < 20; batch++) {
      const checks = Array.from({ length: 500 }, () => {
        const unknownHeader = Buffer.from(JSON.stringify({ alg: 'ES256', kid: randomUUID() })).toString('base64url');
        return checkToken(`${unknownHeader}.${payload}.${signature}`);
      });
      checks.push(checkToken(good).then((r) => (r.status.code === 0 && allowed++, r)));
      const answers = await Promise.all(checks);
      expect(answers.slice(0, 500).every((a) => reasonOf(a) === 'TokenSignatureKeyNotFound')).toBe(true);
    }
    expect(allowed).toBe(20);
    expect(issuer.hits.jwks - before).toBeLessThanOrEqual(2);
    expect(tg.app.runtime.cache.size).toBeLessThan(10);
    // 10,000 checks over real gRPC: about 5 s on an idle 2-core machine, over 20 s seen under a load of 8.
  }, 90_000);
});

describe('internal deadline', () => {
  it('a check still waiting for keys at server.checkDeadlineMs is denied with KeysUnavailable, never allowed', async () => {
    const { issuer, tg } = await start('cooldown: 0');
    const newKid = await issuer.addKey('ES256');
    issuer.setFault({ kind: 'hang' }, 'all');
    const token = await issuer.sign({}, { kid: newKid });
    const res = await checkToken(token);
    expect(reasonOf(res)).toBe('KeysUnavailable');
    expect(res.denied_response?.status.code).toBe(503);
    // The fetch itself is still hanging (fetchTimeout 5 s): the check was answered by the deadline, not the fetch.
    expect(tg.app.keySources()[0]!.lastError).toBeUndefined();
  });
});
