// The request head parser against node's own (llhttp, through a real node:http server on a socket), on generated
// requests full of the things parsers disagree on. Whenever ours reads a request, node must read the same method,
// target and headers: a request ours frames differently could pair a proxy's check with the wrong answer. Ours may
// refuse more than node. Node refuses two things ours reads, both on purpose and neither touching framing:
// - a method it does not know (RFC 9110 §9.1: a method is any token; the Envoy form judges the original one);
// - a control character other than HTAB, CR, LF and NUL in a field value (RFC 9110 §5.5 lets a recipient keep them;
//   the pipeline reads every value it uses strictly, and checking each byte in JavaScript costs more than a check).
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerMap } from '../../../src/http/header_map.js';
import { parseRequestHead, type RequestHead } from '../../../src/http/wire/request_head.js';
import { seededRandom } from '../../helpers/random.js';

interface NodeReading {
  readonly method?: string;
  readonly url?: string;
  readonly rawHeaders?: string[];
  readonly error?: string;
}

let server: Server;
let reading: NodeReading | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    reading ??= { method: req.method, url: req.url, rawHeaders: req.rawHeaders };
    res.writeHead(200, { connection: 'close' }).end();
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    reading ??= { error: err.code ?? err.message };
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** What node's server read first from these bytes (or the error it gave), once the connection is over. */
function nodeReads(bytes: Buffer): Promise<NodeReading> {
  reading = undefined;
  return new Promise((resolve) => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.end(bytes));
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(reading ?? { error: 'no request read' }));
  });
}


// Each list: the usual first, then the odd. `pick` takes the usual most of the time.
const METHODS = [['GET', 'POST', 'HEAD', 'DELETE', 'OPTIONS'], ['get', 'FOO', 'G(T', '']] as const;
const TARGETS = [['/a', '/a?b=c&d=%20', '/envoy/orders/1', '/authz'], ['/a{b}|c', '/\xe9', '*', 'http://x/y', '/a\x01', '/a b', '']] as const;
const VERSIONS = [['HTTP/1.1', 'HTTP/1.0'], ['HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1']] as const;
const FIELDS = [
  ['Authorization: Bearer x.y.z', 'authorization: Bearer q', 'X-A:  v  ', 'X-A:v', 'X-B: \xe9t\xe9', 'X-B: a\tb', 'Content-Length: 0',
    'Content-Length: 3', 'Content-Length: 03', 'Connection: close', 'Connection: keep-alive', 'X-Original-URI: /public/../admin',
    'X-Empty:', 'Upgrade: h2c', 'Expect: 100-continue'],
  ['Host: b', 'Host:', 'X-A : v', ' folded', '\tfolded', 'X-B: a\x07b', 'X-B: a\x00b', 'Content-Length: +1', 'Content-Length: 1, 1',
    'Transfer-Encoding: chunked', 'X(Y): 1', ': v', 'X-C: a\rb', 'X-C: a\nb'],
] as const;

function generate(next: () => number): string {
  const pick = (lists: readonly (readonly string[])[]): string => {
    const list = next() < 0.9 ? lists[0]! : lists[1]!;
    return list[Math.floor(next() * list.length)]!;
  };
  const eol = () => (next() < 0.97 ? '\r\n' : pick([['\n'], ['\r', '\r\r\n']]));
  const sp = () => (next() < 0.97 ? ' ' : pick([['  '], ['\t', '']]));
  let text = next() < 0.1 ? '\r\n' : '';
  text += `${pick(METHODS)}${sp()}${pick(TARGETS)}${sp()}${pick(VERSIONS)}${eol()}`;
  if (next() < 0.9) text += `Host: a${eol()}`;
  const fields = Math.floor(next() * 5);
  for (let i = 0; i < fields; i++) text += `${pick(FIELDS)}${eol()}`;
  return `${text}${eol()}abc`;
}

/** Whether node's refusal is one of the two this parser reads on purpose (see the top of this file). */
function knownDifference(head: RequestHead, error: string | undefined): boolean {
  if (error === 'HPE_INVALID_METHOD') return !LLHTTP_KNOWS.includes(head.method);
  if (error === 'HPE_INVALID_HEADER_TOKEN') return Object.values(head.headers.headers).some((v) => /[\x01-\x08\x0b-\x1f\x7f]/.test(v));
  return false;
}
/** The generator's methods that llhttp knows (it knows many more, all upper-case). */
const LLHTTP_KNOWS = ['GET', 'POST', 'HEAD', 'DELETE', 'OPTIONS'];

describe('the request head parser against node:http (llhttp)', () => {
  it('reads every request it accepts exactly as node does, over 600 generated requests', async () => {
    const next = seededRandom(20261207);
    let accepted = 0;
    let nodeAlsoRead = 0;
    for (let i = 0; i < 600; i++) {
      const text = generate(next);
      const bytes = Buffer.from(text, 'latin1');
      const ours = parseRequestHead(bytes, 0, { maxHeadBytes: 8192, maxBodyBytes: 1024 });
      if (ours.kind !== 'head') continue;
      accepted++;
      const theirs = await nodeReads(bytes);
      const where = `case ${i}: ${JSON.stringify(text)}`;
      if (theirs.error !== undefined) {
        expect(knownDifference(ours.head, theirs.error), `${where}: node refused it (${theirs.error})`).toBe(true);
        continue;
      }
      nodeAlsoRead++;
      expect(theirs.method, where).toBe(ours.head.method);
      expect(theirs.url, where).toBe(ours.head.target);
      const nodeHeaders = headerMap(theirs.rawHeaders!);
      expect({ ...ours.head.headers.headers }, where).toEqual({ ...nodeHeaders.headers });
      expect([...ours.head.headers.repeated].sort(), where).toEqual([...nodeHeaders.repeated].sort());
    }
    // The generator must reach both sides: requests read, and refusals (counted apart: 600 − accepted).
    expect(accepted).toBeGreaterThan(200);
    expect(nodeAlsoRead).toBeGreaterThan(150);
    expect(accepted).toBeLessThan(600);
  });
});
