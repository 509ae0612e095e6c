import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Header values as raw bytes on the wire would read in UTF-8 (node decodes header bytes as Latin-1). */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  /** Whether the request went out on a kept-alive connection. */
  readonly reusedSocket: boolean;
}

export interface Ask {
  readonly method?: string;
  /** Pairs, so a header can be sent twice. */
  readonly headers?: readonly [string, string][];
  readonly agent?: Agent;
  readonly socketPath?: string;
}

/** One request to tokengate's HTTP authorization listener, with node:http, as a proxy would send it. */
export function ask(port: number, path: string, options: Ask = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const given = options.headers ?? [];
    // With headers as a list, node adds no Host of its own; HTTP/1.1 requires one (RFC 9112 §3.2).
    const host: [string, string][] = given.some(([k]) => k.toLowerCase() === 'host') ? [] : [['host', 'tokengate']];
    const headers = [...host, ...given].flat();
    const req = request(
      {
        ...(options.socketPath ? { socketPath: options.socketPath } : { host: '127.0.0.1', port }),
        path,
        method: options.method ?? 'GET',
        headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString('utf8'),
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`${path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

export const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`];
