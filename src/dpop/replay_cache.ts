/** What a replay store answers for a proof: first use, seen before, or cannot tell (full, unreachable). */
export type ClaimResult = 'fresh' | 'replayed' | 'full' | 'unavailable';

export interface ReplayCacheLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/** Per entry besides the key's characters: the Map slot, the bucket's array slot and the number, roughly. */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * RFC 9449 §11.1: the `jti`s seen within their acceptance window, in this process. An entry lives until the proof's
 * `iat` leaves the window, then it can go: a proof that old is refused by its `iat` anyway. Entries are grouped by the
 * second they expire in, so expired ones are dropped a whole second at a time without scanning the rest.
 *
 * Bounded in entries and bytes. When full of unexpired entries it does not evict one (that would let its proof be
 * replayed): it answers `full`, and the check is refused (fail closed) until entries expire.
 */
export class ReplayCache {
  readonly #limits: ReplayCacheLimits;
  readonly #expiry = new Map<string, number>();
  /** Expiry second → the keys expiring in it. */
  readonly #buckets = new Map<number, string[]>();
  #bytes = 0;
  #purgedUpTo = 0;

  constructor(limits: ReplayCacheLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#expiry.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Records `key` until `expiresAtMs` unless it is there already: check and set in one step (no await between). */
  claim(key: string, expiresAtMs: number, nowMs: number): ClaimResult {
    this.#purge(nowMs);
    const known = this.#expiry.get(key);
    if (known !== undefined && known > nowMs) return 'replayed';
    // An expired entry not purged yet (same second) is reused: it is already counted.
    const cost = known === undefined ? key.length * 2 + ENTRY_OVERHEAD_BYTES : 0;
    const full = this.#expiry.size >= this.#limits.maxEntries || this.#bytes + cost > this.#limits.maxBytes;
    if (known === undefined && full) return 'full';
    this.#expiry.set(key, expiresAtMs);
    this.#bytes += cost;
    const second = Math.ceil(expiresAtMs / 1000);
    const bucket = this.#buckets.get(second);
    if (bucket) bucket.push(key);
    else this.#buckets.set(second, [key]);
    return 'fresh';
  }

  /** Drops the buckets whose second has passed; at most once per second of the clock. */
  #purge(nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    if (now <= this.#purgedUpTo) return;
    this.#purgedUpTo = now;
    for (const [second, keys] of this.#buckets) {
      if (second > now) continue;
      for (const key of keys) {
        const expiry = this.#expiry.get(key);
        // A key claimed again after it expired sits in a later bucket too: only its own expiry removes it.
        if (expiry !== undefined && expiry <= second * 1000) {
          this.#expiry.delete(key);
          this.#bytes -= key.length * 2 + ENTRY_OVERHEAD_BYTES;
        }
      }
      this.#buckets.delete(second);
    }
  }
}
