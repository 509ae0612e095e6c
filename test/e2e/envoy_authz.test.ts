// The e2e tier: real HTTP and gRPC requests through a real Envoy (rendered from the shipped envoy/envoy.yaml)
// whose ext_authz filter calls tokengate (the built CLI, a child process) over gRPC/TCP; keys and tokens come
// from the dev issuer over real HTTP. See test/e2e/helpers/stack.ts for the topology and tokengate's config.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResult } from '../helpers/http.js';
import { waitFor } from '../helpers/wait.js';
import { startStack, type E2eStack } from './helpers/stack.js';
import type { EchoRequest } from './helpers/upstreams.js';

const GRPC_OK = 0;
const GRPC_UNAVAILABLE = 14;
const GRPC_UNAUTHENTICATED = 16;
const INVALID_TOKEN_MESSAGE = 'Unauthorized. Access token is missing or invalid.';
const INSUFFICIENT_SCOPE_MESSAGE = 'Forbidden. Access token does not grant access to this resource.';

/** A user allowed on /orders (scp orders.read) but not on /admin (no Admin role). */
const ORDERS_USER = { scp: 'orders.read profile', oid: 'oid-e2e-123', roles: ['Reader'] };

let stack: E2eStack;

beforeAll(async () => {
  stack = await startStack({ transport: 'tcp' });
});

afterAll(async () => {
  await stack?.close();
});

const now = () => Math.floor(Date.now() / 1000);

/** A freshly signed token (unique jti, so tokengate's signature cache never answers for it). */
function sign(claims: Record<string, unknown> = {}, options: { kid?: string } = {}): Promise<string> {
  return stack.issuer.sign({ ...ORDERS_USER, jti: randomUUID(), ...claims }, options);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function echoed(res: HttpResult): EchoRequest {
  expect(res.status, res.body).toBe(200);
  expect(res.headers['x-echo-upstream'], 'the 200 must come from the upstream').toBe('1');
  return JSON.parse(res.body) as EchoRequest;
}

/** A denial made by tokengate and sent by Envoy: status, RFC 6750 challenge, APIM JSON body, upstream untouched. */
async function expectDenied(path: string, headers: Record<string, string>, status: number, challenge: string, message: string) {
  const before = stack.echo.count;
  const res = await stack.get(path, headers);
  expect(res.status, res.body).toBe(status);
  expect(res.headers['www-authenticate']).toBe(challenge);
  expect(res.headers['content-type']).toBe('application/json');
  expect(res.body).toBe(JSON.stringify({ statusCode: status, message }));
  expect(stack.echo.count, 'a denied request must never reach the upstream').toBe(before);
  return res;
}

describe('HTTP through Envoy', () => {
  it('valid token: 200 from the upstream, which sees the claim header (forged one overwritten) and no token', async () => {
    const before = stack.echo.count;
    const res = await stack.get('/orders/42?x=1', { ...bearer(await sign()), 'x-user-oid': 'forged-by-client' });
    const seen = echoed(res);
    expect(seen.url).toBe('/orders/42?x=1');
    expect(seen.headers['x-user-oid']).toBe('oid-e2e-123'); // a single value: the forged one did not survive beside it
    expect(seen.headers.authorization, 'removeToken: true strips the token before the upstream').toBeUndefined();
    expect(stack.echo.count).toBe(before + 1);
  });

  it('no token: 401 with a bare Bearer challenge and the APIM JSON body intact', async () => {
    const res = await expectDenied('/orders', {}, 401, 'Bearer', INVALID_TOKEN_MESSAGE);
    expect(JSON.parse(res.body)).toEqual({ statusCode: 401, message: INVALID_TOKEN_MESSAGE });
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
  });

  it('bad signature: 401 invalid_token', async () => {
    const [h, p, s] = (await sign()).split('.') as [string, string, string];
    // Flip one character in the middle of the signature (the last one may only carry padding bits).
    const i = Math.floor(s.length / 2);
    const forged = `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    await expectDenied('/orders', bearer(forged), 401, 'Bearer error="invalid_token"', INVALID_TOKEN_MESSAGE);
  });

  it('expired token: 401 invalid_token', async () => {
    const token = await sign({ iat: now() - 600, nbf: now() - 600, exp: now() - 60 });
    await expectDenied('/orders', bearer(token), 401, 'Bearer error="invalid_token"', INVALID_TOKEN_MESSAGE);
  });

  it('wrong audience: 401 invalid_token', async () => {
    const token = await sign({ aud: 'api://someone-else' });
    await expectDenied('/orders', bearer(token), 401, 'Bearer error="invalid_token"', INVALID_TOKEN_MESSAGE);
  });

  it('valid token missing the required scope: 403 insufficient_scope', async () => {
    const token = await sign({ scp: 'profile orders.write' });
    await expectDenied('/orders', bearer(token), 403, 'Bearer error="insufficient_scope"', INSUFFICIENT_SCOPE_MESSAGE);
  });

  it('routes with different context_extensions get different policies', async () => {
    const ordersUser = await sign();
    // /admin -> policy admin (roles must include Admin): the orders user is refused there...
    await expectDenied('/admin/users', bearer(ordersUser), 403, 'Bearer error="insufficient_scope"', INSUFFICIENT_SCOPE_MESSAGE);
    // ...while an Admin without the orders scope is let into /admin and refused on /orders.
    const admin = await sign({ scp: 'profile', roles: ['Reader', 'Admin'], oid: 'oid-admin' });
    const seen = echoed(await stack.get('/admin/users', bearer(admin)));
    expect(seen.headers['x-user-oid']).toBe('oid-admin');
    expect(seen.headers.authorization, 'the admin policy does not remove the token').toBe(`Bearer ${admin}`);
    await expectDenied('/orders', bearer(admin), 403, 'Bearer error="insufficient_scope"', INSUFFICIENT_SCOPE_MESSAGE);
    // The default route sends no context_extensions: tokengate's `default` policy (issuer + audience only) applies.
    const other = echoed(await stack.get('/reports', bearer(await sign({ scp: 'profile', roles: [] }))));
    expect(other.headers['x-user-oid']).toBeUndefined();
    await expectDenied('/reports', {}, 401, 'Bearer', INVALID_TOKEN_MESSAGE);
  });

  it('the health route passes without a token and is answered by Envoy itself', async () => {
    const before = stack.echo.count;
    const res = await stack.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok\n');
    expect(stack.echo.count).toBe(before);
  });
});

describe('gRPC through Envoy', () => {
  it('a call with a valid bearer token reaches the gRPC upstream with the claim header; without one it is UNAUTHENTICATED', async () => {
    const calls = stack.grpcUpstream.calls.length;
    const token = await sign();
    const ok = await stack.grpc({ ...bearer(token), 'x-user-oid': 'forged-by-client' });
    expect(ok.code, ok.details).toBe(GRPC_OK);
    expect(ok.response).toEqual({ status: 'SERVING' });
    expect(stack.grpcUpstream.calls.length).toBe(calls + 1);
    const md = stack.grpcUpstream.calls.at(-1)!;
    expect(md['x-user-oid']).toBe('oid-e2e-123');
    expect(md.authorization).toBe(`Bearer ${token}`);

    const denied = await stack.grpc({});
    expect(denied.code, denied.details).toBe(GRPC_UNAUTHENTICATED);
    const forged = await stack.grpc(bearer((await sign()).slice(0, -4) + 'AAAA'));
    expect(forged.code, forged.details).toBe(GRPC_UNAUTHENTICATED);
    expect(stack.grpcUpstream.calls.length, 'denied calls never reach the upstream').toBe(calls + 1);
  });
});

describe("Envoy's ext_authz stats", () => {
  it('ok and denied counters move by exactly what the test sent', async () => {
    const names = ['ok', 'denied', 'error', 'failure_mode_allowed'].map((s) => `http.ingress_http.ext_authz.${s}`);
    const read = async () => Object.fromEntries(await Promise.all(names.map(async (n) => [n, await stack.envoy.counter(n)] as const)));
    const before = await read();

    const allowed = [
      stack.get('/orders', bearer(await sign())),
      stack.get('/orders/7', bearer(await sign())),
      stack.get('/admin', bearer(await sign({ roles: ['Admin'] }))),
      stack.get('/anything', bearer(await sign())),
    ];
    const denied = [
      stack.get('/orders'),
      stack.get('/orders', bearer(await sign({ scp: 'profile' }))),
      stack.get('/admin', bearer(await sign())),
      stack.get('/anything', bearer(await sign({ aud: 'api://nope' }))),
      stack.get('/orders', bearer(await sign({ iat: now() - 600, nbf: now() - 600, exp: now() - 1 }))),
    ];
    const statuses = await Promise.all([...allowed, ...denied].map(async (p) => (await p).status));
    expect(statuses).toEqual([200, 200, 200, 200, 401, 403, 403, 401, 401]);
    expect((await stack.grpc(bearer(await sign()))).code).toBe(GRPC_OK);
    expect((await stack.grpc({})).code).toBe(GRPC_UNAUTHENTICATED);
    // ext_authz is disabled on the health route: not counted.
    expect((await stack.get('/healthz')).status).toBe(200);

    const after = await read();
    expect(after['http.ingress_http.ext_authz.ok']! - before['http.ingress_http.ext_authz.ok']!).toBe(4 + 1);
    expect(after['http.ingress_http.ext_authz.denied']! - before['http.ingress_http.ext_authz.denied']!).toBe(5 + 1);
    expect(after['http.ingress_http.ext_authz.error']).toBe(before['http.ingress_http.ext_authz.error']);
    expect(after['http.ingress_http.ext_authz.failure_mode_allowed']).toBe(0);
  });
});

describe('key rotation at the issuer while traffic flows', () => {
  it('no valid request fails: old-kid tokens keep passing and new-kid tokens pass from the first one', async () => {
    const issuer = stack.issuer;
    const oldKid = issuer.keys().find((k) => k.alg === 'RS256')!.kid;
    const jwksFetchesBefore = issuer.hits.jwks;
    const upstreamBefore = stack.echo.count;
    const TOTAL = 200;
    const WORKERS = 4;
    const ROTATE_AT = 60;
    const PACE_MS = 40; // 200 requests over ~2 s (4 workers x 50 requests x 40 ms): traffic, not a burst
    let newKid: string | undefined;
    let rotation: Promise<string> | undefined;
    let next = 0;
    const results: { i: number; kid: string; status: number; body: string }[] = [];

    const worker = async () => {
      for (let i = next++; i < TOTAL; i = next++) {
        if (i === ROTATE_AT) rotation = issuer.addKey('RS256');
        if (rotation && !newKid) newKid = await rotation;
        // After the rotation every other request uses the new key; the old key stays published (no removeKey).
        const kid = newKid && i % 2 === 0 ? newKid : oldKid;
        const res = await stack.get(`/orders/${i}`, bearer(await sign({}, { kid })));
        results.push({ i, kid, status: res.status, body: res.body });
        await new Promise((resolve) => setTimeout(resolve, PACE_MS));
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));

    expect(newKid).toBeDefined();
    expect(results).toHaveLength(TOTAL);
    const failures = results.filter((r) => r.status !== 200);
    expect(failures, JSON.stringify(failures.slice(0, 5))).toEqual([]);
    const newKidRequests = results.filter((r) => r.kid === newKid).length;
    expect(newKidRequests).toBeGreaterThanOrEqual(50);
    expect(results.filter((r) => r.kid === oldKid).length).toBeGreaterThanOrEqual(50);
    expect(stack.echo.count).toBe(upstreamBefore + TOTAL);
    // The new kid was learnt from the issuer's JWKS over HTTP (an unknown-kid refetch), not from a restart.
    expect(issuer.hits.jwks).toBeGreaterThan(jwksFetchesBefore);
  });
});

describe('tokengate down and back (Envoy untouched)', () => {
  it('fails closed with 503 while tokengate is stopped, and passes again once it is restarted', async () => {
    const envoyPid = stack.envoy.proc.pid;
    const token = await sign();
    expect((await stack.get('/orders', bearer(token))).status).toBe(200);

    const exit = await stack.stopTokengate();
    expect(exit, stack.tokengate.logTail()).toEqual({ code: 0, signal: null });

    const upstreamBefore = stack.echo.count;
    const grpcBefore = stack.grpcUpstream.calls.length;
    const errorsBefore = await stack.envoy.counter('http.ingress_http.ext_authz.error');
    for (let i = 0; i < 3; i++) {
      const res = await stack.get('/orders', bearer(await sign()));
      expect(res.status, res.body).toBe(503);
      expect(res.headers['x-echo-upstream']).toBeUndefined();
    }
    const rpc = await stack.grpc(bearer(token));
    expect(rpc.code, rpc.details).toBe(GRPC_UNAVAILABLE);
    expect(stack.echo.count, 'fail closed: nothing forwarded while tokengate is down').toBe(upstreamBefore);
    expect(stack.grpcUpstream.calls.length).toBe(grpcBefore);
    expect(await stack.envoy.counter('http.ingress_http.ext_authz.error')).toBe(errorsBefore + 4);
    // The health route never depended on tokengate.
    expect((await stack.get('/healthz')).status).toBe(200);

    await stack.startTokengate(); // same config, same address; waits for /readyz
    const passed = await waitFor(
      'a request through Envoy to pass again after the tokengate restart',
      async () => {
        const res = await stack.get('/orders', bearer(await sign()));
        return res.status === 200 ? res : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, diagnostics: () => stack.envoy.logTail() },
    );
    expect(echoed(passed).headers['x-user-oid']).toBe('oid-e2e-123');
    await stack.envoy.waitTokengateHealthy();
    expect(stack.envoy.proc.running).toBe(true);
    expect(stack.envoy.proc.pid, 'Envoy was not restarted').toBe(envoyPid);
    expect((await stack.grpc(bearer(await sign()))).code).toBe(GRPC_OK);
  });
});
