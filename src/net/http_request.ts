import {
  Agent as HttpAgent,
  request as httpRequestRaw,
  type IncomingMessage,
  type IncomingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequestRaw } from 'node:https';

// node:http rather than the global fetch: fetch is undici, which Node loads on first use at 20-30 ms of start-up
// (issue 23's ready time) and which key fetches and introspection calls need nothing of beyond what is here.

export interface HttpRequestOptions {
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** The whole exchange, redirects included: connect, send, and the body's last byte. */
  readonly timeoutMs: number;
  /** A 2xx body larger than this is refused, by its content-length up front or as soon as the bytes pass it. */
  readonly maxBytes: number;
  /** 0: a 3xx is returned as it is. Otherwise GET redirects are followed up to this many times. */
  readonly maxRedirects?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as UTF-8 for a 2xx answer; empty for any other, whose body is never read. */
  readonly text: string;
}

export type HttpFailureKind = 'timeout' | 'network' | 'too-large';

/** Why no usable answer arrived. The message names the cause; it never carries a request body (tokens, secrets). */
export class HttpRequestError extends Error {
  readonly kind: HttpFailureKind;
  /** For too-large: the declared content-length, when that is what was too large. */
  readonly declared: number | undefined;

  constructor(kind: HttpFailureKind, message: string, options?: { cause?: unknown; declared?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpRequestError';
    this.kind = kind;
    this.declared = options?.declared;
  }
}

// Kept-alive connections, so a refresh or an introspection call reuses one; idle sockets do not hold the process.
const AGENTS = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'tokengate';

/** One HTTP exchange, bounded in time and size: a failure, a timeout or an oversize body throws HttpRequestError. */
export async function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpResponse> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  let target = new URL(url);
  for (let redirects = 0; ; redirects++) {
    const response = await exchange(target, options, deadline);
    const location = response.headers.location;
    if (
      !REDIRECTS.has(response.status) ||
      !location ||
      redirects >= (options.maxRedirects ?? 0) ||
      options.method === 'POST'
    )
      return response;
    // A redirect to another scheme is refused by exchange(), like any URL that is not http or https.
    target = new URL(location, target);
  }
}

function exchange(url: URL, options: HttpRequestOptions, deadline: AbortSignal, retry = true): Promise<HttpResponse> {
  const send = url.protocol === 'https:' ? httpsRequestRaw : url.protocol === 'http:' ? httpRequestRaw : undefined;
  if (!send) return Promise.reject(new HttpRequestError('network', `unsupported URL scheme ${url.protocol}`));
  return new Promise((resolve, reject) => {
    const fail = (err: HttpRequestError): void => {
      request.destroy();
      reject(err);
    };
    const request = send(url, {
      method: options.method ?? 'GET',
      headers: {
        // Some web application firewalls in front of identity providers refuse requests without one.
        'user-agent': USER_AGENT,
        ...options.headers,
        ...(options.body === undefined ? {} : { 'content-length': Buffer.byteLength(options.body) }),
      },
      agent: AGENTS[url.protocol as 'http:' | 'https:'],
      signal: deadline,
    });
    let answered = false;
    request.on('error', (err: NodeJS.ErrnoException) => {
      // Once an answer has arrived, a failure while reading its body is readBody's to report.
      if (answered) return;
      if (deadline.aborted) return reject(timedOut(options.timeoutMs, err));
      // A kept-alive socket the server closed as we reused it: the request never reached it, so one retry is safe.
      if (retry && request.reusedSocket && err.code === 'ECONNRESET')
        return resolve(exchange(url, options, deadline, false));
      reject(network(err));
    });
    request.on('response', (response) => {
      answered = true;
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        response.destroy();
        return resolve({ status, headers: response.headers, text: '' });
      }
      readBody(response, options.maxBytes).then(
        (text) => resolve({ status, headers: response.headers, text }),
        (err: unknown) =>
          fail(
            err instanceof HttpRequestError ? err : deadline.aborted ? timedOut(options.timeoutMs, err) : network(err),
          ),
      );
    });
    request.end(options.body);
  });
}

function readBody(response: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(response.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    response.destroy();
    return Promise.reject(
      new HttpRequestError('too-large', `response of ${declared} bytes exceeds ${maxBytes}`, { declared }),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        reject(new HttpRequestError('too-large', `response exceeds ${maxBytes} bytes`));
        response.destroy();
        return;
      }
      chunks.push(chunk);
    });
    // A connection closed before the body ended is an 'error' (ECONNRESET); and should a stream end or close short
    // without one, only a complete message is a body.
    const cut = (): void => reject(new HttpRequestError('network', 'ECONNRESET', { cause: 'body cut short' }));
    response.on('end', () => (response.complete ? resolve(Buffer.concat(chunks).toString('utf8')) : cut()));
    response.on('close', () => response.complete || cut());
    response.on('error', reject);
  });
}

function timedOut(timeoutMs: number, cause: unknown): HttpRequestError {
  return new HttpRequestError('timeout', `no answer within ${timeoutMs} ms`, { cause });
}

function network(err: unknown): HttpRequestError {
  const e = err as NodeJS.ErrnoException;
  return new HttpRequestError('network', e?.code ?? e?.message ?? 'network error', { cause: err });
}
