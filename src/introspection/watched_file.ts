import { readFileSync } from 'node:fs';
import { watchConfig, type ConfigWatcher } from '../config/watch_config.js';

/**
 * A credential read from a file (a client secret, a private key), watched the way the config is: a Kubernetes
 * Secret's atomic `..data` swap or an edit is picked up without a restart. `parse` turns the text into the value and
 * throws on anything unusable; a file that cannot be read or parsed on reload leaves the previous value in use.
 * Error messages name the file and the cause, never its contents.
 */
export class WatchedFile<T> {
  readonly path: string;
  readonly #parse: (text: string) => T;
  readonly #onReloadError: (message: string) => void;
  #value: T;
  #lastError: string | undefined;
  #watcher: ConfigWatcher | undefined;

  /** Reads the file now: throws (with the path and cause) when it cannot be read or parsed. */
  constructor(path: string, parse: (text: string) => T, onReloadError: (message: string) => void = () => undefined) {
    this.path = path;
    this.#parse = parse;
    this.#onReloadError = onReloadError;
    this.#value = this.#read();
  }

  get value(): T {
    return this.#value;
  }

  /** Why the last reload failed, while it stays failed. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  start(): void {
    this.#watcher ??= watchConfig(this.path, () => this.reload());
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  reload(): void {
    try {
      this.#value = this.#read();
      this.#lastError = undefined;
    } catch (err) {
      this.#lastError = `${(err as Error).message}; the previous value stays in use`;
      this.#onReloadError(this.#lastError);
    }
  }

  #read(): T {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new Error(`cannot read ${this.path}: ${cause}`, { cause: err });
    }
    try {
      return this.#parse(text);
    } catch (err) {
      // parse's own messages never quote the file.
      throw new Error(`${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }
}
