import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { waitFor } from './tokengate.js';

/** A free loopback port: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface ChildTokengate {
  readonly process: ChildProcess;
  readonly grpcAddress: string;
  readonly opsUrl: string;
  /** stdout (JSON log lines) and stderr so far. */
  output(): string;
  exited(): Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Runs the built CLI (`node dist/cli.js ...`) as a child process and waits until its /readyz answers 200. */
export async function spawnTokengate(args: string[], ports: { grpc: number; http: number }, env: NodeJS.ProcessEnv = {}): Promise<ChildTokengate> {
  const child = spawn(process.execPath, ['dist/cli.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const opsUrl = `http://127.0.0.1:${ports.http}`;
  let exitedEarly = false;
  void exit.then(() => (exitedEarly = true));
  await waitFor(async () => {
    if (exitedEarly) throw new Error(`tokengate exited before becoming ready:\n${output}`);
    try {
      return (await fetch(`${opsUrl}/readyz`)).status === 200;
    } catch {
      return false;
    }
  }, 'tokengate /readyz 200', 20_000);
  return {
    process: child,
    grpcAddress: `127.0.0.1:${ports.grpc}`,
    opsUrl,
    output: () => output,
    exited: () => exit,
    kill: (signal = 'SIGTERM') => child.kill(signal),
  };
}

/** The value of one Prometheus sample, e.g. metric('tokengate_decisions_total{policy="p",decision="allow",reason=""}'). */
export async function metric(opsUrl: string, sample: string): Promise<number> {
  const text = await (await fetch(`${opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
