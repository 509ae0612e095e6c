import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, createCheckClient, envoyCheckRequest } from '../helpers/check_client.js';
import { waitUntil } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';
import { metric, spawnTokengate, type ChildTokengate } from '../helpers/tokengate_process.js';

let issuer: DevIssuer;
let child: ChildTokengate | undefined;
beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://w' });
});
afterAll(async () => {
  if (child?.proc.running) child.kill('SIGKILL');
  await issuer?.close();
});

describe('server.workers', () => {
  it('two worker processes share the gRPC address; the primary serves readiness and aggregated metrics; SIGTERM stops all', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const file = join(mkdtempSync(join(tmpdir(), 'tokengate-workers-')), 'tokengate.yaml');
    writeFileSync(file, `server:
  grpc: { address: "127.0.0.1:${ports.grpc}" }
  http: { address: "127.0.0.1:${ports.http}" }
  workers: 2
logging: { decisions: all }   # the allow lines' pids show which process served each check
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://w"]
`);
    child = await spawnTokengate(['serve', '--config', file], ports);
    const readyz = (await (await fetch(`${child.opsUrl}/readyz`)).json()) as { ready: boolean; sources: unknown[] };
    expect(readyz).toMatchObject({ ready: true });
    expect(readyz.sources).toHaveLength(1);

    // cluster balances connections, not streams: two clients, two connections, two workers.
    const clients = [createCheckClient(child.grpcAddress, { ownConnection: true }), createCheckClient(child.grpcAddress, { ownConnection: true })];
    const request = envoyCheckRequest({ headers: bearer(await issuer.sign({})) });
    for (let i = 0; i < 10; i++) for (const c of clients) expect((await c.check(request)).status.code).toBe(0);
    clients.forEach((c) => c.close());

    expect(await metric(child.opsUrl, 'tokengate_decisions_total{policy="api",decision="allow",reason="",transport="grpc"}')).toBe(20);
    const checkLines = () => child!.output().split('\n').filter((l) => l.includes('"msg":"check"')).length;
    await waitUntil(() => checkLines() === 20, 'the 20 decision log lines');
    const pids = new Set(
      child.output().split('\n').filter((l) => l.includes('"msg":"check"')).map((l) => (JSON.parse(l) as { pid: number }).pid),
    );
    expect(pids.size).toBe(2);
    expect(pids.has(child.proc.pid)).toBe(false);

    child.kill('SIGTERM');
    expect(await child.exited()).toBe(0);
  });
});
