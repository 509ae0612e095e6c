import { readFileSync } from 'node:fs';
import { watchConfig, type ConfigWatcher } from '../config/watch_config.js';

/**
 * Revoked token ids (`jti`), from a file with one `jti` per line, optionally followed by the token's `exp`
 * (`# comments` allowed). The file is watched like the config. An entry is never dropped while its line is in the
 * file. Once its line is removed, it stays revoked for as long as any policy could still accept the token, that is
 * until `exp` plus the largest clock skew of the config: un-revoking a stolen token by accident must not be possible
 * while it is still valid anywhere.
 */
export class RevocationList {
  readonly file: string;
  #entries = new Map<string, number | undefined>();
  #watcher: ConfigWatcher | undefined;
  readonly #onReloadError: (err: Error) => void;
  /** The largest clockSkew of any policy: a token is accepted until exp + this. */
  #graceSeconds: number;

  /** Reads the file once; throws when it cannot be read, so a bad path fails the config, not silently. */
  constructor(file: string, onReloadError: (err: Error) => void = () => undefined, graceSeconds = 0) {
    this.file = file;
    this.#onReloadError = onReloadError;
    this.#graceSeconds = graceSeconds;
    this.reload();
  }

  /** A reloaded config may allow more clock skew: entries out of the file must then live longer. */
  setGraceSeconds(graceSeconds: number): void {
    this.#graceSeconds = graceSeconds;
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
      next.set(jti, exp !== undefined && /^\d+$/.test(exp) ? Number(exp) : this.#entries.get(jti));
    }
    for (const [jti, exp] of this.#entries) {
      if (!next.has(jti) && exp !== undefined && exp + this.#graceSeconds >= nowSeconds) next.set(jti, exp);
    }
    this.#entries = next;
  }

  /**
   * True when the jti is revoked; learns the token's exp so the entry outlives its line in the file until then.
   * RFC 7519 §4.1.7 makes `jti` a string, but a numeric one is revoked too: `12345` in the file matches
   * `"jti": 12345`.
   */
  isRevoked(jti: unknown, exp: unknown): boolean {
    const id =
      typeof jti === 'string' ? jti : typeof jti === 'number' && Number.isFinite(jti) ? String(jti) : undefined;
    if (id === undefined || !this.#entries.has(id)) return false;
    if (this.#entries.get(id) === undefined && typeof exp === 'number') this.#entries.set(id, exp);
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
