import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the endpoint received it. */
export interface SeenRequest {
  readonly headers: IncomingMessage['headers'];
  readonly form: URLSearchParams;
}

export type Reply = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

/**
 * A plain node:http introspection endpoint whose answer each test sets, for the faults a real provider does not
 * produce on demand (5xx, invalid JSON, a hang). It records every request, so tests count calls where they land.
 */
export interface FakeEndpoint {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Requests received and not answered yet (a held reply). */
  pending(): number;
  reply: Reply;
  close(): Promise<void>;
}

export const json =
  (body: unknown, status = 200): Reply =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

export async function startFakeEndpoint(reply: Reply = json({ active: false })): Promise<FakeEndpoint> {
  const requests: SeenRequest[] = [];
  let pending = 0;
  const endpoint: FakeEndpoint = {
    url: '',
    requests,
    pending: () => pending,
    reply,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    pending += 1;
    res.on('close', () => (pending -= 1));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString()) };
      requests.push(seen);
      void endpoint.reply(seen, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (endpoint as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/introspect`;
  return endpoint;
}

/** A loopback port nothing listens on: bound, then closed. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
