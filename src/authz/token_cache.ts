import type { DecodedJws } from '../jwt/decode_jws.js';
import type { VerificationKey } from '../keys/verification_key.js';

export interface CachedToken {
  readonly jws: DecodedJws;
  /** The key whose signature check passed; a hit counts only while a policy's sources still hold this key. */
  readonly key: VerificationKey;
  readonly expiresAtMs: number;
  readonly bytes: number;
}

export interface TokenCacheOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Tokens without `exp` are kept at most this long. */
  readonly maxTtlMs: number;
}

/**
 * 5,000 tokens, 8 MiB: a sidecar sees the tokens of one workload's clients, and a token enters only on its second
 * verification, so 5,000 live ones within maxTtlMs is a large pod's worth. The bound is peak RSS (issue 23: 128 MB per
 * pod): V8 keeps the old generation's next GC well above the live heap, so each MB of cache costs ~2 MB of RSS at
 * peak, and 10,000 entries peaked at 138 MiB in the 60-minute soak (docs/reliability.md). 5,000 soak-sized tokens
 * (372 characters) are ~4.5 MB of heap and count 6.2 MiB here; tokens of 2-3 KiB fill the bytes first (~1,300-1,800).
 */
export const DEFAULT_TOKEN_CACHE: TokenCacheOptions = {
  maxEntries: 5_000,
  maxBytes: 8 * 1024 * 1024,
  maxTtlMs: 300_000,
};

const NO_BYTES = Buffer.alloc(0);

/** Rough per-entry overhead beyond the token text: decoded header and payload objects, buffers, map slot. */
const ENTRY_OVERHEAD_BYTES = 512;

/**
 * Signature verdicts of tokens already verified, so a client reusing its access token costs a map lookup, not a
 * signature. Only the signature is cached: time and claim rules are checked on every request, per policy.
 * Bounded by entries and bytes; an entry never outlives its token's `exp`.
 *
 * Eviction is oldest-inserted first, with no recency bookkeeping on a hit: on Node 20 a Map.delete + Map.set of the
 * same hot key per hit makes lookups slow down with map size (measured on this machine kind), and a token's
 * lifetime is bounded by its exp anyway.
 *
 * A token is admitted on its second verification, not its first: a stream of one-off tokens (each client
 * presenting a new token, or an attacker minting them) would otherwise fill the cache with entries that are never
 * hit, each one promoted to the old generation and collected there. Measured with bench/bench.mjs on distinct
 * RS256 tokens, that churn cost about 70 MB of RSS. A token in real use is seen again within moments.
 */
export class TokenCache {
  readonly #options: TokenCacheOptions;
  readonly #entries = new Map<string, CachedToken>();
  /**
   * The same entries by tailHash, the way a hit is found: a Map keyed by the token itself hashes all of its
   * characters on every lookup, since each request's token is a new string (about 1 µs for a 1 KB token, as much
   * as the rest of the cache hit). A hit still needs the whole token to be equal; another token with the same
   * fingerprint is looked up in #entries, and only the latest token of a fingerprint is indexed here.
   */
  readonly #byTail = new Map<number, { readonly token: string; readonly entry: CachedToken }>();
  /** Fingerprints of tokens verified once and not admitted yet; cleared when full. */
  readonly #seenOnce = new Set<number>();
  #bytes = 0;
  hits = 0;
  misses = 0;

  constructor(options: TokenCacheOptions = DEFAULT_TOKEN_CACHE) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Whether this exact token is cached, by its fingerprint alone: no hashing of the whole token, so a token indexed
   * under a fingerprint another token took since is missed (the caller then checks it in full). Expiry is not looked
   * at: a token here was well-formed when it was verified, and is now.
   */
  holds(token: string): boolean {
    return this.#byTail.get(tailHash(token))?.token === token;
  }

  get(token: string, nowMs: number): CachedToken | undefined {
    const indexed = this.#byTail.get(tailHash(token));
    const entry = indexed !== undefined && indexed.token === token ? indexed.entry : this.#entries.get(token);
    if (entry === undefined) {
      this.misses += 1;
      return undefined;
    }
    if (entry.expiresAtMs <= nowMs) {
      this.#delete(token, entry);
      this.misses += 1;
      return undefined;
    }
    this.hits += 1;
    return entry;
  }

  set(token: string, jws: DecodedJws, key: VerificationKey, nowMs: number): void {
    if (this.#options.maxEntries <= 0) return;
    const exp = typeof jws.payload.exp === 'number' ? jws.payload.exp * 1000 : Infinity;
    const expiresAtMs = Math.min(exp, nowMs + this.#options.maxTtlMs);
    if (expiresAtMs <= nowMs) return;
    const bytes = token.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.#options.maxBytes) return;
    if (!this.#admit(token)) return;
    const previous = this.#entries.get(token);
    if (previous) this.#delete(token, previous);
    while (this.#entries.size >= this.#options.maxEntries || this.#bytes + bytes > this.#options.maxBytes) {
      const oldest = this.#entries.entries().next().value as [string, CachedToken];
      this.#delete(oldest[0], oldest[1]);
    }
    // The cache keeps claims, not signature material: the small signature and signing-input buffers would each
    // pin an 8 KiB slab of Node's shared buffer pool, so memory would outgrow the byte bound.
    const entry = { jws: { ...jws, signingInput: NO_BYTES, signature: NO_BYTES }, key, expiresAtMs, bytes };
    this.#entries.set(token, entry);
    this.#byTail.set(tailHash(token), { token, entry });
    this.#bytes += bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#byTail.clear();
    this.#seenOnce.clear();
    this.#bytes = 0;
  }

  /** True on a token's second verification. A fingerprint collision only admits a token early, which is harmless. */
  #admit(token: string): boolean {
    const fingerprint = tailHash(token);
    if (this.#seenOnce.delete(fingerprint)) return true;
    if (this.#seenOnce.size >= this.#options.maxEntries) this.#seenOnce.clear();
    this.#seenOnce.add(fingerprint);
    return false;
  }

  #delete(token: string, entry: CachedToken): void {
    this.#entries.delete(token);
    const tail = tailHash(token);
    if (this.#byTail.get(tail)?.entry === entry) this.#byTail.delete(tail);
    this.#bytes -= entry.bytes;
  }
}

/** FNV-1a over the last 32 characters: the signature's tail, which differs between any two signed tokens. */
function tailHash(token: string): number {
  let hash = 0x811c9dc5;
  for (let i = Math.max(0, token.length - 32); i < token.length; i++) {
    hash ^= token.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
