import cluster, { type Worker } from 'node:cluster';
import { ReplayCache, type ClaimResult, type ReplayCacheLimits } from './replay_cache.js';
import type { ReplayStore } from './replay_store.js';

/**
 * `server.workers > 1`: the replay cache lives in the primary, and workers ask it over the cluster's IPC channel.
 * The primary handles one message at a time, so its check-and-set is atomic across workers: a proof is accepted once
 * by the whole pod, whichever worker each use reaches. It also outlives a worker that restarts. No answer within the
 * check's deadline (the primary busy or gone) is `unavailable`, and the check is refused (fail closed).
 */

interface ClaimMessage {
  readonly type: 'tokengate:dpop-claim';
  readonly id: number;
  readonly key: string;
  readonly expiresAtMs: number;
  readonly limits: ReplayCacheLimits;
}

interface ClaimAnswer {
  readonly type: 'tokengate:dpop-claimed';
  readonly id: number;
  readonly result: ClaimResult;
}

/**
 * Questions over IPC beyond this many outstanding are answered `unavailable` at once: the primary is not keeping up.
 * A check whose deadline passes stops waiting, but its entry stays here until the answer (or the disconnect) comes.
 */
const MAX_PENDING = 10_000;
const pending = new Map<number, (result: ClaimResult) => void>();
let nextId = 1;
let listening = false;

/** In a worker: the store that asks the primary. */
export class PrimaryReplayStore implements ReplayStore {
  readonly describe = 'memory (shared by the workers through the primary)';
  readonly #limits: ReplayCacheLimits;

  constructor(limits: ReplayCacheLimits) {
    this.#limits = limits;
  }

  claim(key: string, expiresAtMs: number): Promise<ClaimResult> {
    if (!process.connected || !process.send || pending.size >= MAX_PENDING) return Promise.resolve('unavailable');
    listen();
    const id = nextId++;
    return new Promise<ClaimResult>((resolve) => {
      pending.set(id, resolve);
      const message: ClaimMessage = { type: 'tokengate:dpop-claim', id, key, expiresAtMs, limits: this.#limits };
      process.send!(message, undefined, undefined, (err) => {
        if (err && pending.delete(id)) resolve('unavailable');
      });
    });
  }

  close(): void {}
}

function listen(): void {
  if (listening) return;
  listening = true;
  process.on('message', (message: Partial<ClaimAnswer>) => {
    if (message?.type !== 'tokengate:dpop-claimed' || typeof message.id !== 'number') return;
    const resolve = pending.get(message.id);
    pending.delete(message.id);
    resolve?.(message.result ?? 'unavailable');
  });
  // The primary gone: no answer will come.
  process.once('disconnect', () => {
    for (const resolve of pending.values()) resolve('unavailable');
    pending.clear();
  });
}

/** Whether this process is a cluster worker, whose replay entries must live in the primary. */
export function inClusterWorker(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

/** In the primary: one cache per set of limits (policies with the same limits share one), answering every worker. */
export function answerReplayClaims(worker: Worker, caches: Map<string, ReplayCache>): void {
  worker.on('message', (message: Partial<ClaimMessage>) => {
    if (message?.type !== 'tokengate:dpop-claim') return;
    const { id, key, expiresAtMs, limits } = message;
    if (typeof id !== 'number' || typeof key !== 'string' || typeof expiresAtMs !== 'number' || !validLimits(limits)) {
      return;
    }
    const name = `${limits.maxEntries}/${limits.maxBytes}`;
    let cache = caches.get(name);
    if (!cache) caches.set(name, (cache = new ReplayCache(limits)));
    const answer: ClaimAnswer = {
      type: 'tokengate:dpop-claimed',
      id,
      result: cache.claim(key, expiresAtMs, Date.now()),
    };
    if (worker.isConnected()) worker.send(answer);
  });
}

function validLimits(limits: unknown): limits is ReplayCacheLimits {
  const l = limits as Partial<ReplayCacheLimits> | undefined;
  return typeof l?.maxEntries === 'number' && typeof l.maxBytes === 'number';
}
