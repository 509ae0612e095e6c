import { createHash } from 'node:crypto';
import type { VerifiedToken } from '../authz/verify_token.js';

/** A remembered answer: the token's claims as a VerifiedToken when it was active, undefined when it was not. */
export interface CachedAnswer {
  readonly verified: VerifiedToken | undefined;
  readonly expiresAtMs: number;
  readonly bytes: number;
}

export interface IntrospectionCacheOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

/** Map slot, key string and the objects around the claims, roughly. */
const ENTRY_OVERHEAD_BYTES = 384;

/**
 * The key a token is remembered by: its SHA-256, never the token itself, so the cache holds no credential that a
 * heap dump could hand to someone else (issue 19). 44 base64 characters.
 */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

/**
 * Introspection answers by token hash, bounded in entries and bytes. Each entry's lifetime is decided by the
 * caller (min(cacheSeconds, exp - now) for an active token, a short negative lifetime for an inactive one).
 * Eviction is oldest-inserted first with no recency bookkeeping, for the reason TokenCache gives: a lifetime is
 * bounded anyway, and a hot key's delete + set per hit slows Map lookups on Node 20.
 */
export class IntrospectionCache {
  readonly #options: IntrospectionCacheOptions;
  readonly #entries = new Map<string, CachedAnswer>();
  #bytes = 0;

  constructor(options: IntrospectionCacheOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string, nowMs: number): CachedAnswer | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.#delete(key, entry);
      return undefined;
    }
    return entry;
  }

  /** `claimBytes`: the size of the answer's claims, as the JSON they came in (times two for UTF-16). */
  set(key: string, verified: VerifiedToken | undefined, expiresAtMs: number, nowMs: number, claimBytes: number): void {
    if (this.#options.maxEntries <= 0 || expiresAtMs <= nowMs) return;
    const bytes = claimBytes + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.#options.maxBytes) return;
    const previous = this.#entries.get(key);
    if (previous) this.#delete(key, previous);
    while (this.#entries.size >= this.#options.maxEntries || this.#bytes + bytes > this.#options.maxBytes) {
      const oldest = this.#entries.entries().next().value as [string, CachedAnswer];
      this.#delete(oldest[0], oldest[1]);
    }
    this.#entries.set(key, { verified, expiresAtMs, bytes });
    this.#bytes += bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #delete(key: string, entry: CachedAnswer): void {
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}
