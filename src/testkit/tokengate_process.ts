// tokengate as a child process, exactly as deployed (`node [flags] dist/bundle/tokengate.mjs serve`), ready once
// /readyz says so.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, type ChildOptions } from './children.js';
import { httpGet } from './http.js';
import { ROOT } from './paths.js';

/**
 * The program the image runs (its ENTRYPOINT's script, test/deploy/node_runtime.test.ts holds them equal): tsc's
 * dist/cli.js bundled with its dependencies. `npm test`, `npm run test:e2e`, the bench and the soak build it first.
 */
export const TOKENGATE_CLI = join(ROOT, 'dist/bundle/tokengate.mjs');

export interface TokengateProcessOptions {
  /** CLI arguments, e.g. ['serve', '--config', file]. */
  readonly args: readonly string[];
  /** The ops port whose GET /readyz must answer 200. */
  readonly opsPort: number;
  readonly logFile: string;
  /** The process's name in errors and logs (default "tokengate"). */
  readonly name?: string;
  /** The CLI script (default: TOKENGATE_CLI of this checkout), and the working directory (default: the repo root). */
  readonly cli?: string;
  /** Node flags before the script, as the image's ENTRYPOINT gives them. */
  readonly nodeFlags?: readonly string[];
  /** A command that runs node, e.g. ['taskset', '-c', '0'] to pin it to a CPU. */
  readonly wrapper?: readonly string[];
  readonly cwd?: string;
  /** Added to the environment; TOKENGATE_CONFIG and LOG_LEVEL are not inherited from the caller's own. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where stdout goes: the log file (default), or nowhere (the bench: one log line per check). */
  readonly stdout?: ChildOptions['stdout'];
  readonly timeoutMs?: number;
}

/**
 * Starts `node [FLAGS] <cli> ARGS` as a child process and waits, by polling the ops port's GET /readyz, until it
 * reports ready (config loaded, every key source has keys).
 */
export async function startTokengateProcess(options: TokengateProcessOptions): Promise<ManagedProcess> {
  const cli = options.cli ?? TOKENGATE_CLI;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" (npm test and npm run test:e2e do)`);
  const env = { ...process.env };
  delete env.TOKENGATE_CONFIG;
  delete env.LOG_LEVEL;
  Object.assign(env, options.env);
  const argv = [...(options.wrapper ?? []), process.execPath, ...(options.nodeFlags ?? []), cli, ...options.args];
  const proc = new ManagedProcess(options.name ?? 'tokengate', argv[0]!, argv.slice(1), options.logFile, {
    env,
    cwd: options.cwd,
    stdout: options.stdout,
  });
  try {
    await proc.waitUntil(
      `tokengate GET /readyz == 200 on port ${options.opsPort}`,
      async () => (await httpGet(options.opsPort, '/readyz', { timeoutMs: 1000 })).status === 200,
      { timeoutMs: options.timeoutMs ?? 20_000 },
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}
