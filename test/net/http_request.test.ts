import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpRequestError, httpRequest } from '../../src/net/http_request.js';
import { freePorts } from '../../src/testkit/ports.js';

// A real HTTP server: /declared says how big it is, /chunked does not, /small fits, /hang never ends its body, /cut
// closes the connection mid-body, /moved/N redirects N more times before /small, /error answers 500 with a body that is never read.
let server: Server;
let base: string;
const seen: { method: string; url: string; body: string; userAgent?: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body, userAgent: req.headers['user-agent'] });
      const moved = /^\/moved\/(\d+)$/.exec(req.url ?? '');
      if (req.url === '/declared') res.writeHead(200, { 'content-length': '2048' }).end('x'.repeat(2048));
      else if (req.url === '/chunked') {
        res.writeHead(200);
        for (let i = 0; i < 64; i++) res.write('y'.repeat(256));
        res.end();
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' }).write('{"cut":', () => res.socket?.destroy());
      } else if (req.url === '/hang') res.writeHead(200).write('{"partial":');
      else if (moved) {
        const left = Number(moved[1]);
        res.writeHead(302, { location: left > 1 ? `/moved/${left - 1}` : '/small' }).end();
      } else if (req.url === '/error') res.writeHead(500).end('z'.repeat(1 << 20));
      else res.writeHead(200, { 'cache-control': 'max-age=60' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

const failure = (promise: Promise<unknown>): Promise<HttpRequestError> =>
  promise.then(
    () => Promise.reject(new Error('expected a failure')),
    (err: unknown) => err as HttpRequestError,
  );

describe('httpRequest: one exchange, bounded in size and time', () => {
  it('returns a 2xx body within the bound as text, with the headers', async () => {
    const response = await httpRequest(`${base}/small`, { timeoutMs: 5000, maxBytes: 1024 });
    expect(response).toMatchObject({ status: 200, text: '{"ok":true}' });
    expect(response.headers['cache-control']).toBe('max-age=60');
  });

  it('refuses a declared content-length over the bound before reading', async () => {
    const err = await failure(httpRequest(`${base}/declared`, { timeoutMs: 5000, maxBytes: 1024 }));
    expect(err).toBeInstanceOf(HttpRequestError);
    expect(err).toMatchObject({ kind: 'too-large', declared: 2048, message: 'response of 2048 bytes exceeds 1024' });
  });

  it('cuts off a body without content-length once the bytes pass the bound', async () => {
    const err = await failure(httpRequest(`${base}/chunked`, { timeoutMs: 5000, maxBytes: 4096 }));
    expect(err).toMatchObject({ kind: 'too-large', message: 'response exceeds 4096 bytes' });
  });

  it('gives up at the deadline on a server that starts a body and never ends it', async () => {
    const err = await failure(httpRequest(`${base}/hang`, { timeoutMs: 200, maxBytes: 1024 }));
    expect(err).toMatchObject({ kind: 'timeout', message: 'no answer within 200 ms' });
  });

  it('reports a connection closed before the body ended as a network failure, never a short body', async () => {
    const err = await failure(httpRequest(`${base}/cut`, { timeoutMs: 5000, maxBytes: 1024 }));
    expect(err).toMatchObject({ kind: 'network', message: 'ECONNRESET' });
  });

  it('reports a refused connection as a network failure with its code', async () => {
    const [port] = await freePorts(1);
    const err = await failure(httpRequest(`http://127.0.0.1:${port}/`, { timeoutMs: 5000, maxBytes: 1024 }));
    expect(err).toMatchObject({ kind: 'network', message: 'ECONNREFUSED' });
  });

  it('returns a non-2xx status without reading its body (a 1 MiB error page under a 1 KiB bound)', async () => {
    const response = await httpRequest(`${base}/error`, { timeoutMs: 5000, maxBytes: 1024 });
    expect(response).toMatchObject({ status: 500, text: '' });
  });

  it('returns a redirect as it is unless asked to follow, and follows at most maxRedirects hops', async () => {
    const unfollowed = await httpRequest(`${base}/moved/1`, { timeoutMs: 5000, maxBytes: 1024 });
    expect(unfollowed).toMatchObject({ status: 302, headers: { location: '/small' } });
    const followed = await httpRequest(`${base}/moved/3`, { timeoutMs: 5000, maxBytes: 1024, maxRedirects: 3 });
    expect(followed).toMatchObject({ status: 200, text: '{"ok":true}' });
    const tooMany = await httpRequest(`${base}/moved/3`, { timeoutMs: 5000, maxBytes: 1024, maxRedirects: 2 });
    expect(tooMany).toMatchObject({ status: 302, headers: { location: '/small' } });
  });

  it('never follows a redirect of a POST: its body (a token, a client secret) stays where it was sent', async () => {
    seen.length = 0;
    const response = await httpRequest(`${base}/moved/1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=abc',
      timeoutMs: 5000,
      maxBytes: 1024,
      maxRedirects: 5,
    });
    expect(response.status).toBe(302);
    expect(seen).toEqual([{ method: 'POST', url: '/moved/1', body: 'token=abc', userAgent: 'tokengate' }]);
  });
});
