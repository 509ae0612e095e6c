// `tokengate test` (issue 18 §3): the built CLI, offline (the configs name key sources under .invalid, which never
// resolve: a case that fetched anything would fail). The demo config's own cases are part of our suite.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = resolve('dist/cli.js');
const DEMO_CONFIG = resolve('config/demo.yaml');

async function tokengateTest(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'test', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function file(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tokengate-test-')), name);
  writeFileSync(path, text);
  return path;
}

describe('tokengate test', () => {
  it('the demo config passes its own cases: one line per case, the summary, exit 0', async () => {
    const { code, stdout } = await tokengateTest('config/demo.test.yaml');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('config/demo.test.yaml (config config/demo.yaml)');
    expect(lines[1]).toBe('ok    a reader may list orders  (allow 200 by policy orders)');
    expect(lines[3]).toBe('ok    a reader may not create an order (rule writers)  (deny RuleDenied 403 by policy orders)');
    expect(lines.filter((l) => l.startsWith('ok    '))).toHaveLength(10);
    expect(lines.at(-1)).toBe('10 passed, 0 failed');
  });

  it('several files in one run, with the rules example (nested and namespaced claims, rulesDefault, report-only)', async () => {
    const { code, stdout } = await tokengateTest('config/demo.test.yaml', 'config/rules.example.test.yaml');
    expect(code).toBe(0);
    expect(stdout).toContain('\nconfig/rules.example.test.yaml (config config/rules.example.yaml)\n');
    expect(stdout).toContain(
      '\nok    the report-only org rule would deny, and lets the request through  (would_deny RuleDenied 200 by policy billing)\n',
    );
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('22 passed, 0 failed');
  });

  it('a failing case: FAIL with each unmet expectation and the denial detail, the summary, exit 1', async () => {
    const cases = file(
      'failing.yaml',
      `config: ${DEMO_CONFIG}
variables: { ISSUER: "https://demo-issuer.invalid" }
cases:
  - name: passes
    claims: { scp: orders.read }
    request: { path: /orders }
    expect: { decision: allow }
  - name: wrong decision
    claims: { scp: orders.read }
    request: { method: DELETE, path: /orders/1 }
    expect: { decision: allow, upstreamHeaders: { x-user-sub: bob } }
  - name: wrong reason and status
    token: none
    request: { path: /orders }
    expect: { decision: deny, reason: TokenExpired, status: 403 }
`,
    );
    const { code, stdout } = await tokengateTest(cases);
    expect(code).toBe(1);
    expect(stdout.trimEnd().split('\n').slice(1)).toEqual([
      'ok    passes  (allow 200 by policy orders)',
      'FAIL  wrong decision: got deny RuleDenied 403 by policy orders',
      '        decision: expected allow, got deny',
      '        upstream header x-user-sub: expected bob, got undefined',
      '        detail: rule writers: allow is false; read scopes() = ["orders.read"]',
      'FAIL  wrong reason and status: got deny TokenNotPresent 401 by policy orders',
      '        reason: expected TokenExpired, got TokenNotPresent',
      '        status: expected 403, got 401',
      '        detail: no authorization header',
      '',
      '1 passed, 2 failed',
    ]);

    const json = await tokengateTest(cases, '--json');
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ passed: 1, failed: 2, files: [{ file: cases }] });
    expect(report.files[0].cases[1]).toMatchObject({
      name: 'wrong decision',
      passed: false,
      expected: { decision: 'allow' },
      actual: { decision: 'deny', reason: 'RuleDenied', policy: 'orders', status: 403 },
    });
  });

  it('tokens go where the policy reads them (cookie, query), issuers from a {tenantid} template, HS256-only policies', async () => {
    const tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const config = file(
      'tokengate.yaml',
      `policies:
  - name: cookie
    match: { pathPrefixes: ["/web"] }
    validateJwt:
      cookieName: session
      openidConfig: [{ url: "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration",
                       issuer: "https://login.microsoftonline.com/{tenantid}/v2.0" }]
      allowedTenants: ["${tid}"]
      audiences: ["api://web"]
    rules:
      - { name: tenant, allow: 'claims.tid == "${tid}" && request.path == "/web/home"' }
  - name: query
    match: { pathPrefixes: ["/feed"] }
    validateJwt:
      queryParameterName: access_token
      issuerSigningKeys: [{ base64: "${Buffer.alloc(32, 1).toString('base64')}" }]
      algorithms: [HS256]
      issuers: ["https://internal.invalid"]
      audiences: []
`,
    );
    const cases = file(
      'cases.yaml',
      `config: ${config}
cases:
  - { name: cookie, claims: { tid: "${tid}" }, request: { path: "/web/home?x=1" }, expect: { decision: allow, policy: cookie } }
  - { name: other tenant, claims: { tid: "f8cdef31-a31e-4b4a-93e4-5f571e91255a" }, request: { path: /web/home },
      expect: { decision: deny, reason: TokenIssuerNotAllowed } }
  - { name: query, request: { path: "/feed?page=2" }, expect: { decision: allow, policy: query } }
  - { name: no policy, request: { path: /other }, expect: { decision: deny, reason: NoPolicyMatched, status: 403 } }
`,
    );
    const { code, stdout } = await tokengateTest(cases);
    expect(stdout).toContain('4 passed, 0 failed');
    expect(code).toBe(0);
  });

  it('a test file or a config that cannot be used: its problems, exit 2', async () => {
    const bad = file('bad.yaml', `config: ${DEMO_CONFIG}\ncases:\n  - { name: x, expect: { decision: maybe, reason: Nope } }\n  - { expect: {} }\n`);
    const { code, stderr } = await tokengateTest(bad);
    expect(code).toBe(2);
    expect(stderr).toBe(
      `${bad}: ${bad}: invalid test file:
  cases[0].expect.decision: must be one of allow, deny, would_deny, got string "maybe"
  cases[0].expect.reason: unknown reason "Nope" (expected one of ${(await import('../../src/errors.js')).DENY_REASONS.join(', ')})
  cases[1].name: is required
  cases[1].expect.decision: is required: allow, deny or would_deny
`,
    );

    const config = file('tokengate.yaml', 'policies:\n  - name: p\n    validateJwt: { issuerSigningKeys: [{ base64: "c2VjcmV0LXNlY3JldC1zZWNyZXQ=" }], issuers: [], audiences: [] }\n    rules: [{ name: r, allow: "nope" }]\n');
    const cases = file('cases.yaml', `config: ${config}\ncases: [{ name: x, expect: { decision: allow } }]\n`);
    const broken = await tokengateTest(cases);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toBe(`${cases}: invalid configuration:\n  policies[0].rules[0].allow: Unknown variable: nope (column 1)\n`);

    expect((await tokengateTest()).code).toBe(2);
  });
});
