import { connect, type Socket } from 'node:net';

/** A RESP reply: simple string, error, integer, bulk string (null for nil). Arrays are not needed here. */
export type RespReply = string | number | null | RespError;

export class RespError extends Error {}

/** Bytes of unparsed reply text beyond this end the connection: a reply to SET or AUTH is a few bytes. */
const MAX_BUFFER = 64 * 1024;
const MAX_PENDING = 10_000;

interface Pending {
  readonly resolve: (reply: RespReply) => void;
  readonly reject: (err: Error) => void;
}

/**
 * A minimal RESP2 client over node:net for the replay store's one command (SET … NX PX), so no Redis library joins
 * the dependencies for it. One connection, commands pipelined, replies matched in order (RESP answers in order). It
 * connects on first use and again after the connection drops; commands given while it is down fail at once rather
 * than queue (a check cannot wait). `hello` runs first on every new connection (AUTH).
 */
export class RespClient {
  readonly #address: string;
  readonly #hello: readonly (readonly string[])[];
  #socket: Socket | undefined;
  #ready: Promise<void> | undefined;
  #pending: Pending[] = [];
  #buffer = '';
  #closed = false;
  /** After a failed connection, no new attempt before this time: a down server is not hammered by every check. */
  #retryAfter = 0;

  constructor(address: string, hello: readonly (readonly string[])[] = []) {
    this.#address = address;
    this.#hello = hello;
  }

  async command(args: readonly string[]): Promise<RespReply> {
    await this.#connected();
    return this.#send(args);
  }

  /** Connects now rather than on the first command; a failure is retried by the next command. */
  connect(): Promise<void> {
    return this.#connected();
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
  }

  #connected(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('client closed'));
    if (this.#ready) return this.#ready;
    if (Date.now() < this.#retryAfter) return Promise.reject(new Error('not connected (retrying shortly)'));
    this.#ready = new Promise<void>((resolve, reject) => {
      const socket = this.#address.startsWith('unix:')
        ? connect(this.#address.slice(5))
        : connect(Number(this.#address.slice(this.#address.lastIndexOf(':') + 1)), hostOf(this.#address));
      this.#socket = socket;
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        if (this.#socket === socket) this.#onData(chunk);
      });
      socket.once('connect', () => {
        // A refused AUTH leaves a connection no command may use: drop it (and pause) rather than send on it.
        Promise.all(this.#hello.map((args) => this.#send(args))).then((replies) => {
          const refused = replies.find((r) => r instanceof RespError);
          if (refused === undefined) return resolve();
          reject(new Error(`AUTH refused: ${(refused as RespError).message}`));
          socket.destroy();
        }, reject);
      });
      socket.once('error', (err) => reject(err));
      socket.once('close', () => this.#onClose(socket, reject));
    });
    // A failed connection attempt is forgotten, so the next command (after the pause) tries again.
    this.#ready.catch(() => undefined);
    return this.#ready;
  }

  #send(args: readonly string[]): Promise<RespReply> {
    const socket = this.#socket;
    // Replies are matched to commands by order alone: a command is queued only if it is really written, on the
    // connection whose replies will answer it (one dropped between connecting and now has cleared the queue).
    if (!socket || socket.destroyed || !socket.writable) return Promise.reject(new Error('not connected'));
    if (this.#pending.length >= MAX_PENDING) return Promise.reject(new Error('too many commands in flight'));
    let frame = `*${args.length}\r\n`;
    for (const arg of args) frame += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
    return new Promise<RespReply>((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      socket.write(frame);
    });
  }

  #onClose(socket: Socket, reject: (err: Error) => void): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    this.#ready = undefined;
    this.#buffer = '';
    this.#retryAfter = Date.now() + 250;
    const error = new Error('connection closed');
    reject(error);
    for (const p of this.#pending.splice(0)) p.reject(error);
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    try {
      for (;;) {
        const parsed = parseReply(this.#buffer);
        if (parsed === undefined) break;
        this.#buffer = this.#buffer.slice(parsed.length);
        this.#pending.shift()?.resolve(parsed.reply);
      }
      if (this.#buffer.length > MAX_BUFFER) throw new Error('reply too large');
    } catch {
      // Unparseable or endless input: the replies cannot be trusted to line up with our commands any more.
      this.#socket?.destroy();
    }
  }
}

/**
 * One reply at the start of `text`, or undefined when it is not all there yet. Lengths count bytes; the replies read
 * here are ASCII (OK, nil, errors), and a bulk string with other bytes is only ever skipped.
 */
function parseReply(text: string): { reply: RespReply; length: number } | undefined {
  const end = text.indexOf('\r\n');
  if (end === -1) return undefined;
  const line = text.slice(1, end);
  switch (text[0]) {
    case '+':
      return { reply: line, length: end + 2 };
    case '-':
      return { reply: new RespError(line), length: end + 2 };
    case ':':
      return { reply: Number(line), length: end + 2 };
    case '$': {
      const size = Number(line);
      if (size === -1) return { reply: null, length: end + 2 };
      if (!Number.isInteger(size) || size < 0) throw new Error('bad bulk length');
      if (text.length < end + 2 + size + 2) return undefined;
      return { reply: text.slice(end + 2, end + 2 + size), length: end + 2 + size + 2 };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(text[0])}`);
  }
}

function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  return host.startsWith('[') ? host.slice(1, -1) : host;
}
