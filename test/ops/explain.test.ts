import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';

const run = promisify(execFile);
let issuer: DevIssuer;
let configFile: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://orders' });
  configFile = join(mkdtempSync(join(tmpdir(), 'tokengate-explain-')), 'tokengate.yaml');
  writeFileSync(
    configFile,
    `policies:
  - name: orders
    match: { pathPrefixes: ["/orders"] }
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://orders"]
      clockSkew: 30
      requiredClaims: [{ name: scp, separator: " ", values: [orders.read] }]
      outputClaimsToHeaders: [{ claim: sub, header: x-user-sub }]
`,
  );
});
afterAll(async () => issuer?.close());

async function explain(token: string, ...extra: string[]) {
  try {
    const { stdout } = await run(process.execPath, ['dist/cli.js', 'explain', '--config', configFile, '--path', '/orders/1', '--token', token, ...extra]);
    return { code: 0, lines: stdout.trimEnd().split('\n') };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, lines: e.stdout.trimEnd().split('\n') };
  }
}

describe('tokengate explain', () => {
  it('an allow: every check listed, then the decision with the upstream headers; exit 0', async () => {
    const { code, lines } = await explain(await issuer.sign({ sub: 'alice', scp: 'orders.read' }));
    expect(code).toBe(0);
    const kid = issuer.keys()[0]!.kid;
    expect(lines[0]).toBe('ok    policy     orders: first policy whose match holds (path starts with one of [/orders])');
    expect(lines[1]).toMatch(/^ok {4}token {6}found in header authorization with scheme Bearer \(\d+ characters\)$/);
    expect(lines[2]).toBe(`ok    header     alg ES256, kid ${kid}, typ JWT`);
    expect(lines[3]).toBe(`ok    signature  ES256 signature verified with key ${kid}`);
    expect(lines[4]).toMatch(/^ok {4}exp {8}\d+, expires in 3\d{3}s \(now \d+, clock skew 30s\)$/);
    expect(lines[5]).toMatch(/^ok {4}nbf {8}\d+ \(now \d+, clock skew 30s\)$/);
    expect(lines[6]).toMatch(/^ok {4}iat {8}\d+$/);
    expect(lines[7]).toBe(`ok    iss        ${issuer.issuer} is allowed`);
    expect(lines[8]).toBe('ok    aud        [api://orders] includes an allowed audience');
    expect(lines[9]).toBe('ok    claim scp  needs all of [orders.read], token has [orders.read]');
    expect(lines[10]).toBe('');
    expect(lines[11]).toBe('decision: ALLOW by policy orders');
    expect(lines[12]).toBe('  upstream header x-user-sub: alice');
  });

  it('an expired token: the exp check fails with the skew applied; exit 1', async () => {
    const exp = Math.floor(Date.now() / 1000) - 120;
    const { code, lines } = await explain(await issuer.sign({ scp: 'orders.read', exp }));
    expect(code).toBe(1);
    expect(lines[4]).toMatch(new RegExp(`^FAIL  exp {8}token expired at ${exp} \\(now \\d+, clock skew 30s\\)$`));
    expect(lines.slice(5)).toEqual([
      '',
      'decision: DENY 401 (TokenExpired) by policy orders',
      '  response header content-type: application/json',
      '  response header www-authenticate: Bearer error="invalid_token"',
      '  body: {"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}',
    ]);
  });

  it('a wrong audience: names the audience seen and the allowed ones; --json gives the same', async () => {
    const token = await issuer.sign({ scp: 'orders.read', aud: 'api://billing' });
    const { code, lines } = await explain(token);
    expect(code).toBe(1);
    expect(lines[8]).toBe('FAIL  aud        audience [api://billing] is not one of [api://orders]');
    expect(lines[10]).toBe('decision: DENY 401 (TokenAudienceNotAllowed) by policy orders');
    const json = await explain(token, '--json');
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.lines.join('\n'));
    expect(parsed).toMatchObject({ decision: 'deny', policy: 'orders', reason: 'TokenAudienceNotAllowed', httpStatus: 401 });
    expect(parsed.steps.at(-1)).toEqual({ step: 'aud', ok: false, detail: 'audience [api://billing] is not one of [api://orders]' });
  });
});
