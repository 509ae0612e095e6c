import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpResult } from '../../helpers/http.js';
import type { EchoRequest } from '../helpers/upstreams.js';
import { startProxyStack, type Proxy, type ProxyStack } from './stack.js';

export interface ProxyTraits {
  /** What the proxy answers when tokengate cannot be reached. */
  readonly downStatus: number;
  /** Whether tokengate's 403 (its challenge and JSON body) reaches the client, or the proxy's own 403 page. */
  readonly passes403: boolean;
}

const INVALID = 'Unauthorized. Access token is missing or invalid.';
const FORBIDDEN = 'Forbidden. Access token does not grant access to this resource.';

/**
 * The same end-to-end checks for each proxy in front of tokengate's HTTP authorization listener, with the example
 * configurations of proxies/: the policies of proxies/tokengate.yaml are `admin` (/admin, role Admin), `orders`
 * (/orders, scope orders.read) and `public` (/public, any valid token), each forwarding the `oid` claim as X-User-Oid.
 */
export function proxySuite(proxy: Proxy, traits: ProxyTraits): void {
  let stack: ProxyStack;

  beforeAll(async () => {
    stack = await startProxyStack(proxy);
  });

  afterAll(async () => {
    await stack?.close();
  });

  /** A reader: scope orders.read, role Reader (not Admin). Fresh each time, so no cache answers for another test. */
  const sign = (claims: Record<string, unknown> = {}) =>
    stack.issuer.sign({ oid: 'oid-e2e-1', scp: 'orders.read', roles: ['Reader'], jti: randomUUID(), ...claims });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  function reached(res: HttpResult): EchoRequest {
    expect(res.status, res.body).toBe(200);
    expect(res.headers['x-echo-upstream'], 'the 200 comes from the upstream').toBe('1');
    return JSON.parse(res.body) as EchoRequest;
  }

  async function denied(path: string, headers: Record<string, string>, status: number): Promise<HttpResult> {
    const before = stack.echo.count;
    const res = await stack.get(path, headers);
    expect(res.status, res.body).toBe(status);
    expect(stack.echo.count, 'a denied request never reaches the upstream').toBe(before);
    return res;
  }

  describe(`${proxy} in front of tokengate's HTTP authorization listener`, () => {
    it('a valid token reaches the upstream with the claim header; a forged one is overwritten', async () => {
      const seen = reached(await stack.get('/orders/42?x=1', { ...bearer(await sign()), 'x-user-oid': 'forged' }));
      expect(seen.url).toBe('/orders/42?x=1');
      expect(seen.headers['x-user-oid']).toBe('oid-e2e-1');
    });

    it('a token without the claim: the forged header does not reach the upstream either', async () => {
      const seen = reached(await stack.get('/orders/1', { ...bearer(await sign({ oid: undefined })), 'x-user-oid': 'forged' }));
      expect(seen.headers['x-user-oid']).toBeUndefined();
    });

    it('no token: 401 with the Bearer challenge and the JSON body', async () => {
      const res = await denied('/orders/1', {}, 401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.body)).toEqual({ statusCode: 401, message: INVALID });
    });

    it('a token without the scope: 403', async () => {
      const res = await denied('/orders/1', bearer(await sign({ scp: 'profile' })), 403);
      if (traits.passes403) {
        expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
        expect(JSON.parse(res.body)).toEqual({ statusCode: 403, message: FORBIDDEN });
      }
    });

    it('/public/../admin is judged by the admin policy, not the public one', async () => {
      const token = await sign();
      reached(await stack.get('/public/x', bearer(token)));
      for (const path of ['/public/../admin', '/public/%2e%2e/admin', '/public/./../admin/x']) {
        await denied(path, bearer(token), 403);
      }
    });

    it("a client's own forwarded headers do not change the policy that judges it", async () => {
      const forged = {
        'x-forwarded-uri': '/public/x',
        'x-forwarded-method': 'GET',
        'x-original-uri': '/public/x',
        'x-original-method': 'GET',
      };
      await denied('/admin/x', { ...bearer(await sign()), ...forged }, 403);
      reached(await stack.get('/admin/x', { ...bearer(await sign({ roles: ['Admin'] })), ...forged }));
    });

    it(`tokengate down: ${traits.downStatus}, and the upstream is not reached`, async () => {
      await stack.stopTokengate();
      try {
        await denied('/public/x', bearer(await sign()), traits.downStatus);
      } finally {
        await stack.startTokengate();
      }
      reached(await stack.get('/public/x', bearer(await sign())));
    });
  });
}
