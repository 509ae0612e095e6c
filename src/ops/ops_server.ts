import { createServer, type Server } from 'node:http';
import type { IntrospectionStatus } from '../introspection/introspector.js';
import type { KeySourceStatus } from '../keys/key_source.js';
import { splitHostPort } from '../net/host_port.js';
/** Prometheus text for /metrics: the process's own registry, or the cluster primary's aggregate of its workers. */
export interface MetricsSource {
  readonly contentType: string;
  text(): Promise<string>;
}

export interface OpsState {
  /** Process alive and not shutting down. */
  live(): boolean;
  /** Config loaded and every key source has usable keys. */
  ready(): boolean;
  keySources(): readonly KeySourceStatus[];
  /** Introspection endpoints' health: listed, not part of readiness (cached answers and JWTs still pass without it). */
  introspection?(): readonly IntrospectionStatus[];
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The ops HTTP port: /healthz (liveness), /readyz (readiness, with each key source's state) and /metrics. */
export async function startOpsServer(address: string, state: OpsState, metrics: MetricsSource): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, '{"error":"method not allowed"}');
    if (path === '/healthz' || path === '/livez') {
      return state.live() ? send(200, '{"status":"ok"}') : send(503, '{"status":"shutting down"}');
    }
    if (path === '/readyz') {
      const ready = state.ready();
      const sources = state.keySources().map((s) => ({
        source: s.id,
        kind: s.kind,
        usable: s.usable,
        keys: s.keyCount,
        ageSeconds: s.ageSeconds === undefined ? null : Math.round(s.ageSeconds),
        lastError: s.lastError ?? null,
      }));
      const introspection = (state.introspection?.() ?? []).map((s) => ({
        endpoint: s.endpoint,
        healthy: s.healthy ?? null,
        lastError: s.lastError ?? null,
        lastAnswerAgeSeconds: s.lastAnswerAgeSeconds === undefined ? null : Math.round(s.lastAnswerAgeSeconds),
        cacheEntries: s.cacheEntries,
      }));
      return send(ready ? 200 : 503, `${JSON.stringify({ ready, sources, introspection }, null, 2)}\n`);
    }
    if (path === '/metrics') {
      metrics.text().then(
        (text) => send(200, text, metrics.contentType),
        (err: Error) => send(500, JSON.stringify({ error: err.message })),
      );
      return;
    }
    send(404, '{"error":"not found"}');
  });
  server.keepAliveTimeout = 5000;
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
