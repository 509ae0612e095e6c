import { HttpRequestError, httpRequest } from '../net/http_request.js';
import { KeyFetchError } from '../errors.js';

export interface FetchJsonOptions {
  readonly timeoutMs: number;
  readonly followRedirects: boolean;
  /** A key document larger than this is refused rather than parsed. */
  readonly maxBytes?: number;
}

export interface FetchedJson {
  readonly body: unknown;
  /** Cache-Control max-age in seconds, when the server sent one. */
  readonly maxAgeSeconds: number | undefined;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
/** keys.followRedirects: true follows a moved document this many hops, no further. */
const MAX_REDIRECTS = 5;

/** GETs a JSON document for the key machinery; every failure is a KeyFetchError with a specific code. */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<FetchedJson> {
  let response;
  try {
    response = await httpRequest(url, {
      headers: { accept: 'application/json, application/jwk-set+json' },
      timeoutMs: options.timeoutMs,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES,
      maxRedirects: options.followRedirects ? MAX_REDIRECTS : 0,
    });
  } catch (err) {
    throw keyFetchError(err, url);
  }
  if (response.status >= 300 && response.status < 400) {
    const reason = options.followRedirects ? `more than ${MAX_REDIRECTS} redirects` : 'keys.followRedirects is false';
    throw new KeyFetchError(
      'ERR_KEYS_REDIRECT',
      `${url}: redirect to ${response.headers.location ?? '?'} not followed (${reason})`,
    );
  }
  if (response.status !== 200) {
    throw new KeyFetchError('ERR_KEYS_HTTP_STATUS', `${url}: HTTP ${response.status}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    throw new KeyFetchError('ERR_KEYS_INVALID_JSON', `${url}: response is not JSON`);
  }
  return { body, maxAgeSeconds: parseMaxAge(response.headers['cache-control'] ?? null) };
}

function keyFetchError(err: unknown, url: string): KeyFetchError {
  if (!(err instanceof HttpRequestError)) {
    return new KeyFetchError('ERR_KEYS_NETWORK', `${url}: ${(err as Error)?.message ?? 'network error'}`, {
      cause: err,
    });
  }
  const code = { timeout: 'ERR_KEYS_TIMEOUT', 'too-large': 'ERR_KEYS_TOO_LARGE', network: 'ERR_KEYS_NETWORK' } as const;
  return new KeyFetchError(code[err.kind], `${url}: ${err.message}`, { cause: err });
}

export function parseMaxAge(cacheControl: string | null): number | undefined {
  if (!cacheControl) return undefined;
  if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(cacheControl)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
  return m ? Number(m[1]) : undefined;
}
