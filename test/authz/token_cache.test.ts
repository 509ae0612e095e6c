import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenCache } from '../../src/authz/token_cache.js';
import type { DecodedJws } from '../../src/jwt/decode_jws.js';
import type { VerificationKey } from '../../src/keys/verification_key.js';

const key: VerificationKey = { kid: 'k', alg: undefined, type: 'P-256', key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey };
const jws = (exp: number): DecodedJws => ({
  header: { alg: 'ES256' },
  payload: { exp },
  payloadSegment: 'e30',
  signingInput: Buffer.from('a.b'),
  signature: Buffer.alloc(64, 1),
  alg: 'ES256',
  kid: 'k',
});

describe('TokenCache', () => {
  const now = 1_000_000_000_000;
  const exp = now / 1000 + 3600;

  /** A token is admitted on its second verification. */
  const verifiedTwice = (cache: TokenCache, token: string, decoded: DecodedJws, at = now) => {
    cache.set(token, decoded, key, at);
    cache.set(token, decoded, key, at);
  };

  it('admits a token on its second verification, so one-off tokens never fill it', () => {
    const cache = new TokenCache({ maxEntries: 100, maxBytes: 1e9, maxTtlMs: 1e9 });
    for (let i = 0; i < 1000; i++) cache.set(`one-off-${i}`, jws(exp), key, now);
    expect(cache.size).toBe(0);
    cache.set('reused', jws(exp), key, now);
    expect(cache.get('reused', now)).toBeUndefined();
    cache.set('reused', jws(exp), key, now);
    expect(cache.get('reused', now)?.key).toBe(key);
  });

  it('tells apart tokens whose last 32 characters (the lookup fingerprint) are the same: a hit needs the whole token', () => {
    const cache = new TokenCache({ maxEntries: 2, maxBytes: 1e9, maxTtlMs: 1e9 });
    const tail = '.' + 'S'.repeat(40);
    const [a, b, c] = ['header.payloadA', 'header.payloadB', 'header.payloadC'].map((t) => t + tail);
    verifiedTwice(cache, a!, { ...jws(exp), payloadSegment: 'A' });
    verifiedTwice(cache, b!, { ...jws(exp), payloadSegment: 'B' });
    expect(cache.get(a!, now)?.jws.payloadSegment).toBe('A');
    expect(cache.get(b!, now)?.jws.payloadSegment).toBe('B');
    expect(cache.get(c!, now), 'never verified').toBeUndefined();
    // A sliced string, as a token cut from its header is, finds its entry too.
    expect(cache.get(`Bearer ${a}`.slice(7), now)?.jws.payloadSegment).toBe('A');
    // Evicting b (the one the fingerprint points to) leaves a findable; evicting a leaves nothing behind.
    verifiedTwice(cache, 'other', jws(exp));
    expect(cache.get(a!, now)).toBeUndefined();
    expect(cache.get(b!, now)?.jws.payloadSegment).toBe('B');
    verifiedTwice(cache, 'another', jws(exp));
    expect(cache.get(b!, now)).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  it('holds(): only a token it holds, whole; never one that shares its fingerprint, or one evicted', () => {
    const cache = new TokenCache({ maxEntries: 2, maxBytes: 1e9, maxTtlMs: 1e9 });
    const tail = '.' + 'S'.repeat(40);
    const [a, b] = ['header.payloadA', 'header.payloadB'].map((t) => t + tail);
    expect(cache.holds(a!)).toBe(false);
    cache.set(a!, jws(exp), key, now);
    expect(cache.holds(a!), 'seen once: not admitted').toBe(false);
    cache.set(a!, jws(exp), key, now);
    expect(cache.holds(`Bearer ${a}`.slice(7))).toBe(true);
    expect(cache.holds(b!), 'same fingerprint, another token').toBe(false);
    verifiedTwice(cache, 'x', jws(exp));
    verifiedTwice(cache, 'y', jws(exp));
    expect(cache.holds(a!), 'evicted').toBe(false);
  });

  it('is bounded by entries, evicting the oldest first', () => {
    const cache = new TokenCache({ maxEntries: 3, maxBytes: 1e9, maxTtlMs: 1e9 });
    for (const t of ['t1', 't2', 't3', 't4']) verifiedTwice(cache, t, jws(exp));
    expect(cache.size).toBe(3);
    expect(cache.get('t1', now)).toBeUndefined();
    expect(cache.get('t4', now)?.key).toBe(key);
  });

  it('is bounded by bytes', () => {
    const cache = new TokenCache({ maxEntries: 1000, maxBytes: 3 * (2 * 1000 + 512), maxTtlMs: 1e9 });
    for (let i = 0; i < 10; i++) verifiedTwice(cache, `${i}`.padStart(1000, 'x'), jws(exp));
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBeLessThanOrEqual(3 * (2 * 1000 + 512));
  });

  it('never returns an entry past the token exp or the TTL, and counts hits and misses', () => {
    const cache = new TokenCache({ maxEntries: 10, maxBytes: 1e9, maxTtlMs: 60_000 });
    verifiedTwice(cache, 'short', jws(now / 1000 + 10));
    verifiedTwice(cache, 'long', jws(exp));
    expect(cache.get('short', now + 9_999)).toBeDefined();
    expect(cache.get('short', now + 10_000)).toBeUndefined();
    expect(cache.get('long', now + 59_999)).toBeDefined();
    expect(cache.get('long', now + 60_000)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect([cache.hits, cache.misses]).toEqual([2, 2]);
  });

  it('keeps claims, not signature material (small buffers would pin 8 KiB pool slabs each)', () => {
    const cache = new TokenCache();
    verifiedTwice(cache, 't', jws(exp));
    const hit = cache.get('t', now)!;
    expect(hit.jws.payload).toEqual({ exp });
    expect(hit.jws.signature.length).toBe(0);
    expect(hit.jws.signingInput.length).toBe(0);
  });
});
