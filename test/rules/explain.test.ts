// `explain` with rules (issue 18 §2): each rule, whether its `when` held, the value of `allow`, and the claim values
// it read; the same pipeline as the server (keys from the development issuer's real HTTP JWKS).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { explain, formatExplanation } from '../../src/explain.js';

let issuer: DevIssuer;
let config: Config;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://orders' });
  config = parseConfigText(`policies:
  - name: orders
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://orders"]
    rules:
      - name: readers
        when: request.method == "GET"
        allow: '"orders.read" in scopes() || "Admin" in claims.realm_access.roles'
      - name: writers
        when: request.method == "POST"
        allow: '"orders.write" in scopes()'
      - name: tenant
        allow: 'claims.tid == "t1"'
        mode: report-only
  - name: strict
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://orders"]
    rulesDefault: deny
    rules:
      - { name: deletes, when: 'request.method == "DELETE"', allow: 'true' }
`);
});
afterAll(async () => issuer?.close());

async function lines(claims: Record<string, unknown>, method = 'GET', policy = 'orders') {
  const token = await issuer.sign(claims);
  const result = await explain(config, {
    token,
    method,
    path: '/orders/1',
    host: 'api.example.com',
    headers: {},
    contextExtensions: { policy },
  });
  return { result, lines: formatExplanation(result).trimEnd().split('\n') };
}

const ruleLines = (all: string[]) => all.filter((l) => /^(ok|FAIL) +rules? /.test(l));

describe('explain with rules', () => {
  it('an allow: each rule with when, allow and the claims it read', async () => {
    const { result, lines: out } = await lines({ scp: 'profile', realm_access: { roles: ['Admin'] }, tid: 't1' });
    expect(ruleLines(out)).toEqual([
      'ok    rule readers  when holds, allow is true; read claims.realm_access.roles = ["Admin"], scopes() = ["profile"]',
      'ok    rule writers  when is false: not governed; read scopes() = ["profile"]',
      'ok    rule tenant   allow is true; read claims.tid = "t1"',
    ]);
    expect(out.at(-1)).toBe('decision: ALLOW by policy orders');
    expect(result.reportOnly).toBeNull();
  });

  it('a deny: the failing rule and the values that made it fail, then 403 RuleDenied', async () => {
    const { lines: out } = await lines({ scp: 'orders.read' }, 'POST');
    expect(ruleLines(out)).toEqual([
      'ok    rule readers  when is false: not governed; read claims.realm_access.roles = (absent), scopes() = ["orders.read"]',
      'FAIL  rule writers  rule writers: allow is false; read scopes() = ["orders.read"]',
    ]);
    expect(out.slice(-4)).toEqual([
      'decision: DENY 403 (RuleDenied) by policy orders',
      '  response header content-type: application/json',
      '  response header www-authenticate: Bearer error="insufficient_scope"',
      '  body: {"statusCode":403,"message":"Forbidden. Access token does not grant access to this resource."}',
    ]);
  });

  it('a report-only rule that would deny, and a rule that cannot be evaluated', async () => {
    const { result, lines: out } = await lines({ scp: 'orders.read', tid: 't2' });
    expect(ruleLines(out).at(-1)).toBe('FAIL  rule tenant   report-only, would deny: rule tenant: allow is false; read claims.tid = "t2"');
    expect(out.at(-1)).toBe('decision: ALLOW by policy orders (a report-only rule would deny: RuleDenied)');
    expect(result).toMatchObject({ decision: 'would_deny', reason: 'RuleDenied', reportOnly: 'rule' });

    const missing = await lines({ scp: 'orders.read' });
    expect(ruleLines(missing.lines).at(-1)).toBe(
      'FAIL  rule tenant   report-only, would deny: rule tenant: allow could not be evaluated: no such key: tid; ' +
        'read claims.tid = (absent)',
    );
  });

  it('rulesDefault: deny names the missing rule rather than any one rule', async () => {
    const { lines: out } = await lines({}, 'GET', 'strict');
    expect(ruleLines(out)).toEqual([
      'ok    rule deletes  when is false: not governed',
      'FAIL  rules         no rule governs this request (rulesDefault: deny)',
    ]);
  });
});
