import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { ROOT } from './paths.js';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Children still running, killed if the test worker exits without its afterAll (a crash): no leftovers. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * A child process whose stdout and stderr go to a log file (a file descriptor, so there is no pipe to drain).
 * `stop()` signals it and waits for the exit, escalating to SIGKILL after a deadline.
 */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  readonly #child: ChildProcess;

  /** `cwd` defaults to the repository root. */
  constructor(name: string, command: string, args: readonly string[], logFile: string, options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.name = name;
    this.logFile = logFile;
    const fd = openSync(logFile, 'a');
    try {
      this.#child = spawn(command, args, { stdio: ['ignore', fd, fd], env: options.env ?? process.env, cwd: options.cwd ?? ROOT });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    const child = this.#child;
    running.add(child);
    this.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
      child.once('error', (err) => {
        running.delete(child);
        this.#exit = { code: null, signal: null };
        appendNote(logFile, `spawn error: ${err.message}`);
        resolve(this.#exit);
      });
    });
    // pid is undefined when the spawn failed (ENOENT...); the 'error' event then resolves `exited`.
    this.pid = child.pid ?? -1;
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Sends `signal` without waiting (e.g. SIGHUP, or a SIGKILL whose exit the test awaits itself). */
  kill(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs and waits again. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.#child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    this.#child.kill('SIGKILL');
    return this.exited;
  }

  /** Everything the process has written so far. */
  output(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 40): string {
    return fileTail(this.name, this.logFile, lines);
  }
}

function appendNote(file: string, note: string): void {
  appendFileSync(file, `\n[test] ${note}\n`);
}

/** The last `lines` lines of a log file, labelled, for error messages. */
export function fileTail(name: string, file: string, lines = 40): string {
  if (!existsSync(file)) return `--- ${name}: no log at ${file}`;
  const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return `--- last ${lines} lines of ${name} log (${file}):\n${text}`;
}
