import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { waitUntil } from '../helpers/wait.js';

const run = promisify(execFile);
let stopDemo: (() => Promise<void>) | undefined;
afterAll(async () => stopDemo?.());

describe('npm start (the demo)', () => {
  it('builds, starts on the bundled config with the dev issuer, and the printed commands give an allow and a deny', async () => {
    const grpc = await freePort();
    const http = await freePort();
    // detached: npm runs a shell that runs node; the whole group is stopped at the end.
    const child = spawn('npm', ['start', '--', '--grpc', `127.0.0.1:${grpc}`, '--http', `127.0.0.1:${http}`], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdout!.resume();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    stopDemo = async () => {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    };
    await waitUntil(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${http}/readyz`)).status === 200;
      } catch {
        return false;
      }
    }, 'the demo /readyz', 60_000);
    await waitUntil(() => stderr.includes('Press Ctrl-C to stop.'), 'the demo instructions');
    expect(stderr).toContain('NOT FOR PRODUCTION');

    const commandAfter = (heading: string) => {
      const lines = stderr.split('\n');
      return lines[lines.findIndex((l) => l.startsWith(heading)) + 1]!.trim().split(/\s+/);
    };
    const allow = commandAfter('Allow (GET /orders with that token)');
    expect(allow.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'check']);
    const allowed = await run(process.execPath, allow.slice(1));
    expect(allowed.stdout).toMatch(/^ALLOW policy=orders\n {2}upstream header x-user-sub: demo-user\n/);

    const deny = commandAfter('Deny (a token without the orders scope)');
    const denied = await run(process.execPath, deny.slice(1)).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^DENY 403 reason=TokenClaimValueNotAllowed policy=orders\n/);
    // npm start compiles first (17 s seen on a loaded 2-core machine): the test's deadline covers the build and the
    // 60 s readiness wait, not only vitest's default.
  }, 120_000);
});
