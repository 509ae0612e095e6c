import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BodyTooLarge, readBodyLimited } from '../../src/net/read_body.js';

// A real HTTP server: /declared says how big it is, /chunked does not, /small fits.
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/declared') res.writeHead(200, { 'content-length': '2048' }).end('x'.repeat(2048));
    else if (req.url === '/chunked') {
      res.writeHead(200);
      for (let i = 0; i < 64; i++) res.write('y'.repeat(256));
      res.end();
    } else res.writeHead(200).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('readBodyLimited: a response body never buffered past its bound', () => {
  it('refuses a declared content-length over the bound before reading', async () => {
    const err = await readBodyLimited(await fetch(`${base}/declared`), 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyTooLarge);
    expect((err as BodyTooLarge).declared).toBe(2048);
  });

  it('cuts off a body without content-length once the bytes pass the bound', async () => {
    const err = await readBodyLimited(await fetch(`${base}/chunked`), 4096).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyTooLarge);
    expect((err as BodyTooLarge).message).toBe('response exceeds 4096 bytes');
  });

  it('returns a body within the bound as text', async () => {
    expect(await readBodyLimited(await fetch(`${base}/small`), 1024)).toBe('{"ok":true}');
  });
});
