// The shared tooling of test/, bench/ and the soak (src/testkit): the process manager's parts that the tests' own use
// does not reach (stdout to a pipe or nowhere, waiting on a process, run-to-end, the live-PID listener), ports, and
// the CheckRequest builder in the shapes the bench and the soak send.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManagedProcess, onChildrenChanged, runToEnd } from '../src/testkit/children.js';
import { envoyCheckRequest } from '../src/testkit/check_request.js';
import { freePorts, portInUse } from '../src/testkit/ports.js';
import { createServer } from 'node:net';

const dir = mkdtempSync(join(tmpdir(), 'testkit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const node = (name: string, script: string, stdout?: 'log' | 'pipe' | 'ignore') =>
  new ManagedProcess(name, process.execPath, ['-e', script], join(dir, `${name}.log`), { stdout });

describe('ManagedProcess', () => {
  it('sends stdout to the log by default, to a pipe, or nowhere; stderr always to the log', async () => {
    const script = 'console.log("out"); console.error("err")';
    const logged = node('logged', script);
    expect((await logged.exited).code).toBe(0);
    expect(logged.output()).toMatch(/out\nerr\n|err\nout\n/);

    const piped = node('piped', script, 'pipe');
    let out = '';
    piped.stdout!.on('data', (d: Buffer) => (out += d));
    await new Promise((resolve) => piped.stdout!.once('end', resolve));
    await piped.exited;
    expect(out).toBe('out\n');
    expect(piped.output()).toBe('err\n');

    const silent = node('silent', script, 'ignore');
    await silent.exited;
    expect(silent.stdout).toBeNull();
    expect(silent.output()).toBe('err\n');
    expect(silent.argv).toEqual([process.execPath, '-e', script]);
  });

  it('waitUntil: a condition met counts even after the exit; otherwise it gives up at once, with the log tail', async () => {
    const done = node('done', 'console.error("finished")');
    await done.exited;
    await done.waitUntil('the line', () => done.output().includes('finished'));

    const proc = node('early-exit', 'console.error("bad config"); process.exit(3)');
    await expect(proc.waitUntil('never', () => false, { timeoutMs: 20_000 })).rejects.toThrow(
      /never: early-exit exited early \(\{"code":3,"signal":null\}\)[\s\S]*bad config/,
    );
  });

  it('reports the live children by PID as they start and exit', async () => {
    const seen: number[][] = [];
    onChildrenChanged((pids) => seen.push(pids));
    const proc = node('tracked', 'setTimeout(() => {}, 60_000)');
    expect(seen.at(-1)).toContain(proc.pid);
    await proc.stop();
    expect(seen.at(-1)).not.toContain(proc.pid);
  });
});

describe('runToEnd', () => {
  it('resolves with the output, and rejects with the tail of stderr on a non-zero exit', async () => {
    expect(await runToEnd([process.execPath, '-e', 'process.stdout.write("a"); process.stderr.write("b")'])).toEqual({
      stdout: 'a',
      stderr: 'b',
    });
    await expect(runToEnd([process.execPath, '-e', 'console.error("why"); process.exit(4)'])).rejects.toThrow(
      /exited 4: why/,
    );
    await expect(runToEnd([join(dir, 'no-such-command')])).rejects.toThrow(/ENOENT/);
  });
});

describe('ports', () => {
  it('hands out distinct free ports, and portInUse sees a listener', async () => {
    const [a, b] = await freePorts(2);
    expect(a).not.toBe(b);
    expect(await portInUse(a!)).toBe(false);
    const server = createServer().listen(a, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      expect(await portInUse(a!)).toBe(true);
    } finally {
      server.close();
    }
  });
});

describe('envoyCheckRequest', () => {
  it('builds the bench`s and the soak`s shapes: own headers over the defaults, ids, ports, the time as JSON', () => {
    const req = envoyCheckRequest({
      path: '/orders/1?x=1',
      scheme: 'https',
      headers: { Authorization: 'Bearer t', 'user-agent': 'bench' },
      id: '42',
      sourcePort: 40001,
      contextExtensions: { policy: 'orders' },
      timeAs: 'json',
    }) as any;
    const { http } = req.attributes.request;
    expect(http).toMatchObject({ id: '42', path: '/orders/1?x=1', scheme: 'https', method: 'GET' });
    expect(http.headers).toMatchObject({
      ':scheme': 'https',
      ':path': '/orders/1?x=1',
      authorization: 'Bearer t', // lower-cased, as Envoy sends keys
      'user-agent': 'bench', // over the default
      'x-forwarded-proto': 'https',
    });
    expect(req.attributes.source.address.socket_address.port_value).toBe(40001);
    expect(req.attributes.context_extensions).toEqual({ policy: 'orders' });
    expect(req.attributes.request.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    const plain = envoyCheckRequest() as any;
    expect(plain.attributes.request.time).toEqual({ seconds: expect.stringMatching(/^\d+$/), nanos: 0 });
  });
});
