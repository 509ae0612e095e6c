import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { createCheckClient, envoyCheckRequest, reasonOf, type CheckClient } from '../helpers/check_client.js';
import { freePort } from '../helpers/ports.js';
import { spawnTokengate, type ChildTokengate } from '../helpers/tokengate_process.js';
import { waitFor } from '../helpers/wait.js';
import { dpopProof, es256Key } from './proofs.js';

// server.workers: 2 — a proof used through one worker is refused through the other: the replay cache lives in the
// primary (src/dpop/cluster_replay.ts). The built CLI, two real worker processes, real gRPC connections.
let issuer: DevIssuer;
let child: ChildTokengate | undefined;
const clients: CheckClient[] = [];

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://w' });
});
afterAll(async () => {
  clients.forEach((c) => c.close());
  if (child?.proc.running) child.kill('SIGKILL');
  await issuer?.close();
});

describe('DPoP replay across workers', () => {
  it('the second use of a proof is denied DpopProofReplayed when it reaches the other worker', async () => {
    const ports = { grpc: await freePort(), http: await freePort() };
    const file = join(mkdtempSync(join(tmpdir(), 'tokengate-dpop-workers-')), 'tokengate.yaml');
    writeFileSync(
      file,
      `server:
  grpc: { address: "127.0.0.1:${ports.grpc}" }
  http: { address: "127.0.0.1:${ports.http}" }
  workers: 2
logging: { decisions: all }   # each decision line carries the pid of the worker that made it
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://w"]
    dpop: { required: true }
`,
    );
    child = await spawnTokengate(['serve', '--config', file], ports);
    const key = await es256Key();
    const token = await issuer.sign({ cnf: { jkt: key.thumbprint } });
    let n = 0;
    const send = async (client: CheckClient, proof: string) => {
      const requestId = `dpop-workers-${++n}`;
      const headers = { authorization: `DPoP ${token}`, dpop: proof, 'x-request-id': requestId };
      const res = await client.check(envoyCheckRequest({ headers }));
      const line = await waitFor(
        `the decision line of ${requestId}`,
        () =>
          child!
            .output()
            .split('\n')
            .filter((l) => l.includes(`"requestId":"${requestId}"`) && l.includes('"msg":"check"'))
            .map((l) => JSON.parse(l) as { pid: number })[0],
        { timeoutMs: 5000 },
      );
      return { res, pid: line.pid };
    };

    // node:cluster hands connections to workers in turn: find two connections served by different workers.
    const byPid = new Map<number, CheckClient>();
    for (let i = 0; i < 6 && byPid.size < 2; i++) {
      const client = createCheckClient(child.grpcAddress, { ownConnection: true });
      clients.push(client);
      const { res, pid } = await send(client, dpopProof(key, { token }));
      expect(res.status.code).toBe(0);
      byPid.set(pid, client);
    }
    expect(byPid.size).toBe(2);
    const [[pidA, a], [pidB, b]] = [...byPid];

    const proof = dpopProof(key, { token });
    const first = await send(a!, proof);
    expect(first.res.status.code).toBe(0);
    expect(first.pid).toBe(pidA);
    const second = await send(b!, proof);
    expect(second.pid).toBe(pidB);
    expect(reasonOf(second.res)).toBe('DpopProofReplayed');
    // And a fresh proof still passes on that worker: the denial was the replay, not the worker.
    expect((await send(b!, dpopProof(key, { token }))).res.status.code).toBe(0);

    child.kill('SIGTERM');
    expect(await child.exited()).toBe(0);
  });
});
