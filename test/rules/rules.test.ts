// CEL rules per policy (issue 18 §2) through the real server: a real gRPC Check over loopback, tokens from the
// development issuer's HTTP JWKS. A denying rule is RFC 6750 §3.1's insufficient_scope: 403 with
// `Bearer error="insufficient_scope"`, reason RuleDenied. A rule that cannot be evaluated denies the same way: stricter
// than CEL itself, whose caller may treat an error as it likes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { bearer, envoyCheckRequest, reasonOf, responseHeader, upstreamHeaders, type CheckReply } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

const AUD = 'api://orders';
const TENANT = '8f2c1a3e-0000-4000-8000-000000000001';

const policy = (name: string, rules: string, extra = '') => `
  - name: ${name}
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
      outputClaimsToHeaders:
        - { claim: sub, header: x-user-sub }
        - { claim: realm_access.roles, header: x-user-roles }
${extra}    rules:
${rules}`;

const CONFIG = `policies:${policy(
  'orders',
  `      - name: readers
        when: request.method in ["GET", "HEAD"]
        allow: '"orders.read" in scopes() || "Admin" in claims.roles'
      - name: writers
        when: request.method in ["POST", "PUT", "DELETE"]
        allow: '"orders.write" in scopes() && claims.tid == "${TENANT}"'
`,
)}${policy(
  'audit',
  `      - name: tenant-header
        allow: '"x-tenant" in request.headers && request.headers["x-tenant"] == claims.tid'
        mode: report-only
      - name: admins-only
        when: request.path.startsWith("/admin")
        allow: '"ops" in claims.realm_access.roles'
`,
)}${policy(
  'strict',
  `      - name: reads
        when: request.method == "GET"
        allow: 'route.tenant == claims.tid && policy == "strict"'
`,
  '    rulesDefault: deny\n',
)}${policy(
  'errors',
  `      - name: level
        allow: 'claims.level > 3'
      - name: flag
        allow: 'claims.flag'
`,
)}${policy(
  'leak',
  `      - name: tenant-map
        allow: 'claims.tenants[request.headers["x-api-key"]] == true'
`,
)}${policy(
  'proto',
  `      - name: prototype
        allow: 'has(claims.constructor) || has(claims.__proto__) || claims.valueOf == 1'
`,
)}`;

let issuer: DevIssuer;
let tg: RunningTokengate;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: AUD });
  tg = await startTokengate(CONFIG, { ISSUER: issuer.issuer });
});
afterAll(async () => {
  await tg?.stop();
  await issuer?.close();
});

interface Ask {
  policy: string;
  claims: Record<string, unknown>;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  route?: Record<string, string>;
}

async function check(ask: Ask): Promise<CheckReply> {
  const token = await issuer.sign(ask.claims);
  return tg.client.check(
    envoyCheckRequest({
      method: ask.method ?? 'GET',
      path: ask.path ?? '/orders/1',
      headers: { ...bearer(token), ...ask.headers },
      contextExtensions: { policy: ask.policy, ...ask.route },
    }),
  );
}

const meta = (res: CheckReply, key: string) => res.dynamic_metadata?.fields[key]?.stringValue;

/** The detail of the last decision log line with this reason. */
function lastDetail(reason: string): string {
  const line = tg.logs.filter((l) => l.reason === reason).at(-1);
  return String(line?.detail);
}

function expectRuleDenied(res: CheckReply): void {
  expect(res.status.code).toBe(7);
  expect(res.denied_response?.status.code).toBe(403);
  expect(reasonOf(res)).toBe('RuleDenied');
  expect(responseHeader(res, 'www-authenticate')).toBe('Bearer error="insufficient_scope"');
}

describe('rules: every rule whose when holds must allow', () => {
  it('allow: a reader by scope, or by role, on GET', async () => {
    expect((await check({ policy: 'orders', claims: { scp: 'orders.read profile' } })).status.code).toBe(0);
    expect((await check({ policy: 'orders', claims: { scp: ['orders.read'] } })).status.code).toBe(0);
    expect((await check({ policy: 'orders', claims: { scope: 'orders.read', roles: [] } })).status.code).toBe(0);
    expect((await check({ policy: 'orders', claims: { roles: ['Admin'] } })).status.code).toBe(0);
  });

  it('deny: a rule whose allow is false gives 403 insufficient_scope, RuleDenied, naming the rule and what it read', async () => {
    const res = await check({ policy: 'orders', claims: { scp: 'profile', roles: ['Reader'] } });
    expectRuleDenied(res);
    expect(lastDetail('RuleDenied')).toBe('rule readers: allow is false; read claims.roles = ["Reader"], scopes() = ["profile"]');
  });

  it('a different rule for POST than for GET on the same path', async () => {
    const reader = { scp: 'orders.read', tid: TENANT };
    expectRuleDenied(await check({ policy: 'orders', claims: reader, method: 'POST' }));
    const writer = { scp: 'orders.write', tid: TENANT };
    expect((await check({ policy: 'orders', claims: writer, method: 'POST' })).status.code).toBe(0);
    expectRuleDenied(await check({ policy: 'orders', claims: { ...writer, tid: 'other' }, method: 'POST' }));
    // The writer's token does not satisfy the readers' rule: GET needs orders.read or Admin.
    expectRuleDenied(await check({ policy: 'orders', claims: writer, method: 'GET' }));
  });

  it('when not holding: a request no rule governs passes on (rulesDefault: allow)', async () => {
    const res = await check({ policy: 'orders', claims: { scp: 'nothing' }, method: 'PATCH' });
    expect(res.status.code).toBe(0);
  });

  it('rulesDefault: deny refuses a request no rule governs', async () => {
    const claims = { tid: TENANT };
    const ok = await check({ policy: 'strict', claims, route: { tenant: TENANT } });
    expect(ok.status.code).toBe(0);
    expectRuleDenied(await check({ policy: 'strict', claims, route: { tenant: 'other' } }));
    expectRuleDenied(await check({ policy: 'strict', claims, route: { tenant: TENANT }, method: 'POST' }));
    expect(lastDetail('RuleDenied')).toBe('no rule governs this request (rulesDefault: deny)');
  });
});

describe('report-only rules', () => {
  it('a report-only rule that would deny lets the request through, with identity headers, as would_deny', async () => {
    const claims = { sub: 'alice', tid: TENANT, realm_access: { roles: ['ops'] } };
    const res = await check({ policy: 'audit', claims, path: '/admin/x', headers: { 'x-tenant': 'someone-else' } });
    expect(res.status.code).toBe(0);
    expect(meta(res, 'tokengate.decision')).toBe('would_deny');
    expect(meta(res, 'tokengate.reason')).toBe('RuleDenied');
    // The token is valid: unlike a report-only policy, the identity it establishes still goes upstream.
    expect(upstreamHeaders(res)).toMatchObject({ 'x-user-sub': 'alice', 'x-user-roles': 'ops' });
    const line = tg.logs.filter((l) => l.decision === 'would_deny').at(-1);
    expect(line?.detail).toBe(`rule tenant-header: allow is false; read claims.tid = "${TENANT}"`);
  });

  it('an enforced rule after it still denies', async () => {
    const claims = { tid: TENANT, realm_access: { roles: ['user'] } };
    const res = await check({ policy: 'audit', claims, path: '/admin/x', headers: { 'x-tenant': TENANT } });
    expectRuleDenied(res);
    expect(lastDetail('RuleDenied')).toBe('rule admins-only: allow is false; read claims.realm_access.roles = ["user"]');
  });

  it('all rules satisfied: a plain allow', async () => {
    const claims = { tid: TENANT, realm_access: { roles: ['ops'] } };
    const res = await check({ policy: 'audit', claims, path: '/admin/x', headers: { 'x-tenant': TENANT } });
    expect(res.status.code).toBe(0);
    expect(meta(res, 'tokengate.decision')).toBe('allow');
  });
});

describe('a rule that cannot be evaluated denies, never allows, never crashes', () => {
  it('a missing claim used without has()', async () => {
    expectRuleDenied(await check({ policy: 'errors', claims: { flag: true } }));
    expect(lastDetail('RuleDenied')).toBe('rule level: allow could not be evaluated: no such key: level; read claims.level = (absent)');
  });

  it('a claim of the wrong type at run time, and a condition that is not a bool', async () => {
    expectRuleDenied(await check({ policy: 'errors', claims: { level: 'high', flag: true } }));
    expect(lastDetail('RuleDenied')).toMatch(/^rule level: allow could not be evaluated: no such overload: dyn<string> > int/);
    expectRuleDenied(await check({ policy: 'errors', claims: { level: 5, flag: 'yes' } }));
    expect(lastDetail('RuleDenied')).toBe('rule flag: allow gave string, not a bool; read claims.flag = "yes"');
    expect((await check({ policy: 'errors', claims: { level: 5, flag: true } })).status.code).toBe(0);
  });

  it('a value from the request never reaches the detail (it is logged): the failing part of the expression does', async () => {
    const secret = 'sk-live-0123456789abcdef';
    expectRuleDenied(await check({ policy: 'leak', claims: { tenants: { t1: true } }, headers: { 'x-api-key': secret } }));
    expect(lastDetail('RuleDenied')).toBe(
      'rule tenant-map: allow could not be evaluated: no such key: claims.tenants[request.headers["x-api-key"]]; ' +
        'read claims.tenants = {"t1":true}',
    );
    expect(tg.rawLog()).not.toContain(secret);
  });

  it('claims named like Object.prototype members are not there: has() is false, reading one is an error', async () => {
    expectRuleDenied(await check({ policy: 'proto', claims: { sub: 'x' } }));
    expect(lastDetail('RuleDenied')).toBe(
      'rule prototype: allow could not be evaluated: no such key: valueOf; ' +
        'read claims.constructor = (absent), claims.__proto__ = (absent), claims.valueOf = (absent)',
    );
  });
});

describe('reload with a bad rule', () => {
  it('keeps the old config: App.reload throws the rule problems and decisions do not change', async () => {
    const good = { policy: 'orders', claims: { scp: 'orders.read' } };
    expect((await check(good)).status.code).toBe(0);
    const bad = CONFIG.replace('"orders.read" in scopes()', '"orders.read" in scope()').replaceAll('${ISSUER}', issuer.issuer);
    let problems: readonly string[] = [];
    try {
      await tg.app.reload(() => parseConfigText(`server:\n  grpc: { address: "127.0.0.1:0" }\n${bad}`, 'reload'));
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual(["policies[0].rules[0].allow: found no matching overload for 'scope()' (column 18)"]);
    expect((await check(good)).status.code).toBe(0);
    expect(await tg.app.metrics.registry.getSingleMetricAsString('tokengate_config_reloads_total')).toMatch(
      /tokengate_config_reloads_total\{result="failure"\} 1/,
    );
  });
});
