// The HTTP authorization listener over real sockets: a node:http client asks as Envoy's http_service, nginx's
// auth_request and Caddy's forward_auth would, keys come from the dev issuer over real HTTP, and the answers are
// compared with what the gRPC Check gives for the same request.
import { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { envoyCheckRequest, responseHeader, upstreamHeaders } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { ask, bearer, type Answer } from './http_client.js';

const AUD = 'api://http-authz';

/** Policies chosen by path (and host); no catch-all, so a request judged as `/authz` itself matches nothing. */
function config(trustedProxies: string): string {
  const rules = `openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]`;
  return `
server:
  grpc: { address: "127.0.0.1:0" }
  http: { address: "127.0.0.1:0" }
  httpAuthz: { address: "127.0.0.1:0", trustedProxies: ${trustedProxies} }
logging: { level: debug, decisions: all }
policies:
  - name: admin
    match: { pathPrefixes: ["/admin"] }
    validateJwt:
      ${rules}
      requiredClaims: [{ name: roles, match: all, values: ["Admin"] }]
      outputClaimsToHeaders: [{ claim: oid, header: x-user-oid }]
  - name: orders
    match: { hosts: ["api.example.com"], pathPrefixes: ["/orders"] }
    validateJwt:
      ${rules}
      requiredClaims: [{ name: scp, separator: " ", match: all, values: ["orders.read"] }]
      outputClaimsToHeaders: [{ claim: oid, header: x-user-oid }, { claim: name, header: x-user-name }, { claim: tid, header: x-tenant }]
      removeToken: true
  - name: public
    match: { pathPrefixes: ["/public"] }
    validateJwt:
      ${rules}
      outputClaimsToHeaders: [{ claim: oid, header: x-user-oid }]
  - name: audit
    mode: report-only
    match: { pathPrefixes: ["/audit"] }
    validateJwt:
      ${rules}
      requiredClaims: [{ name: roles, match: all, values: ["Auditor"] }]
      outputClaimsToHeaders: [{ claim: oid, header: x-user-oid }]
`;
}

let issuer: DevIssuer;
let tg: RunningTokengate;
/** The same policies, but trusting only 10.0.0.0/8: the test client on 127.0.0.1 is not a trusted proxy there. */
let untrusting: RunningTokengate;
let reader: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ defaultAudience: AUD });
  tg = await startTokengate(config('["127.0.0.1/32"]'), { ISSUER: issuer.issuer });
  untrusting = await startTokengate(config('["10.0.0.0/8"]'), { ISSUER: issuer.issuer });
  reader = await issuer.sign({ oid: 'oid-1', scp: 'orders.read', roles: ['Reader'], name: 'Zoë 李', sub: 'alice' });
});

afterAll(async () => {
  await tg?.stop();
  await untrusting?.stop();
  await issuer?.close();
});

const port = () => tg.app.httpAuthzPort!;
const INVALID = 'Unauthorized. Access token is missing or invalid.';
const FORBIDDEN = 'Forbidden. Access token does not grant access to this resource.';

function expectDenied(res: Answer, status: number, challenge: string | undefined, message: string) {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['www-authenticate']).toBe(challenge);
  expect(res.headers['content-type']).toBe('application/json');
  expect(JSON.parse(res.body)).toEqual({ statusCode: status, message });
}

const nginx = (uri: string, method = 'GET'): [string, string][] => [
  ['x-original-uri', uri],
  ['x-original-method', method],
];
const caddy = (uri: string, method = 'GET'): [string, string][] => [
  ['x-forwarded-uri', uri],
  ['x-forwarded-method', method],
  ['x-forwarded-proto', 'https'],
];

describe('Envoy http_service: the original request behind /envoy', () => {
  it('allow: 200, no body, the claim headers, and the headers Envoy must remove (the token, an absent claim)', async () => {
    const res = await ask(port(), '/envoy/orders/1?x=1', { headers: [['host', 'api.example.com'], bearer(reader)] });
    expect(res.status, res.body).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['x-user-oid']).toBe('oid-1');
    expect(res.headers['x-envoy-auth-headers-to-remove']).toBe('x-tenant,authorization');
  });

  it('a claim beyond ASCII goes out as its UTF-8 bytes, as Envoy writes it from the gRPC answer', async () => {
    const res = await ask(port(), '/envoy/orders/1', { headers: [['host', 'api.example.com'], bearer(reader)] });
    const raw = res.rawHeaders[res.rawHeaders.findIndex((h) => h.toLowerCase() === 'x-user-name') + 1]!;
    expect(Buffer.from(raw, 'latin1').toString('utf8')).toBe('Zoë 李');
  });

  it('no token: 401 with the bare challenge and the APIM body', async () => {
    expectDenied(await ask(port(), '/envoy/orders/1', { headers: [['host', 'api.example.com']] }), 401, 'Bearer', INVALID);
  });

  it('a claim rule fails: 403 insufficient_scope', async () => {
    const res = await ask(port(), '/envoy/admin', { headers: [bearer(reader)] });
    expectDenied(res, 403, 'Bearer error="insufficient_scope"', FORBIDDEN);
  });

  it('two Authorization headers are two tokens, refused (node alone would keep the first)', async () => {
    const other = await issuer.sign({ oid: 'oid-2', roles: ['Admin'] });
    const res = await ask(port(), '/envoy/admin', { headers: [bearer(reader), bearer(other)] });
    expectDenied(res, 401, 'Bearer error="invalid_token"', INVALID);
  });

  it('/envoy/public/../admin is judged by the admin policy', async () => {
    const res = await ask(port(), '/envoy/public/../admin', { headers: [bearer(reader)] });
    expectDenied(res, 403, 'Bearer error="insufficient_scope"', FORBIDDEN);
    expect((await ask(port(), '/envoy/public/x', { headers: [bearer(reader)] })).status).toBe(200);
  });
});

describe('the same answers as the gRPC Check', () => {
  const cases: { name: string; path: string; host: string; token: () => string | undefined }[] = [
    { name: 'allow', path: '/orders/9', host: 'api.example.com', token: () => reader },
    { name: 'no token', path: '/orders/9', host: 'api.example.com', token: () => undefined },
    { name: 'bad token', path: '/orders/9', host: 'api.example.com', token: () => `${reader.slice(0, -4)}AAAA` },
    { name: 'claim rule', path: '/admin', host: 'a', token: () => reader },
    { name: 'no policy', path: '/nothing', host: 'a', token: () => reader },
    { name: 'ambiguous path', path: '/public/%2F', host: 'a', token: () => reader },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const token = c.token();
      const grpc = await tg.client.check(
        envoyCheckRequest({ path: c.path, host: c.host, headers: token ? { authorization: `Bearer ${token}` } : {} }),
      );
      const http = await ask(port(), '/authz', {
        headers: [['host', c.host], ...nginx(c.path), ...(token ? [bearer(token)] : [])],
      });
      if (grpc.status.code === 0) {
        expect(http.status).toBe(200);
        for (const [k, v] of Object.entries(upstreamHeaders(grpc))) expect(Buffer.from(http.headers[k] as string, 'latin1').toString()).toBe(v);
        return;
      }
      expect(http.status).toBe(grpc.denied_response!.status.code);
      expect(http.body).toBe(grpc.denied_response!.body);
      expect(http.headers['www-authenticate']).toBe(responseHeader(grpc, 'www-authenticate'));
      expect(http.headers['content-type']).toBe(responseHeader(grpc, 'content-type'));
    });
  }
});

describe('nginx auth_request and Caddy forward_auth on /authz, from a trusted proxy', () => {
  it('nginx: X-Original-URI chooses the policy; X-Forwarded-Host the host', async () => {
    const headers = (uri: string): [string, string][] => [['x-forwarded-host', 'api.example.com'], ...nginx(uri), bearer(reader)];
    const ok = await ask(port(), '/authz', { headers: headers('/orders/1') });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-user-oid']).toBe('oid-1');
    expectDenied(await ask(port(), '/authz', { headers: headers('/admin/1') }), 403, 'Bearer error="insufficient_scope"', FORBIDDEN);
  });

  it('Caddy: X-Forwarded-Uri and X-Forwarded-Method', async () => {
    expect((await ask(port(), '/authz', { headers: [...caddy('/public/x', 'POST'), bearer(reader)] })).status).toBe(200);
    const denied = await ask(port(), '/authz', { headers: [...caddy('/admin'), bearer(reader)] });
    expectDenied(denied, 403, 'Bearer error="insufficient_scope"', FORBIDDEN);
  });

  it('the path trick /public/../admin (and its encoded form) is judged by the admin policy', async () => {
    for (const uri of ['/public/../admin', '/public/%2e%2e/admin', '//admin']) {
      for (const headers of [nginx(uri), caddy(uri)]) {
        const res = await ask(port(), '/authz', { headers: [...headers, bearer(reader)] });
        expectDenied(res, 403, 'Bearer error="insufficient_scope"', FORBIDDEN);
      }
    }
  });

  it('/authz/{policy} names the policy, whatever the path', async () => {
    expect((await ask(port(), '/authz/public', { headers: [...nginx('/admin'), bearer(reader)] })).status).toBe(200);
    const unknown = await ask(port(), '/authz/nope', { headers: [...nginx('/public'), bearer(reader)] });
    expectDenied(unknown, 403, undefined, 'Forbidden. No access policy applies to this request.');
  });

  it("a client's X-Original-URI passed on by Caddy beside Caddy's own headers is ambiguous: denied", async () => {
    const res = await ask(port(), '/authz', { headers: [...caddy('/admin'), ...nginx('/public'), bearer(reader)] });
    expectDenied(res, 403, undefined, 'Forbidden. No access policy applies to this request.');
    const line = tg.logs.findLast((l) => l.msg === 'check');
    expect(line).toMatchObject({ transport: 'http', decision: 'deny', reason: 'PathInvalid' });
  });

  it('report-only: 200 without identity headers, which Envoy is told to remove; the would-deny is logged', async () => {
    const res = await ask(port(), '/authz', { headers: [...nginx('/audit/1'), bearer(reader), ['x-request-id', 'audit-1']] });
    expect(res.status).toBe(200);
    expect(res.headers['x-user-oid']).toBeUndefined();
    expect(res.headers['x-envoy-auth-headers-to-remove']).toBe('x-user-oid');
    const line = tg.logs.find((l) => l.requestId === 'audit-1' && l.msg === 'check would deny (report-only)');
    expect(line).toMatchObject({ level: 'warn', transport: 'http', policy: 'audit', reason: 'TokenClaimValueNotAllowed' });
  });
});

describe('forwarded headers from a client that is not a trusted proxy', () => {
  it('X-Forwarded-Uri sent directly cannot change the policy that judges the request', async () => {
    const headers: [string, string][] = [...caddy('/public/x'), bearer(reader)];
    // A trusted proxy saying the same is believed: the public policy allows.
    expect((await ask(port(), '/authz', { headers })).status).toBe(200);
    // From an untrusted client it is ignored: the request is judged as it arrived, GET /authz, which no policy matches.
    const res = await ask(untrusting.app.httpAuthzPort!, '/authz', { headers: [...headers, ['x-request-id', 'direct-1']] });
    expectDenied(res, 403, undefined, 'Forbidden. No access policy applies to this request.');
    expect(untrusting.logs.find((l) => l.requestId === 'direct-1' && l.msg === 'check')).toMatchObject({ reason: 'NoPolicyMatched', policy: '' });
    // Nor can it move a named policy's request onto another path: /authz/admin stays admin's.
    const named = await ask(untrusting.app.httpAuthzPort!, '/authz/admin', { headers: [...nginx('/public'), bearer(reader)] });
    expectDenied(named, 403, 'Bearer error="insufficient_scope"', FORBIDDEN);
  });
});

describe('the listener', () => {
  it('keeps connections alive between checks', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await ask(port(), '/envoy/public', { headers: [bearer(reader)], agent });
      const second = await ask(port(), '/envoy/nothing', { headers: [bearer(reader)], agent });
      expect(first.status).toBe(200);
      expect(second.status).toBe(403);
      expect(second.reusedSocket).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('answers any other path 404, counted apart from the decisions', async () => {
    const res = await ask(port(), '/metrics');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ statusCode: 404 });
    expect(await sample('tokengate_http_authz_rejected_total', { reason: 'not_found' })).toBeGreaterThanOrEqual(1);
  });
});

describe('metrics, logs and the trace, as for gRPC, with a transport label', () => {
  it('counts decisions per transport and logs each with its transport and request id', async () => {
    const labels = { policy: 'public', decision: 'allow', reason: '' };
    const httpBefore = await sample('tokengate_decisions_total', { ...labels, transport: 'http' });
    const grpcBefore = await sample('tokengate_decisions_total', { ...labels, transport: 'grpc' });
    await ask(port(), '/authz', { headers: [...nginx('/public/m'), bearer(reader), ['x-request-id', 'metrics-1']] });
    await tg.client.check(envoyCheckRequest({ path: '/public/m', headers: { authorization: `Bearer ${reader}` } }));
    expect(await sample('tokengate_decisions_total', { ...labels, transport: 'http' })).toBe(httpBefore + 1);
    expect(await sample('tokengate_decisions_total', { ...labels, transport: 'grpc' })).toBe(grpcBefore + 1);
    expect(await sample('tokengate_check_duration_seconds_count', { transport: 'http' })).toBeGreaterThan(0);
    const line = tg.logs.find((l) => l.requestId === 'metrics-1' && l.msg === 'check');
    expect(line).toMatchObject({ level: 'info', transport: 'http', policy: 'public', decision: 'allow', sub: 'alice' });
  });

  it('at debug, the trace starts with how the request was rebuilt, and never shows the query', async () => {
    await ask(port(), '/authz', { headers: [...nginx('/public/t?access_token=secret'), bearer(reader), ['x-request-id', 'trace-1']] });
    const trace = tg.logs.find((l) => l.requestId === 'trace-1' && l.msg === 'check trace') as { steps: { step: string; detail: string }[] };
    expect(trace.steps[0]).toMatchObject({ step: 'request', detail: expect.stringContaining('GET /public/t') });
    expect(trace.steps.map((s) => s.step)).toContain('policy');
    expect(tg.rawLog()).not.toContain('access_token=secret');
    expect(tg.rawLog()).not.toContain(reader);
  });
});

/** One sample of tokengate's own registry, by exact labels (0 when absent). */
async function sample(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await tg.app.metrics.registry.getMetricsAsJSON();
  for (const m of metric) {
    for (const v of m.values as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
      const metricName = v.metricName ?? m.name;
      const same = Object.keys(labels).length === Object.keys(v.labels).length && Object.entries(labels).every(([k, x]) => v.labels[k] === x);
      if (metricName === name && same) return v.value;
    }
  }
  return 0;
}
