// Plain HTTP probes of the processes the tests, the bench and the soak start (readiness, metrics).
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One plain HTTP/1.1 request to 127.0.0.1:port on a fresh connection (no agent, no keep-alive pool), so each
 * request stands alone: nothing is reused across a tokengate restart and nothing keeps the test process alive.
 */
export function httpGet(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`GET ${path} on port ${port}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
