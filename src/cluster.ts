import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { App } from './app.js';
import type { Config } from './config/types.js';
import type { IntrospectionStatus } from './introspection/introspector.js';
import type { KeySourceStatus } from './keys/key_source.js';
import type { Logger } from './log.js';
import { startOpsServer } from './ops/ops_server.js';
import { answerReplayClaims } from './dpop/cluster_replay.js';
import type { ReplayCache } from './dpop/replay_cache.js';

/**
 * `server.workers: N`: N processes serve Check on the same address. node:cluster hands each new connection to a
 * worker in turn, so the gain needs as many connections as workers (Envoy opens one per worker thread: run Envoy
 * with --concurrency ≥ N). The primary serves the ops port, aggregating the workers' metrics and readiness.
 */

interface WorkerState {
  readonly type: 'tokengate:state';
  readonly ready: boolean;
  readonly sources: readonly KeySourceStatus[];
  readonly introspection: readonly IntrospectionStatus[];
}

const STATE_INTERVAL_MS = 500;
const RESTART_DELAY_MS = 1000;

export async function runPrimary(config: Config, log: Logger): Promise<void> {
  const states = new Map<number, WorkerState>();
  // DPoP replay entries live here, so a proof is accepted once by the whole pod (src/dpop/cluster_replay.ts).
  const replayCaches = new Map<string, ReplayCache>();
  let stopping = false;
  const fork = () => {
    const worker = cluster.fork();
    answerReplayClaims(worker, replayCaches);
    worker.on('message', (message: WorkerState) => {
      if (message?.type === 'tokengate:state') states.set(worker.id, message);
    });
  };
  cluster.on('exit', (worker: Worker, code, signal) => {
    states.delete(worker.id);
    if (stopping) return;
    log.error({ worker: worker.id, code, signal }, 'worker exited; starting a new one');
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });
  for (let i = 0; i < config.server.workers; i++) fork();

  const aggregator = new AggregatorRegistry();
  const ops = config.server.httpAddress
    ? await startOpsServer(
        config.server.httpAddress,
        {
          live: () => !stopping,
          ready: () => !stopping && states.size === config.server.workers && [...states.values()].every((s) => s.ready),
          keySources: () => [...states.values()][0]?.sources ?? [],
          // Each worker has its own cache and calls: one worker's view, as for the key sources.
          introspection: () => [...states.values()][0]?.introspection ?? [],
        },
        { contentType: aggregator.contentType, text: () => aggregator.clusterMetrics() },
      )
    : undefined;
  log.info(
    { workers: config.server.workers, grpc: config.server.grpcAddress, http: config.server.httpAddress },
    'tokengate primary started',
  );

  const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  process.on('SIGHUP', () => workers().forEach((w) => w.process.kill('SIGHUP')));
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down workers');
    const exits = workers().map((w) => new Promise((resolve) => w.once('exit', resolve)));
    workers().forEach((w) => w.process.kill('SIGTERM'));
    const force = setTimeout(
      () => workers().forEach((w) => w.process.kill('SIGKILL')),
      config.server.shutdownGraceSeconds * 1000 + 2000,
    );
    await Promise.all(exits);
    clearTimeout(force);
    await ops?.close();
    log.flush();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** In a worker: the ops port belongs to the primary; report readiness to it and serve metrics through it. */
export function workerConfig(config: Config): Config {
  return { ...config, server: { ...config.server, httpAddress: undefined } };
}

export function reportToPrimary(app: App): void {
  AggregatorRegistry.setRegistries([app.metrics.registry]);
  // Constructing one installs prom-client's worker-side listener that answers the primary's metrics requests.
  new AggregatorRegistry();
  const send = () => {
    if (!process.connected) return;
    const state: WorkerState = {
      type: 'tokengate:state',
      ready: app.ready(),
      sources: app.keySources(),
      introspection: app.introspection(),
    };
    process.send?.(state);
  };
  send();
  setInterval(send, STATE_INTERVAL_MS).unref();
}
