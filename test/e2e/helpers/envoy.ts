import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEnvoyConfig } from '../../../scripts/render-envoy-config.mjs';
import { fileTail, ManagedProcess } from '../../helpers/child_process.js';
import { envoyBin } from '../../helpers/envoy_binary.js';
import { httpGet } from '../../helpers/http.js';
import { ROOT } from '../../helpers/paths.js';
import { StopWaiting, waitFor } from '../../helpers/wait.js';

export const SHIPPED_ENVOY_CONFIG = join(ROOT, 'envoy/envoy.yaml');

export interface EnvoyOptions {
  /** Directory for the rendered config and the logs. */
  readonly dir: string;
  readonly listenerPort: number;
  readonly adminPort: number;
  readonly upstreamPort: number;
  readonly upstreamGrpcPort: number;
  /** Exactly one of these two. */
  readonly tokengatePort?: number;
  readonly tokengateSocket?: string;
  /** Changes the rendered config before Envoy reads it (the tracing test adds a tracer and its cluster). */
  readonly configure?: (yaml: string) => string;
}

export interface RunningEnvoy {
  readonly proc: ManagedProcess;
  readonly listenerPort: number;
  readonly adminPort: number;
  readonly configFile: string;
  /** Counters/gauges from admin /stats whose names match `filter` (a regex), as name -> value. */
  stats(filter: string): Promise<Record<string, number>>;
  /** One counter (0 when Envoy does not list it). */
  counter(name: string): Promise<number>;
  /** admin /clusters, plain text. */
  clusters(): Promise<string>;
  /** Polls /clusters until the tokengate host's health_flags read "healthy". */
  waitTokengateHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  logTail(): string;
}

/**
 * Renders the shipped envoy/envoy.yaml with this run's ports (listener on loopback), starts the real Envoy,
 * and waits by polling the admin interface: /ready says LIVE and the tokengate cluster's host is healthy.
 */
export async function startEnvoy(options: EnvoyOptions): Promise<RunningEnvoy> {
  const text = renderEnvoyConfig(readFileSync(SHIPPED_ENVOY_CONFIG, 'utf8'), {
    listenerPort: options.listenerPort,
    listenerAddress: '127.0.0.1',
    adminPort: options.adminPort,
    upstreamPort: options.upstreamPort,
    upstreamGrpcPort: options.upstreamGrpcPort,
    ...(options.tokengateSocket !== undefined ? { tokengateSocket: options.tokengateSocket } : { tokengatePort: options.tokengatePort }),
  });
  const configFile = join(options.dir, 'envoy.yaml');
  writeFileSync(configFile, options.configure ? options.configure(text) : text);
  const logFile = join(options.dir, 'envoy.log');
  const proc = new ManagedProcess(
    'envoy',
    envoyBin(),
    [
      '-c', configFile,
      // No shared memory, no base id: several Envoys (parallel runs, other tests) never collide.
      '--disable-hot-restart',
      '--concurrency', '2',
      '--log-level', 'info',
      '--log-path', logFile,
      // Quick exit on SIGTERM in afterAll.
      '--drain-time-s', '1',
      '--parent-shutdown-time-s', '2',
    ],
    join(options.dir, 'envoy.stdout.log'), // access log (stdout) and anything printed before --log-path applies
  );
  const logTail = () => `${proc.logTail()}\n${fileTail('envoy', logFile)}`;
  const admin = async (path: string) => {
    const res = await httpGet(options.adminPort, path, { timeoutMs: 2000 });
    if (res.status !== 200) throw new Error(`envoy admin ${path}: HTTP ${res.status}`);
    return res.body;
  };
  const envoy: RunningEnvoy = {
    proc,
    listenerPort: options.listenerPort,
    adminPort: options.adminPort,
    configFile,
    async stats(filter) {
      const body = await admin(`/stats?filter=${encodeURIComponent(filter)}`);
      const out: Record<string, number> = {};
      for (const line of body.split('\n')) {
        const m = /^([^:\s]+): (\d+)$/.exec(line.trim());
        if (m) out[m[1]!] = Number(m[2]);
      }
      return out;
    },
    async counter(name) {
      const all = await envoy.stats(`^${name.replaceAll('.', '\\.')}$`);
      return all[name] ?? 0;
    },
    clusters: () => admin('/clusters'),
    async waitTokengateHealthy(timeoutMs = 20_000) {
      await waitFor(
        'the tokengate cluster host to be healthy in envoy /clusters',
        async () => {
          if (!proc.running) throw new StopWaiting(`envoy exited (${JSON.stringify(proc.exit)})`);
          return /^tokengate::[^\n]*::health_flags::healthy$/m.test(await envoy.clusters()) ? true : undefined;
        },
        { timeoutMs, intervalMs: 100, diagnostics: logTail },
      );
    },
    async stop() {
      await proc.stop('SIGTERM', 10_000);
    },
    logTail,
  };
  try {
    await waitFor(
      `envoy admin /ready == LIVE on port ${options.adminPort}`,
      async () => {
        if (!proc.running) throw new StopWaiting(`envoy exited (${JSON.stringify(proc.exit)})`);
        return (await admin('/ready')).trim() === 'LIVE' ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, diagnostics: logTail },
    );
    await envoy.waitTokengateHealthy();
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return envoy;
}
