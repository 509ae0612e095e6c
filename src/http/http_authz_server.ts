import cluster from 'node:cluster';
import { createServer, type Server } from 'node:net';
import type { HttpAuthzConfig } from '../config/types.js';
import { splitHostPort } from '../net/host_port.js';
import { removeStaleSocket } from '../net/unix_socket.js';
import type { DecisionDeps } from '../ops/decisions.js';
import { createHttpCheckHandler } from './http_check.js';
import { trustedPeers } from './trusted_proxies.js';
import { Http1Connection, type CoarseClock, type Refusal } from './wire/connection.js';

export interface HttpAuthzServer {
  /** `host:port` actually bound (the port resolved when 0 was asked), or `unix:/path`. */
  readonly address: string;
  /** 0 on a Unix socket. */
  readonly port: number;
  /** Stops accepting, lets in-flight checks finish, and closes the rest after graceMs. */
  close(graceMs: number): Promise<void>;
}

/** A check needs no body; this bounds what is read only to be discarded (Envoy's with_request_body sends one). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The HTTP authorization listener (`server.httpAuthz`): its own port or socket, never the ops port, so probes and
 * metrics stay reachable whatever the checks do. HTTP/1.1 with keep-alive, as the proxies pool their connections.
 *
 * It speaks HTTP/1.1 through its own small server (wire/), not node:http: a check answers in a few microseconds,
 * and node:http's request and response streams cost more than the whole check (bench/RESULTS.md, issue 21). The
 * subset it serves is what the proxies send: a request head, perhaps a body to discard, an answer with a
 * content-length. Anything else is refused and the connection closed.
 *
 * A slow or hostile client cannot hold it: the request line and headers are bounded (431 past maxHeaderBytes), a
 * request must arrive within requestTimeoutMs (408), idle connections close after keepAliveTimeoutMs, connections
 * beyond maxConnections are refused, and checks beyond maxConcurrentChecks are answered 503.
 */
export async function startHttpAuthzServer(config: HttpAuthzConfig, deps: DecisionDeps): Promise<HttpAuthzServer> {
  const unix = config.address.startsWith('unix:');
  const handler = createHttpCheckHandler(deps, {
    envoyPathPrefix: config.envoyPathPrefix,
    maxConcurrentChecks: config.maxConcurrentChecks,
  });
  const clock: CoarseClock = { now: Date.now(), date: new Date().toUTCString() };
  const onRefused = (refusal: Refusal): void => {
    deps.metrics?.httpRejected.inc({ reason: refusal.reason });
    // debug: a client's malformed requests say nothing about any check, and must not flood the log.
    deps.log.debug(
      { transport: 'http', status: refusal.status, reason: refusal.reason, detail: refusal.detail },
      'HTTP request refused',
    );
  };
  const options = {
    limits: { maxHeadBytes: config.maxHeaderBytes, maxBodyBytes: MAX_BODY_BYTES },
    handler,
    trusts: trustedPeers(config.trustedProxies, unix),
    clock,
    onRefused,
  };
  const connections = new Set<Http1Connection>();
  let stopping = false;
  // allowHalfOpen: a client that half-closes after its request still gets the answer (connection.ts).
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const connection = new Http1Connection(socket, options);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
    if (stopping) connection.drain();
  });
  server.maxConnections = config.maxConnections;

  // One sweep for every connection's deadlines, as node:http's connectionsCheckingInterval: no timer per request.
  const sweep = setInterval(
    () => {
      clock.now = Date.now();
      clock.date = new Date(clock.now).toUTCString();
      for (const c of connections) c.sweep(config.requestTimeoutMs, config.keepAliveTimeoutMs);
    },
    Math.min(1000, Math.max(10, Math.floor(config.requestTimeoutMs / 4))),
  ).unref();

  if (unix) await removeStaleSocket(config.address.slice('unix:'.length), { liveIsOurs: cluster.isWorker });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (unix) server.listen(config.address.slice('unix:'.length), () => resolve());
    else {
      const { host, port } = splitHostPort(config.address);
      server.listen(port, host, () => resolve());
    }
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : 0;
  return {
    address: unix ? config.address : `${config.address.slice(0, config.address.lastIndexOf(':'))}:${port}`,
    port,
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        stopping = true;
        const force = setTimeout(() => {
          for (const c of connections) c.destroy();
        }, graceMs).unref();
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        // Idle keep-alive connections close now, busy ones after their answer.
        for (const c of connections) c.drain();
      }),
  };
}
