// Claim paths (issue 18 §1): dotted, JSON Pointer (RFC 6901) and bracket forms, read from real payload shapes
// (Keycloak's realm_access / resource_access, Auth0's namespaced claims), and the same paths through the real compile
// step in requiredClaims. Stricter than a plain property walk: a step through a prototype key reads nothing.
import { describe, expect, it } from 'vitest';
import { parseClaimPath, type ClaimPath } from '../../src/jwt/claim_path.js';
import { checkClaims } from '../../src/authz/claims.js';
import { buildRuntime } from '../../src/authz/runtime.js';
import { parseConfigText } from '../../src/config/load.js';
import { AuthzError, ConfigError } from '../../src/errors.js';

const KEYCLOAK = {
  sub: 'f1',
  realm_access: { roles: ['offline_access', 'orders-admin'] },
  resource_access: { 'orders-api': { roles: ['reader'] }, 'a.b': { roles: ['dotted-client'] } },
  'https://example.com/roles': ['Admin'],
  'https://example.com/tenant': { id: 't1' },
  'a/b': 'slash',
  'c~d': 'tilde',
  list: [{ name: 'first' }, { name: 'second' }],
};

function path(text: string): ClaimPath {
  const parsed = parseClaimPath(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
}

const read = (text: string, claims: Record<string, unknown> = KEYCLOAK) => path(text).read(claims);

describe('reading a claim path', () => {
  it('a plain name reads the top-level claim, as before paths existed', () => {
    expect(read('sub')).toBe('f1');
    expect(read('missing')).toBeUndefined();
  });

  it('dots step into nested objects (Keycloak realm_access.roles, resource_access.<client>.roles)', () => {
    expect(read('realm_access.roles')).toEqual(['offline_access', 'orders-admin']);
    expect(read('resource_access.orders-api.roles')).toEqual(['reader']);
    expect(read('realm_access.missing')).toBeUndefined();
    expect(read('sub.length')).toBeUndefined();
  });

  it('a name that is a top-level claim as written wins over splitting it at its dots', () => {
    expect(read('https://example.com/roles')).toEqual(['Admin']);
    const both = { 'a.b': 'top-level', a: { b: 'nested' } };
    expect(read('a.b', both)).toBe('top-level');
    expect(read('a.b', { a: { b: 'nested' } })).toBe('nested');
    // The pointer and bracket forms always mean the nested claim.
    expect(read('/a/b', both)).toBe('nested');
    expect(read('["a"]["b"]', both)).toBe('nested');
  });

  it('a JSON Pointer (RFC 6901): ~1 is /, ~0 is ~, decimal segments index arrays', () => {
    expect(read('/https:~1~1example.com~1roles')).toEqual(['Admin']);
    expect(read('/https:~1~1example.com~1tenant/id')).toBe('t1');
    expect(read('/a~1b')).toBe('slash');
    expect(read('/c~0d')).toBe('tilde');
    expect(read('/resource_access/a.b/roles')).toEqual(['dotted-client']);
    expect(read('/list/1/name')).toBe('second');
    expect(read('/list/2/name')).toBeUndefined();
    expect(read('/list/01/name')).toBeUndefined();
  });

  it('brackets hold JSON strings (or indexes) and mix with dots', () => {
    expect(read('["https://example.com/roles"]')).toEqual(['Admin']);
    expect(read('["https://example.com/tenant"].id')).toBe('t1');
    expect(read('resource_access["a.b"].roles')).toEqual(['dotted-client']);
    expect(read('resource_access["orders-api"]["roles"]')).toEqual(['reader']);
    expect(read('list[0].name')).toBe('first');
    expect(read('["say \\"hi\\""]', { 'say "hi"': 1 })).toBe(1);
  });

  it('no step reaches Object.prototype: constructor, __proto__, toString read nothing', () => {
    for (const text of ['constructor', 'realm_access.constructor', '/realm_access/__proto__', 'sub.toString', 'list.length']) {
      expect(read(text), text).toBeUndefined();
    }
    expect(read('realm_access.hasOwnProperty')).toBeUndefined();
    // An own "__proto__" key (JSON.parse makes one) is a claim like any other.
    const own = JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown>;
    expect(read('__proto__.x', own)).toBe(1);
  });

  it('refuses paths that cannot be read unambiguously, with a message', () => {
    const errors: Record<string, RegExp> = {
      '': /must not be empty/,
      'a..b': /empty segment/,
      '.a': /empty segment/,
      '/a~2': /~ must be followed by 0 or 1/,
      'a["b"': /expected \["name"\] or \[index\]/,
      'a[b]': /expected \["name"\] or \[index\]/,
      'a["b"]c': /expected \. or \[/,
    };
    for (const [text, message] of Object.entries(errors)) {
      const parsed = parseClaimPath(text);
      expect('error' in parsed && parsed.error, text).toMatch(message);
    }
  });
});

const SECRET = Buffer.alloc(32, 7).toString('base64');

function compile(requiredClaims: unknown[]) {
  const section = { issuerSigningKeys: [{ base64: SECRET }], audiences: [], issuers: [], requiredClaims };
  return buildRuntime(parseConfigText(`policies:\n  - name: p\n    validateJwt: ${JSON.stringify(section)}\n`)).policies[0]!;
}

function outcome(payload: Record<string, unknown>, requiredClaims: unknown[]): string {
  try {
    checkClaims({ exp: 2_000_000_000, ...payload }, compile(requiredClaims), 1_700_000_000_000);
    return 'ok';
  } catch (err) {
    if (err instanceof AuthzError) return `${err.reason}: ${err.message}`;
    throw err;
  }
}

describe('requiredClaims with claim paths (the real compile step)', () => {
  it('a nested role list: any / all as for a top-level claim', () => {
    const any = [{ name: 'realm_access.roles', match: 'any', values: ['orders-admin', 'root'] }];
    expect(outcome(KEYCLOAK, any)).toBe('ok');
    const all = [{ name: 'realm_access.roles', match: 'all', values: ['orders-admin', 'root'] }];
    expect(outcome(KEYCLOAK, all)).toBe(
      'TokenClaimValueNotAllowed: claim realm_access.roles: needs all of [orders-admin, root], token has [offline_access, orders-admin]',
    );
    expect(outcome({ realm_access: {} }, any)).toBe('TokenClaimNotFound: required claim realm_access.roles is missing');
  });

  it('a namespaced claim by pointer and by brackets, and a separator on a nested string', () => {
    expect(outcome(KEYCLOAK, [{ name: '/https:~1~1example.com~1roles', values: ['Admin'] }])).toBe('ok');
    expect(outcome(KEYCLOAK, [{ name: '["https://example.com/tenant"].id', values: ['t1'] }])).toBe('ok');
    expect(outcome(KEYCLOAK, [{ name: '["https://example.com/tenant"].id', values: ['t2'] }])).toMatch(/^TokenClaimValueNotAllowed/);
    const scoped = { ext: { scope: 'a b c' } };
    expect(outcome(scoped, [{ name: 'ext.scope', separator: ' ', values: ['b'] }])).toBe('ok');
  });

  it('a required claim whose path runs through a prototype key is missing', () => {
    expect(outcome({ realm_access: {} }, [{ name: 'realm_access.constructor' }])).toBe(
      'TokenClaimNotFound: required claim realm_access.constructor is missing',
    );
  });

  it('a bad path is a config problem at its own YAML path', () => {
    const text = `policies:
  - name: p
    validateJwt:
      issuerSigningKeys: [{ base64: "${SECRET}" }]
      audiences: []
      issuers: []
      requiredClaims: [{ name: "a..b" }]
      outputClaimsToHeaders: [{ claim: "/x~9", header: x-y }]
`;
    let problems: readonly string[] = [];
    try {
      parseConfigText(text);
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      'policies[0].validateJwt.requiredClaims[0].name: "a..b" has an empty segment: write names that contain dots as ["a.b"] or /a.b',
      'policies[0].validateJwt.outputClaimsToHeaders[0].claim: "/x~9": ~ must be followed by 0 or 1 in a JSON Pointer (RFC 6901 §3)',
    ]);
  });
});
