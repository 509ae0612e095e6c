import type { Socket } from 'node:net';
import { plainAnswer } from '../answer.js';
import type { HeaderMap } from '../header_map.js';
import { parseRequestHead, type HeadLimits, type HeadRefusal, type RequestHead } from './request_head.js';
import { serializeResponse, type HeaderPair } from './response.js';

/** The request a check is about, as the handler reads it. */
export interface HttpRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderMap;
  /** Whether the peer is a trusted proxy: worked out once per connection, when first asked. */
  peerTrusted(): boolean;
}

/** The one answer to a request. Sending twice is an error; sending after the connection closed does nothing. */
export interface HttpReply {
  readonly sent: boolean;
  send(status: number, headers: readonly HeaderPair[], body: string): void;
}

/** Answers a request, at once or later; a reply not sent before it returns holds the connection until it is. */
export type HttpHandler = (request: HttpRequest, reply: HttpReply) => void;

/** A coarse clock, ticked by the server's sweep: a timeout needs no timer per request, nor a clock read. */
export interface CoarseClock {
  now: number;
  /** The Date header's value (RFC 9110 §5.6.7 IMF-fixdate). */
  date: string;
}

export interface ConnectionOptions {
  readonly limits: HeadLimits;
  readonly handler: HttpHandler;
  readonly trusts: (address: string | undefined) => boolean;
  readonly clock: CoarseClock;
  /** A request answered without reaching the handler (malformed, too large, timed out): counted and logged. */
  readonly onRefused: (refusal: Refusal) => void;
}

export interface Refusal {
  readonly status: HeadRefusal['status'] | 408;
  readonly reason: HeadRefusal['reason'] | 'request_timeout';
  readonly detail: string;
}

/**
 * One HTTP/1.1 connection of the authorization listener. Requests are taken one at a time, in order: the next is
 * not parsed (and the socket is paused) until the current one is answered, so answers can never be paired with the
 * wrong request. A request's body is read only to be discarded. Whatever cannot be framed with certainty is answered
 * with a refusal and the connection closed: the next bytes could not be trusted to start a request.
 */
export class Http1Connection {
  private buffer: Buffer | undefined;
  /** Bytes at the buffer's start already searched for the end of a head. */
  private scanned = 0;
  private bodyLeft = 0;
  private current: Exchange | undefined;
  private driving = false;
  private paused = false;
  private trusted: boolean | undefined;
  /** No more requests are read: an answer said close, or the connection is closing. */
  private closing = false;
  private closingSince = 0;
  /** The server is stopping: the answer in flight is the last. */
  private draining = false;
  /** The client has sent all it will (a half-close): what it sent is answered, then the connection closes. */
  private peerEnded = false;
  /** Answers are waiting in memory for a client that does not read them: nothing more is parsed until they drain. */
  private awaitingDrain = false;
  /** When the request now arriving began to (0: none is arriving). */
  private requestSince = 0;
  private idleSince: number;

  constructor(
    private readonly socket: Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.idleSince = options.clock.now;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('end', () => {
      this.peerEnded = true;
      if (!this.driving) this.drive();
    });
    socket.on('drain', () => {
      if (!this.awaitingDrain) return;
      this.awaitingDrain = false;
      this.resume();
      if (!this.driving) this.drive();
    });
    // A reset or a write to a closed peer: 'close' follows, and with it the end of this connection.
    socket.on('error', () => undefined);
  }

  /** Closes the connection if it is over one of its deadlines; called by the server's sweep. */
  sweep(requestTimeoutMs: number, keepAliveTimeoutMs: number): void {
    const { now } = this.options.clock;
    if (this.closing) {
      // A peer that never reads our close: its socket is let go after one more request deadline.
      if (now - this.closingSince > requestTimeoutMs) this.socket.destroy();
      return;
    }
    if (this.current !== undefined) return; // a check in flight has its own deadline
    if (this.requestSince !== 0) {
      if (now - this.requestSince > requestTimeoutMs) {
        this.refuse({
          status: 408,
          reason: 'request_timeout',
          detail: 'the request did not arrive within requestTimeoutMs',
        });
      }
    } else if (now - this.idleSince > keepAliveTimeoutMs) this.close();
  }

  /** The server is stopping: an idle connection closes now, a busy one after its answer. */
  drain(): void {
    this.draining = true;
    if (this.current === undefined && this.buffer === undefined && this.bodyLeft === 0) this.close();
  }

  /** The grace period is over. */
  destroy(): void {
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    if (this.closing) return;
    this.buffer = this.buffer === undefined ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.driving) this.drive();
  }

  /** Takes requests off the buffer until it is empty, a request is incomplete, or an answer is awaited. */
  private drive(): void {
    this.driving = true;
    try {
      while (!this.closing) {
        if (this.bodyLeft > 0 && !this.discardBody()) return;
        if (this.current !== undefined) return;
        if (this.socket.writableNeedDrain) {
          // A client that sends requests but reads no answers would otherwise fill our memory with them.
          this.awaitingDrain = true;
          this.pause();
          return;
        }
        const buffer = this.buffer;
        if (buffer === undefined) {
          this.requestSince = 0;
          this.idleSince = this.options.clock.now;
          if (this.draining || this.peerEnded) this.close();
          return;
        }
        const parsed = parseRequestHead(buffer, 0, this.options.limits, this.scanned);
        if (parsed.kind === 'incomplete') {
          // The client ended in the middle of a request: it will never be complete.
          if (this.peerEnded) return this.close();
          this.scanned = buffer.length;
          if (this.requestSince === 0) this.requestSince = this.options.clock.now;
          return;
        }
        if (parsed.kind === 'refused') return this.refuse(parsed.refusal);
        const { head } = parsed;
        this.buffer = head.length === buffer.length ? undefined : buffer.subarray(head.length);
        this.scanned = 0;
        this.bodyLeft = head.contentLength;
        this.requestSince = this.bodyLeft > 0 ? this.requestSince || this.options.clock.now : 0;
        this.dispatch(head);
      }
    } finally {
      this.driving = false;
    }
  }

  /** Drops body bytes that have arrived; true once the whole body is gone. */
  private discardBody(): boolean {
    const buffer = this.buffer;
    if (buffer === undefined) return false;
    const n = Math.min(this.bodyLeft, buffer.length);
    this.bodyLeft -= n;
    this.buffer = n === buffer.length ? undefined : buffer.subarray(n);
    return this.bodyLeft === 0;
  }

  private dispatch(head: RequestHead): void {
    const exchange = new Exchange(this, head);
    this.current = exchange;
    try {
      this.options.handler(exchange, exchange);
    } catch {
      // The handler answers every failure itself; this is the last guard, and it denies.
      const internal = plainAnswer(500, 'Internal error.');
      if (!exchange.sent) exchange.send(internal.status, internal.headers, internal.body);
    }
    // Nothing more is read until the answer goes out: the next request waits in the kernel, not in memory.
    if (!exchange.sent) this.pause();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused || this.awaitingDrain || this.current !== undefined) return;
    this.paused = false;
    this.socket.resume();
  }

  /** @internal Exchange.send: whether this answer closes the connection. */
  closesAfter(head: RequestHead): boolean {
    // With Expect: 100-continue the client may hold its body back until told to send it; the answer comes first,
    // so whether body bytes follow is unknowable: the connection ends with this answer.
    return !head.keepAlive || head.expectsContinue || this.draining || this.peerEnded;
  }

  /** @internal Exchange.send: the answer is written; read the next request. */
  answered(exchange: Exchange, bytes: Buffer | string, close: boolean): void {
    if (this.current !== exchange || this.socket.destroyed) return;
    this.socket.write(bytes, 'latin1');
    this.current = undefined;
    if (close) return this.close();
    this.resume();
    if (!this.driving) this.drive();
  }

  /** @internal */
  date(): string {
    return this.options.clock.date;
  }

  /** @internal */
  peerTrusted(): boolean {
    this.trusted ??= this.options.trusts(this.socket.remoteAddress);
    return this.trusted;
  }

  private refuse(refusal: Refusal): void {
    this.options.onRefused(refusal);
    const { status, headers, body } = plainAnswer(refusal.status, refusal.detail);
    const framing = { close: true, keepAliveForHttp10: false, head: false, date: this.options.clock.date };
    if (!this.socket.destroyed) this.socket.write(serializeResponse(status, headers, body, framing), 'latin1');
    this.close();
  }

  private close(): void {
    if (this.closing) return;
    this.closing = true;
    this.closingSince = this.options.clock.now;
    this.buffer = undefined;
    this.socket.end();
  }
}

/** One request and its answer. */
class Exchange implements HttpRequest, HttpReply {
  sent = false;
  readonly method: string;
  readonly target: string;
  readonly headers: HeaderMap;

  constructor(
    private readonly connection: Http1Connection,
    private readonly head: RequestHead,
  ) {
    this.method = head.method;
    this.target = head.target;
    this.headers = head.headers;
  }

  peerTrusted(): boolean {
    return this.connection.peerTrusted();
  }

  send(status: number, headers: readonly HeaderPair[], body: string): void {
    if (this.sent) throw new Error('this request was answered already');
    const close = this.connection.closesAfter(this.head);
    const framing = {
      close,
      keepAliveForHttp10: this.head.minorVersion === 0,
      head: this.head.method === 'HEAD',
      date: this.connection.date(),
    };
    // Serialising throws on a header that could split the response, before anything is marked sent or written.
    const bytes = serializeResponse(status, headers, body, framing);
    this.sent = true;
    this.connection.answered(this, bytes, close);
  }
}
