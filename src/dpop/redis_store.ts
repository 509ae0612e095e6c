import type { DpopRedisConfig } from '../config/read_dpop.js';
import type { ClaimResult } from './replay_cache.js';
import type { ReplayStore } from './replay_store.js';
import { RespClient } from './resp_client.js';

/**
 * A replay store on Redis or Valkey, shared by every tokengate process that names it (a fleet of pods): `SET key 1 NX
 * PX ttl` records a proof's key only if it is not there, atomically on the server, so a proof is accepted once across
 * the fleet. What that holds on: the server keeps the keys for their TTL (`maxmemory-policy noeviction`, or memory
 * enough; an evicting policy could drop a live key and let its proof be replayed) and does not lose writes (a failover
 * to a replica that missed the write forgets it). Any error or a reply later than timeoutMs is `unavailable`: the
 * check is refused, never allowed unchecked.
 */
export class RedisReplayStore implements ReplayStore {
  readonly describe: string;
  readonly #client: RespClient;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(config: DpopRedisConfig, password: Buffer | undefined) {
    this.describe = `redis ${config.address}`;
    const auth =
      password === undefined ? [] : [['AUTH', ...(config.username ? [config.username] : []), password.toString()]];
    this.#client = new RespClient(config.address, auth);
    this.#prefix = config.keyPrefix;
    this.#timeoutMs = config.timeoutMs;
  }

  async claim(key: string, expiresAtMs: number, nowMs: number): Promise<ClaimResult> {
    const ttl = Math.max(1, Math.ceil(expiresAtMs - nowMs));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'unavailable'>((resolve) => {
      timer = setTimeout(() => resolve('unavailable'), this.#timeoutMs);
    });
    const set = this.#client
      .command(['SET', this.#prefix + key, '1', 'NX', 'PX', String(ttl)])
      .then((reply): ClaimResult => {
        if (reply === 'OK') return 'fresh';
        if (reply === null) return 'replayed';
        return 'unavailable';
      })
      .catch((): ClaimResult => 'unavailable');
    try {
      return await Promise.race([set, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Connects (and logs in) now: a first check within the deadline should not also pay for the connection. */
  start(): void {
    this.#client.connect().catch(() => undefined);
  }

  close(): void {
    this.#client.close();
  }
}
