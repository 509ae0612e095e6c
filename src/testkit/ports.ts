// Loopback ports for the processes the tests, the bench and the soak start.
import { connect, createServer, type AddressInfo, type Server } from 'node:net';

/**
 * `n` distinct free TCP ports on 127.0.0.1: each is bound to port 0 (the kernel picks), read, then released.
 * All sockets stay open until every port is read, so the same port is never handed out twice in one call.
 * (Another process could still grab one before we bind it again; on a test machine that is rare enough.)
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** One free loopback port. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** Whether something accepts connections on 127.0.0.1:`port` (the bench's fixed ports, a server's readiness). */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
