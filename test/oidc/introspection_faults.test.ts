import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { buildRuntime } from '../../src/authz/runtime.js';
import { parseConfigText } from '../../src/config/load.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { waitUntil } from '../helpers/wait.js';
import { closedPort, json, startFakeEndpoint, type FakeEndpoint } from './fake_endpoint.js';

// Every way an introspection endpoint can fail to answer is a denial within server.checkDeadlineMs, never an allow;
// the endpoints here are plain node:http servers that fail on purpose.
let dir: string;
let tg: RunningTokengate | undefined;
let endpoint: FakeEndpoint | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tokengate-introspection-'));
  writeFileSync(join(dir, 'secret'), 's3cret\n');
});

afterEach(async () => {
  await tg?.stop();
  await endpoint?.close();
  tg = endpoint = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function config(url: string, extra = ''): string {
  return `server:
  grpc: { address: "127.0.0.1:0" }
  http: { address: "127.0.0.1:0" }
  checkDeadlineMs: 300
policies:
  - name: api
    validateJwt:
      issuers: []
      audiences: []
      introspection:
        endpoint: "${url}"
        clientId: tokengate
        clientSecretFile: "${dir}/secret"
${extra.replace(/^/gm, '        ')}
`;
}

async function start(extra = '') {
  endpoint ??= await startFakeEndpoint();
  tg = await startTokengate(config(endpoint.url, extra));
  return { ep: endpoint, tg };
}

const OPAQUE = 'opaque-token-0123456789';
const active = () => ({ active: true, exp: Math.floor(Date.now() / 1000) + 300, sub: 'svc' });
const check = (token = OPAQUE) => tg!.client.check(envoyCheckRequest({ headers: bearer(token) }));

describe('introspection faults fail closed', () => {
  it('endpoint down: 503 IntrospectionUnavailable; /readyz lists it unhealthy but stays ready', async () => {
    tg = await startTokengate(config(`http://127.0.0.1:${await closedPort()}/introspect`));
    const res = await check();
    expect(reasonOf(res)).toBe('IntrospectionUnavailable');
    expect(res.denied_response?.status?.code).toBe(503);
    // The operator's problem, not the caller's: logged as a warning, like KeysUnavailable.
    await waitUntil(() => tg!.logs.some((l) => l.reason === 'IntrospectionUnavailable'), 'the decision log line');
    expect(tg.logs.find((l) => l.reason === 'IntrospectionUnavailable')).toMatchObject({ level: 'warn' });
    const readyz = await fetch(`http://127.0.0.1:${tg.app.opsPort}/readyz`);
    expect(readyz.status).toBe(200);
    const body = (await readyz.json()) as { introspection: { healthy: boolean; lastError: string }[] };
    expect(body.introspection).toHaveLength(1);
    expect(body.introspection[0]).toMatchObject({ healthy: false, lastError: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('endpoint slow: the check is denied at the deadline while the call is still waiting; the late answer is kept', async () => {
    let release: () => void = () => undefined;
    endpoint = await startFakeEndpoint((req, res) => {
      release = () => json(active())(req, res);
    });
    await start();
    const res = await check();
    expect(reasonOf(res)).toBe('IntrospectionUnavailable');
    expect(endpoint.pending()).toBe(1);
    release();
    await waitUntil(async () => (await check()).status?.code === 0, 'the late answer serves the next check');
    expect(endpoint.requests).toHaveLength(1);
  });

  const bad: [string, FakeEndpoint['reply']][] = [
    ['HTTP 500', json({ error: 'server_error' }, 500)],
    ['HTTP 503', json('', 503)],
    [
      'a redirect (never followed: the body carries the token)',
      (_req, res) => void res.writeHead(307, { location: '/x' }).end(),
    ],
    ['invalid JSON', json('{"active": tru')],
    ['a JSON array', json([{ active: true }])],
    ['JSON null', json('null')],
    ['a JSON string', json('"active"')],
    ['an object without active', json({ sub: 'svc', exp: 9999999999 })],
    ['active as the string "true" (RFC 7662 §2.2: a boolean)', json({ active: 'true', exp: 9999999999 })],
    ['claims nested deeper than 32 levels', json(`{"active":true,"x":${'['.repeat(40)}${']'.repeat(40)}}`)],
  ];
  for (const [what, reply] of bad) {
    it(`${what}: 503 IntrospectionUnavailable, not cached`, async () => {
      endpoint = await startFakeEndpoint(reply);
      await start();
      expect(reasonOf(await check())).toBe('IntrospectionUnavailable');
      expect(reasonOf(await check())).toBe('IntrospectionUnavailable');
      expect(endpoint.requests).toHaveLength(2);
    });
  }

  it('active: false is 401 TokenInactive, remembered for negativeCacheSeconds', async () => {
    endpoint = await startFakeEndpoint(json({ active: false, sub: 'ignored' }));
    await start('negativeCacheSeconds: 60');
    for (let i = 0; i < 3; i++) expect(reasonOf(await check())).toBe('TokenInactive');
    expect(endpoint.requests).toHaveLength(1);
  });

  it('cached answers keep passing while the endpoint is down, up to their lifetime (cacheSeconds)', async () => {
    endpoint = await startFakeEndpoint(json(active()));
    await start('cacheSeconds: 1');
    expect((await check()).status?.code).toBe(0);
    await endpoint.close();
    expect((await check()).status?.code).toBe(0);
    expect(reasonOf(await check('another-token-never-seen'))).toBe('IntrospectionUnavailable');
    await waitUntil(async () => reasonOf(await check()) === 'IntrospectionUnavailable', 'the cached answer to expire');
  });

  it('applyTo: opaque (the default) leaves JWTs to the signature check; applyTo: all introspects them too', async () => {
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`;
    endpoint = await startFakeEndpoint(json(active()));
    await start();
    expect(reasonOf(await check(jwt))).toBe('TokenSignatureKeyNotFound');
    expect(endpoint.requests).toHaveLength(0);
    await tg!.stop();
    tg = await startTokengate(config(endpoint.url, 'applyTo: all'));
    expect((await check(jwt)).status?.code).toBe(0);
    expect(endpoint.requests).toHaveLength(1);
    expect(endpoint.requests[0]!.form.get('token')).toBe(jwt);
  });
});

describe('an endpoint taken from the discovery document', () => {
  /** A discovery document (with an empty JWKS) naming `introspection` as its introspection_endpoint, if given. */
  async function discoveryServer(introspection: string | undefined): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer((req, res) => {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const body =
        req.url === '/jwks'
          ? { keys: [] }
          : { issuer: origin, jwks_uri: `${origin}/jwks`, introspection_endpoint: introspection };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/openid-configuration`;
    return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  const discoveredConfig = (url: string) => `server:
  grpc: { address: "127.0.0.1:0" }
  http: { address: "127.0.0.1:0" }
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "${url}" }]
      audiences: []
      introspection: { clientId: tokengate, clientSecretFile: "${dir}/secret" }
`;

  for (const [what, named, detail] of [
    ['a document naming no introspection_endpoint', undefined, /names no introspection_endpoint/],
    ['a document naming a plain http endpoint off loopback', 'http://idp.example.com/introspect', /must be https/],
  ] as const) {
    it(`${what}: 503 IntrospectionUnavailable, the document's fault on /readyz`, async () => {
      const doc = await discoveryServer(named);
      try {
        tg = await startTokengate(discoveredConfig(doc.url));
        expect(reasonOf(await check())).toBe('IntrospectionUnavailable');
        expect(tg.app.introspection()[0]).toMatchObject({ healthy: false, lastError: expect.stringMatching(detail) });
      } finally {
        await doc.close();
      }
    });
  }
});

describe('introspection config is refused at load, not at the first request', () => {
  it('plain http to a non-loopback host without allowInsecureHttp', () => {
    const text = config('http://idp.example.com/oauth2/introspect');
    expect(() => parseConfigText(text)).toThrow(/introspection\.endpoint: must be https:\/\/.*allowInsecureHttp/);
    expect(() =>
      parseConfigText(config('http://idp.example.com/oauth2/introspect', 'allowInsecureHttp: true')),
    ).not.toThrow();
  });

  it('a secret file that cannot be read (`tokengate validate` builds the runtime too)', () => {
    const parsed = parseConfigText(
      config('https://idp.example.com/introspect').replace(`${dir}/secret`, `${dir}/missing`),
    );
    expect(() => buildRuntime(parsed)).toThrow(ConfigError);
    expect(() => buildRuntime(parsed)).toThrow(/introspection\.clientSecretFile: cannot read .*missing: ENOENT/);
  });
});
