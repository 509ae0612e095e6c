import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../../src/dev_issuer/dev_issuer.js';
import { replayKey } from '../../../src/dpop/replay_store.js';
import { RespClient } from '../../../src/dpop/resp_client.js';
import { ManagedProcess } from '../../../src/testkit/children.js';
import { ROOT } from '../../../src/testkit/paths.js';
import { dpopProof, es256Key, type ProofKey } from '../../dpop/proofs.js';
import { createCheckClient, envoyCheckRequest, reasonOf, type CheckClient } from '../../helpers/check_client.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { startTokengate } from '../../helpers/tokengate.js';
import { spawnTokengate, type ChildTokengate } from '../../helpers/tokengate_process.js';

// The DPoP replay store on a real Redis (redis-server from Debian, scripts/install-redis.sh): two tokengate processes,
// as two pods would be, share it, so a proof used through one is refused through the other. tokengate logs in as an
// ACL user that may only SET keys under its prefix (the least it needs).
const dir = mkdtempSync(join(tmpdir(), 'tokengate-dpop-redis-'));
const PASSWORD = 'redis password for the test';
let redis: ManagedProcess;
let redisPort: number;
let issuer: DevIssuer;
const pods: ChildTokengate[] = [];
const clients: CheckClient[] = [];
let key: ProofKey;
let token: string;

/** REDIS_BIN (`npm run test:e2e` sets it after scripts/install-redis.sh), else what that script finds or installs. */
function redisBin(): string {
  if (process.env.REDIS_BIN) return process.env.REDIS_BIN;
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-redis.sh')], { encoding: 'utf8' });
  const bin = r.stdout.trim().split('\n').at(-1);
  if (r.status !== 0 || !bin) throw new Error(`no redis-server: ${r.stderr.trim()}`);
  return bin;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  const port = await freePort();
  redisPort = port;
  const acl = ['tokengate', 'on', `>${PASSWORD}`, 'resetkeys', '~tokengate:dpop:*', '-@all', '+set'];
  const admin = ['--user', 'admin', 'on', `>${PASSWORD}`, '~*', '+@all'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  redis = new ManagedProcess(
    'redis',
    redisBin(),
    [...args, '--user', 'default', 'off', '--user', ...acl, ...admin],
    join(dir, 'redis.log'),
  );
  await redis.waitUntil('redis accepts connections', () => accepts(port));
  writeFileSync(join(dir, 'redis.password'), `${PASSWORD}\n`);
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://r' });
  for (let i = 0; i < 2; i++) {
    const ports = { grpc: await freePort(), http: await freePort() };
    const file = join(dir, `tokengate-${i}.yaml`);
    writeFileSync(
      file,
      `server:
  grpc: { address: "127.0.0.1:${ports.grpc}" }
  http: { address: "127.0.0.1:${ports.http}" }
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://r"]
    dpop:
      required: true
      replay:
        store: redis
        redis: { address: "127.0.0.1:${port}", username: tokengate, passwordFile: "${join(dir, 'redis.password')}", timeoutMs: 500 }
`,
    );
    const pod = await spawnTokengate(['serve', '--config', file], ports);
    pods.push(pod);
    clients.push(createCheckClient(pod.grpcAddress));
  }
  key = await es256Key();
  token = await issuer.sign({ cnf: { jkt: key.thumbprint } });
  // Each process connects to Redis at start; until it has, checks are refused (fail closed). Wait for that with
  // fresh proofs, so no entry the tests below rely on is written here.
  for (const client of clients) {
    await waitFor(
      'tokengate connected to Redis',
      async () => {
        const res = await check(client, dpopProof(key, { token }));
        return res.status.code === 0 ? true : undefined;
      },
      { timeoutMs: 10_000 },
    );
  }
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  await Promise.all(pods.map((p) => (p.kill('SIGTERM'), p.exited())));
  await redis?.stop();
  await issuer?.close();
});

const check = (client: CheckClient, proof: string) =>
  client.check(envoyCheckRequest({ headers: { authorization: `DPoP ${token}`, dpop: proof } }));

describe('DPoP replay store on Redis', () => {
  it('a proof used through one tokengate process is refused through the other', async () => {
    const proof = dpopProof(key, { token });
    expect((await check(clients[0]!, proof)).status.code).toBe(0);
    const again = await check(clients[1]!, proof);
    expect(reasonOf(again)).toBe('DpopProofReplayed');
    expect(again.denied_response?.status?.code).toBe(401);
    // The other process is fine with a fresh proof: it was the replay that was refused.
    expect((await check(clients[1]!, dpopProof(key, { token }))).status.code).toBe(0);
  });

  it('the entry lives in Redis under the prefix, with a TTL of the proof window and no longer', async () => {
    const jti = randomUUID();
    expect((await check(clients[0]!, dpopProof(key, { token, jti }))).status.code).toBe(0);
    const admin = new RespClient(`127.0.0.1:${redisPort}`, [['AUTH', 'admin', PASSWORD]]);
    try {
      const ttl = await admin.command(['PTTL', `tokengate:dpop:${replayKey(key.thumbprint, jti)}`]);
      // iat is now: the entry must outlive the 60 s during which the proof's iat passes, and not much more.
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      admin.close();
    }
  });

  it('a refused AUTH (wrong password) is DpopReplayUnavailable: no check passes on an unusable store', async () => {
    writeFileSync(join(dir, 'wrong.password'), 'not the password');
    const tg = await startTokengate(
      `policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://r"]
    dpop:
      replay:
        store: redis
        redis: { address: "127.0.0.1:${redisPort}", username: tokengate, passwordFile: "${join(dir, 'wrong.password')}" }
`,
    );
    try {
      const res = await check(tg.client, dpopProof(key, { token }));
      expect(reasonOf(res)).toBe('DpopReplayUnavailable');
      expect(tg.rawLog()).toContain('the replay store (redis 127.0.0.1:');
      expect(tg.rawLog()).not.toContain('not the password');
    } finally {
      await tg.stop();
    }
  });

  it('with Redis gone, checks are refused DpopReplayUnavailable (503), never let through unchecked', async () => {
    await redis.stop();
    const res = await check(clients[0]!, dpopProof(key, { token }));
    expect(reasonOf(res)).toBe('DpopReplayUnavailable');
    expect(res.denied_response?.status?.code).toBe(503);
  });
});
