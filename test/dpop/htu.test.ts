import { describe, expect, it } from 'vitest';
import type { AuthzRequest } from '../../src/authz/request.js';
import { proofHtu, requestHtu } from '../../src/dpop/htu.js';

const req = (over: Partial<AuthzRequest>): AuthzRequest => ({
  method: 'GET',
  path: '/orders',
  host: 'api.example.com',
  headers: {},
  contextExtensions: {},
  requestId: undefined,
  scheme: 'https',
  authority: 'api.example.com',
  ...over,
});

describe('htu: both sides normalised alike (RFC 9449 §4.3, RFC 3986 §6.2.2-6.2.3)', () => {
  it('the request URI: scheme, authority with its port, the normalised path, no query', () => {
    expect(requestHtu(req({ path: '/a/./b/../c?x=1' }), undefined)).toBe('https://api.example.com/a/c');
    expect(requestHtu(req({ authority: 'API.example.com:443' }), undefined)).toBe('https://api.example.com/orders');
    expect(requestHtu(req({ authority: 'api.example.com:8443' }), undefined)).toBe(
      'https://api.example.com:8443/orders',
    );
    expect(requestHtu(req({ scheme: 'http', authority: 'api.example.com:80' }), undefined)).toBe(
      'http://api.example.com/orders',
    );
  });

  it('externalOrigin replaces the scheme and authority, never the path', () => {
    const behindProxy = req({ scheme: 'http', authority: 'internal:8080', path: '/orders/1?page=2' });
    expect(requestHtu(behindProxy, 'https://api.example.com')).toBe('https://api.example.com/orders/1');
  });

  it('no scheme, a scheme other than http(s), or an authority that is not one: no URI, so no match (fail closed)', () => {
    expect(requestHtu(req({ scheme: undefined }), undefined)).toEqual({ problem: "the request's scheme is unknown" });
    expect(requestHtu(req({ scheme: 'ftp' }), undefined)).toEqual({ problem: "the request's scheme is not http(s)" });
    for (const authority of ['evil.example/x', 'user@api.example.com', 'a?b', '']) {
      expect(requestHtu(req({ authority }), undefined)).toEqual({ problem: "the request's :authority is not a host" });
    }
    expect(typeof requestHtu(req({ path: '/a%2fb' }), undefined)).toBe('object');
  });

  it("the proof's htu: case, default port, dot segments, percent-encoding; query and fragment dropped", () => {
    expect(proofHtu('HTTPS://API.Example.COM:443/a/./b/%7euser?q=1#f')).toBe('https://api.example.com/a/b/~user');
    expect(proofHtu('https://api.example.com')).toBe('https://api.example.com/');
  });

  it('a relative, non-http or credentialed htu is no URI at all', () => {
    for (const htu of ['/orders', 'ftp://api.example.com/x', 'https://user:pw@api.example.com/x', 'x'.repeat(9000)]) {
      expect(proofHtu(htu)).toBeUndefined();
    }
  });
});
