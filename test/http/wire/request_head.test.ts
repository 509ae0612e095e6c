// The HTTP/1.1 request head parser of the authorization listener (src/http/wire/request_head.ts): what it reads, and
// everything it refuses. Where it is stricter than RFC 9112 allows a server to be, or than node's parser, the test
// says so.
import { describe, expect, it } from 'vitest';
import { parseRequestHead, type HeadParse } from '../../../src/http/wire/request_head.js';

const LIMITS = { maxHeadBytes: 1024, maxBodyBytes: 4096 };

function parse(text: string, limits = LIMITS): HeadParse {
  return parseRequestHead(Buffer.from(text, 'latin1'), 0, limits);
}

function head(text: string) {
  const parsed = parse(text);
  if (parsed.kind !== 'head') throw new Error(`expected a head, got ${JSON.stringify(parsed)}`);
  return parsed.head;
}

function refusal(text: string, limits = LIMITS) {
  const parsed = parse(text, limits);
  if (parsed.kind !== 'refused') throw new Error(`expected a refusal, got ${parsed.kind}`);
  return parsed.refusal;
}

describe('a request head that is read', () => {
  it('gives method, target, version, headers (names lower-cased, values without OWS) and its length', () => {
    const text = 'GET /orders/1?x=%20y HTTP/1.1\r\nHost: api.example.com\r\nAuthorization:  Bearer abc \t\r\nX-Empty:\r\n\r\n';
    const h = head(`${text}GET /next`);
    expect(h).toMatchObject({ method: 'GET', target: '/orders/1?x=%20y', minorVersion: 1, contentLength: 0, keepAlive: true });
    expect(h.length).toBe(text.length);
    expect({ ...h.headers.headers }).toEqual({ host: 'api.example.com', authorization: 'Bearer abc', 'x-empty': '' });
  });

  it('reads a common name in any case as that name, and refuses a look-alike with a non-token character', () => {
    expect(head('GET / HTTP/1.1\r\nHOST: a\r\nAuthoriZATION: Bearer x\r\n\r\n').headers.headers.authorization).toBe('Bearer x');
    expect(refusal('GET / HTTP/1.1\r\nHost: a\r\nAuthorizati\xf6n: Bearer x\r\n\r\n').status).toBe(400);
  });

  it('joins a repeated header and remembers it was repeated (two Authorization headers are two tokens)', () => {
    const h = head('GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n');
    expect(h.headers.headers.authorization).toBe('Bearer a,Bearer b');
    expect([...h.headers.repeated]).toEqual(['authorization']);
  });

  it('waits for the blank line, however the head is cut', () => {
    const whole = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
    for (let cut = 0; cut < whole.length; cut++) expect(parse(whole.slice(0, cut)).kind).toBe('incomplete');
    // Searching resumes where it stopped: a CRLFCRLF that straddles the cut is still found.
    const buffer = Buffer.from(whole);
    expect(parseRequestHead(buffer, 0, LIMITS, whole.length - 2).kind).toBe('head');
  });

  it('skips empty lines before the request line (RFC 9112 §2.2), counting them in its length', () => {
    const h = head('\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(h.method).toBe('GET');
    expect(h.length).toBe(4 + 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'.length);
  });

  it('keeps obs-text in a value as its Latin-1 characters, and other control characters (RFC 9110 §5.5 allows it)', () => {
    const h = head('GET / HTTP/1.1\r\nHost: a\r\nX-Name: Zo\xeb\r\nX-Bell: a\x07b\r\n\r\n');
    expect(h.headers.headers['x-name']).toBe('Zo\xeb');
    expect(h.headers.headers['x-bell']).toBe('a\x07b');
  });

  it('HTTP/1.0 needs no Host and is kept alive only when asked (RFC 9112 §9.3)', () => {
    expect(head('GET / HTTP/1.0\r\n\r\n').keepAlive).toBe(false);
    expect(head('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive).toBe(true);
    expect(head('GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, CLOSE\r\n\r\n').keepAlive).toBe(false);
    expect(head('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n').keepAlive).toBe(false);
  });

  it('reads Content-Length, and Expect: 100-continue only where a body follows', () => {
    expect(head('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n').contentLength).toBe(12);
    expect(head('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nExpect: 100-Continue\r\n\r\n').expectsContinue).toBe(true);
    expect(head('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n').expectsContinue).toBe(false);
  });
});

describe('a request head that is refused', () => {
  it.each([
    ['two spaces in the request line', 'GET  / HTTP/1.1'],
    ['a space in the target', 'GET /a b HTTP/1.1'],
    ['no version', 'GET /'],
    ['a lower-case version', 'GET / http/1.1'],
    ['a method that is no token', 'G(T / HTTP/1.1'],
    ['a non-ASCII target', 'GET /\xe9 HTTP/1.1'],
    ['a tab for a space', 'GET\t/ HTTP/1.1'],
  ])('400 for a bad request line: %s', (_, line) => {
    expect(refusal(`${line}\r\nHost: a\r\n\r\n`)).toMatchObject({ status: 400, reason: 'malformed' });
  });

  it.each([
    ['whitespace before the colon (RFC 9112 §5.1 MUST)', 'Host : a'],
    ['obs-fold, a line that continues the one before (RFC 9112 §5.2)', ' folded'],
    ['no colon', 'Host a'],
    ['an empty name', ': a'],
    ['a name that is no token', 'X(Y): a'],
    ['a lone LF inside a value (RFC 9112 §2.2 allows reading it as a line end; refused)', 'X-A: a\nX-B: b'],
    ['a lone CR inside a value', 'X-A: a\rb'],
    ['a NUL (RFC 9110 §5.5 MUST)', 'X-A: a\x00b'],
  ])('400 for a bad field line: %s', (_, line) => {
    expect(refusal(`GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`)).toMatchObject({ status: 400, reason: 'malformed' });
  });

  it('400 without exactly one Host on HTTP/1.1 (RFC 9112 §3.2 MUST)', () => {
    expect(refusal('GET / HTTP/1.1\r\n\r\n').status).toBe(400);
    expect(refusal('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n').status).toBe(400);
    expect(refusal('GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n').status).toBe(400);
  });

  it.each([
    ['given twice, even with the same value (RFC 9110 §8.6 would allow that; one framing value only)', 'Content-Length: 3\r\nContent-Length: 3'],
    ['a list', 'Content-Length: 3, 3'],
    ['a sign', 'Content-Length: +3'],
    ['hexadecimal', 'Content-Length: 0x3'],
    ['empty', 'Content-Length:'],
  ])('400 for a Content-Length %s', (_, line) => {
    expect(refusal(`POST / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`)).toMatchObject({ status: 400, reason: 'malformed' });
  });

  it('413 for a body larger than a check may carry', () => {
    expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4097\r\n\r\n')).toMatchObject({ status: 413, reason: 'body_too_large' });
  });

  it('501 for any Transfer-Encoding (RFC 9112 §6.1): no chunked body is ever framed by guesswork', () => {
    for (const te of ['chunked', 'gzip, chunked', 'identity']) {
      expect(refusal(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${te}\r\n\r\n`)).toMatchObject({ status: 501, reason: 'unsupported' });
    }
    // With a Content-Length beside it too (RFC 9112 §6.3 point 3: the classic smuggling pair).
    expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n').status).toBe(501);
  });

  it('417 for an expectation other than 100-continue (RFC 9110 §10.1.1)', () => {
    expect(refusal('GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n')).toMatchObject({ status: 417 });
  });

  it('505 for a version other than 1.0 and 1.1', () => {
    expect(refusal('GET / HTTP/2.0\r\nHost: a\r\n\r\n')).toMatchObject({ status: 505, reason: 'unsupported' });
    expect(refusal('GET / HTTP/1.2\r\nHost: a\r\n\r\n').status).toBe(505);
  });

  it('431 for a head over maxHeadBytes, complete or not, with or without leading empty lines', () => {
    const limits = { maxHeadBytes: 64, maxBodyBytes: 0 };
    const big = `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${'p'.repeat(64)}\r\n\r\n`;
    expect(refusal(big, limits)).toMatchObject({ status: 431, reason: 'headers_too_large' });
    expect(refusal(big.slice(0, 70), limits).status).toBe(431);
    expect(refusal('\r\n'.repeat(40), limits).status).toBe(431);
  });
});
