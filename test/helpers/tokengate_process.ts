import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagedProcess } from '../../src/testkit/children.js';
import { startTokengateProcess } from '../../src/testkit/tokengate_process.js';

export {
  startTokengateProcess,
  TOKENGATE_CLI,
  type TokengateProcessOptions,
} from '../../src/testkit/tokengate_process.js';

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
export async function spawnTokengate(
  args: string[],
  ports: { grpc: number; http: number },
  env: NodeJS.ProcessEnv = {},
): Promise<ChildTokengate> {
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
