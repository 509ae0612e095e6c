import { readFileSync } from 'node:fs';
import { watchConfig, type ConfigWatcher } from '../config/watch_config.js';

/**
 * Revoked token ids (`jti`), from a file with one `jti` per line, optionally followed by the token's `exp`
 * (`# comments` allowed). The file is watched like the config. An entry stays revoked until the token's exp,
 * even if the line is removed from the file earlier: un-revoking a stolen token by accident must not be possible
 * while it is still valid. Past its exp an entry is dropped, since the token is rejected as expired anyway.
 */
export class RevocationList {
  readonly file: string;
  #entries = new Map<string, number | undefined>();
  #watcher: ConfigWatcher | undefined;
  readonly #onReloadError: (err: Error) => void;

  /** Reads the file once; throws when it cannot be read, so a bad path fails the config, not silently. */
  constructor(file: string, onReloadError: (err: Error) => void = () => undefined) {
    this.file = file;
    this.#onReloadError = onReloadError;
    this.reload();
  }

  get size(): number {
    return this.#entries.size;
  }

  reload(nowSeconds = Date.now() / 1000): void {
    const next = new Map<string, number | undefined>();
    for (const raw of readFileSync(this.file, 'utf8').split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const [jti, exp] = line.split(/\s+/) as [string, string | undefined];
      const expSeconds = exp !== undefined && /^\d+$/.test(exp) ? Number(exp) : this.#entries.get(jti);
      if (expSeconds === undefined || expSeconds > nowSeconds) next.set(jti, expSeconds);
    }
    for (const [jti, exp] of this.#entries) {
      if (!next.has(jti) && exp !== undefined && exp > nowSeconds) next.set(jti, exp);
    }
    this.#entries = next;
  }

  /** True when the jti is revoked; learns the token's exp so the entry outlives its line in the file until then. */
  isRevoked(jti: string, exp: unknown): boolean {
    if (!this.#entries.has(jti)) return false;
    if (this.#entries.get(jti) === undefined && typeof exp === 'number') this.#entries.set(jti, exp);
    return true;
  }

  start(): void {
    this.#watcher ??= watchConfig(this.file, () => {
      try {
        this.reload();
      } catch (err) {
        this.#onReloadError(err as Error);
      }
    });
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
