import { describe, expect, it } from 'vitest';
import { headerMap } from '../../src/http/header_map.js';
import { rebuildRequest, type RebuildInput, type Rebuilt } from '../../src/http/original_request.js';

/** A rebuild of `target` with these raw headers (name, value, name, value...), trusted unless said otherwise. */
function rebuild(target: string, raw: string[], options: Partial<Omit<RebuildInput, 'trusted'>> & { trusted?: boolean } = {}): Rebuilt {
  const { trusted = true, ...rest } = options;
  return rebuildRequest({ method: 'GET', target, headers: headerMap(raw), trusted: () => trusted, envoyPathPrefix: '/envoy', ...rest });
}

function requestOf(rebuilt: Rebuilt) {
  if (rebuilt.kind !== 'request') throw new Error(`expected a request, got ${JSON.stringify(rebuilt)}`);
  return rebuilt.request;
}

function ambiguity(rebuilt: Rebuilt): string {
  if (rebuilt.kind !== 'ambiguous') throw new Error(`expected an ambiguous request, got ${JSON.stringify(rebuilt)}`);
  return rebuilt.detail;
}

const NGINX = ['X-Original-Method', 'DELETE', 'X-Original-URI', '/orders/7?access_token=abc'];
const CADDY = ['X-Forwarded-Method', 'PUT', 'X-Forwarded-Uri', '/admin/x', 'X-Forwarded-Proto', 'https'];

describe('headerMap', () => {
  it('lower-cases names and joins a repeated header with a comma, as Envoy does, remembering it was repeated', () => {
    const { headers, repeated } = headerMap(['Authorization', 'Bearer a', 'X-Y', '1', 'authorization', 'Bearer b']);
    expect(headers.authorization).toBe('Bearer a,Bearer b'); // node's req.headers would keep only "Bearer a"
    expect(headers['x-y']).toBe('1');
    expect([...repeated]).toEqual(['authorization']);
  });

  it('reaches no Object.prototype: a header named __proto__ is just a header', () => {
    const { headers } = headerMap(['__proto__', 'x', 'constructor', 'y']);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(headers))).toBeNull();
    expect('toString' in headers).toBe(false);
    expect(Object.hasOwn(headers, '__proto__')).toBe(true);
    expect(headers.constructor).toBe('y');
  });
});

describe('Envoy http_service: the check request is the original request behind the path prefix', () => {
  it('takes method, path with query and host from the request itself', () => {
    const req = requestOf(rebuild('/envoy/orders/1?x=2', ['Host', 'API.example.com:8443', 'x-request-id', 'r1'], { method: 'post' }));
    expect(req).toMatchObject({ method: 'POST', path: '/orders/1?x=2', host: 'api.example.com', requestId: 'r1' });
    expect(req.contextExtensions).toEqual({});
  });

  it('never asks whether the peer is trusted: nothing forwarded is read', () => {
    const rebuilt = rebuildRequest({
      method: 'GET',
      target: '/envoy/orders',
      headers: headerMap(['Host', 'a', ...CADDY]),
      trusted: () => {
        throw new Error('asked');
      },
      envoyPathPrefix: '/envoy',
    });
    expect(requestOf(rebuilt).path).toBe('/orders');
  });

  it('reads no forwarded header, even from a trusted proxy', () => {
    const req = requestOf(rebuild('/envoy/public', ['Host', 'a', ...CADDY, 'X-Forwarded-Host', 'evil']));
    expect(req).toMatchObject({ method: 'GET', path: '/public', host: 'a' });
  });

  it('keeps the path as sent: normalising is the policy selection step (/envoy/public/../admin asks about /public/../admin)', () => {
    expect(requestOf(rebuild('/envoy/public/../admin', ['Host', 'a'])).path).toBe('/public/../admin');
  });

  it('needs the prefix as a whole segment', () => {
    expect(rebuild('/envoyx/orders', ['Host', 'a']).kind).toBe('not_found');
    expect(rebuild('/envoy', ['Host', 'a']).kind).toBe('not_found');
    expect(requestOf(rebuild('/tg/check/orders', ['Host', 'a'], { envoyPathPrefix: '/tg/check' })).path).toBe('/orders');
  });
});

describe('nginx auth_request and Caddy forward_auth on /authz', () => {
  it('nginx: X-Original-Method and X-Original-URI of a trusted proxy; host from X-Forwarded-Host', () => {
    const rebuilt = rebuild('/authz', ['Host', 'tokengate:9192', 'X-Forwarded-Host', 'api.example.com', ...NGINX]);
    expect(requestOf(rebuilt)).toMatchObject({ method: 'DELETE', path: '/orders/7?access_token=abc', host: 'api.example.com' });
    expect(rebuilt.kind === 'request' && rebuilt.detail).toContain('(nginx)');
    expect(rebuilt.kind === 'request' && rebuilt.detail, 'the trace never shows the query').not.toContain('access_token');
  });

  it('nginx: the host falls back to Host when no X-Forwarded-Host is sent', () => {
    expect(requestOf(rebuild('/authz', ['Host', 'api.example.com', ...NGINX])).host).toBe('api.example.com');
  });

  it('Caddy: X-Forwarded-Method, X-Forwarded-Uri and X-Forwarded-Host', () => {
    const req = requestOf(rebuild('/authz', ['Host', 'api.example.com', 'X-Forwarded-Host', 'shop.example.com', ...CADDY]));
    expect(req).toMatchObject({ method: 'PUT', path: '/admin/x', host: 'shop.example.com' });
  });

  it('/authz/{policy} names the policy as context_extensions would, percent-decoded', () => {
    expect(requestOf(rebuild('/authz/orders', NGINX)).contextExtensions).toEqual({ policy: 'orders' });
    expect(requestOf(rebuild('/authz/my%20policy?x', NGINX)).contextExtensions).toEqual({ policy: 'my policy' });
    expect(requestOf(rebuild('/authz', NGINX)).contextExtensions).toEqual({});
  });

  it('any other path is not found', () => {
    for (const target of ['/', '/authz/', '/authz/a/b', '/authzx', '/authz/%E0%A4%A', '/metrics']) {
      expect(rebuild(target, NGINX).kind, target).toBe('not_found');
    }
  });
});

describe('forwarded headers from anyone but a trusted proxy are ignored', () => {
  it('the request is judged as it arrived: its own method, target and Host', () => {
    const raw = ['Host', 'tokengate', 'X-Forwarded-Host', 'api.example.com', ...CADDY, ...NGINX];
    const req = requestOf(rebuild('/authz/orders?q=1', raw, { trusted: false, method: 'GET' }));
    expect(req).toMatchObject({ method: 'GET', path: '/authz/orders?q=1', host: 'tokengate' });
    expect(req.contextExtensions).toEqual({ policy: 'orders' });
  });
});

describe('from a trusted proxy, doubt denies', () => {
  it('both kinds of forwarded headers at once (one of them passed on from the client)', () => {
    expect(ambiguity(rebuild('/authz', [...NGINX, ...CADDY]))).toContain('both');
  });

  it('one header of a pair without the other', () => {
    expect(ambiguity(rebuild('/authz', ['X-Original-URI', '/a']))).toContain('x-original-method is missing');
    expect(ambiguity(rebuild('/authz', ['X-Forwarded-Method', 'GET']))).toContain('x-forwarded-uri is missing');
  });

  it('a forwarded header given twice', () => {
    expect(ambiguity(rebuild('/authz', [...CADDY, 'X-Forwarded-Uri', '/public']))).toContain('more than once');
    expect(ambiguity(rebuild('/authz', [...CADDY, 'X-Forwarded-Host', 'a', 'X-Forwarded-Host', 'b']))).toContain('more than once');
  });

  it('a list of hosts, or a method that is not a token (RFC 9110 §9.1)', () => {
    expect(ambiguity(rebuild('/authz', [...CADDY, 'X-Forwarded-Host', 'a.example, b.example']))).toContain('more than one host');
    expect(ambiguity(rebuild('/authz', ['X-Original-Method', 'GET /x', 'X-Original-URI', '/a']))).toContain('not an HTTP method');
  });

  it('a trusted proxy that sent neither kind: it is misconfigured, and /authz is no request to judge', () => {
    expect(ambiguity(rebuild('/authz', ['Host', 'a']))).toContain('without X-Original-URI');
  });
});
