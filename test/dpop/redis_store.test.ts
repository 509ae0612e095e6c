import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisReplayStore } from '../../src/dpop/redis_store.js';

// The Redis replay store against servers that answer in every way a broken or hostile one could (a real Redis is in
// test/e2e/dpop/redis_replay.test.ts): whatever it gets but a clear OK or nil, the answer is `unavailable`.
let server: Server | undefined;
let store: RedisReplayStore | undefined;
afterEach(async () => {
  store?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server that calls `onCommand` with each RESP command (as its argument strings) and the socket to answer on. */
async function fakeRedis(onCommand: (args: string[], socket: Socket) => void): Promise<string> {
  server = createServer((socket) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      for (;;) {
        const parsed = parseCommand(buffer);
        if (!parsed) break;
        buffer = buffer.slice(parsed.length);
        onCommand(parsed.args, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

function parseCommand(text: string): { args: string[]; length: number } | undefined {
  const lines = text.split('\r\n');
  if (lines.length < 2 || !lines[0]!.startsWith('*')) return undefined;
  const count = Number(lines[0]!.slice(1));
  if (lines.length < 1 + count * 2 + 1) return undefined;
  const args = [];
  for (let i = 0; i < count; i++) args.push(lines[2 + i * 2]!);
  return { args, length: lines.slice(0, 1 + count * 2).join('\r\n').length + 2 };
}

const settings = (address: string) => ({
  address,
  keyPrefix: 'p:',
  timeoutMs: 200,
  username: undefined,
  passwordFile: undefined,
});
const claim = (s: RedisReplayStore) => s.claim('k', Date.now() + 60_000, Date.now());

describe('the Redis replay store', () => {
  it('sends SET prefix+key 1 NX PX ttl: OK is fresh, nil is replayed', async () => {
    const seen: string[][] = [];
    const address = await fakeRedis((args, socket) => {
      seen.push(args);
      socket.write(seen.length === 1 ? '+OK\r\n' : '$-1\r\n');
    });
    store = new RedisReplayStore(settings(address), undefined);
    expect(await claim(store)).toBe('fresh');
    expect(await claim(store)).toBe('replayed');
    expect(seen[0]!.slice(0, 5)).toEqual(['SET', 'p:k', '1', 'NX', 'PX']);
    expect(Number(seen[0]![5])).toBeGreaterThan(59_000);
  });

  it('an error reply, an unknown reply type, or no reply in time is unavailable', async () => {
    const replies = ['-ERR no\r\n', '?what\r\n', ''];
    const address = await fakeRedis((_args, socket) => socket.write(replies.shift() ?? ''));
    // A store (and connection) each: after garbage the connection is dropped and not retried at once.
    for (let i = 0; i < 3; i++) {
      const own = new RedisReplayStore(settings(address), undefined);
      try {
        expect(await claim(own)).toBe('unavailable');
      } finally {
        own.close();
      }
    }
    expect(replies).toEqual([]);
  });

  it('a late reply answers its own command, never the next one', async () => {
    let first: Socket | undefined;
    const address = await fakeRedis((_args, socket) => {
      // Hold the first reply (nil: replayed) until the second command arrives, then send both, in order.
      if (!first) first = socket;
      else socket.write('$-1\r\n+OK\r\n');
    });
    store = new RedisReplayStore(settings(address), undefined);
    expect(await claim(store)).toBe('unavailable'); // timed out
    expect(await claim(store)).toBe('fresh'); // the OK, not the first command's nil
  });

  it('a refused AUTH drops the connection: no command is sent unauthenticated', async () => {
    const commands: string[] = [];
    const address = await fakeRedis((args, socket) => {
      commands.push(args[0]!);
      socket.write(args[0] === 'AUTH' ? '-WRONGPASS invalid username-password pair\r\n' : '+OK\r\n');
    });
    store = new RedisReplayStore(settings(address), Buffer.from('secret'));
    expect(await claim(store)).toBe('unavailable');
    expect(commands).toEqual(['AUTH']);
  });
});
