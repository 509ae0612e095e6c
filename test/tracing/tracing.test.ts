// Tracing on (issue 22 §1): real tokengate over real gRPC, the real OpenTelemetry SDK, its in-memory exporter in place
// of OTLP. What a check's span says, what it must never say, whose child it is, its child spans, and the trace id in
// the decision log line.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { ATTR } from '../../src/tracing/attributes.js';
import { bearer } from '../helpers/check_client.js';
import { json, startFakeEndpoint, type FakeEndpoint } from '../oidc/fake_endpoint.js';
import { exported, startTraced, type TracedTokengate } from './harness.js';

const AUD = 'api://orders';
const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';
const traceparent = (flags = '01', trace = PARENT_TRACE, span = PARENT_SPAN) => `00-${trace}-${span}-${flags}`;
/** Claim values that must never reach a span; sub only as enduser.id of an allowed check with recordSub. */
const PRIVATE = { oid: 'oid-7f3a-private', email: 'alice.private@example.com', name: 'Alice Private', jti: '' };

let issuer: DevIssuer;
let endpoint: FakeEndpoint;
let dir: string;
let tg: TracedTokengate;

function config(): string {
  return `
server:
  grpc: { address: "127.0.0.1:0" }
  http: false
  httpAuthz: { address: "127.0.0.1:0", trustedProxies: ["127.0.0.1/32"] }
  checkDeadlineMs: 5000
keys: { cooldown: 0 }
logging: { level: info, decisions: all }
policies:
  - name: orders
    match: { pathPrefixes: ["/orders"] }
    validateJwt:
      openidConfig: [{ url: "${issuer.discoveryUrl}" }]
      audiences: ["${AUD}"]
  - name: opaque
    match: { pathPrefixes: ["/opaque"] }
    validateJwt:
      issuers: ["https://idp.example"]
      audiences: []
      introspection:
        endpoint: "${endpoint.url}"
        clientId: tokengate
        clientSecretFile: "${join(dir, 'secret')}"
`;
}

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: AUD });
  endpoint = await startFakeEndpoint();
  dir = mkdtempSync(join(tmpdir(), 'tokengate-tracing-'));
  writeFileSync(join(dir, 'secret'), 'introspection-secret');
  tg = await startTraced(config(), { enabled: true, samplerRatio: 1, recordSub: true });
});

afterAll(async () => {
  await tg?.stop();
  await endpoint?.close();
  await issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => tg.exporter.reset());

async function token(claims: Record<string, unknown> = {}, kid?: string): Promise<string> {
  const jti = `jti-${randomUUID()}`;
  return issuer.sign({ sub: 'user-sub-1', ...PRIVATE, jti, ...claims }, kid === undefined ? {} : { kid });
}

/** One check with a fresh x-request-id; returns that id. */
async function check(options: { path?: string; headers?: Record<string, string>; metadata?: Record<string, string> }) {
  const requestId = randomUUID();
  const reply = await tg.check({ ...options, headers: { ...options.headers, 'x-request-id': requestId } });
  return { requestId, reply };
}

/** The token, its three segments and every claim value but iss and sub: none may appear in an exported span. */
function secretsOf(jwt: string): string[] {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  const claims = Object.entries(payload)
    .filter(([k]) => k !== 'iss' && k !== 'sub')
    .map(([, v]) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return [jwt, ...jwt.split('.'), ...claims.filter((v) => v.length >= 6)];
}

describe("a check's span", () => {
  it('an allowed check: one SERVER span with policy, decision, alg, kid, issuer, cache miss and sub', async () => {
    const jwt = await token();
    const { requestId, reply } = await check({ headers: bearer(jwt) });
    expect(reply.status.code).toBe(0);
    const [span] = await tg.spans('tokengate.check', 1);
    expect(span!.kind).toBe(SpanKind.SERVER);
    expect(span!.attributes).toEqual({
      [ATTR.transport]: 'grpc',
      [ATTR.policy]: 'orders',
      [ATTR.decision]: 'allow',
      [ATTR.alg]: 'RS256',
      [ATTR.kid]: issuer.keys()[0]!.kid,
      [ATTR.issuer]: issuer.issuer,
      [ATTR.tokenCacheHit]: false,
      [ATTR.sub]: 'user-sub-1',
    });
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expect(span!.resource.attributes['service.name']).toBe('tokengate');
    // The log line names the span's trace, so a log search and a trace search find each other.
    expect(tg.logLine(requestId).traceId).toBe(span!.spanContext().traceId);
    const text = exported(span!);
    for (const secret of secretsOf(jwt)) expect(text).not.toContain(secret);
  });

  it('a denied check: decision and reason, no sub even with recordSub, no claim or detail text', async () => {
    const jwt = await token({ aud: 'api://someone-else' });
    const { requestId } = await check({ headers: bearer(jwt) });
    const [span] = await tg.spans('tokengate.check', 1);
    expect(span!.attributes[ATTR.decision]).toBe('deny');
    expect(span!.attributes[ATTR.reason]).toBe('TokenAudienceNotAllowed');
    expect(span!.attributes[ATTR.alg]).toBe('RS256');
    expect(span!.attributes[ATTR.sub]).toBeUndefined();
    // A denial is the check doing its job, not an error of the span.
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    const line = tg.logLine(requestId);
    expect(line.traceId).toBe(span!.spanContext().traceId);
    const text = exported(span!);
    expect(text).not.toContain('user-sub-1');
    expect(text).not.toContain('someone-else');
    expect(text).not.toContain(String(line.detail)); // the log's detail names the audience; the span does not
    for (const secret of secretsOf(jwt)) expect(text).not.toContain(secret);
  });

  it('no token: decision and reason only, no token facts', async () => {
    await check({});
    const [span] = await tg.spans('tokengate.check', 1);
    expect(span!.attributes).toEqual({
      [ATTR.transport]: 'grpc',
      [ATTR.policy]: 'orders',
      [ATTR.decision]: 'deny',
      [ATTR.reason]: 'TokenNotPresent',
    });
  });

  it('token_cache.hit: false while the token is verified, true once the cache answers (admitted on the 2nd use)', async () => {
    const headers = bearer(await token());
    for (let i = 0; i < 3; i++) await check({ headers });
    const spans = await tg.spans('tokengate.check', 3);
    expect(spans.map((s) => s.attributes[ATTR.tokenCacheHit])).toEqual([false, false, true]);
  });
});

describe('parent context (W3C Trace Context)', () => {
  it("from the call metadata, as Envoy's ext_authz client sends it: a child of Envoy's span, tracestate kept", async () => {
    const { requestId } = await check({
      headers: bearer(await token()),
      metadata: { traceparent: traceparent(), tracestate: 'envoy=1,other=x' },
    });
    const [span] = await tg.spans('tokengate.check', 1);
    expect(span!.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(span!.parentSpanContext?.isRemote).toBe(true);
    expect(span!.spanContext().traceState?.serialize()).toBe('envoy=1,other=x');
    expect(tg.logLine(requestId).traceId).toBe(PARENT_TRACE);
  });

  it("from the CheckRequest's headers when the metadata has none; the metadata wins when both have one", async () => {
    const other = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    await check({ headers: { ...bearer(await token()), traceparent: traceparent('01', other) } });
    await check({
      headers: { ...bearer(await token()), traceparent: traceparent('01', other) },
      metadata: { traceparent: traceparent() },
    });
    const [fromHeaders, fromMetadata] = await tg.spans('tokengate.check', 2);
    expect(fromHeaders!.spanContext().traceId).toBe(other);
    expect(fromHeaders!.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(fromMetadata!.spanContext().traceId).toBe(PARENT_TRACE);
  });

  it('a malformed traceparent is ignored: the span is a root of a new trace', async () => {
    await check({ headers: bearer(await token()), metadata: { traceparent: traceparent('01', '0'.repeat(32)) } });
    await check({ headers: bearer(await token()), metadata: { traceparent: 'not-a-traceparent' } });
    const spans = await tg.spans('tokengate.check', 2);
    for (const span of spans) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe('0'.repeat(32));
    }
  });

  it('a parent that was not sampled is followed: no span, and no trace id in the log line', async () => {
    const unsampled = await check({ headers: bearer(await token()), metadata: { traceparent: traceparent('00') } });
    // The next check is recorded; decisions are recorded in order, so by then the first one's span would be there.
    await check({ headers: bearer(await token()), metadata: { traceparent: traceparent('01') } });
    const spans = await tg.spans('tokengate.check', 1);
    expect(spans).toHaveLength(1);
    expect(tg.logLine(unsampled.requestId)).not.toHaveProperty('traceId');
  });
});

describe('the HTTP authorization listener', () => {
  it("takes the parent from the proxy's request headers (Envoy http_service injects its span there)", async () => {
    const requestId = randomUUID();
    const res = await fetch(`http://127.0.0.1:${tg.app.httpAuthzPort}/authz`, {
      headers: {
        ...bearer(await token()),
        'x-original-uri': '/orders/7',
        'x-original-method': 'GET',
        'x-request-id': requestId,
        traceparent: traceparent(),
      },
    });
    expect(res.status).toBe(200);
    const [span] = await tg.spans('tokengate.check', 1);
    expect(span!.attributes).toMatchObject({
      [ATTR.transport]: 'http',
      [ATTR.policy]: 'orders',
      [ATTR.decision]: 'allow',
    });
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(tg.logLine(requestId).traceId).toBe(PARENT_TRACE);
  });
});

describe('child spans', () => {
  it("a key fetch a check asks for (unknown kid) is a CLIENT child of that check's span", async () => {
    const kid = await issuer.addKey('RS256');
    await check({ headers: bearer(await token({}, kid)), metadata: { traceparent: traceparent() } });
    const [checkSpan] = await tg.spans('tokengate.check', 1);
    const [fetch] = await tg.spans('tokengate.key_fetch', 1);
    expect(checkSpan!.attributes[ATTR.kid]).toBe(kid);
    expect(checkSpan!.attributes[ATTR.reason]).toBeUndefined();
    expect(checkSpan!.attributes[ATTR.decision]).toBe('allow');
    expect(fetch!.kind).toBe(SpanKind.CLIENT);
    expect(fetch!.spanContext().traceId).toBe(PARENT_TRACE);
    expect(fetch!.parentSpanContext?.spanId).toBe(checkSpan!.spanContext().spanId);
    expect(fetch!.attributes).toEqual({
      [ATTR.keySource]: issuer.discoveryUrl,
      [ATTR.keyFetchResult]: 'ok',
      [ATTR.keyFetchKeys]: 2,
    });
  });

  it("an introspection call is a CLIENT child of the check's span; the next check is an introspection cache hit", async () => {
    const opaque = `opaque-${randomUUID()}`;
    const clientId = 'client-id-private-77';
    const exp = Math.floor(Date.now() / 1000) + 600;
    endpoint.reply = json({ active: true, iss: 'https://idp.example', sub: 'svc-1', client_id: clientId, exp });
    const { requestId } = await check({ path: '/opaque/1', headers: bearer(opaque) });
    const [first] = await tg.spans('tokengate.check', 1);
    const [call] = await tg.spans('tokengate.introspection', 1);
    expect(first!.attributes[ATTR.reason], JSON.stringify(tg.logLine(requestId))).toBeUndefined();
    expect(first!.attributes).toMatchObject({
      [ATTR.policy]: 'opaque',
      [ATTR.decision]: 'allow',
      [ATTR.issuer]: 'https://idp.example',
      [ATTR.introspectionCacheHit]: false,
      [ATTR.sub]: 'svc-1',
    });
    expect(call!.kind).toBe(SpanKind.CLIENT);
    expect(call!.parentSpanContext?.spanId).toBe(first!.spanContext().spanId);
    expect(call!.attributes).toEqual({
      [ATTR.introspectionEndpoint]: endpoint.url,
      [ATTR.introspectionResult]: 'active',
    });
    await check({ path: '/opaque/2', headers: bearer(opaque) });
    const spans = await tg.spans('tokengate.check', 2);
    expect(spans[1]!.attributes[ATTR.introspectionCacheHit]).toBe(true);
    expect(tg.exporter.getFinishedSpans().filter((s) => s.name === 'tokengate.introspection')).toHaveLength(1);
    for (const span of tg.exporter.getFinishedSpans()) {
      expect(exported(span)).not.toContain(opaque);
      expect(exported(span)).not.toContain(clientId);
    }
  });
});

describe('sampler and recordSub', () => {
  it('samplerRatio 0 records no root check, still follows a sampled parent; recordSub off leaves sub out', async () => {
    const other = await startTraced(config(), { enabled: true, samplerRatio: 0, recordSub: false });
    try {
      const rootId = randomUUID();
      await other.check({ headers: { ...bearer(await token()), 'x-request-id': rootId } });
      await other.check({ headers: bearer(await token()), metadata: { traceparent: traceparent() } });
      const spans = await other.spans('tokengate.check', 1);
      expect(spans).toHaveLength(1);
      expect(spans[0]!.spanContext().traceId).toBe(PARENT_TRACE);
      expect(spans[0]!.attributes[ATTR.sub]).toBeUndefined();
      expect(exported(spans[0]!)).not.toContain('user-sub-1');
      expect(other.logLine(rootId)).not.toHaveProperty('traceId');
    } finally {
      await other.stop();
    }
  });
});
