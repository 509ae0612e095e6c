// selectPolicy on its own: the route's context_extensions name wins; otherwise the first policy whose match holds for
// the path normalised by RFC 3986 §6.2.2 / §5.2.4 (normalize_path.ts, tested in normalize_path.test.ts); a path that
// cannot be normalised unambiguously is PathInvalid before anything else (fail closed). Policies come from YAML
// through the real compile step, so `match` behaves as config makes it.
import { describe, expect, it } from 'vitest';
import type { CompiledPolicy } from '../../src/authz/policy.js';
import type { AuthzRequest } from '../../src/authz/request.js';
import { buildRuntime, type Runtime } from '../../src/authz/runtime.js';
import { selectPolicy } from '../../src/authz/select_policy.js';
import type { TraceStep } from '../../src/authz/trace.js';
import { parseConfigText } from '../../src/config/load.js';
import { AuthzError } from '../../src/errors.js';

const SECRET = Buffer.alloc(32, 7).toString('base64');

/** A runtime whose policies have these names and match sections (undefined: no match section). */
function runtime(policies: [string, Record<string, unknown> | undefined][]): Runtime {
  const rules = {
    issuerSigningKeys: [{ base64: SECRET }],
    audiences: ['api://x'],
    issuers: ['https://idp.example.com/'],
  };
  const items = policies.map(([name, match]) =>
    JSON.stringify({ name, ...(match ? { match } : {}), validateJwt: rules }),
  );
  return buildRuntime(parseConfigText(`policies: [${items.join(', ')}]`));
}

const RUNTIME = runtime([
  ['admin', { hosts: ['api.example.com'], pathPrefixes: ['/admin'], methods: ['post', 'DELETE'] }],
  ['orders', { hosts: ['api.example.com'], pathPrefixes: ['/orders', '/carts'] }],
  ['tenants', { hosts: ['*.example.com'], pathPrefixes: ['/v1'] }],
  ['reports', { methods: ['GET'], pathPrefixes: ['/reports'] }],
]);

function request(
  method: string,
  host: string,
  path: string,
  contextExtensions: Record<string, string> = {},
): AuthzRequest {
  return { method, host, path, headers: {}, contextExtensions, requestId: undefined };
}

/** The chosen policy's name, or the denial's reason. */
function chosen(req: AuthzRequest, rt: Runtime = RUNTIME): string {
  try {
    return selectPolicy(req, rt.policies, rt.byName).name;
  } catch (err) {
    if (err instanceof AuthzError) return err.reason;
    throw err;
  }
}

function denial(req: AuthzRequest, rt: Runtime = RUNTIME): AuthzError {
  try {
    selectPolicy(req, rt.policies, rt.byName);
  } catch (err) {
    if (err instanceof AuthzError) return err;
    throw err;
  }
  throw new Error(`${req.method} ${req.host}${req.path} chose a policy`);
}

describe('the route names a policy (context_extensions policy=…)', () => {
  it('the named policy wins over every match', () => {
    const req = request('POST', 'api.example.com', '/admin/users', { policy: 'reports' });
    expect(chosen(req)).toBe('reports');
    expect(chosen(request('PUT', 'elsewhere.test', '/nothing', { policy: 'orders', other: 'x' }))).toBe('orders');
  });

  it('a name the config does not define is PolicyNotFound, never a fallback to matching', () => {
    for (const name of ['nope', '', 'ADMIN', 'admin ', 'constructor', '__proto__']) {
      expect(chosen(request('POST', 'api.example.com', '/admin', { policy: name })), name).toBe('PolicyNotFound');
    }
  });

  it('other context_extensions keys name nothing', () => {
    expect(chosen(request('GET', 'api.example.com', '/orders/1', { policy_name: 'admin', name: 'admin' }))).toBe(
      'orders',
    );
  });

  it('a policy key inherited from the prototype names nothing', () => {
    const inherited = Object.create({ policy: 'admin' }) as Record<string, string>;
    expect(chosen(request('GET', 'api.example.com', '/orders/1', inherited))).toBe('orders');
  });
});

describe('the first policy whose match holds', () => {
  it('hosts: an exact host matches only itself', () => {
    expect(chosen(request('GET', 'api.example.com', '/orders/1'))).toBe('orders');
    for (const host of ['api.example.com.evil.test', 'xapi.example.com', 'api.example.co']) {
      expect(chosen(request('GET', host, '/orders/1')), host).toBe('NoPolicyMatched');
    }
  });

  it('hosts: *.example.com matches any subdomain, never the bare domain or a look-alike', () => {
    for (const host of ['a.example.com', 'a.b.example.com', 'api.example.com']) {
      expect(chosen(request('GET', host, '/v1/x')), host).toBe('tenants');
    }
    for (const host of ['example.com', '.example.com', 'xexample.com', 'example.com.evil.test', 'a.example.org']) {
      expect(chosen(request('GET', host, '/v1/x')), host).toBe('NoPolicyMatched');
    }
  });

  it('methods: the request method must be listed (the config reader upper-cases the list)', () => {
    expect(chosen(request('POST', 'api.example.com', '/admin/users'))).toBe('admin');
    expect(chosen(request('DELETE', 'api.example.com', '/admin/users'))).toBe('admin');
    expect(chosen(request('GET', 'api.example.com', '/admin/users'))).toBe('NoPolicyMatched');
  });

  it('pathPrefixes: any listed prefix of the path', () => {
    expect(chosen(request('GET', 'api.example.com', '/carts/7'))).toBe('orders');
    expect(chosen(request('GET', 'api.example.com', '/'))).toBe('NoPolicyMatched');
  });

  it('a policy with no host rule matches every host', () => {
    expect(chosen(request('GET', 'anything.test', '/reports/q1'))).toBe('reports');
  });

  it('order decides between several matching policies; a policy without match matches everything', () => {
    const rt = runtime([
      ['first', { pathPrefixes: ['/a'] }],
      ['second', { pathPrefixes: ['/a/b'] }],
      ['catch-all', undefined],
    ]);
    expect(chosen(request('GET', 'h.test', '/a/b/c'), rt)).toBe('first');
    expect(chosen(request('GET', 'h.test', '/z'), rt)).toBe('catch-all');
  });

  it('no policy matching is NoPolicyMatched', () => {
    expect(chosen(request('PATCH', 'other.test', '/x'))).toBe('NoPolicyMatched');
  });
});

describe('the path is normalised before matching (RFC 3986 §5.2.4, §6.2.2)', () => {
  it('dot segments, encoded unreserved characters and repeated slashes are judged as the path they resolve to', () => {
    for (const path of [
      '/orders/../admin/users',
      '/public/../admin',
      '/%61dmin/users',
      '/%2e%2e/admin',
      '//admin',
      '/./admin',
    ]) {
      expect(chosen(request('POST', 'api.example.com', path)), path).toBe('admin');
    }
    // The normalised path is no longer under /orders, though its text starts with it.
    expect(chosen(request('GET', 'api.example.com', '/orders/../admin'))).toBe('NoPolicyMatched');
  });

  it('the query is not part of the path: a prefix in it matches nothing', () => {
    expect(chosen(request('POST', 'api.example.com', '/admin?next=/orders'))).toBe('admin');
    expect(chosen(request('GET', 'api.example.com', '/x?/orders'))).toBe('NoPolicyMatched');
    expect(chosen(request('GET', 'api.example.com', '/orders?x=/../admin'))).toBe('orders');
  });

  it('the request keeps its path as sent (token extraction reads its query)', () => {
    const req = request('POST', 'api.example.com', '/public/../admin?access_token=t');
    selectPolicy(req, RUNTIME.policies, RUNTIME.byName);
    expect(req.path).toBe('/public/../admin?access_token=t');
  });

  it('an ambiguous path is PathInvalid, even when the route names a policy', () => {
    const ambiguous = [
      '/admin%2Fusers',
      '/admin%5cusers',
      '/a\\..\\admin',
      '/admin#x',
      '/%zz',
      '/public/..;/admin',
      '/a//../admin',
      'a/../admin',
    ];
    for (const path of ambiguous) {
      expect(chosen(request('POST', 'api.example.com', path)), path).toBe('PathInvalid');
      expect(chosen(request('POST', 'api.example.com', path, { policy: 'orders' })), path).toBe('PathInvalid');
    }
  });

  it('a plain path not in origin-form is left as it is, and so matches no path prefix', () => {
    expect(chosen(request('POST', 'api.example.com', 'admin'))).toBe('NoPolicyMatched');
    expect(chosen(request('GET', 'h.test', '*'), runtime([['catch-all', undefined]]))).toBe('catch-all');
  });

  it('denials and the trace never show the query, which can carry a token', () => {
    const secret = 'eyJhbGciOiJIUzI1NiJ9.secret.sig';
    for (const path of [`/admin%2F?access_token=${secret}`, `/nowhere?access_token=${secret}`]) {
      expect(denial(request('GET', 'other.test', path)).message, path).not.toContain(secret);
    }
    const steps: TraceStep[] = [];
    const req = request('POST', 'api.example.com', `/x/../admin?access_token=${secret}`);
    expect(selectPolicy(req, RUNTIME.policies, RUNTIME.byName, (s) => steps.push(s)).name).toBe('admin');
    expect(steps.map((s) => s.step)).toEqual(['path', 'policy']);
    expect(JSON.stringify(steps)).not.toContain(secret);
  });
});

describe('the policies compiled by config', () => {
  it('are found by name and in config order', () => {
    expect(RUNTIME.policies.map((p: CompiledPolicy) => p.name)).toEqual(['admin', 'orders', 'tenants', 'reports']);
    expect(RUNTIME.byName.get('orders')).toBe(RUNTIME.policies[1]);
  });
});
