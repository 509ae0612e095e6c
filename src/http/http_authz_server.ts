import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { HttpAuthzConfig } from '../config/types.js';
import { splitHostPort } from '../net/host_port.js';
import { removeStaleSocket } from '../net/unix_socket.js';
import type { DecisionDeps } from '../ops/decisions.js';
import { createHttpCheckHandler } from './http_check.js';
import { trustedPeers } from './trusted_proxies.js';

export interface HttpAuthzServer {
  /** `host:port` actually bound (the port resolved when 0 was asked), or `unix:/path`. */
  readonly address: string;
  /** 0 on a Unix socket. */
  readonly port: number;
  /** Stops accepting, lets in-flight checks finish, and closes the rest after graceMs. */
  close(graceMs: number): Promise<void>;
}

/**
 * The HTTP authorization listener (`server.httpAuthz`): its own port or socket, never the ops port, so probes and
 * metrics stay reachable whatever the checks do. HTTP/1.1 with keep-alive, as the proxies pool their connections.
 * A slow or hostile client cannot hold it: the request line and headers are bounded (431 past maxHeaderBytes), a
 * request must arrive within requestTimeoutMs, idle connections close after keepAliveTimeoutMs, connections beyond
 * maxConnections are refused, and checks beyond maxConcurrentChecks are answered 503.
 */
export async function startHttpAuthzServer(config: HttpAuthzConfig, deps: DecisionDeps): Promise<HttpAuthzServer> {
  const unix = config.address.startsWith('unix:');
  const handler = createHttpCheckHandler(deps, {
    trusts: trustedPeers(config.trustedProxies, unix),
    envoyPathPrefix: config.envoyPathPrefix,
    maxConcurrentChecks: config.maxConcurrentChecks,
  });
  const server: Server = createServer(
    {
      maxHeaderSize: config.maxHeaderBytes,
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // node checks the two request timeouts on this period (30 s by default): often enough that they hold.
      connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs),
    },
    handler,
  );
  server.maxConnections = config.maxConnections;
  // A client error (a malformed request, 431, a timed-out request) is answered by node and the socket closed; the
  // default handler does that. Nothing more to log: it says nothing about any check.
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
        const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Idle keep-alive connections would otherwise hold close() until they time out.
        server.closeIdleConnections();
      }),
  };
}
