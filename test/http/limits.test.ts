// What a slow or hostile client can do to the HTTP authorization listener: bounded headers, a request deadline, a cap
// on connections and on checks in flight. Real sockets throughout; nothing here waits on a clock to see a result.
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { ask, bearer } from './http_client.js';

const AUD = 'api://limits';

let issuer: DevIssuer;
/** A JWKS endpoint that accepts and never answers: checks of the `dark` policy wait for keys until their deadline. */
let silent: Server;
let tg: RunningTokengate;
let token: string;

beforeAll(async () => {
  issuer = await startDevIssuer({ defaultAudience: AUD });
  silent = createHttpServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as AddressInfo).port;
  tg = await startTokengate(
    `
server:
  grpc: { address: "127.0.0.1:0" }
  http: { address: "127.0.0.1:0" }
  checkDeadlineMs: 2000
  httpAuthz:
    address: "127.0.0.1:0"
    maxConcurrentChecks: 1
    maxConnections: 4
    maxHeaderBytes: 2048
    requestTimeoutMs: 300
keys: { fetchTimeout: 2 }
policies:
  - name: dark
    match: { pathPrefixes: ["/dark"] }
    validateJwt:
      jwksUri: ["http://127.0.0.1:${silentPort}/keys"]
      audiences: ["${AUD}"]
      issuers: ["${issuer.issuer}"]
  - name: lit
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
`,
    {},
    { waitForKeys: false, logLevel: 'info' },
  );
  token = await issuer.sign({ sub: 'x' });
});

afterAll(async () => {
  await tg?.stop();
  silent?.closeAllConnections();
  await new Promise((resolve) => silent?.close(resolve));
  await issuer?.close();
});

const port = () => tg.app.httpAuthzPort!;

/** A raw connection; resolves with everything the server wrote once it closes the connection. */
function rawConnection(): { socket: Socket; closed: Promise<string> } {
  const socket = connect(port(), '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  return { socket, closed };
}

describe('limits of the HTTP authorization listener', () => {
  it('a request whose headers pass maxHeaderBytes is answered 431, never judged', async () => {
    const res = await ask(port(), '/envoy/x', { headers: [bearer(token), ['x-padding', 'a'.repeat(4096)]] });
    expect(res.status).toBe(431);
  });

  it('a client that never finishes its headers is answered 408 and cut off (requestTimeoutMs)', async () => {
    const { socket, closed } = rawConnection();
    socket.write('GET /envoy/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ');
    expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('beyond maxConcurrentChecks, a check is answered 503 at once instead of waiting', async () => {
    // Two checks that both wait for keys that never come: whichever arrives second finds the one slot taken.
    const [a, b] = await Promise.all([
      ask(port(), '/envoy/dark/1', { headers: [bearer(token)] }),
      ask(port(), '/envoy/dark/2', { headers: [bearer(token)] }),
    ]);
    const messages = [a, b].map((r) => (JSON.parse(r.body) as { message: string }).message).sort();
    expect([a.status, b.status]).toEqual([503, 503]);
    expect(messages).toEqual([
      'Service Unavailable. Access token could not be validated.', // the one that waited: KeysUnavailable
      'Service Unavailable. Too many checks in flight.',
    ]);
    const shed = await tg.app.metrics.httpRejected.get();
    expect(shed.values.find((v) => v.labels.reason === 'overloaded')?.value).toBe(1);
    // The slot is free again once the check is answered.
    await tg.app.firstFetches();
    expect((await ask(port(), '/envoy/lit', { headers: [bearer(token)] })).status).toBe(200);
  });

  it('connections beyond maxConnections are refused, the open ones still served', async () => {
    const held = Array.from({ length: 4 }, () => rawConnection());
    try {
      // Each held connection answers a check first, so all four are surely accepted before the fifth comes.
      for (const { socket } of held) socket.write('GET /nope HTTP/1.1\r\nHost: a\r\n\r\n');
      await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once('data', resolve))));
      const extra = rawConnection();
      extra.socket.write('GET /nope HTTP/1.1\r\nHost: a\r\n\r\n');
      expect(await extra.closed, 'closed without an answer').toBe('');
    } finally {
      for (const { socket } of held) socket.destroy();
    }
  });
});

describe('a Unix socket listener', () => {
  it('trusts its peers when trustedProxies says unix, and stops cleanly with idle keep-alive connections open', async () => {
    const socketPath = join(mkdtempSync(join(tmpdir(), 'tokengate-http-')), 'authz.sock');
    const unix = await startTokengate(`
server:
  grpc: { address: "127.0.0.1:0" }
  http: false
  httpAuthz: { address: "unix:${socketPath}", trustedProxies: [unix] }
policies:
  - name: lit
    match: { pathPrefixes: ["/public"] }
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
`);
    try {
      expect(unix.app.httpAuthzPort).toBe(0);
      const headers: [string, string][] = [['x-forwarded-uri', '/public/1'], ['x-forwarded-method', 'GET'], bearer(token)];
      expect((await ask(0, '/authz', { socketPath, headers })).status).toBe(200);
    } finally {
      await unix.stop();
    }
  });
});
