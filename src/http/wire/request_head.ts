import { commonHeaderName, HeaderMapBuilder, type HeaderMap } from '../header_map.js';
import { TOKEN } from '../token.js';

/**
 * The request line and header section of one HTTP/1.1 request (RFC 9112 §2–§6), parsed strictly: a check request
 * comes from a proxy, which writes well-formed requests, so anything a lenient parser would have to guess about is
 * refused instead. What is refused here, and where node's own parser (llhttp) would accept it, is stricter on purpose:
 * a framing guess on a kept-alive connection could pair a proxy's check with another check's answer.
 *
 * Pure: bytes in, a head or a refusal out. The connection (connection.ts) owns the socket, the body and the timers.
 */

export interface RequestHead {
  readonly method: string;
  /** The request-target exactly as sent (RFC 9112 §3.2); routing and the path checks read it later. */
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minorVersion: 0 | 1;
  /** Every field line, names lower-cased, values without the whitespace around them (RFC 9112 §5.1). */
  readonly headers: HeaderMap;
  /** The body that follows (Content-Length), discarded: a check never reads it. */
  readonly contentLength: number;
  /** Whether the connection may carry another request after this one's answer (RFC 9112 §9.3). */
  readonly keepAlive: boolean;
  /** `Expect: 100-continue` with a body (RFC 9110 §10.1.1). */
  readonly expectsContinue: boolean;
  /** Bytes from the start of the request line through the blank line. */
  readonly length: number;
}

/** Why a request was refused: the status answered, and the reason counted and logged. */
export interface HeadRefusal {
  readonly status: 400 | 413 | 417 | 431 | 501 | 505;
  readonly reason: 'malformed' | 'headers_too_large' | 'body_too_large' | 'unsupported';
  readonly detail: string;
}

export type HeadParse =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'head'; readonly head: RequestHead }
  | { readonly kind: 'refused'; readonly refusal: HeadRefusal };

export interface HeadLimits {
  /** The request line and headers together, with their line ends. */
  readonly maxHeadBytes: number;
  /** The largest body a check request may carry (and that is read only to be discarded). */
  readonly maxBodyBytes: number;
}

const INCOMPLETE: HeadParse = { kind: 'incomplete' };
const HEAD_END = Buffer.from('\r\n\r\n');

/** RFC 9112 §3: method SP request-target SP HTTP-version; the target visible ASCII only (RFC 3986 has no other). */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/;
/**
 * RFC 9110 §5.5: a field value holding CR, LF or NUL MUST be refused (or those replaced); other control characters
 * MAY be kept, and are: the pipeline reads every value it uses strictly (a token must be a b64token, a forwarded URI
 * a path), and checking every byte in JavaScript would cost more than the whole check. A CR or LF that is not part
 * of a CRLF line end is refused too (RFC 9112 §2.2 allows reading a lone LF as a line end; no proxy sends one).
 */
const NUL = 0x00;
/** RFC 9110 §8.6: Content-Length = 1*DIGIT. */
const DIGITS = /^[0-9]{1,15}$/;

/**
 * Parses the head that starts at `start` in `buffer`. `scanFrom` is where the search for its end may begin (bytes
 * before it were searched already), so a head that arrives a few bytes at a time is not searched again from its start.
 */
export function parseRequestHead(buffer: Buffer, from: number, limits: HeadLimits, scanFrom = from): HeadParse {
  // RFC 9112 §2.2: empty lines before a request line (some clients end a body with one) are skipped.
  let start = from;
  while (buffer[start] === 0x0d && buffer[start + 1] === 0x0a) start += 2;
  const end = buffer.indexOf(HEAD_END, Math.max(start, scanFrom - 3));
  if (end === -1) {
    if (buffer.length - from > limits.maxHeadBytes)
      return refused(431, 'headers_too_large', 'the request head is over maxHeaderBytes');
    return INCOMPLETE;
  }
  const length = end + HEAD_END.length - from;
  if (length > limits.maxHeadBytes) return refused(431, 'headers_too_large', 'the request head is over maxHeaderBytes');
  const nul = buffer.indexOf(NUL, start);
  if (nul !== -1 && nul < end) return refused(400, 'malformed', 'the request head holds a NUL');
  const text = buffer.toString('latin1', start, end);
  let lineEnd = endOfLine(text, 0);
  if (lineEnd === -1) return refused(400, 'malformed', 'the request line holds a lone CR or LF');
  const requestLine = REQUEST_LINE.exec(text.slice(0, lineEnd));
  if (requestLine === null) return refused(400, 'malformed', 'the request line is not method SP target SP HTTP/1.x');
  // RFC 9112 §2.3: this server speaks 1.0 and 1.1; a major version 1 with another minor would be 1.1-compatible,
  // but no proxy sends one: refused rather than guessed at.
  if (requestLine[3] !== '1' || (requestLine[4] !== '0' && requestLine[4] !== '1')) {
    return refused(505, 'unsupported', `HTTP/${requestLine[3]}.${requestLine[4]} is not supported`);
  }
  const minorVersion = requestLine[4] === '1' ? 1 : 0;
  const headers = new HeaderMapBuilder();
  let host = 0;
  let contentLength: string | undefined;
  let connection = '';
  let expect: string | undefined;
  // Field lines, each read in place (no array of lines): this loop runs for every check.
  for (let line = 1, pos = lineEnd + 2; pos < text.length; line++, pos = lineEnd + 2) {
    lineEnd = endOfLine(text, pos);
    if (lineEnd === -1) return refused(400, 'malformed', `header line ${line} holds a lone CR or LF`);
    const colon = text.indexOf(':', pos);
    const rawName = colon === -1 || colon > lineEnd ? '' : text.slice(pos, colon);
    const lower = rawName.toLowerCase();
    const common = commonHeaderName(lower);
    // RFC 9112 §5.1: the name is a token with the colon right after it (whitespace before the colon MUST be refused);
    // a line that starts with whitespace is obs-fold (RFC 9112 §5.2), refused as the section allows. A name that
    // lower-cases to a common one is made of token characters (no Latin-1 character lower-cases into ASCII): only the
    // others need the check.
    if (common === undefined && !TOKEN.test(rawName)) {
      return refused(400, 'malformed', `header line ${line} is not name ":" value`);
    }
    const name = common ?? lower;
    const value = withoutOws(text, colon + 1, lineEnd);
    headers.add(name, value);
    switch (name.length) {
      case 4:
        if (name === 'host') host++;
        break;
      case 6:
        if (name === 'expect') {
          if (expect !== undefined) return refused(400, 'malformed', 'Expect is given more than once');
          expect = value;
        }
        break;
      case 10:
        if (name === 'connection') connection += `${value},`;
        break;
      case 14:
        if (name === 'content-length') {
          // RFC 9110 §8.6 lets identical repeats through; one framing value only is stricter, and never ambiguous.
          if (contentLength !== undefined) return refused(400, 'malformed', 'Content-Length is given more than once');
          contentLength = value;
        }
        break;
      case 17:
        // RFC 9112 §6.1: a transfer coding it does not implement is answered 501. Checks carry no chunked bodies.
        if (name === 'transfer-encoding') return refused(501, 'unsupported', 'Transfer-Encoding is not supported');
        break;
    }
  }
  // RFC 9112 §3.2: a 1.1 request without exactly one Host MUST be answered 400.
  if (minorVersion === 1 ? host !== 1 : host > 1)
    return refused(400, 'malformed', 'a request must carry one Host header');
  let bodyLength = 0;
  if (contentLength !== undefined) {
    if (!DIGITS.test(contentLength)) return refused(400, 'malformed', 'Content-Length is not a number');
    bodyLength = Number(contentLength);
    if (bodyLength > limits.maxBodyBytes)
      return refused(413, 'body_too_large', 'the request body is too large for a check');
  }
  let expectsContinue = false;
  if (expect !== undefined) {
    // RFC 9110 §10.1.1: 100-continue is the only expectation defined; any other is answered 417.
    if (expect.toLowerCase() !== '100-continue') return refused(417, 'unsupported', 'an unknown expectation');
    expectsContinue = bodyLength > 0;
  }
  const keepAlive = keepsAlive(minorVersion, connection);
  return {
    kind: 'head',
    head: {
      method: requestLine[1]!,
      target: requestLine[2]!,
      minorVersion,
      headers: headers.build(),
      contentLength: bodyLength,
      keepAlive,
      expectsContinue,
      length,
    },
  };
}

/** RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive". Connection options are case-insensitive. */
function keepsAlive(minorVersion: 0 | 1, connection: string): boolean {
  if (connection === '') return minorVersion === 1;
  const options = connection
    .toLowerCase()
    .split(',')
    .map((o) => o.trim());
  if (options.includes('close')) return false;
  return minorVersion === 1 || options.includes('keep-alive');
}

/**
 * Where the line that starts at `pos` ends: its CRLF, or the end of the head; -1 when it holds a CR or an LF that is
 * not part of a CRLF. Two scans of the line, one for each character.
 */
function endOfLine(text: string, pos: number): number {
  const cr = text.indexOf('\r', pos);
  if (cr !== -1 && text.charCodeAt(cr + 1) !== LF) return -1;
  const end = cr === -1 ? text.length : cr;
  const lf = text.indexOf('\n', pos);
  return lf !== -1 && lf < end ? -1 : end;
}

const LF = 0x0a;

/** RFC 9112 §5.1: OWS around a field value is not part of it; only SP and HTAB are OWS (trim() would take more). */
function withoutOws(text: string, from: number, to: number): string {
  while (from < to && isOws(text.charCodeAt(from))) from++;
  while (to > from && isOws(text.charCodeAt(to - 1))) to--;
  return text.slice(from, to);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function refused(status: HeadRefusal['status'], reason: HeadRefusal['reason'], detail: string): HeadParse {
  return { kind: 'refused', refusal: { status, reason, detail } };
}
