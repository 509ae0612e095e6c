// The bench's children, through the shared process manager (dist/testkit/children.js): a PID file for bench/run.sh
// (so it can still end them if this process is killed outright), logs under out/logs, and the command lines run.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OUT, ROOT, log } from './config.mjs';

const { ManagedProcess, killChildren, onChildrenChanged, runToEnd } = await import(
  join(ROOT, 'dist', 'testkit', 'children.js')
);

const PIDFILE = join(OUT, 'children.pids');
onChildrenChanged((pids) => {
  try {
    writeFileSync(PIDFILE, pids.map((pid) => `${pid}\n`).join(''));
  } catch {
    /* OUT not there yet */
  }
});
process.on('exit', () => rmSync(PIDFILE, { force: true }));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping all children`);
    killChildren('SIGKILL');
    process.exit(130);
  });
}
export { killChildren };

/** Spawns a long-running child: stderr to out/logs/<name>.log, stdout there too, to a pipe, or nowhere ('ignore'). */
export function startChild(name, argv, { stdout = 'ignore' } = {}) {
  const logFile = join(OUT, 'logs', `${name}.log`);
  mkdirSync(dirname(logFile), { recursive: true });
  return new ManagedProcess(name, argv[0], argv.slice(1), logFile, { stdout });
}

/** Runs a command to completion: its stdout (or { out, err }); rejects on a non-zero exit with its stderr. */
export async function run(argv, { timeoutMs = 600_000, withStderr = false, onSpawn } = {}) {
  const { stdout, stderr } = await runToEnd(argv, { timeoutMs, onSpawn });
  return withStderr ? { out: stdout, err: stderr } : stdout;
}

/** Every distinct command line, for RESULTS.md. */
export const commands = [];
export function recordCommand(kind, argv) {
  const line = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${String(a).replaceAll("'", "'\\''")}'`)).join(' ');
  const rel = line.replaceAll(`${ROOT}/`, '');
  if (!commands.some((c) => c.kind === kind && c.cmd === rel)) commands.push({ kind, cmd: rel });
}
