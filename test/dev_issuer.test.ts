// The dev issuer is the key source for every integration test, so it is proven
// here over real HTTP with jose's own remote JWKS client.
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { startDevIssuer } from '../src/dev_issuer/dev_issuer.js';
import { isLoopbackHost } from '../src/net/loopback.js';
import type { DevIssuer } from '../src/dev_issuer/dev_issuer.js';
import { SUPPORTED_ALGORITHMS } from '../src/dev_issuer/keys.js';
import { waitUntil } from './helpers/wait.js';

async function verifyRemote(issuer: DevIssuer, token: string, audience = 'api://tokengate-demo') {
  const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
  return jwtVerify(token, jwks, { issuer: issuer.issuer, audience });
}

async function getJson(url: string): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('dev issuer', () => {
  let issuer: DevIssuer;

  beforeAll(async () => {
    issuer = await startDevIssuer({
      algorithms: [...SUPPORTED_ALGORITHMS],
      issuerPath: 'tenant-a/v2.0',
      cacheMaxAge: 123,
    });
  });
  afterAll(async () => {
    await issuer.close();
  });
  afterEach(() => {
    issuer.setFault(undefined, 'all');
  });

  it('serves discovery and JWKS with Cache-Control max-age', async () => {
    expect(issuer.issuer).toBe(`http://127.0.0.1:${issuer.port}/tenant-a/v2.0`);
    const discovery = await getJson(issuer.discoveryUrl);
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('cache-control')).toMatch(/max-age=123\b/);
    expect(discovery.body).toMatchObject({
      issuer: issuer.issuer,
      jwks_uri: issuer.jwksUri,
      token_endpoint: issuer.tokenEndpoint,
      response_types_supported: expect.any(Array),
    });
    expect(discovery.body.id_token_signing_alg_values_supported).toEqual([...SUPPORTED_ALGORITHMS]);

    const jwks = await getJson(issuer.jwksUri);
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('cache-control')).toMatch(/max-age=123\b/);
    expect(jwks.body.keys.map((k: any) => ({ kid: k.kid, alg: k.alg }))).toEqual(issuer.keys());
    for (const key of jwks.body.keys) {
      expect(key.use).toBe('sig');
      // Public keys only: no private RSA/EC/OKP members.
      for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(privateMember);
    }
  });

  it.each(SUPPORTED_ALGORITHMS.map((alg) => [alg]))('signs %s tokens that verify against the remote JWKS', async (alg) => {
    const token = await issuer.sign({ custom: 'x' }, { alg });
    const { payload, protectedHeader } = await verifyRemote(issuer, token);
    expect(protectedHeader.alg).toBe(alg);
    expect(protectedHeader.kid).toBe(issuer.keys().find((k) => k.alg === alg)!.kid);
    expect(payload).toMatchObject({ iss: issuer.issuer, aud: 'api://tokengate-demo', sub: 'dev-user', custom: 'x' });
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.nbf).toBe(payload.iat);
  });

  it('lets claims and header options shape the token', async () => {
    const token = await issuer.sign(
      { sub: 'alice', nbf: undefined },
      { alg: 'ES256', kid: null, header: { typ: 'at+jwt', crit: ['x-ext'], 'x-ext': 1 }, expiresIn: 60 },
    );
    const header = decodeProtectedHeader(token);
    expect(header).not.toHaveProperty('kid');
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', crit: ['x-ext'] });
    const jwks = createRemoteJWKSet(new URL(issuer.jwksUri));
    // jose rejects unknown critical extensions unless told about them, as a verifier should.
    await expect(jwtVerify(token, jwks)).rejects.toThrow(/x-ext/);
    const { payload } = await jwtVerify(token, jwks, { crit: { 'x-ext': true } });
    expect(payload.sub).toBe('alice');
    expect(payload).not.toHaveProperty('nbf');
    expect(payload.exp! - payload.iat!).toBe(60);

    const bare = await issuer.sign({ foo: 1 }, { noDefaults: true });
    const { payload: barePayload } = await jwtVerify(bare, createRemoteJWKSet(new URL(issuer.jwksUri)));
    expect(barePayload).toEqual({ foo: 1 });
  });

  it('addKey and removeKey change the published JWKS', async () => {
    const kid = await issuer.addKey('ES256', 'rotated-es256');
    expect(kid).toBe('rotated-es256');
    let jwks = await getJson(issuer.jwksUri);
    expect(jwks.body.keys.map((k: any) => k.kid)).toContain(kid);
    // The newest published key of an alg becomes its default signing key.
    expect(decodeProtectedHeader(await issuer.sign({}, { alg: 'ES256' })).kid).toBe(kid);

    issuer.removeKey(kid);
    jwks = await getJson(issuer.jwksUri);
    expect(jwks.body.keys.map((k: any) => k.kid)).not.toContain(kid);
    expect(issuer.keys().map((k) => k.kid)).not.toContain(kid);

    // Removed keys still sign, so tests can produce tokens with an unknown kid.
    const orphan = await issuer.sign({}, { kid });
    expect(decodeProtectedHeader(orphan).kid).toBe(kid);
    await expect(verifyRemote(issuer, orphan)).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(() => issuer.removeKey('no-such-kid')).toThrow(/unknown kid/);
    await expect(issuer.addKey('HS256')).rejects.toThrow(/unsupported algorithm/);
  });

  it('injects status, delay, body and redirect faults and counts hits', async () => {
    const before = { ...issuer.hits };

    issuer.setFault({ kind: 'status', status: 500 }, 'jwks');
    expect((await fetch(issuer.jwksUri)).status).toBe(500);
    expect((await fetch(issuer.discoveryUrl)).status).toBe(200); // other routes unaffected
    await expect(verifyRemote(issuer, await issuer.sign({}))).rejects.toBeInstanceOf(errors.JOSEError);

    issuer.setFault({ kind: 'delay', ms: 150 }, 'jwks');
    const started = performance.now();
    const delayed = await fetch(issuer.jwksUri);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(delayed.status).toBe(200);
    expect(((await delayed.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);

    issuer.setFault({ kind: 'body', body: '{"keys": [{"kty": "RSA", "n": 1' }, 'jwks');
    const broken = await fetch(issuer.jwksUri);
    expect(broken.status).toBe(200);
    expect(await broken.text()).toBe('{"keys": [{"kty": "RSA", "n": 1');

    issuer.setFault({ kind: 'redirect', location: 'http://127.0.0.1:1/elsewhere' }, 'all');
    const redirected = await fetch(issuer.discoveryUrl, { redirect: 'manual' });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('location')).toBe('http://127.0.0.1:1/elsewhere');

    issuer.setFault(undefined, 'all');
    expect((await fetch(issuer.jwksUri)).status).toBe(200);

    // Four direct fetches plus jose's own fetch that got the 500; faulted requests count.
    expect(issuer.hits.jwks - before.jwks).toBe(5);
    expect(issuer.hits.discovery - before.discovery).toBe(2);
  });

  it('serves a verifiable token from the token endpoint', async () => {
    const hitsBefore = issuer.hits.token;
    const res = await fetch(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        sub: 'svc-1',
        aud: 'api://orders',
        scope: 'orders.read  orders.write',
        roles: 'Admin, Reader',
        expires_in: '600',
        alg: 'PS256',
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600 });
    const { payload, protectedHeader } = await verifyRemote(issuer, body.access_token, 'api://orders');
    expect(protectedHeader.alg).toBe('PS256');
    expect(payload).toMatchObject({ sub: 'svc-1', scp: 'orders.read orders.write', roles: ['Admin', 'Reader'] });
    expect(payload.exp! - payload.iat!).toBe(600);

    const viaGet = await getJson(`${issuer.tokenEndpoint}?scope=read`);
    expect(viaGet.status).toBe(200);
    const fromGet = await verifyRemote(issuer, viaGet.body.access_token);
    expect(fromGet.payload).toMatchObject({ sub: 'dev-user', scp: 'read' });
    expect(fromGet.protectedHeader.alg).toBe(SUPPORTED_ALGORITHMS[0]);

    const viaJson = await fetch(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ roles: ['a', 'b'], alg: 'EdDSA' }),
    });
    const fromJson = await verifyRemote(issuer, ((await viaJson.json()) as any).access_token);
    expect(fromJson.payload.roles).toEqual(['a', 'b']);

    for (const bad of ['expires_in=-5', 'alg=HS256', 'alg=none']) {
      const rejected = await getJson(`${issuer.tokenEndpoint}?${bad}`);
      expect(rejected.status).toBe(400);
      expect(rejected.body.error).toBe('invalid_request');
    }
    const badJson = await fetch(issuer.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(badJson.status).toBe(400);
    expect(issuer.hits.token - hitsBefore).toBe(7);
  });

  it('answers unknown paths and methods with JSON errors and survives garbage requests', async () => {
    const missing = await getJson(`http://127.0.0.1:${issuer.port}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
    // "//host/keys" must not be mistaken for the JWKS route.
    expect((await getJson(`http://127.0.0.1:${issuer.port}//evil/tenant-a/v2.0/keys`)).status).toBe(404);
    expect((await fetch(issuer.jwksUri, { method: 'DELETE' })).status).toBe(405);

    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(issuer.port, '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.end('NOT HTTP AT ALL\r\n\r\n');
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await fetch(issuer.jwksUri)).status).toBe(200);
  });
});

describe('dev issuer lifecycle', () => {
  it('stop() makes fetches fail and start() serves again on the same port', async () => {
    const issuer = await startDevIssuer();
    try {
      const port = issuer.port;
      const jwksBefore = await getJson(issuer.jwksUri);
      await issuer.stop();
      await expect(fetch(issuer.jwksUri)).rejects.toThrow();
      await issuer.start();
      expect(issuer.port).toBe(port);
      const jwksAfter = await getJson(issuer.jwksUri);
      expect(jwksAfter.body).toEqual(jwksBefore.body); // keys survive a restart
    } finally {
      await issuer.close();
    }
  });

  it('hang and delay faults are cut off by stop()', async () => {
    const issuer = await startDevIssuer({ algorithms: ['ES256'] });
    try {
      issuer.setFault({ kind: 'hang' }, 'jwks');
      const hung = fetch(issuer.jwksUri);
      await waitUntil(() => issuer.hits.jwks === 1, 'the hung JWKS request', 5_000);
      issuer.setFault({ kind: 'delay', ms: 60_000 }, 'discovery');
      const delayed = fetch(issuer.discoveryUrl);
      await waitUntil(() => issuer.hits.discovery === 1, 'the delayed discovery request', 5_000);
      // Attach the expectations first: both requests fail during stop().
      const failures = Promise.all([expect(hung).rejects.toThrow(), expect(delayed).rejects.toThrow()]);
      const stopStarted = performance.now();
      await issuer.stop();
      expect(performance.now() - stopStarted).toBeLessThan(1_000);
      await failures;

      issuer.setFault(undefined);
      await issuer.start();
      expect((await fetch(issuer.jwksUri)).status).toBe(200);
    } finally {
      await issuer.close();
    }
    await expect(issuer.start()).rejects.toThrow(/closed/);
  });

  it('refuses non-loopback hosts unless allowed', async () => {
    await expect(startDevIssuer({ host: '0.0.0.0' })).rejects.toThrow(/non-loopback host "0.0.0.0"/);
    await expect(startDevIssuer({ host: '192.168.1.10' })).rejects.toThrow(/allowNonLoopback/);
    // One loopback rule for the whole project: bind hosts as written, and URL hostnames with IPv6 in brackets.
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST', '[::1]']) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1', '[::]', '127.0.0.1.example.com']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });

  it('rejects unsupported algorithms and odd issuer paths up front', async () => {
    await expect(startDevIssuer({ algorithms: ['HS256'] })).rejects.toThrow(/unsupported algorithm "HS256"/);
    await expect(startDevIssuer({ issuerPath: 'a/../b' })).rejects.toThrow(/issuerPath/);
  });

  it('binds ::1 with a bracketed issuer URL', async () => {
    let issuer: DevIssuer;
    try {
      issuer = await startDevIssuer({ host: '::1', algorithms: ['ES256'] });
    } catch (err) {
      // Some sandboxes have no IPv6 loopback; nothing to prove there.
      if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') return;
      throw err;
    }
    try {
      expect(issuer.issuer).toBe(`http://[::1]:${issuer.port}`);
      const { payload } = await verifyRemote(issuer, await issuer.sign({}));
      expect(payload.iss).toBe(issuer.issuer);
    } finally {
      await issuer.close();
    }
  });
});
