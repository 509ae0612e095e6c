// Tracing end to end (issue 22 §1): a real Envoy whose OpenTelemetry tracer exports to a real Jaeger, and tokengate
// (the built CLI, tracing on) exporting to the same Jaeger. A request through Envoy makes one trace: Envoy's spans and,
// as the child of Envoy's ext_authz call, tokengate's check span with the policy, decision and token facts. The trace
// is found from tokengate's decision log line (its traceId) and read back from Jaeger's query API.
// Needs JAEGER_BIN: `npm run test:e2e` (or `npm run test:e2e:tracing`, this file alone) installs Jaeger
// (scripts/install-jaeger.sh) and Envoy.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../../src/dev_issuer/dev_issuer.js';
import type { ManagedProcess } from '../../helpers/child_process.js';
import { httpGet } from '../../helpers/http.js';
import { freePorts } from '../../helpers/ports.js';
import { startTokengateProcess } from '../../helpers/tokengate_process.js';
import { waitFor } from '../../helpers/wait.js';
import { startEnvoy, type RunningEnvoy } from '../helpers/envoy.js';
import { AUDIENCE, e2eTokengateConfig } from '../helpers/stack.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/upstreams.js';
import { withOpenTelemetryTracer } from './envoy_tracing.js';
import { startJaeger, tagsOf, type JaegerSpan, type JaegerTrace, type RunningJaeger } from './jaeger.js';

let dir: string;
let jaeger: RunningJaeger;
let issuer: DevIssuer;
let echo: EchoUpstream;
let tokengate: ManagedProcess;
let tokengateLog: string;
let envoy: RunningEnvoy;
let listenerPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tokengate-e2e-tracing-'));
  jaeger = await startJaeger(dir);
  const [listener, admin, upstream, upstreamGrpc, grpc, ops] = (await freePorts(6)) as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  listenerPort = listener;
  echo = await startEchoUpstream(upstream);
  issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: AUDIENCE });
  const configFile = join(dir, 'tokengate.yaml');
  const config = e2eTokengateConfig({ grpcAddress: `127.0.0.1:${grpc}`, opsPort: ops, issuer: issuer.issuer })
    // Allows get a log line too, with the trace id that joins it to Jaeger.
    .replace('logging: { level: info }', 'logging: { level: info, decisions: all }');
  // A ratio of 0.01 for roots: the spans below are recorded because Envoy's sampled parent says so.
  writeFileSync(configFile, `${config}tracing: { enabled: true, samplerRatio: 0.01 }\n`);
  tokengateLog = join(dir, 'tokengate.log');
  tokengate = await startTokengateProcess({
    args: ['serve', '--config', configFile],
    opsPort: ops,
    logFile: tokengateLog,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl, OTEL_BSP_SCHEDULE_DELAY: '100' },
  });
  envoy = await startEnvoy({
    dir,
    listenerPort: listener,
    adminPort: admin,
    upstreamPort: upstream,
    upstreamGrpcPort: upstreamGrpc,
    tokengatePort: grpc,
    configure: (yaml) => withOpenTelemetryTracer(yaml, jaeger.otlpGrpcPort),
  });
});

afterAll(async () => {
  await envoy?.stop();
  await tokengate?.stop('SIGTERM', 10_000);
  await echo?.close();
  await issuer?.close();
  await jaeger?.stop();
  if (!process.env.TOKENGATE_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});

/** tokengate's decision log line that `match` picks (log lines are flushed at least once a second). */
function logLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return waitFor(
    "tokengate's decision log line",
    () =>
      readFileSync(tokengateLog, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'check' && match(l)),
    { timeoutMs: 10_000, intervalMs: 100, diagnostics: () => tokengate.logTail() },
  );
}

const service = (trace: JaegerTrace, span: JaegerSpan) => trace.processes[span.processID]?.serviceName;

/** The trace once Jaeger holds tokengate's check span and the Envoy span it names as its parent. */
function traceWithBoth(traceId: string): Promise<{ trace: JaegerTrace; check: JaegerSpan; parent: JaegerSpan }> {
  return waitFor(
    `trace ${traceId} in Jaeger with tokengate's span and its Envoy parent`,
    async () => {
      const trace = await jaeger.trace(traceId);
      const check = trace?.spans.find((s) => s.operationName === 'tokengate.check');
      const parentId = check?.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
      const parent = trace?.spans.find((s) => s.spanID === parentId);
      return trace && check && parent ? { trace, check, parent } : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200, diagnostics: () => `${tokengate.logTail()}\n${jaeger.logTail()}` },
  );
}

/** The token, its segments and the claim values that must not reach Jaeger. */
function secretsOf(token: string, claims: Record<string, string>): string[] {
  return [token, ...token.split('.'), ...Object.values(claims)];
}

describe('one trace holds Envoy and tokengate', () => {
  it("an allowed request: tokengate's check span is the child of Envoy's ext_authz span, with its attributes", async () => {
    const claims = { sub: `e2e-trace-${randomUUID()}`, oid: 'oid-private-e2e', scp: 'orders.read' };
    const token = await issuer.sign({ ...claims, jti: randomUUID() });
    const res = await httpGet(listenerPort, '/orders/1', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status, res.body).toBe(200);

    const line = await logLine((l) => l.sub === claims.sub);
    expect(line.traceId, 'the decision log line names the trace').toMatch(/^[0-9a-f]{32}$/);
    const { trace, check, parent } = await traceWithBoth(String(line.traceId));
    // Kept with TOKENGATE_E2E_KEEP=1, for a look at what Jaeger returned.
    writeFileSync(join(dir, 'trace-allow.json'), JSON.stringify(trace, null, 2));

    expect(service(trace, check)).toBe('tokengate');
    expect(tagsOf(check)).toMatchObject({
      'span.kind': 'server',
      'tokengate.transport': 'grpc',
      'tokengate.policy': 'orders',
      'tokengate.decision': 'allow',
      'tokengate.token.alg': 'RS256',
      'tokengate.token.kid': issuer.keys()[0]!.kid,
      'tokengate.token.issuer': issuer.issuer,
      'tokengate.token_cache.hit': false,
    });
    // The parent is Envoy's: the span of its gRPC call to Authorization/Check, itself inside Envoy's request span.
    expect(service(trace, parent)).toBe('envoy');
    expect(parent.operationName).toMatch(/Authorization.*Check/);
    const grandparent = parent.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    expect(trace.spans.find((s) => s.spanID === grandparent && service(trace, s) === 'envoy')).toBeDefined();
    const text = JSON.stringify(trace);
    for (const secret of secretsOf(token, { oid: claims.oid, sub: claims.sub })) expect(text).not.toContain(secret);
  });

  it('a denied request: the same shape, with the decision and the reason', async () => {
    const token = await issuer.sign({ sub: 'e2e-denied', aud: 'api://not-this-one', jti: randomUUID() });
    const res = await httpGet(listenerPort, '/orders/2', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(401);
    const line = await logLine((l) => l.reason === 'TokenAudienceNotAllowed');
    const { trace, check, parent } = await traceWithBoth(String(line.traceId));
    expect(tagsOf(check)).toMatchObject({
      'tokengate.policy': 'orders',
      'tokengate.decision': 'deny',
      'tokengate.reason': 'TokenAudienceNotAllowed',
    });
    expect(service(trace, parent)).toBe('envoy');
    expect(JSON.stringify(trace)).not.toContain(token.split('.')[1]!);
  });
});
