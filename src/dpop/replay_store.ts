import { createHash } from 'node:crypto';
import { ReplayCache, type ClaimResult, type ReplayCacheLimits } from './replay_cache.js';

/**
 * Where the `jti`s of accepted proofs are remembered (RFC 9449 §11.1). `claim` checks and records in one step: of
 * two checks racing with the same proof, exactly one gets `fresh`, whichever store holds the entries.
 */
export interface ReplayStore {
  /** For traces and `validate`: which store, and so what a replay is detected across. */
  readonly describe: string;
  claim(key: string, expiresAtMs: number, nowMs: number): ClaimResult | Promise<ClaimResult>;
  /** Opens any connection the store needs, so the first check does not wait for it (the runtime starts). */
  start?(): void;
  /** Stops any connection the store holds (a reload that no longer names it). */
  close(): void;
}

/** This process only: a replay through another tokengate process (another pod, another worker) is not seen. */
export class MemoryReplayStore implements ReplayStore {
  readonly describe = 'memory (this process)';
  readonly cache: ReplayCache;

  constructor(limits: ReplayCacheLimits) {
    this.cache = new ReplayCache(limits);
  }

  claim(key: string, expiresAtMs: number, nowMs: number): ClaimResult {
    return this.cache.claim(key, expiresAtMs, nowMs);
  }

  close(): void {}
}

/** The key of a proof: its key's thumbprint and its `jti`, hashed: fixed length, and no client text in a store key. */
export function replayKey(thumbprint: string, jti: string): string {
  return createHash('sha256').update(`${thumbprint}\n${jti}`).digest('base64url');
}
