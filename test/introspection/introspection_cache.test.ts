import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IntrospectionConfig } from '../../src/config/types.js';
import { IntrospectionCache, tokenKey } from '../../src/introspection/introspection_cache.js';
import { Introspector } from '../../src/introspection/introspector.js';
import { json, startFakeEndpoint, type FakeEndpoint } from '../oidc/fake_endpoint.js';

// Cache lifetimes are checked by handing the introspector a later `nowMs`, as a check arriving later would: no sleeps.
let dir: string;
let endpoint: FakeEndpoint;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tokengate-cache-'));
  writeFileSync(join(dir, 'secret'), 'secret');
  endpoint = await startFakeEndpoint();
});

afterEach(async () => {
  await endpoint.close();
  rmSync(dir, { recursive: true, force: true });
});

function introspector(options: Partial<IntrospectionConfig> = {}): Introspector {
  return new Introspector({
    endpoint: endpoint.url,
    discovery: undefined,
    clientId: 'tokengate',
    clientAuth: { method: 'client_secret_basic', secretFile: join(dir, 'secret') },
    cacheSeconds: 60,
    negativeCacheSeconds: 5,
    cacheMaxEntries: 100,
    cacheMaxBytes: 1 << 20,
    timeoutMs: 2000,
    applyTo: 'opaque',
    allowInsecureHttp: false,
    ...options,
  });
}

const NEVER = () => new Promise<void>(() => undefined);
/** Introspects at `start + afterSeconds`; resolves to 'active', or the denial's reason. */
async function at(i: Introspector, start: number, afterSeconds: number, token = 'opaque'): Promise<string> {
  try {
    await i.verify(token, { nowMs: start + afterSeconds * 1000, deadline: NEVER });
    return 'active';
  } catch (err) {
    return (err as { reason: string }).reason;
  }
}

describe('introspection cache lifetimes (RFC 7662 §4)', () => {
  it("an active answer lives min(cacheSeconds, exp - now): the token's exp bounds it", async () => {
    const start = Date.now();
    endpoint.reply = json({ active: true, exp: Math.floor(start / 1000) + 5 });
    const i = introspector({ cacheSeconds: 60 });
    expect(await at(i, start, 0)).toBe('active');
    expect(await at(i, start, 3)).toBe('active');
    expect(endpoint.requests).toHaveLength(1);
    await at(i, start, 6);
    expect(endpoint.requests).toHaveLength(2);
  });

  it('…and cacheSeconds bounds it when exp is further away', async () => {
    const start = Date.now();
    endpoint.reply = json({ active: true, exp: Math.floor(start / 1000) + 3600 });
    const i = introspector({ cacheSeconds: 10 });
    await at(i, start, 0);
    await at(i, start, 9);
    expect(endpoint.requests).toHaveLength(1);
    await at(i, start, 11);
    expect(endpoint.requests).toHaveLength(2);
  });

  it('an inactive answer is remembered for negativeCacheSeconds only', async () => {
    const start = Date.now();
    endpoint.reply = json({ active: false });
    const i = introspector({ negativeCacheSeconds: 5 });
    expect(await at(i, start, 0)).toBe('TokenInactive');
    expect(await at(i, start, 4)).toBe('TokenInactive');
    expect(endpoint.requests).toHaveLength(1);
    expect(await at(i, start, 6)).toBe('TokenInactive');
    expect(endpoint.requests).toHaveLength(2);
  });

  it('cacheSeconds: 0 asks the endpoint every time', async () => {
    const start = Date.now();
    endpoint.reply = json({ active: true, exp: Math.floor(start / 1000) + 600 });
    const i = introspector({ cacheSeconds: 0 });
    for (let n = 0; n < 3; n++) await at(i, start, 0);
    expect(endpoint.requests).toHaveLength(3);
  });

  it('a fault is never cached: the next check asks again', async () => {
    const start = Date.now();
    endpoint.reply = json('oops', 500);
    const i = introspector();
    expect(await at(i, start, 0)).toBe('IntrospectionUnavailable');
    endpoint.reply = json({ active: true, exp: Math.floor(start / 1000) + 600 });
    expect(await at(i, start, 0)).toBe('active');
    expect(endpoint.requests).toHaveLength(2);
  });

  it('keeps no token: keys are SHA-256 hashes; the status counts entries', async () => {
    const start = Date.now();
    endpoint.reply = json({ active: true, exp: Math.floor(start / 1000) + 600 });
    const i = introspector();
    await at(i, start, 0, 'token-one');
    await at(i, start, 0, 'token-two');
    expect(i.status()).toMatchObject({ healthy: true, cacheEntries: 2, lastError: undefined });
    expect(tokenKey('token-one')).toHaveLength(44);
    expect(tokenKey('token-one')).not.toContain('token-one');
  });
});

describe('IntrospectionCache bounds', () => {
  it('holds at most maxEntries, evicting the oldest', () => {
    const cache = new IntrospectionCache({ maxEntries: 2, maxBytes: 1 << 20 });
    for (const k of ['a', 'b', 'c']) cache.set(k, undefined, 10_000, 0, 10);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('c', 0)).toBeDefined();
  });

  it('holds at most maxBytes, and refuses an entry larger than the whole bound', () => {
    const cache = new IntrospectionCache({ maxEntries: 100, maxBytes: 2000 });
    for (const k of ['a', 'b', 'c', 'd']) cache.set(k, undefined, 10_000, 0, 500);
    expect(cache.bytes).toBeLessThanOrEqual(2000);
    expect(cache.size).toBe(2);
    cache.set('huge', undefined, 10_000, 0, 5000);
    expect(cache.get('huge', 0)).toBeUndefined();
  });

  it('drops an entry at its expiry, and never stores one already expired', () => {
    const cache = new IntrospectionCache({ maxEntries: 10, maxBytes: 1 << 20 });
    cache.set('a', undefined, 1000, 0, 10);
    cache.set('b', undefined, 500, 500, 10);
    expect(cache.size).toBe(1);
    expect(cache.get('a', 999)).toBeDefined();
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });
});
