import { BodyTooLarge, readBodyLimited } from '../net/read_body.js';
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

/** GETs a JSON document for the key machinery; every failure is a KeyFetchError with a specific code. */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<FetchedJson> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, {
      signal,
      redirect: options.followRedirects ? 'follow' : 'manual',
      headers: { accept: 'application/json, application/jwk-set+json' },
    });
  } catch (err) {
    throw timeoutOr(err, url, options.timeoutMs, 'ERR_KEYS_NETWORK');
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new KeyFetchError(
      'ERR_KEYS_REDIRECT',
      `${url}: redirect to ${response.headers.get('location') ?? '?'} not followed (keys.followRedirects is false)`,
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new KeyFetchError('ERR_KEYS_HTTP_STATUS', `${url}: HTTP ${response.status}`);
  }
  const text = await readLimited(response, url, options, signal);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new KeyFetchError('ERR_KEYS_INVALID_JSON', `${url}: response is not JSON`);
  }
  return { body, maxAgeSeconds: parseMaxAge(response.headers.get('cache-control')) };
}

async function readLimited(
  response: Response,
  url: string,
  options: FetchJsonOptions,
  signal: AbortSignal,
): Promise<string> {
  try {
    return await readBodyLimited(response, options.maxBytes ?? DEFAULT_MAX_BYTES);
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new KeyFetchError('ERR_KEYS_TOO_LARGE', `${url}: ${err.message}`);
    throw timeoutOr(err, url, options.timeoutMs, 'ERR_KEYS_NETWORK', signal);
  }
}

function timeoutOr(
  err: unknown,
  url: string,
  timeoutMs: number,
  code: 'ERR_KEYS_NETWORK',
  signal?: AbortSignal,
): KeyFetchError {
  const name = (err as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError' || signal?.aborted) {
    return new KeyFetchError('ERR_KEYS_TIMEOUT', `${url}: no answer within ${timeoutMs} ms`, { cause: err });
  }
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return new KeyFetchError(
    code,
    `${url}: ${cause?.code ?? cause?.message ?? (err as Error)?.message ?? 'network error'}`,
    { cause: err },
  );
}

export function parseMaxAge(cacheControl: string | null): number | undefined {
  if (!cacheControl) return undefined;
  if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(cacheControl)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
  return m ? Number(m[1]) : undefined;
}
