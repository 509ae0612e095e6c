import { readFileSync } from 'node:fs';
import type { Config } from '../config/types.js';
import type { DpopConfig, DpopReplayConfig } from '../config/read_dpop.js';
import { ConfigError } from '../errors.js';
import { PrimaryReplayStore, inClusterWorker } from './cluster_replay.js';
import { NonceIssuer } from './nonce.js';
import { RedisReplayStore } from './redis_store.js';
import { MemoryReplayStore, type ReplayStore } from './replay_store.js';

/** A policy's `dpop:` section, ready for checks: sets, milliseconds, the nonce key imported, the replay store. */
export interface CompiledDpop {
  readonly required: boolean;
  readonly algorithms: ReadonlySet<string>;
  /** `ES256 PS256 …`: the `algs` parameter of the challenge (RFC 9449 §7.1). */
  readonly algs: string;
  readonly iatPastMs: number;
  readonly iatFutureMs: number;
  readonly externalOrigin: string | undefined;
  readonly nonce: NonceIssuer | undefined;
  readonly replay: ReplayStore;
}

export interface CompiledDpops {
  readonly byPolicy: readonly (CompiledDpop | undefined)[];
  /** Replay stores by their settings: shared by policies, and taken over by the next runtime on reload. */
  readonly stores: ReadonlyMap<string, ReplayStore>;
}

/**
 * Every policy's `dpop:` section. Stores whose settings did not change are taken from the previous runtime: a reload
 * must not forget the proofs already seen (that would open a replay window). Problems are one ConfigError.
 */
export function compileDpops(config: Config, previous: ReadonlyMap<string, ReplayStore> | undefined): CompiledDpops {
  const problems: string[] = [];
  const stores = new Map<string, ReplayStore>();
  const byPolicy = config.policies.map((policy, i) => {
    const dpop = policy.dpop;
    if (!dpop) return undefined;
    const at = `policies[${i}].dpop`;
    const name = storeName(dpop.replay);
    let replay = stores.get(name) ?? previous?.get(name);
    if (!replay) {
      try {
        replay = newStore(dpop.replay);
      } catch (err) {
        problems.push(`${at}.replay.redis.passwordFile: ${(err as Error).message}`);
        return undefined;
      }
    }
    stores.set(name, replay);
    let nonce: NonceIssuer | undefined;
    if (dpop.nonce) {
      try {
        nonce = new NonceIssuer(readSecret(dpop.nonce.keyFile), dpop.nonce.stepSeconds);
      } catch (err) {
        problems.push(`${at}.nonce.keyFile: ${(err as Error).message}`);
      }
    }
    return compiled(dpop, replay, nonce);
  });
  if (problems.length > 0) {
    for (const [name, store] of stores) if (previous?.get(name) !== store) store.close();
    throw new ConfigError(problems);
  }
  return { byPolicy, stores };
}

function compiled(dpop: DpopConfig, replay: ReplayStore, nonce: NonceIssuer | undefined): CompiledDpop {
  return {
    required: dpop.required,
    algorithms: new Set(dpop.algorithms),
    algs: dpop.algorithms.join(' '),
    iatPastMs: dpop.iatPastSeconds * 1000,
    iatFutureMs: dpop.iatFutureSeconds * 1000,
    externalOrigin: dpop.externalOrigin,
    nonce,
    replay,
  };
}

function storeName(replay: DpopReplayConfig): string {
  if (replay.store === 'redis') return `redis ${JSON.stringify(replay.redis)}`;
  return `memory ${replay.maxEntries}/${replay.maxBytes}`;
}

function newStore(replay: DpopReplayConfig): ReplayStore {
  const limits = { maxEntries: replay.maxEntries, maxBytes: replay.maxBytes };
  if (replay.store === 'redis' && replay.redis) {
    const { passwordFile } = replay.redis;
    return new RedisReplayStore(replay.redis, passwordFile === undefined ? undefined : readSecret(passwordFile));
  }
  return inClusterWorker() ? new PrimaryReplayStore(limits) : new MemoryReplayStore(limits);
}

/** A secret file's bytes, without the line end an editor or `echo` adds. */
function readSecret(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return bytes.subarray(0, end);
}
