import { KeyFetchError } from '../errors.js';
import { documentMayName } from '../net/discovery_url.js';
import { isLoopbackHost } from '../net/loopback.js';
import { fetchJson } from './fetch_json.js';
import { importJwk } from './import_key.js';
import type { KeySource, KeySourceStatus } from './key_source.js';
import type { VerificationKey } from './verification_key.js';

export interface RemoteKeySourceOptions {
  readonly kind: 'openid-config' | 'jwks';
  readonly url: string;
  /** openid-config: the `issuer` the discovery document must name (OpenID Connect Discovery 1.0 §4.3). */
  readonly expectedIssuer?: string;
  /** The expected issuer was implied by the URL, not written: a terminating `/` in the document is then accepted. */
  readonly issuerImplied?: boolean;
  readonly fetchTimeoutMs: number;
  /** Used when the server sends no Cache-Control max-age. */
  readonly refreshIntervalMs: number;
  readonly cooldownMs: number;
  readonly maxStaleMs: number;
  readonly followRedirects: boolean;
  readonly allowInsecureHttp: boolean;
  /** Bounds for a server's max-age, so a server cannot make us poll every second or never again. */
  readonly minRefreshMs?: number;
  readonly maxRefreshMs?: number;
  /** First retry delay after a failed fetch; doubles up to `maxRetryMs`. */
  readonly minRetryMs?: number;
  readonly maxRetryMs?: number;
  readonly onFetch?: (event: KeyFetchEvent) => void;
  /** Tracing on: called as a fetch for a check (unknown kid) starts; the function it returns gets the outcome. */
  readonly traceFetch?: (source: string) => (event: KeyFetchEvent) => void;
}

export interface KeyFetchEvent {
  readonly source: string;
  readonly result: 'ok' | 'error';
  readonly keyCount: number;
  readonly error?: string;
  readonly code?: string;
  /** Keys of the JWKS that were skipped, each with why. */
  readonly skipped: readonly SkippedKey[];
}

/** A JWKS entry that was not imported: `symmetric` for an oct key (never trusted from the network), else `unusable`. */
export interface SkippedKey {
  readonly reason: 'symmetric' | 'unusable';
  readonly detail: string;
}

const EMPTY: readonly VerificationKey[] = Object.freeze([]);

/**
 * Keys from a JWKS URL, or from the `jwks_uri` of an OpenID Connect discovery document. Prefetched at start,
 * refreshed in the background before they expire, refetched on an unknown kid (one fetch at a time, at most once
 * per cooldown). A failed refresh keeps the last good keys until keys.maxStale.
 */
export class RemoteKeySource implements KeySource {
  readonly id: string;
  readonly kind: 'openid-config' | 'jwks';
  readonly #options: RemoteKeySourceOptions;
  #keys: readonly VerificationKey[] = EMPTY;
  #byKid = new Map<string, VerificationKey[]>();
  #keySet = new Set<VerificationKey>();
  #issuer: string | undefined;
  #introspectionEndpoint: string | null | undefined;
  #fetchedAt: number | undefined;
  #lastError: string | undefined;
  #refreshFailing = false;
  #failures = 0;
  #lastAttemptAt = -Infinity;
  #inflight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  readonly #firstFetch: Promise<void>;
  #resolveFirstFetch!: () => void;

  constructor(options: RemoteKeySourceOptions) {
    this.#options = options;
    this.kind = options.kind;
    this.id = options.url;
    this.#firstFetch = new Promise((resolve) => (this.#resolveFirstFetch = resolve));
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#refresh();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  firstFetch(): Promise<void> {
    return this.#firstFetch;
  }

  usable(): boolean {
    if (this.#keys.length === 0 || this.#fetchedAt === undefined) return false;
    return !this.#refreshFailing || Date.now() - this.#fetchedAt <= this.#options.maxStaleMs;
  }

  keysWithKid(kid: string): readonly VerificationKey[] {
    return this.usable() ? (this.#byKid.get(kid) ?? EMPTY) : EMPTY;
  }

  allKeys(): readonly VerificationKey[] {
    return this.usable() ? this.#keys : EMPTY;
  }

  hasKey(key: VerificationKey): boolean {
    return this.#keySet.has(key) && this.usable();
  }

  documentIssuer(): string | undefined {
    return this.#issuer;
  }

  introspectionEndpoint(): string | null | undefined {
    return this.#introspectionEndpoint;
  }

  refreshForUnknownKid(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    if (Date.now() - this.#lastAttemptAt < this.#options.cooldownMs) return Promise.resolve();
    // Only this fetch is a check's: background refreshes belong to no request's trace.
    return this.#refresh(this.#options.traceFetch?.(this.id));
  }

  status(): KeySourceStatus {
    return {
      id: this.id,
      kind: this.kind,
      keyCount: this.#keys.length,
      ageSeconds: this.#fetchedAt === undefined ? undefined : (Date.now() - this.#fetchedAt) / 1000,
      lastError: this.#lastError,
      usable: this.usable(),
      issuer: this.#issuer,
    };
  }

  #refresh(traced?: (event: KeyFetchEvent) => void): Promise<void> {
    if (this.#inflight) return this.#inflight;
    this.#lastAttemptAt = Date.now();
    this.#inflight = this.#fetch(traced).finally(() => {
      this.#inflight = undefined;
      this.#resolveFirstFetch();
    });
    return this.#inflight;
  }

  async #fetch(traced: ((event: KeyFetchEvent) => void) | undefined): Promise<void> {
    const o = this.#options;
    try {
      let jwksUrl = o.url;
      let issuer: string | undefined;
      let maxAge: number | undefined;
      if (o.kind === 'openid-config') {
        const discovery = await fetchJson(o.url, { timeoutMs: o.fetchTimeoutMs, followRedirects: o.followRedirects });
        let introspection: string | undefined;
        ({ jwksUrl, issuer, introspection } = this.#readDiscovery(discovery.body));
        // The document passed the issuer check (§4.3): its introspection endpoint is that issuer's.
        this.#introspectionEndpoint = introspection ?? null;
        maxAge = discovery.maxAgeSeconds;
      }
      const jwks = await fetchJson(jwksUrl, { timeoutMs: o.fetchTimeoutMs, followRedirects: o.followRedirects });
      maxAge = minDefined(maxAge, jwks.maxAgeSeconds);
      const { keys, skipped } = importJwks(jwks.body, jwksUrl);
      this.#setKeys(keys, issuer);
      this.#schedule(this.#refreshDelay(maxAge));
      const event: KeyFetchEvent = { source: this.id, result: 'ok', keyCount: keys.length, skipped };
      o.onFetch?.(event);
      traced?.(event);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.#lastError = error;
      this.#refreshFailing = true;
      this.#failures += 1;
      const retry = Math.min((o.minRetryMs ?? 1000) * 2 ** (this.#failures - 1), o.maxRetryMs ?? 30_000);
      this.#schedule(retry);
      const event: KeyFetchEvent = {
        source: this.id,
        result: 'error',
        keyCount: this.#keys.length,
        error,
        code: err instanceof KeyFetchError ? err.code : 'ERR_KEYS_INVALID_DOCUMENT',
        skipped: [],
      };
      o.onFetch?.(event);
      traced?.(event);
    }
  }

  #readDiscovery(body: unknown): { jwksUrl: string; issuer: string; introspection: string | undefined } {
    const doc = body as { issuer?: unknown; jwks_uri?: unknown; introspection_endpoint?: unknown } | null;
    if (!doc || typeof doc !== 'object' || typeof doc.issuer !== 'string' || typeof doc.jwks_uri !== 'string') {
      throw new KeyFetchError(
        'ERR_KEYS_INVALID_DOCUMENT',
        `${this.id}: not a discovery document (needs string issuer and jwks_uri)`,
      );
    }
    const expected = this.#options.expectedIssuer;
    if (expected !== undefined && !documentMayName(doc.issuer, expected, this.#options.issuerImplied ?? false)) {
      throw new KeyFetchError(
        'ERR_KEYS_ISSUER_MISMATCH',
        `${this.id}: discovery document names issuer "${doc.issuer}", expected "${expected}"`,
      );
    }
    let jwks: URL;
    try {
      jwks = new URL(doc.jwks_uri);
    } catch {
      throw new KeyFetchError('ERR_KEYS_INVALID_DOCUMENT', `${this.id}: jwks_uri is not a URL`);
    }
    const loopback = isLoopbackHost(jwks.hostname);
    if (jwks.protocol !== 'https:' && !(jwks.protocol === 'http:' && (loopback || this.#options.allowInsecureHttp))) {
      throw new KeyFetchError('ERR_KEYS_INVALID_DOCUMENT', `${this.id}: jwks_uri must be https`);
    }
    // RFC 8414 §2: introspection_endpoint, when the server has one. Its scheme is checked where it is used.
    const introspection = typeof doc.introspection_endpoint === 'string' ? doc.introspection_endpoint : undefined;
    return { jwksUrl: jwks.href, issuer: doc.issuer, introspection };
  }

  #setKeys(keys: readonly VerificationKey[], issuer: string | undefined): void {
    const byKid = new Map<string, VerificationKey[]>();
    for (const key of keys) {
      if (key.kid === undefined) continue;
      const list = byKid.get(key.kid);
      if (list) list.push(key);
      else byKid.set(key.kid, [key]);
    }
    this.#keys = Object.freeze([...keys]);
    this.#byKid = byKid;
    this.#keySet = new Set(keys);
    this.#issuer = issuer;
    this.#fetchedAt = Date.now();
    this.#lastError = undefined;
    this.#refreshFailing = false;
    this.#failures = 0;
  }

  #refreshDelay(maxAgeSeconds: number | undefined): number {
    const o = this.#options;
    const wanted = maxAgeSeconds === undefined ? o.refreshIntervalMs : maxAgeSeconds * 1000;
    return Math.min(Math.max(wanted, o.minRefreshMs ?? 60_000), o.maxRefreshMs ?? 86_400_000);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#refresh(), delayMs);
    this.#timer.unref();
  }
}

/** Imports every usable key of a JWKS; a malformed key is skipped (and reported), never fatal for the rest. */
export function importJwks(body: unknown, url: string): { keys: VerificationKey[]; skipped: SkippedKey[] } {
  const set = body as { keys?: unknown } | null;
  if (!set || typeof set !== 'object' || !Array.isArray(set.keys)) {
    throw new KeyFetchError('ERR_KEYS_INVALID_DOCUMENT', `${url}: not a JWKS (needs a "keys" list)`);
  }
  const keys: VerificationKey[] = [];
  const skipped: SkippedKey[] = [];
  for (const jwk of set.keys) {
    // A published key is public: an HMAC secret in it would let anyone who reads the JWKS sign tokens
    // (RFC 8725 §3.1, §3.2). HS* tokens verify only with the policy's own issuerSigningKeys.
    if (jwk && typeof jwk === 'object' && (jwk as { kty?: unknown }).kty === 'oct') {
      skipped.push({
        reason: 'symmetric',
        detail: `key ${describeKid(jwk)} is a symmetric (oct) key: never trusted from the network`,
      });
      continue;
    }
    try {
      if (!jwk || typeof jwk !== 'object' || Array.isArray(jwk)) throw new Error('not a JSON object');
      keys.push(importJwk(jwk as Record<string, unknown>));
    } catch (err) {
      skipped.push({ reason: 'unusable', detail: (err as Error).message });
    }
  }
  if (keys.length === 0) {
    throw new KeyFetchError(
      'ERR_KEYS_INVALID_DOCUMENT',
      `${url}: no usable key in the JWKS${skipped.length ? ` (${skipped.map((k) => k.detail).join('; ')})` : ''}`,
    );
  }
  return { keys, skipped };
}

function describeKid(jwk: object): string {
  const kid = (jwk as { kid?: unknown }).kid;
  return typeof kid === 'string' ? `"${kid}"` : '(no kid)';
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
