// RemoteKeySource on its own, against a real node:http server this test controls: the first fetch, retry backoff
// after failures, refetch on an unknown kid (one fetch at a time, at most once per cooldown), keys.maxStale, oct keys
// never trusted from the network (RFC 8725 §3.1, §3.2) and the discovery document's issuer (OpenID Connect
// Discovery 1.0 §4.3). No timing assertions: delays are read from the timers the source schedules, clocks are
// moved with a fake Date, and "no fetch happened" is read after awaiting the promise a fetch would have been.
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RemoteKeySource, type KeyFetchEvent, type RemoteKeySourceOptions } from '../../src/keys/remote_key_source.js';
import { waitUntil } from '../helpers/wait.js';

/** A public EC JWK with this kid, as an issuer publishes it. */
function ecJwk(kid: string): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
}
const K1 = ecJwk('k1');
const K2 = ecJwk('k2');
const OCT = { kty: 'oct', kid: 'hmac', k: Buffer.alloc(32, 1).toString('base64url') };

interface Reply {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The reply is held until this settles (a fetch kept in flight on purpose). */
  readonly gate?: Promise<void>;
}

/** A key server: each path answers with what `routes` says for its n-th request (n from 1). */
class KeyServer {
  readonly hits: string[] = [];
  readonly routes = new Map<string, (n: number) => Reply>();
  readonly #server: Server = createServer((req, res) => void this.#answer(req, res));
  #base = '';

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  url(path: string): string {
    return this.#base + path;
  }

  count(path: string): number {
    return this.hits.filter((h) => h === path).length;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '';
    this.hits.push(path);
    const reply = this.routes.get(path)?.(this.count(path)) ?? { status: 404 };
    await reply.gate;
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }
}

const jwks = (...keys: unknown[]): Reply => ({ body: { keys } });
const failure: Reply = { status: 500 };

let server: KeyServer;
let events: KeyFetchEvent[];
const sources: RemoteKeySource[] = [];

function source(path: string, options: Partial<RemoteKeySourceOptions> = {}): RemoteKeySource {
  const created = new RemoteKeySource({
    kind: 'jwks',
    url: server.url(path),
    fetchTimeoutMs: 5000,
    refreshIntervalMs: 600_000,
    cooldownMs: 30_000,
    maxStaleMs: 86_400_000,
    followRedirects: false,
    allowInsecureHttp: false,
    minRetryMs: 60_000,
    onFetch: (event) => events.push(event),
    ...options,
  });
  sources.push(created);
  return created;
}

/**
 * The delays of the timers RemoteKeySource itself schedules. The timers still run for real; a call is the source's
 * when its nearest caller outside this file and the spy is src/keys/remote_key_source (not fetch, not the test).
 */
function recordScheduledDelays(): number[] {
  const delays: number[] = [];
  const original = globalThis.setTimeout;
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, ms?: number) => {
    const frames = (new Error().stack ?? '').split('\n').slice(1);
    const caller = frames.find((f) => !f.includes('node_modules') && !f.includes('remote_key_source.test'));
    if (caller && /src[\\/]keys[\\/]remote_key_source\./.test(caller)) delays.push(ms ?? 0);
    return original(callback, ms);
  }) as typeof setTimeout);
  return delays;
}

beforeEach(async () => {
  server = await new KeyServer().listen();
  events = [];
});

afterEach(async () => {
  for (const s of sources.splice(0)) s.stop();
  vi.useRealTimers();
  vi.restoreAllMocks();
  await server.close();
});

describe('first fetch', () => {
  it('loads the JWKS once: keys by kid, every key, status and an ok event', async () => {
    server.routes.set('/jwks', () => jwks(K1, K2));
    const s = source('/jwks');
    expect(s.usable()).toBe(false);
    s.start();
    s.start();
    await s.firstFetch();
    expect(server.hits).toEqual(['/jwks']);
    expect(s.usable()).toBe(true);
    expect(s.keysWithKid('k1').map((k) => k.kid)).toEqual(['k1']);
    expect(s.keysWithKid('k3')).toEqual([]);
    expect(s.allKeys().map((k) => k.kid)).toEqual(['k1', 'k2']);
    expect(s.hasKey(s.keysWithKid('k2')[0]!)).toBe(true);
    expect(s.status()).toMatchObject({ kind: 'jwks', keyCount: 2, lastError: undefined, usable: true });
    expect(events).toEqual([{ source: server.url('/jwks'), result: 'ok', keyCount: 2, skipped: [] }]);
  });

  it('a failed first fetch still settles firstFetch, with no usable keys and the error kept', async () => {
    server.routes.set('/jwks', () => failure);
    const s = source('/jwks');
    s.start();
    await s.firstFetch();
    expect(s.usable()).toBe(false);
    expect(s.allKeys()).toEqual([]);
    expect(s.status().lastError).toMatch(/HTTP 500/);
    expect(events).toMatchObject([{ result: 'error', code: 'ERR_KEYS_HTTP_STATUS', keyCount: 0 }]);
  });
});

describe('retry backoff after failures', () => {
  it('doubles from minRetryMs up to maxRetryMs, one fetch per retry', async () => {
    const delays = recordScheduledDelays();
    server.routes.set('/jwks', () => failure);
    const s = source('/jwks', { minRetryMs: 20, maxRetryMs: 80 });
    s.start();
    await waitUntil(() => delays.length >= 6, 'six failed fetches');
    s.stop();
    expect(delays.slice(0, 6)).toEqual([20, 40, 80, 80, 80, 80]);
    // Each delay was scheduled by a failed fetch, and each fetch reached the server.
    expect(server.count('/jwks')).toBeGreaterThanOrEqual(6);
    expect(events.every((e) => e.result === 'error' && e.code === 'ERR_KEYS_HTTP_STATUS')).toBe(true);
  });

  it('a success resets the backoff: the next failure waits minRetryMs again; good keys are kept meanwhile', async () => {
    const delays = recordScheduledDelays();
    server.routes.set('/jwks', (n) => (n === 4 ? jwks(K1) : failure));
    const s = source('/jwks', { minRetryMs: 20, maxRetryMs: 1000, refreshIntervalMs: 30, minRefreshMs: 30 });
    s.start();
    await waitUntil(() => delays.length >= 5, 'three failures, a success and a failure');
    s.stop();
    // 20, 40, 80 after failures; 30 = the refresh interval after the success; 20 after the failure that follows.
    expect(delays.slice(0, 5)).toEqual([20, 40, 80, 30, 20]);
    expect(s.usable()).toBe(true);
    expect(s.keysWithKid('k1')).toHaveLength(1);
  });

  it("a server's Cache-Control max-age sets the refresh delay, kept within minRefreshMs and maxRefreshMs", async () => {
    const delays = recordScheduledDelays();
    const ages = ['max-age=3600', 'no-store', 'max-age=0', 'public, max-age="60"'];
    server.routes.set('/a', () => ({ ...jwks(K1), headers: { 'cache-control': ages[0]! } }));
    server.routes.set('/b', () => ({ ...jwks(K1), headers: { 'cache-control': ages[1]! } }));
    server.routes.set('/c', () => ({ ...jwks(K1), headers: { 'cache-control': ages[2]! } }));
    server.routes.set('/d', () => ({ ...jwks(K1), headers: { 'cache-control': ages[3]! } }));
    for (const path of ['/a', '/b', '/c', '/d']) {
      const s = source(path, { minRefreshMs: 5000, maxRefreshMs: 120_000 });
      s.start();
      await s.firstFetch();
      s.stop();
    }
    expect(delays).toEqual([120_000, 5000, 5000, 60_000]);
  });
});

describe('refreshForUnknownKid', () => {
  it('concurrent calls share one fetch, which brings the new key', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.routes.set('/jwks', (n) => (n === 1 ? jwks(K1) : { ...jwks(K1, K2), gate }));
    const s = source('/jwks', { cooldownMs: 0 });
    s.start();
    await s.firstFetch();
    const calls = Array.from({ length: 5 }, () => s.refreshForUnknownKid());
    expect(new Set(calls).size).toBe(1);
    await waitUntil(() => server.count('/jwks') === 2, 'the refetch to reach the server');
    expect(s.keysWithKid('k2')).toEqual([]);
    release();
    await Promise.all(calls);
    expect(server.count('/jwks')).toBe(2);
    expect(s.keysWithKid('k2')).toHaveLength(1);
  });

  it('a call during a fetch joins it and waits for its keys, even inside the cooldown', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.routes.set('/jwks', () => ({ ...jwks(K1), gate }));
    const s = source('/jwks', { cooldownMs: 30_000 });
    s.start();
    const joined = s.refreshForUnknownKid();
    release();
    await joined;
    // Resolved by the fetch itself, not at once: the keys it brought are there.
    expect(s.usable()).toBe(true);
    await s.firstFetch();
    expect(server.count('/jwks')).toBe(1);
  });

  it('inside cooldownMs of the last attempt no fetch is made; from cooldownMs on, one is', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2030-01-01T00:00:00Z').getTime();
    vi.setSystemTime(t0);
    server.routes.set('/jwks', (n) => (n === 1 ? jwks(K1) : jwks(K1, K2)));
    const s = source('/jwks', { cooldownMs: 10_000 });
    s.start();
    await s.firstFetch();
    // A fetch started by the call would be the promise it returns, so once it settles the count is final.
    await s.refreshForUnknownKid();
    vi.setSystemTime(t0 + 9_999);
    await s.refreshForUnknownKid();
    expect(server.count('/jwks')).toBe(1);
    expect(s.keysWithKid('k2')).toEqual([]);
    vi.setSystemTime(t0 + 10_000);
    await s.refreshForUnknownKid();
    expect(server.count('/jwks')).toBe(2);
    expect(s.keysWithKid('k2')).toHaveLength(1);
    // The cooldown starts again from that attempt.
    vi.setSystemTime(t0 + 19_999);
    await s.refreshForUnknownKid();
    expect(server.count('/jwks')).toBe(2);
  });

  it('a failed attempt starts the cooldown too', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2030-01-01T00:00:00Z').getTime();
    vi.setSystemTime(t0);
    server.routes.set('/jwks', (n) => (n === 1 ? jwks(K1) : failure));
    const s = source('/jwks', { cooldownMs: 10_000 });
    s.start();
    await s.firstFetch();
    vi.setSystemTime(t0 + 10_000);
    await s.refreshForUnknownKid();
    expect(server.count('/jwks')).toBe(2);
    vi.setSystemTime(t0 + 19_999);
    await s.refreshForUnknownKid();
    expect(server.count('/jwks')).toBe(2);
  });
});

describe('keys.maxStale', () => {
  it('while refreshes fail, the last good keys serve until maxStaleMs after they were fetched, then none', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2030-01-01T00:00:00Z').getTime();
    vi.setSystemTime(t0);
    server.routes.set('/jwks', (n) => (n === 1 ? jwks(K1) : n === 2 ? failure : jwks(K1)));
    const s = source('/jwks', { cooldownMs: 0, maxStaleMs: 60_000 });
    s.start();
    await s.firstFetch();
    const key = s.keysWithKid('k1')[0]!;
    await s.refreshForUnknownKid();
    expect(s.status().lastError).toMatch(/HTTP 500/);
    vi.setSystemTime(t0 + 60_000);
    expect(s.usable()).toBe(true);
    expect(s.hasKey(key)).toBe(true);
    vi.setSystemTime(t0 + 60_001);
    expect(s.usable()).toBe(false);
    expect(s.keysWithKid('k1')).toEqual([]);
    expect(s.allKeys()).toEqual([]);
    expect(s.hasKey(key)).toBe(false);
    expect(s.status()).toMatchObject({ usable: false, keyCount: 1 });
    // The next good fetch makes the source usable again.
    await s.refreshForUnknownKid();
    expect(s.usable()).toBe(true);
    expect(s.status().lastError).toBeUndefined();
  });

  it('keys whose refreshes have not failed stay usable, however old', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = new Date('2030-01-01T00:00:00Z').getTime();
    vi.setSystemTime(t0);
    server.routes.set('/jwks', () => jwks(K1));
    const s = source('/jwks', { maxStaleMs: 60_000 });
    s.start();
    await s.firstFetch();
    vi.setSystemTime(t0 + 10 * 60_000);
    expect(s.usable()).toBe(true);
  });
});

describe('what a JWKS may hold', () => {
  it('an oct key is skipped as symmetric, never imported; the other keys are', async () => {
    server.routes.set('/jwks', () => jwks(OCT, K1, { ...ecJwk('enc'), use: 'enc' }));
    const s = source('/jwks');
    s.start();
    await s.firstFetch();
    expect(s.allKeys().map((k) => k.kid)).toEqual(['k1']);
    expect(s.keysWithKid('hmac')).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ result: 'ok', keyCount: 1 });
    expect(events[0]!.skipped.map((k) => k.reason)).toEqual(['symmetric', 'unusable']);
    expect(events[0]!.skipped[0]!.detail).toMatch(/"hmac" is a symmetric \(oct\) key/);
    expect(JSON.stringify(events)).not.toContain(OCT.k);
  });

  it('a JWKS of oct keys only is no usable key set', async () => {
    server.routes.set('/jwks', () => jwks(OCT));
    const s = source('/jwks');
    s.start();
    await s.firstFetch();
    expect(s.usable()).toBe(false);
    expect(events).toMatchObject([{ result: 'error', code: 'ERR_KEYS_INVALID_DOCUMENT' }]);
    expect(events[0]!.error).toMatch(/no usable key/);
  });
});

describe('discovery (OpenID Connect Discovery 1.0 §4.3)', () => {
  const DISCOVERY = '/.well-known/openid-configuration';

  function discovery(issuer: string, jwksUri = server.url('/jwks')): void {
    server.routes.set(DISCOVERY, () => ({ body: { issuer, jwks_uri: jwksUri } }));
    server.routes.set('/jwks', () => jwks(K1));
  }

  function discover(expectedIssuer: string): RemoteKeySource {
    return source(DISCOVERY, { kind: 'openid-config', expectedIssuer });
  }

  it('the document naming the expected issuer leads to its jwks_uri', async () => {
    discovery(server.url(''));
    const s = discover(server.url(''));
    s.start();
    await s.firstFetch();
    expect(server.hits).toEqual([DISCOVERY, '/jwks']);
    expect(s.usable()).toBe(true);
    expect(s.documentIssuer()).toBe(server.url(''));
  });

  it('another issuer, even by a trailing slash or case, is ERR_KEYS_ISSUER_MISMATCH and no keys are fetched', async () => {
    for (const named of ['https://evil.example', `${server.url('')}/`, server.url('').toUpperCase()]) {
      events = [];
      discovery(named);
      const s = discover(server.url(''));
      s.start();
      await s.firstFetch();
      expect(events, named).toMatchObject([{ result: 'error', code: 'ERR_KEYS_ISSUER_MISMATCH' }]);
      expect(s.usable()).toBe(false);
      expect(s.documentIssuer()).toBeUndefined();
    }
    expect(server.count('/jwks')).toBe(0);
  });

  it('a document naming a {tenantid} template matches only that template, written the same', async () => {
    const template = server.url('/{tenantid}/v2.0');
    discovery(template);
    const s = discover(template);
    s.start();
    await s.firstFetch();
    expect(events).toMatchObject([{ result: 'ok' }]);
    expect(s.documentIssuer()).toBe(template);
    const other = discover(server.url('/{tenantid}/v2.0/'));
    other.start();
    await other.firstFetch();
    expect(events.at(-1)).toMatchObject({ result: 'error', code: 'ERR_KEYS_ISSUER_MISMATCH' });
  });

  it('a plain-http jwks_uri off loopback is refused before it is fetched', async () => {
    discovery(server.url(''), 'http://keys.example.com/jwks');
    const s = discover(server.url(''));
    s.start();
    await s.firstFetch();
    expect(events).toMatchObject([{ result: 'error', code: 'ERR_KEYS_INVALID_DOCUMENT' }]);
    expect(events[0]!.error).toMatch(/jwks_uri must be https/);
  });
});
