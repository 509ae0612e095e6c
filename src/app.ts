import type { Config } from './config/types.js';
import {
  buildRuntime,
  retireRuntime,
  runtimeReady,
  startRuntime,
  type Runtime,
  type RuntimeOptions,
} from './authz/runtime.js';
import { startGrpcServer, type GrpcServer } from './grpc/grpc_server.js';
import { startHttpAuthzServer, type HttpAuthzServer } from './http/http_authz_server.js';
import type { KeyFetchEvent } from './keys/remote_key_source.js';
import type { Logger } from './log.js';
import { Metrics } from './ops/metrics.js';
import { budgetWarning, cacheBudget } from './ops/memory_budget.js';
import { startOpsServer, type OpsServer } from './ops/ops_server.js';
import type { CheckTracer } from './tracing/hook.js';
import { startTracing, tracedIntrospectionEvents } from './tracing/start.js';
import { loadRuleEngine } from './rules/engine.js';

export interface AppOptions {
  readonly config: Config;
  readonly log: Logger;
  /** A tracer made by the caller (tests, with an in-memory exporter) instead of the one `tracing:` would start. */
  readonly tracer?: CheckTracer | undefined;
}

/** How often readiness is re-evaluated besides on key fetches (keys can pass maxStale without any event). */
const READINESS_POLL_MS = 1000;

/**
 * The composition root: one runtime (swapped whole on reload), the gRPC server, the ops HTTP server, and the
 * readiness that ties them together. No request logic lives here.
 */
export class App {
  readonly log: Logger;
  readonly metrics: Metrics;
  #runtime!: Runtime;
  #grpc: GrpcServer | undefined;
  #ops: OpsServer | undefined;
  #httpAuthz: HttpAuthzServer | undefined;
  #tracer: CheckTracer | undefined;
  #stopping = false;
  #readinessTimer: NodeJS.Timeout | undefined;

  private constructor(log: Logger) {
    this.log = log;
    this.metrics = new Metrics({
      keySources: () => this.keySources(),
      tokenCache: () => this.#runtime.cache,
    });
  }

  static async start(options: AppOptions): Promise<App> {
    const app = new App(options.log);
    // Before the runtime, whose key sources report the fetches checks ask for; undefined when tracing is off.
    app.#tracer = options.tracer ?? (await startTracing(options.config.tracing, app.log));
    await loadRuleEngine(options.config);
    app.#runtime = buildRuntime(options.config, app.#runtimeOptions(undefined));
    app.#warnOfMemoryBudget(options.config);
    startRuntime(app.#runtime);
    try {
      const deps = { runtime: () => app.#runtime, log: app.log, metrics: app.metrics, tracer: app.#tracer };
      app.#grpc = await startGrpcServer(options.config.server.grpcAddress, deps);
      const httpAuthz = options.config.server.httpAuthz;
      if (httpAuthz) app.#httpAuthz = await startHttpAuthzServer(httpAuthz, deps);
      if (options.config.server.httpAddress) {
        const registry = app.metrics.registry;
        app.#ops = await startOpsServer(options.config.server.httpAddress, app, {
          contentType: registry.contentType,
          text: () => registry.metrics(),
        });
      }
    } catch (err) {
      await app.stop(0);
      throw err;
    }
    app.#readinessTimer = setInterval(() => app.#updateServing(), READINESS_POLL_MS).unref();
    app.#updateServing();
    app.log.info(
      {
        grpc: app.#grpc.address,
        httpAuthz: app.#httpAuthz?.address ?? null,
        http: app.#ops ? `${options.config.server.httpAddress?.replace(/:\d+$/, '')}:${app.#ops.port}` : null,
        policies: options.config.policies.map((p) => p.name),
      },
      'tokengate started',
    );
    return app;
  }

  get grpcAddress(): string {
    return this.#grpc!.address;
  }

  get grpcPort(): number {
    return this.#grpc!.port;
  }

  get opsPort(): number | undefined {
    return this.#ops?.port;
  }

  /** The HTTP authorization listener's port (0 on a Unix socket), when `server.httpAuthz` is set. */
  get httpAuthzPort(): number | undefined {
    return this.#httpAuthz?.port;
  }

  get runtime(): Runtime {
    return this.#runtime;
  }

  live(): boolean {
    return !this.#stopping;
  }

  ready(): boolean {
    return !this.#stopping && runtimeReady(this.#runtime);
  }

  keySources() {
    return [...this.#runtime.sources.values()].map((s) => s.status());
  }

  introspection() {
    return [...this.#runtime.introspectors.values()].map((i) => i.status());
  }

  /** Resolves once every key source finished its first fetch (successful or not). */
  async firstFetches(): Promise<void> {
    await Promise.all([...this.#runtime.sources.values()].map((s) => s.firstFetch()));
    this.#updateServing();
  }

  /** Said at start and on reload: caches that could outgrow the V8 heap (src/ops/memory_budget.ts). */
  #warnOfMemoryBudget(config: Config): void {
    const warning = budgetWarning(cacheBudget(config));
    if (warning) this.log.warn(warning);
  }

  /**
   * Swaps in a new config, read by `load` (which throws ConfigError for a bad file): key sources whose URL and
   * settings did not change keep their keys. Checks already running finish on the runtime they started with.
   * Throws (and changes nothing) when the file cannot be read or the runtime cannot be built; either counts as one
   * failed reload.
   */
  async reload(load: () => Config): Promise<void> {
    const previous = this.#runtime;
    let config: Config;
    let next: Runtime;
    try {
      config = load();
      await loadRuleEngine(config);
      next = buildRuntime(config, this.#runtimeOptions(previous));
    } catch (err) {
      this.metrics.configReloads.inc({ result: 'failure' });
      throw err;
    }
    this.#warnOfMemoryBudget(config);
    startRuntime(next);
    this.#runtime = next;
    retireRuntime(previous, next);
    this.metrics.configReloads.inc({ result: 'success' });
    this.#updateServing();
    this.log.info({ policies: config.policies.map((p) => p.name) }, 'config reloaded');
  }

  /** SIGTERM: not ready at once, stop taking new connections, let in-flight checks finish within the grace period. */
  async stop(graceMs = this.#runtime?.config.server.shutdownGraceSeconds * 1000): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#readinessTimer);
    this.#grpc?.setServing(false);
    await Promise.all([this.#grpc?.shutdown(graceMs), this.#httpAuthz?.close(graceMs)]);
    await this.#ops?.close();
    if (this.#runtime) retireRuntime(this.#runtime, undefined);
    await this.#tracer?.shutdown();
    this.log.info('tokengate stopped');
    this.log.flush();
  }

  #runtimeOptions(previous: Runtime | undefined): RuntimeOptions {
    return {
      previous,
      onKeyFetch: (e) => this.#onKeyFetch(e),
      traceKeyFetch: this.#tracer && ((source) => this.#tracer!.keyFetch(source)),
      onIntrospection: tracedIntrospectionEvents(this.#tracer, {
        ...this.metrics.introspection,
        credentialReloadFailed: (endpoint, error) =>
          this.log.error(
            { endpoint, error },
            'introspection credential file reload failed; the previous credential stays',
          ),
      }),
      onRevocationReloadError: (err) =>
        this.log.error({ error: err.message }, 'revoked tokens file reload failed; the previous list stays'),
    };
  }

  #onKeyFetch(event: KeyFetchEvent): void {
    this.metrics.keyFetches.inc({ source: event.source, result: event.result });
    for (const key of event.skipped) this.metrics.jwksKeysSkipped.inc({ source: event.source, reason: key.reason });
    if (event.result === 'error')
      this.log.warn({ source: event.source, code: event.code, error: event.error }, 'key fetch failed');
    else if (event.skipped.length > 0) {
      this.log.warn({ source: event.source, skipped: event.skipped.map((k) => k.detail) }, 'JWKS keys skipped');
    } else this.log.debug({ source: event.source, keys: event.keyCount }, 'keys fetched');
    this.#updateServing();
  }

  #updateServing(): void {
    this.#grpc?.setServing(this.ready());
  }
}
