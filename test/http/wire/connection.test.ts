// The authorization listener's HTTP/1.1 connection (src/http/wire/connection.ts) over real sockets: requests taken
// one at a time and answered in order, bodies discarded without ever being read as requests, HEAD, HTTP/1.0,
// refusals that close the connection, and answers that could split the response refused before a byte is written.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Http1Connection, type HttpReply, type HttpRequest, type Refusal } from '../../../src/http/wire/connection.js';
import { waitFor } from '../../../src/testkit/wait.js';

interface Seen {
  readonly method: string;
  readonly target: string;
}

const seen: Seen[] = [];
const refusals: Refusal[] = [];
/** Replies held back by the `/later` handler, sent by the test. */
const held: HttpReply[] = [];
let server: Server;
/** Every connection the server made, for the sweep test. */
const tracked: Http1Connection[] = [];
const clock = { now: Date.now(), date: new Date().toUTCString() };

/** A handler that echoes what it was asked, or holds the reply for /later, or tries to split the response. */
function handler(request: HttpRequest, reply: HttpReply): void {
  seen.push({ method: request.method, target: request.target });
  if (request.target.startsWith('/later')) return void held.push(reply);
  if (request.target === '/split') {
    try {
      reply.send(200, [['x-user', 'alice\r\nx-admin: true']], '');
    } catch {
      reply.send(500, [['content-type', 'text/plain']], 'refused to split');
    }
    return;
  }
  reply.send(200, [['x-target', request.target]], `${request.method} ${request.target}`);
}

beforeAll(async () => {
  const options = {
    limits: { maxHeadBytes: 2048, maxBodyBytes: 1024 },
    handler,
    trusts: () => false,
    clock,
    onRefused: (r: Refusal) => void refusals.push(r),
  };
  // As http_authz_server.ts: a half-closed client is still answered.
  server = createServer({ allowHalfOpen: true }, (socket) => void tracked.push(new Http1Connection(socket, options)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** A raw client: write bytes, read what comes back, know when the server closed. */
function client(): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, received: () => text, closed };
}

const answers = (text: string) => text.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
const until = (what: string, check: () => boolean) =>
  waitFor(what, () => (check() ? true : undefined), { timeoutMs: 5000 });
const GET = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;

describe('an HTTP/1.1 connection of the authorization listener', () => {
  it('answers pipelined requests in order, the second waiting for the first answer sent later', async () => {
    seen.length = 0;
    const c = client();
    c.socket.write(GET('/later/1') + GET('/now/2'));
    await until('the first request', () => held.length === 1);
    expect(seen.map((s) => s.target)).toEqual(['/later/1']); // the second is not even parsed yet
    held.pop()!.send(200, [], 'first');
    await until('two answers', () => answers(c.received()).length === 2);
    const [a, b] = answers(c.received());
    expect(a).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(a).toMatch(/\r\n\r\nfirst$/);
    expect(b).toMatch(/\r\n\r\nGET \/now\/2$/);
    c.socket.destroy();
  });

  it('discards a body, even one that holds a request: only the requests around it are judged', async () => {
    seen.length = 0;
    const c = client();
    const smuggled = GET('/smuggled');
    c.socket.write(
      `POST /with-body HTTP/1.1\r\nHost: t\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled.slice(0, 10)}`,
    );
    await until('the POST', () => seen.length === 1);
    c.socket.write(smuggled.slice(10) + GET('/after'));
    await until('two answers', () => answers(c.received()).length === 2);
    expect(seen.map((s) => s.target)).toEqual(['/with-body', '/after']);
    c.socket.destroy();
  });

  it('answers HEAD without a body, and the connection stays in step', async () => {
    const c = client();
    c.socket.write(`HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n${GET('/g')}`);
    await until('two answers', () => answers(c.received()).length === 2);
    const [h, g] = answers(c.received());
    expect(h).toMatch(/content-length: 7\r\n/); // what GET /h would have had: "HEAD /h"
    expect(h).toMatch(/\r\n\r\n$/);
    expect(g).toMatch(/\r\n\r\nGET \/g$/);
    c.socket.destroy();
  });

  it('says Date (RFC 9110 §6.6.1) and computes content-length from the body it sends', async () => {
    const c = client();
    c.socket.write(GET('/d'));
    await until('an answer', () => c.received().endsWith('GET /d'));
    expect(c.received()).toContain(`date: ${clock.date}\r\n`);
    expect(c.received()).toContain('content-length: 6\r\n');
    c.socket.destroy();
  });

  it('HTTP/1.0: closes after the answer unless asked to keep alive, and then says it does', async () => {
    const once = client();
    once.socket.write('GET /a HTTP/1.0\r\n\r\n');
    await once.closed;
    expect(once.received()).toMatch(/connection: close\r\n/);
    const kept = client();
    kept.socket.write('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n');
    await kept.closed;
    const [a, b] = answers(kept.received());
    expect(a).toMatch(/connection: keep-alive\r\n/);
    expect(b).toMatch(/connection: close\r\n/);
  });

  it('refuses what it cannot frame with certainty and closes: nothing after it is judged', async () => {
    seen.length = 0;
    refusals.length = 0;
    const c = client();
    c.socket.write(`POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${GET('/never')}`);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
    expect(c.received()).toMatch(/connection: close\r\n/);
    expect(answers(c.received())).toHaveLength(1);
    expect(seen).toEqual([]);
    expect(refusals).toMatchObject([{ status: 501, reason: 'unsupported' }]);
  });

  it('a malformed request: 400, the APIM-shaped body, closed', async () => {
    const c = client();
    c.socket.write(`GET / HTTP/1.1\r\nHost : t\r\n\r\n${GET('/never')}`);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(c.received().slice(c.received().indexOf('\r\n\r\n') + 4))).toMatchObject({ statusCode: 400 });
  });

  it('Expect: 100-continue with a body: answered at once and closed, since whether the body follows is unknown', async () => {
    const c = client();
    c.socket.write(`POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.received()).toMatch(/connection: close\r\n/);
  });

  it('an answer header holding CRLF is refused before anything is written; the handler can still deny', async () => {
    const c = client();
    c.socket.write(GET('/split'));
    await until('an answer', () => c.received().endsWith('refused to split'));
    expect(c.received()).toMatch(/^HTTP\/1\.1 500 /);
    expect(c.received()).not.toContain('x-admin');
    c.socket.destroy();
  });

  it('a client that half-closes after its request still gets the answer, then the connection closes', async () => {
    const c = client();
    c.socket.end(GET('/later/half'));
    await until('the request', () => held.length === 1);
    held.pop()!.send(200, [], 'late');
    await c.closed;
    expect(c.received()).toMatch(/connection: close\r\n\r\nlate$/);
  });

  it('a client that does not read its answers stops being read, and is answered in full once it reads', async () => {
    seen.length = 0;
    const c = client();
    c.socket.pause();
    const n = 20_000; // some MB of answers: more than the kernel's socket buffers hold
    c.socket.write(Array.from({ length: n }, (_, i) => GET(`/p/${i}`)).join(''));
    await until('some requests judged', () => seen.length > 0);
    c.socket.resume();
    await until(`${n} answers`, () => c.received().endsWith(`GET /p/${n - 1}`));
    const bodies = answers(c.received()).map((a) => a.slice(a.indexOf('\r\n\r\n') + 4));
    expect(bodies).toEqual(Array.from({ length: n }, (_, i) => `GET /p/${i}`));
    c.socket.destroy();
  });
});

describe('the deadlines a sweep enforces', () => {
  it('an idle kept-alive connection is closed after keepAliveTimeoutMs; a request half sent gets 408', async () => {
    const connectionsBefore = tracked.length;
    const idle = client();
    const slow = client();
    idle.socket.write(GET('/one'));
    slow.socket.write('GET /slow HTTP/1.1\r\nHo');
    await until('the first answered', () => idle.received().endsWith('GET /one'));
    await until('both connections accepted', () => tracked.length >= connectionsBefore + 2);
    // The sweep is the server's (http_authz_server.ts); here the test plays it: move the clock on and sweep.
    const refusalsBefore = refusals.length;
    for (const c of tracked) c.sweep(30_000, 50_000);
    expect(refusals.length, 'nothing is over a deadline yet').toBe(refusalsBefore);
    idle.socket.write(GET('/two'));
    await until('the idle connection still answers', () => idle.received().endsWith('GET /two'));
    clock.now += 60_000;
    for (const c of tracked) c.sweep(30_000, 50_000);
    await Promise.all([idle.closed, slow.closed]);
    expect(answers(idle.received())).toHaveLength(2); // closed without another word
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(refusals.at(-1)).toMatchObject({ status: 408, reason: 'request_timeout' });
  });
});
