import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, createCheckClient, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { updateConfigMapVolume, writeConfigMapVolume } from '../helpers/configmap_volume.js';
import { freePort } from '../helpers/ports.js';
import { metric, spawnTokengate, type ChildTokengate } from '../helpers/tokengate_process.js';
import { waitUntil } from '../helpers/wait.js';

let issuer: DevIssuer;
let child: ChildTokengate | undefined;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://a' });
});
afterAll(async () => issuer?.close());
afterEach(async () => {
  if (child?.proc.running) {
    child.kill('SIGKILL');
    await child.exited();
  }
  child = undefined;
});

function config(ports: { grpc: number; http: number }, audience: string, extra = ''): string {
  return `server:
  grpc: { address: "127.0.0.1:${ports.grpc}" }
  http: { address: "127.0.0.1:${ports.http}" }
${extra}policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["${audience}"]
`;
}

/** A config directory laid out the way the kubelet mounts a ConfigMap; `swap` is the kubelet's atomic ..data update. */
function configMapDir(text: string): { file: string; swap(next: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-cm-'));
  writeConfigMapVolume(dir, { 'tokengate.yaml': text });
  return { file: join(dir, 'tokengate.yaml'), swap: (next) => updateConfigMapVolume(dir, { 'tokengate.yaml': next }) };
}

describe('hot reload', () => {
  it('a ConfigMap ..data swap changes decisions within a second while a stream of checks sees no error', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const cm = configMapDir(config(ports, 'api://a'));
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const client = createCheckClient(child.grpcAddress);
    const token = await issuer.sign({});
    const request = envoyCheckRequest({ headers: bearer(token) });
    expect((await client.check(request)).status.code).toBe(0);

    // A forged token rides along: whichever config answers, it must never be allowed.
    const forged = envoyCheckRequest({ headers: bearer(`${token.slice(0, -4)}AAAA`) });
    let errors = 0;
    let checks = 0;
    let wrongAllows = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await client.check(request).then(() => checks++, () => errors++);
        await client.check(forged).then((r) => (r.status.code === 0 ? wrongAllows++ : checks++), () => errors++);
      }
    })();
    cm.swap(config(ports, 'api://b'));
    const swappedAt = Date.now();
    await waitUntil(async () => reasonOf(await client.check(request)) === 'TokenAudienceNotAllowed', 'the new audience rule', 5000);
    const took = Date.now() - swappedAt;
    streaming = false;
    await stream;
    client.close();
    expect(errors).toBe(0);
    expect(wrongAllows).toBe(0);
    expect(checks).toBeGreaterThan(0);
    expect(took).toBeLessThan(1000);
    expect(await metric(child.opsUrl, 'tokengate_config_reloads_total{result="success"}')).toBeGreaterThanOrEqual(1);
  });

  it('an invalid config leaves decisions unchanged and counts the failure', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const cm = configMapDir(config(ports, 'api://a'));
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const client = createCheckClient(child.grpcAddress);
    const request = envoyCheckRequest({ headers: bearer(await issuer.sign({})) });
    cm.swap(config(ports, 'api://a').replace('audiences', 'audience'));
    await waitUntil(async () => (await metric(child!.opsUrl, 'tokengate_config_reloads_total{result="failure"}')) === 1, 'the failed reload');
    expect((await client.check(request)).status.code).toBe(0);
    // Log lines reach stdout within a second (tokengate buffers them): wait for it rather than expect it at once.
    await waitUntil(() => child!.output().includes('policies[0].validateJwt.audience: unknown key'), 'the reload error in the log');
    // SIGHUP reloads too, and is refused the same way.
    child.kill('SIGHUP');
    await waitUntil(async () => (await metric(child!.opsUrl, 'tokengate_config_reloads_total{result="failure"}')) === 2, 'the SIGHUP reload');
    expect((await client.check(request)).status.code).toBe(0);
    client.close();
  });

  it('a config that reads but does not compile (a key too short to use) counts one failed reload, not two', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const cm = configMapDir(config(ports, 'api://a'));
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const client = createCheckClient(child.grpcAddress);
    const request = envoyCheckRequest({ headers: bearer(await issuer.sign({})) });
    const shortKey = '      issuerSigningKeys: [{ base64: "c2hvcnQ=", issuers: ["https://other.example.com"] }]\n';
    cm.swap(`${config(ports, 'api://a')}${shortKey}`);
    await waitUntil(() => child!.output().includes('issuerSigningKeys[0]: a symmetric key needs at least 16 bytes'), 'the reload error in the log');
    expect(await metric(child.opsUrl, 'tokengate_config_reloads_total{result="failure"}')).toBe(1);
    expect((await client.check(request)).status.code).toBe(0);
    client.close();
  });
});

describe('shutdown', () => {
  it('SIGTERM while checks are in flight: every started check is answered, then the process exits 0', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    // Checks with an unknown kid wait for a JWKS refetch; a slow JWKS keeps them in flight when SIGTERM arrives.
    const cm = configMapDir(config(ports, 'api://a', 'keys: { cooldown: 0 }\n').replace('server:\n', 'server:\n  checkDeadlineMs: 2000\n'));
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const client = createCheckClient(child.grpcAddress);
    await client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({})) }));
    issuer.setFault({ kind: 'delay', ms: 700 }, 'jwks');
    try {
      const request = envoyCheckRequest({ headers: bearer(await issuer.sign({}, { header: { kid: 'rotated-later' } })) });
      const jwksHits = issuer.hits.jwks;
      const inFlight = Array.from({ length: 100 }, () => client.check(request));
      await waitUntil(() => issuer.hits.jwks > jwksHits, 'the server to start waiting on the JWKS');
      child.kill('SIGTERM');
      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => reasonOf(a))).toEqual(Array(100).fill('TokenSignatureKeyNotFound'));
      expect(await child.exited()).toBe(0);
      // Once draining, new connections are refused: Envoy sees a connect failure and fails closed.
      await expect(client.check(request, 2000)).rejects.toThrow(/UNAVAILABLE|DEADLINE_EXCEEDED/);
    } finally {
      issuer.setFault(undefined);
      client.close();
    }
  });
});

describe('crash and restart', () => {
  it('SIGKILL under a mixed stream, then a restart: every answer is right, failures are transport errors only', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const cm = configMapDir(config(ports, 'api://a'));
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const client = createCheckClient(child.grpcAddress);
    const valid = envoyCheckRequest({ headers: bearer(await issuer.sign({})) });
    const invalid = [
      envoyCheckRequest({ headers: bearer(await issuer.sign({ aud: 'api://other' })) }),
      envoyCheckRequest({ headers: bearer(await issuer.sign({ exp: 1 })) }),
      envoyCheckRequest({}),
    ];
    let wrong = 0;
    let answered = 0;
    let transportErrors = 0;
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        const expectAllow = i % 4 === 0;
        const request = expectAllow ? valid : invalid[i % 3]!;
        await client.check(request, 1000).then(
          (r) => {
            answered++;
            if ((r.status.code === 0) !== expectAllow) wrong++;
          },
          () => transportErrors++,
        );
      }
    })();
    await waitUntil(() => answered > 50, 'traffic before the crash');
    child.kill('SIGKILL');
    await child.exited();
    await waitUntil(() => transportErrors > 0, 'the crash to be seen');
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const afterRestart = answered;
    await waitUntil(() => answered > afterRestart + 50, 'traffic after the restart', 15_000);
    streaming = false;
    await stream;
    client.close();
    expect(wrong).toBe(0);
  });
});

describe('metrics and report-only', () => {
  it('counts decisions by policy, decision and reason; report-only allows and counts would_deny', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const text = config(ports, 'api://a') + `  - name: trial
    mode: report-only
    match: { pathPrefixes: ["/trial"] }
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://a"]
      requiredClaims: [{ name: roles, values: [Admin] }]
      outputClaimsToHeaders: [{ claim: sub, header: x-user-sub }]
`;
    // "api" matches everything, so put trial first.
    const reordered = text.replace(/policies:\n([\s\S]*?)(  - name: trial[\s\S]*)$/, 'policies:\n$2$1');
    const cm = configMapDir(reordered);
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const client = createCheckClient(child.grpcAddress);
    const token = await issuer.sign({});
    await client.check(envoyCheckRequest({ headers: bearer(token) }));
    await client.check(envoyCheckRequest({ headers: bearer(token) }));
    await client.check(envoyCheckRequest({}));
    const trial = await client.check(envoyCheckRequest({ path: '/trial/x', headers: { ...bearer(token), 'x-user-sub': 'forged' } }));
    expect(trial.status.code).toBe(0);
    expect(trial.ok_response?.headers_to_remove).toContain('x-user-sub');
    expect(trial.dynamic_metadata?.fields['tokengate.decision']?.stringValue).toBe('would_deny');
    expect(await metric(child.opsUrl, 'tokengate_decisions_total{policy="api",decision="allow",reason="",transport="grpc"}')).toBe(2);
    expect(await metric(child.opsUrl, 'tokengate_decisions_total{policy="api",decision="deny",reason="TokenNotPresent",transport="grpc"}')).toBe(1);
    expect(await metric(child.opsUrl, 'tokengate_decisions_total{policy="trial",decision="would_deny",reason="TokenClaimNotFound",transport="grpc"}')).toBe(1);
    expect(await metric(child.opsUrl, 'tokengate_token_cache_hits_total')).toBeGreaterThanOrEqual(1);
    expect(await metric(child.opsUrl, `tokengate_key_fetches_total{source="${issuer.issuer}/.well-known/openid-configuration",result="ok"}`)).toBeGreaterThanOrEqual(1);
    const text2 = await (await fetch(`${child.opsUrl}/metrics`)).text();
    expect(text2).toMatch(/^tokengate_check_duration_seconds_count{transport="grpc"} 4$/m);
    expect(text2).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(text2).toMatch(/^process_resident_memory_bytes /m);
    await waitUntil(() => /"decision":"would_deny","reason":"TokenClaimNotFound"/.test(child!.output()), 'the would_deny log line');
    client.close();
  });
});

describe('logging', () => {
  it('at debug level logs the explain trace, and never the token', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const cm = configMapDir(config(ports, 'api://a', 'logging: { level: debug }\n'));
    child = await spawnTokengate(['serve', '--config', cm.file], ports);
    const client = createCheckClient(child.grpcAddress);
    const token = await issuer.sign({});
    await client.check(envoyCheckRequest({ headers: { ...bearer(token), 'x-request-id': 'trace-me', cookie: `session=${token}` } }));
    await client.check(envoyCheckRequest({ headers: { authorization: `Bearer ${token}x`, 'x-request-id': 'bad-sig' } }));
    client.close();
    await waitUntil(() => child!.output().includes('"requestId":"bad-sig"'), 'the log lines');
    child.kill('SIGTERM');
    await child.exited();
    const out = child.output();
    expect(out).toMatch(/"requestId":"trace-me","steps":\[/);
    for (const part of token.split('.')) expect(out).not.toContain(part);
  });
});
