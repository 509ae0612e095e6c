import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet } from './http.js';
import { ROOT } from './paths.js';
import { ManagedProcess } from './process.js';
import { StopWaiting, waitFor } from './wait.js';

/** The built CLI, exactly as deployed: `npm run test:e2e` runs `npm run build` first. */
export const TOKENGATE_CLI = join(ROOT, 'dist/cli.js');

/**
 * Starts `node dist/cli.js serve --config FILE` as a child process and waits, by polling the ops port's
 * GET /readyz, until it reports ready (config loaded, every key source has keys).
 */
export async function startTokengateProcess(options: { configFile: string; opsPort: number; logFile: string; timeoutMs?: number }): Promise<ManagedProcess> {
  if (!existsSync(TOKENGATE_CLI)) throw new Error(`${TOKENGATE_CLI} is missing: run "npm run build" (npm run test:e2e does)`);
  const env = { ...process.env };
  delete env.TOKENGATE_CONFIG;
  delete env.LOG_LEVEL;
  const proc = new ManagedProcess('tokengate', process.execPath, [TOKENGATE_CLI, 'serve', '--config', options.configFile], options.logFile, env);
  try {
    await waitFor(
      `tokengate GET /readyz == 200 on port ${options.opsPort}`,
      async () => {
        if (!proc.running) throw new StopWaiting(`tokengate exited early (${JSON.stringify(proc.exit)})`);
        const res = await httpGet(options.opsPort, '/readyz', { timeoutMs: 1000 });
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 20_000, diagnostics: () => proc.logTail() },
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}
