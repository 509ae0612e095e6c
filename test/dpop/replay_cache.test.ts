import { describe, expect, it } from 'vitest';
import { ReplayCache } from '../../src/dpop/replay_cache.js';

const T = 1_800_000_000_000;

describe('the in-process DPoP replay cache (RFC 9449 §11.1)', () => {
  it('a key is fresh once, then replayed until it expires, then fresh again', () => {
    const cache = new ReplayCache({ maxEntries: 10, maxBytes: 1 << 20 });
    expect(cache.claim('a', T + 60_000, T)).toBe('fresh');
    expect(cache.claim('a', T + 60_000, T + 1)).toBe('replayed');
    expect(cache.claim('a', T + 60_000, T + 59_999)).toBe('replayed');
    expect(cache.claim('a', T + 200_000, T + 61_000)).toBe('fresh');
  });

  it('full of live entries it refuses new keys (full) rather than evict one, and takes them again once they expire', () => {
    const cache = new ReplayCache({ maxEntries: 2, maxBytes: 1 << 20 });
    expect(cache.claim('a', T + 10_000, T)).toBe('fresh');
    expect(cache.claim('b', T + 20_000, T)).toBe('fresh');
    expect(cache.claim('c', T + 20_000, T)).toBe('full');
    // a is still remembered: evicting it would have let its proof be replayed.
    expect(cache.claim('a', T + 10_000, T + 5_000)).toBe('replayed');
    expect(cache.claim('c', T + 30_000, T + 11_000)).toBe('fresh');
    expect(cache.size).toBe(2);
  });

  it('is bounded in bytes as well as entries, and gives the bytes back as entries expire', () => {
    const cache = new ReplayCache({ maxEntries: 1000, maxBytes: 500 });
    const key = (i: number) => `${i}`.padStart(43, 'k');
    let fresh = 0;
    for (let i = 0; i < 10; i++) if (cache.claim(key(i), T + 1000, T) === 'fresh') fresh++;
    expect(fresh).toBe(3); // 3 × (43 × 2 + 64) = 450 bytes; a fourth would pass 500
    expect(cache.bytes).toBe(450);
    expect(cache.claim(key(99), T + 5000, T + 2000)).toBe('fresh');
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(150);
  });
});
