// The Unix-socket variant: tokengate serves ext_authz on unix:/tmp/.../authz.sock and Envoy's tokengate
// cluster is rendered (scripts/render-envoy-config.mjs, tokengateSocket) to reach it through a `pipe` address.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type E2eStack } from './helpers/stack.js';

let stack: E2eStack;

beforeAll(async () => {
  stack = await startStack({ transport: 'unix' });
});

afterAll(async () => {
  await stack?.close();
});

it('Envoy reaches tokengate over a Unix socket: one allow, one deny', async () => {
  expect(await stack.envoy.clusters()).toMatch(new RegExp(`^tokengate::${stack.dir.replaceAll('.', '\\.')}/authz\\.sock::health_flags::healthy$`, 'm'));

  const token = await stack.issuer.sign({ scp: 'orders.read', oid: 'oid-uds' });
  const allowed = await stack.get('/orders', { authorization: `Bearer ${token}`, 'x-user-oid': 'forged' });
  expect(allowed.status, allowed.body).toBe(200);
  const seen = JSON.parse(allowed.body) as { headers: Record<string, string> };
  expect(seen.headers['x-user-oid']).toBe('oid-uds');
  expect(seen.headers.authorization).toBeUndefined();

  const before = stack.echo.count;
  const denied = await stack.get('/orders');
  expect(denied.status).toBe(401);
  expect(denied.headers['www-authenticate']).toBe('Bearer');
  expect(JSON.parse(denied.body)).toEqual({ statusCode: 401, message: 'Unauthorized. Access token is missing or invalid.' });
  expect(stack.echo.count).toBe(before);
  expect(await stack.envoy.counter('http.ingress_http.ext_authz.ok')).toBe(1);
  expect(await stack.envoy.counter('http.ingress_http.ext_authz.denied')).toBe(1);
});
