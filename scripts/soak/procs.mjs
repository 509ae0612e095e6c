// Children, ports and waiting for the soak, through the project's shared ones (dist/testkit): every child started
// here is killed when the soak exits, however it ends.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

const { ManagedProcess } = await import(join(ROOT, 'dist/testkit/children.js'));
const { freePort } = await import(join(ROOT, 'dist/testkit/ports.js'));
const testkitWait = await import(join(ROOT, 'dist/testkit/wait.js'));
export { freePort };
export const { sleep } = testkitWait;

export const log = (message) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

/** A usage or set-up error: one line on stderr, exit status 2 (a failed soak exits 1). */
export function fail(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

/**
 * Starts `command args` with stderr (and stdout, unless `stdoutFile` is '/dev/null') appended to `logFile`.
 * Returns { pid, exit, exited, stop }: `exit` is undefined while it runs, then { code, signal, at }; stop(signal, graceMs) resolves with { code, signal, ms }.
 */
export function startChild(command, args, { logFile, stdoutFile = logFile, env = process.env }) {
  if (stdoutFile !== logFile && stdoutFile !== '/dev/null') throw new Error(`stdout to ${stdoutFile}: not supported`);
  const proc = new ManagedProcess(basename(command), command, args, logFile, {
    env,
    stdout: stdoutFile === logFile ? 'log' : 'ignore',
  });
  return soakChild(proc);
}

/** The soak's view of a ManagedProcess (dist/testkit/children.js): when it exited, and how long a stop took. */
export function soakChild(proc) {
  const child = {
    pid: proc.pid,
    exit: undefined,
    exited: proc.exited.then(({ code, signal }) => (child.exit = { code, signal, at: Date.now() })),
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (child.exit) return { ...child.exit, ms: 0, alreadyExited: true };
      const t0 = Date.now();
      const { code, signal: by } = await proc.stop(signal, graceMs);
      return { code, signal: by, ms: Date.now() - t0 };
    },
  };
  return child;
}

/** Polls `probe` every 100 ms until it returns true; gives up (fail) at the deadline or when `child` exits. */
export async function waitFor(what, probe, { timeoutMs, child, logFile }) {
  try {
    await testkitWait.waitFor(
      what,
      async () => {
        if (child?.exit) throw new testkitWait.StopWaiting(`the process exited (${JSON.stringify(child.exit)})`);
        return (await probe()) ? true : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  } catch (err) {
    fail(`${err.message}; see ${logFile}`);
  }
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
