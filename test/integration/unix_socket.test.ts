import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate } from '../helpers/tokengate.js';
import { waitUntil } from '../helpers/wait.js';

let issuer: DevIssuer;
beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://a' });
});
afterAll(async () => issuer?.close());

function config(address: string): string {
  return `server:
  grpc: { address: "${address}" }
  http: { address: "127.0.0.1:0" }
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["api://a"]
`;
}

/** Leaves a socket file behind the way a SIGKILLed server does. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

describe('Unix socket transport', () => {
  it('serves Check on unix:/path, removing a stale socket file left by a killed process', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tokengate-uds-')), 'authz.sock');
    await staleSocket(path);
    expect(existsSync(path)).toBe(true);
    const tg = await startTokengate(config(`unix:${path}`), { ISSUER: issuer.issuer });
    try {
      expect(tg.app.grpcAddress).toBe(`unix:${path}`);
      await waitUntil(async () => (await tg.client.health()) === 'SERVING', 'SERVING');
      expect((await tg.client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({})) }))).status.code).toBe(0);
      expect(reasonOf(await tg.client.check(envoyCheckRequest({})))).toBe('TokenNotPresent');
    } finally {
      await tg.stop();
    }
  });

  it('refuses to start on a socket another server is using, and never deletes a file that is not a socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokengate-uds-'));
    const live = await startTokengate(config(`unix:${join(dir, 'a.sock')}`), { ISSUER: issuer.issuer });
    try {
      await expect(startTokengate(config(`unix:${join(dir, 'a.sock')}`), { ISSUER: issuer.issuer })).rejects.toThrow(/another process is serving/);
    } finally {
      await live.stop();
    }
    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'precious');
    await expect(startTokengate(config(`unix:${file}`), { ISSUER: issuer.issuer })).rejects.toThrow(/exists and is not a socket/);
    expect(existsSync(file)).toBe(true);
  });
});
