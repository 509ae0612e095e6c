import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from './child_process.js';
import { httpGet } from './http.js';
import { ROOT } from './paths.js';
import { StopWaiting, waitFor } from './wait.js';

/** The built CLI, exactly as deployed: `npm test` and `npm run test:e2e` run `npm run build` first. */
export const TOKENGATE_CLI = join(ROOT, 'dist/cli.js');

export interface TokengateProcessOptions {
  /** CLI arguments, e.g. ['serve', '--config', file]. */
  readonly args: readonly string[];
  /** The ops port whose GET /readyz must answer 200. */
  readonly opsPort: number;
  readonly logFile: string;
  /** The CLI script (default: dist/cli.js of this checkout) and the working directory (default: the repository root). */
  readonly cli?: string;
  /** Node flags before the script, as the image's ENTRYPOINT gives them. */
  readonly nodeFlags?: readonly string[];
  readonly cwd?: string;
  /** Added to the environment; TOKENGATE_CONFIG and LOG_LEVEL are not inherited from the test's own. */
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

/**
 * Starts `node [FLAGS] <cli> ARGS` as a child process and waits, by polling the ops port's GET /readyz, until it reports
 * ready (config loaded, every key source has keys).
 */
export async function startTokengateProcess(options: TokengateProcessOptions): Promise<ManagedProcess> {
  const cli = options.cli ?? TOKENGATE_CLI;
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" (npm test and npm run test:e2e do)`);
  const env = { ...process.env };
  delete env.TOKENGATE_CONFIG;
  delete env.LOG_LEVEL;
  Object.assign(env, options.env);
  const proc = new ManagedProcess('tokengate', process.execPath, [...(options.nodeFlags ?? []), cli, ...options.args], options.logFile, { env, cwd: options.cwd });
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

export interface ChildTokengate {
  readonly proc: ManagedProcess;
  readonly grpcAddress: string;
  readonly opsUrl: string;
  /** stdout (JSON log lines) and stderr so far. */
  output(): string;
  /** The exit code (null when a signal ended it). */
  exited(): Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

let logDir: string | undefined;

/** startTokengateProcess on two loopback ports, logging to a temp file removed when the test worker exits. */
export async function spawnTokengate(args: string[], ports: { grpc: number; http: number }, env: NodeJS.ProcessEnv = {}): Promise<ChildTokengate> {
  if (!logDir) {
    const dir = mkdtempSync(join(tmpdir(), 'tokengate-child-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    logDir = dir;
  }
  const logFile = join(logDir, `tokengate.${Date.now()}.${Math.random().toString(36).slice(2)}.log`);
  const proc = await startTokengateProcess({ args, opsPort: ports.http, logFile, env });
  return {
    proc,
    grpcAddress: `127.0.0.1:${ports.grpc}`,
    opsUrl: `http://127.0.0.1:${ports.http}`,
    output: () => proc.output(),
    exited: () => proc.exited.then((exit) => exit.code),
    kill: (signal = 'SIGTERM') => proc.kill(signal),
  };
}

/** The value of one Prometheus sample, e.g. metric('tokengate_decisions_total{policy="p",decision="allow",reason=""}'). */
export async function metric(opsUrl: string, sample: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
