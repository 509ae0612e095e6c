import { STATUS_CODES } from 'node:http';
import { TOKEN } from '../token.js';

/** A response header: lower-case name, value as Latin-1 text (each character one byte on the wire). */
export type HeaderPair = readonly [name: string, value: string];

/** What the connection says about the answer it is about to send. */
export interface ResponseFraming {
  /** The connection closes after this answer: says `connection: close`. */
  readonly close: boolean;
  /** An HTTP/1.0 client kept alive must be told so (RFC 9112 §9.3). */
  readonly keepAliveForHttp10: boolean;
  /** A HEAD request's answer has no body (RFC 9110 §9.3.2), though its content-length is the one GET would have. */
  readonly head: boolean;
  /** RFC 9110 §6.6.1: an origin server with a clock sends Date in its 2xx–4xx answers. */
  readonly date: string;
}

/** RFC 9110 §5.5 field value: no control character but HTAB, so no CR or LF can end a line early. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Serialises an answer: status line, headers, content-length from the body, then the body (UTF-8). Throws before
 * anything is written if a header could split the response; the caller then answers a denial instead.
 */
export function serializeResponse(
  status: number,
  headers: readonly HeaderPair[],
  body: string,
  framing: ResponseFraming,
): Buffer | string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name)) throw new TypeError(`the response header name ${JSON.stringify(name)} is not a token`);
    if (!FIELD_VALUE.test(value))
      throw new TypeError(`the response header ${name} has a character not allowed in a value`);
    head += `${name}: ${value}\r\n`;
  }
  const bodyBytes = Buffer.byteLength(body);
  head += `content-length: ${bodyBytes}\r\ndate: ${framing.date}\r\n`;
  if (framing.close) head += 'connection: close\r\n';
  else if (framing.keepAliveForHttp10) head += 'connection: keep-alive\r\n';
  head += '\r\n';
  if (framing.head || bodyBytes === 0) return head;
  // One Latin-1 string when the body is ASCII (every answer tokengate builds is), else the head's and body's bytes.
  if (bodyBytes === body.length) return head + body;
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]);
}
