// Child processes of the tests, the bench and the soak: started with their output in a log file, stopped with a
// deadline, and killed whatever way the parent exits, so no run leaves a server behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ROOT } from './paths.js';
import { StopWaiting, waitFor } from './wait.js';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Children still running, killed if this process exits without stopping them (a crash): no leftovers. */
const running = new Set<ChildProcess>();
const listeners = new Set<(pids: number[]) => void>();
process.once('exit', () => killChildren('SIGKILL'));

function changed(): void {
  const pids = [...running].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  for (const listener of listeners) listener(pids);
}

function track(child: ChildProcess): void {
  running.add(child);
  changed();
  const forget = (): void => {
    if (running.delete(child)) changed();
  };
  child.once('exit', forget);
  child.once('error', forget);
}

/** Sends `signal` to every child still running (e.g. from a SIGTERM handler). */
export function killChildren(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of running) child.kill(signal);
}

/** Calls `listener` with the PIDs of the running children whenever the set changes (the bench's PID file). */
export function onChildrenChanged(listener: (pids: number[]) => void): void {
  listeners.add(listener);
}

export interface ChildOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to the repository root. */
  cwd?: string;
  /** stdout into the log file with stderr (default), to a pipe (`proc.stdout`), or nowhere. */
  stdout?: 'log' | 'pipe' | 'ignore';
}

/**
 * A child process whose stderr (and by default stdout) go to a log file (a file descriptor, so there is no pipe to
 * drain). `stop()` signals it and waits for the exit, escalating to SIGKILL after a deadline.
 */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly pid: number;
  /** The command line, as started. */
  readonly argv: readonly string[];
  readonly exited: Promise<Exit>;
  /** With `stdout: 'pipe'`. */
  readonly stdout: Readable | null;
  #exit: Exit | undefined;
  readonly #child: ChildProcess;

  constructor(name: string, command: string, args: readonly string[], logFile: string, options: ChildOptions = {}) {
    this.name = name;
    this.logFile = logFile;
    this.argv = [command, ...args];
    const fd = openSync(logFile, 'a');
    const stdout = options.stdout === 'pipe' || options.stdout === 'ignore' ? options.stdout : fd;
    try {
      const stdio: ['ignore', typeof stdout, number] = ['ignore', stdout, fd];
      this.#child = spawn(command, args, { stdio, env: options.env ?? process.env, cwd: options.cwd ?? ROOT });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    const child = this.#child;
    this.stdout = child.stdout;
    track(child);
    this.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
      child.once('error', (err) => {
        this.#exit = { code: null, signal: null };
        appendFileSync(logFile, `\n[${name}] spawn error: ${err.message}\n`);
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

  /** Sends `signal` without waiting (e.g. SIGHUP, or a SIGKILL whose exit the caller awaits itself). */
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

  /**
   * Polls `probe` (every `intervalMs`, default 50) until it says yes; gives up at once, with the log's tail, once the
   * process has exited and the probe still says no, and after `timeoutMs` (default 20 s) otherwise.
   */
  async waitUntil(
    what: string,
    probe: () => boolean | Promise<boolean>,
    options: { timeoutMs?: number; intervalMs?: number } = {},
  ): Promise<void> {
    await waitFor(
      what,
      async () => {
        const exited = !this.running; // read first: an exit during the probe is seen on the next round
        if (await probe()) return true;
        if (exited) throw new StopWaiting(`${this.name} exited early (${JSON.stringify(this.exit)})`);
        return undefined;
      },
      { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: options.intervalMs, diagnostics: () => this.logTail() },
    );
  }

  /** Everything the process has written to its log so far. */
  output(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** The last `lines` lines of the log, for error messages. */
  logTail(lines = 40): string {
    return fileTail(this.name, this.logFile, lines);
  }
}

/** The last `lines` lines of a log file, labelled, for error messages. */
export function fileTail(name: string, file: string, lines = 40): string {
  if (!existsSync(file)) return `--- ${name}: no log at ${file}`;
  const text = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return `--- last ${lines} lines of ${name} log (${file}):\n${text}`;
}

/**
 * Runs `argv` to its end and resolves with what it wrote; rejects, with the tail of its stderr, when it exits
 * non-zero or outlives `timeoutMs` (then it is SIGKILLed). `onSpawn` sees the child (e.g. to sample its CPU).
 */
export function runToEnd(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; onSpawn?: (child: ChildProcess) => void } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child);
    options.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${argv[0]}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${argv.slice(0, 3).join(' ')} … exited ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
}
