// Children, ports and waiting for the soak. Every child started here is killed when the soak exits, however it ends.
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const log = (message) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** A usage or set-up error: one line on stderr, exit status 2 (a failed soak exits 1). */
export function fail(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `command args` with stderr (and stdout, unless `stdoutFile` says where) appended to `logFile`.
 * Returns { pid, exit, exited, stop }: `exit` is undefined while it runs, then { code, signal, at }; stop(signal, graceMs) resolves with { code, signal, ms }.
 */
export function startChild(command, args, { logFile, stdoutFile = logFile, env = process.env }) {
  const err = openSync(logFile, 'a');
  const out = stdoutFile === logFile ? err : openSync(stdoutFile, 'a');
  const proc = spawn(command, args, { stdio: ['ignore', out, err], env });
  running.add(proc);
  const child = {
    pid: proc.pid,
    exit: undefined,
    exited: new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        running.delete(proc);
        child.exit = { code, signal, at: Date.now() };
        resolve(child.exit);
      }),
    ),
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (child.exit) return { ...child.exit, ms: 0, alreadyExited: true };
      const t0 = Date.now();
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const { code, signal: by } = await child.exited;
      clearTimeout(timer);
      return { code, signal: by, ms: Date.now() - t0 };
    },
  };
  return child;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` every 100 ms until it returns true; gives up (fail) at the deadline or when `child` exits. */
export async function waitFor(what, probe, { timeoutMs, child, logFile }) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child?.exit) fail(`${what}: the process exited (${JSON.stringify(child.exit)}); see ${logFile}`);
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  fail(`${what}: not within ${timeoutMs} ms; see ${logFile}`);
}

/** VmRSS and CPU seconds (utime + stime) of a process, from /proc; undefined once it is gone. */
export function procReader(pid) {
  return {
    rss() {
      try {
        const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
        return m ? Number(m[1]) * 1024 : undefined;
      } catch {
        return undefined;
      }
    },
    cpuSeconds() {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return (Number(f[11]) + Number(f[12])) / 100; // clock ticks, 100/s
      } catch {
        return undefined;
      }
    },
  };
}
