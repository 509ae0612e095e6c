import type { Trace } from '../authz/trace.js';
import type { VerifiedToken } from '../authz/verify_token.js';
import { endpointProblem } from '../config/read_introspection.js';
import type { IntrospectionConfig } from '../config/types.js';
import { AuthzError, IntrospectionError, type IntrospectionErrorCode } from '../errors.js';
import { MAX_TOKEN_LENGTH, isCompactJws, type DecodedJws } from '../jwt/decode_jws.js';
import type { KeySource } from '../keys/key_source.js';
import { createClientAuth, type ClientAuthenticator } from './client_auth.js';
import { NO_EVENTS, endpointLabel, type IntrospectionEvents, type IntrospectionResult } from './events.js';
import { IntrospectionCache, tokenKey } from './introspection_cache.js';
import { introspectOnce, type IntrospectionAnswer } from './introspection_call.js';

export interface IntrospectContext {
  readonly nowMs: number;
  /** Resolves when the check's deadline passes: waiting for the endpoint races against it. */
  readonly deadline: () => Promise<void>;
  readonly trace?: Trace | undefined;
}

/** The endpoint's health for /readyz: undefined `healthy` until the first call. */
export interface IntrospectionStatus {
  readonly endpoint: string;
  readonly healthy: boolean | undefined;
  readonly lastError: string | undefined;
  /** Seconds since the last answer (active or inactive). */
  readonly lastAnswerAgeSeconds: number | undefined;
  readonly cacheEntries: number;
}

type Outcome =
  | { readonly kind: 'answer'; readonly verified: VerifiedToken | undefined }
  | { readonly kind: 'fault'; readonly error: string };

/** Segments of a compact JWE (RFC 7516 §7.1); the encrypted key is empty with direct encryption. */
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const NO_BYTES = Buffer.alloc(0);
/** The header of an introspected token's stand-in JWS: no algorithm, since no signature was checked here. */
const INTROSPECTED_HEADER = Object.freeze({ alg: 'introspection' });

/**
 * A policy's introspection endpoint (RFC 7662): answers are cached by token hash and single-flighted, so a burst of
 * checks of one new token makes one call. Every fault (down, slow, non-200, not a JSON object) denies with
 * IntrospectionUnavailable within the check deadline; an `active: false` answer denies with TokenInactive. An active
 * answer comes back as a VerifiedToken whose payload is the answer's claims, for the same claim checks and headers
 * as a JWT's.
 */
export class Introspector {
  /** The endpoint as metrics and /readyz name it: the configured one, or the discovery document that names it. */
  readonly label: string;
  /** The key source whose discovery document names the endpoint, when the config does not. */
  readonly discoverySource: KeySource | undefined;
  readonly #config: IntrospectionConfig;
  readonly #auth: ClientAuthenticator;
  readonly #cache: IntrospectionCache;
  readonly #inflight = new Map<string, Promise<Outcome>>();
  readonly #events: IntrospectionEvents;
  #healthy: boolean | undefined;
  #lastError: string | undefined;
  #lastAnswerAt: number | undefined;

  /** Reads the credential file now: throws, naming it, when it cannot be used. */
  constructor(config: IntrospectionConfig, events: IntrospectionEvents = NO_EVENTS, discoverySource?: KeySource) {
    this.#config = config;
    this.discoverySource = discoverySource;
    this.label = endpointLabel(config.endpoint ?? config.discovery ?? '');
    this.#events = events;
    this.#auth = createClientAuth(config.clientId, config.clientAuth, (message) =>
      events.credentialReloadFailed(this.label, message),
    );
    this.#cache = new IntrospectionCache({ maxEntries: config.cacheMaxEntries, maxBytes: config.cacheMaxBytes });
  }

  /** Whether this token is the endpoint's to judge: an opaque token, or any token with `applyTo: all`. */
  handles(token: string): boolean {
    return this.#config.applyTo === 'all' || !(isCompactJws(token) || COMPACT_JWE.test(token));
  }

  async verify(token: string, ctx: IntrospectContext): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH)
      throw new AuthzError('JwtInvalid', `token is longer than ${MAX_TOKEN_LENGTH} characters`);
    const key = tokenKey(token);
    const cached = this.#cache.get(key, ctx.nowMs);
    this.#events.cache(this.label, cached !== undefined);
    if (cached) return this.#settle({ kind: 'answer', verified: cached.verified }, ctx, 'cached');
    let flight = this.#inflight.get(key);
    if (!flight) {
      flight = this.#call(token, key);
      this.#inflight.set(key, flight);
      const done = () => this.#inflight.delete(key);
      flight.then(done, done);
    }
    const outcome = await Promise.race([flight, ctx.deadline().then(() => undefined)]);
    if (outcome === undefined) {
      throw new AuthzError('IntrospectionUnavailable', `${this.label}: no answer when the check deadline passed`);
    }
    return this.#settle(outcome, ctx, 'introspected');
  }

  status(): IntrospectionStatus {
    const credentialError = this.#auth.lastError();
    return {
      endpoint: this.label,
      healthy: this.#healthy,
      lastError: credentialError ?? this.#lastError,
      lastAnswerAgeSeconds: this.#lastAnswerAt === undefined ? undefined : (Date.now() - this.#lastAnswerAt) / 1000,
      cacheEntries: this.#cache.size,
    };
  }

  start(): void {
    this.#auth.start();
  }

  stop(): void {
    this.#auth.stop();
    this.#cache.clear();
  }

  #settle(outcome: Outcome, ctx: IntrospectContext, how: 'cached' | 'introspected'): VerifiedToken {
    if (outcome.kind === 'fault') throw new AuthzError('IntrospectionUnavailable', `${this.label}: ${outcome.error}`);
    if (!outcome.verified) {
      // RFC 7662 §2.2: inactive covers revoked, expired, unknown and not meant for us; the endpoint says no more.
      throw new AuthzError(
        'TokenInactive',
        `${this.label} answered active: false${how === 'cached' ? ' (cached)' : ''}`,
      );
    }
    ctx.trace?.({ step: 'introspection', ok: true, detail: `${this.label}: active (${how})` });
    return outcome.verified;
  }

  /** The configured endpoint, or the one the discovery document names, checked as the config reader checks one. */
  #endpoint(): string {
    if (this.#config.endpoint !== undefined) return this.#config.endpoint;
    const named = this.discoverySource?.introspectionEndpoint?.();
    if (named === undefined)
      throw new IntrospectionError('ERR_INTROSPECTION_DISCOVERY', 'discovery document not read yet');
    if (named === null)
      throw new IntrospectionError('ERR_INTROSPECTION_DISCOVERY', 'discovery document names no introspection_endpoint');
    const problem = endpointProblem(named, this.#config.allowInsecureHttp);
    if (problem) throw new IntrospectionError('ERR_INTROSPECTION_DISCOVERY', `its introspection_endpoint ${problem}`);
    return named;
  }

  /** The one call for a token; never rejects. Its result is cached for the checks that come after. */
  async #call(token: string, key: string): Promise<Outcome> {
    const started = process.hrtime.bigint();
    let result: IntrospectionResult;
    try {
      const endpoint = this.#endpoint();
      const answer = await introspectOnce(
        endpoint,
        token,
        this.#auth.credentials(Date.now(), endpoint),
        this.#config.timeoutMs,
      );
      result = answer.active ? 'active' : 'inactive';
      this.#healthy = true;
      this.#lastError = undefined;
      this.#lastAnswerAt = Date.now();
      return { kind: 'answer', verified: this.#remember(key, answer) };
    } catch (err) {
      const error =
        err instanceof IntrospectionError ? err : new IntrospectionError('ERR_INTROSPECTION_NETWORK', String(err));
      result = RESULT_OF[error.code];
      this.#healthy = false;
      this.#lastError = error.message;
      return { kind: 'fault', error: error.message };
    } finally {
      this.#events.call(this.label, result!, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * RFC 7662 §4: an answer may be cached, but never past the token's exp; cacheSeconds bounds how long a revocation
   * can go unseen. An inactive answer is remembered briefly, so a client retrying a dead token cannot make us call
   * the endpoint once per request.
   */
  #remember(key: string, answer: IntrospectionAnswer): VerifiedToken | undefined {
    const nowMs = Date.now();
    if (!answer.active) {
      this.#cache.set(key, undefined, nowMs + this.#config.negativeCacheSeconds * 1000, nowMs, 0);
      return undefined;
    }
    const claims = Object.freeze(answer.claims);
    const json = JSON.stringify(claims);
    const verified: VerifiedToken = { jws: standIn(claims, json), key: undefined };
    const exp = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : Infinity;
    this.#cache.set(key, verified, Math.min(nowMs + this.#config.cacheSeconds * 1000, exp), nowMs, json.length * 4);
    return verified;
  }
}

/**
 * The answer's claims in the shape the rest of the pipeline reads: `payload` for the claim checks and headers, and
 * `payloadSegment` (the claims as base64url JSON) for forwardPayloadHeader, as a JWT's payload would be forwarded.
 */
function standIn(claims: Readonly<Record<string, unknown>>, json: string): DecodedJws {
  return {
    header: INTROSPECTED_HEADER,
    payload: claims,
    payloadSegment: Buffer.from(json).toString('base64url'),
    signingInput: NO_BYTES,
    signature: NO_BYTES,
    alg: INTROSPECTED_HEADER.alg,
    kid: undefined,
  };
}

const RESULT_OF: Readonly<Record<IntrospectionErrorCode, IntrospectionResult>> = {
  ERR_INTROSPECTION_TIMEOUT: 'timeout',
  ERR_INTROSPECTION_NETWORK: 'network',
  ERR_INTROSPECTION_HTTP_STATUS: 'http_status',
  ERR_INTROSPECTION_CLIENT_AUTH: 'client_auth',
  ERR_INTROSPECTION_TOO_LARGE: 'too_large',
  ERR_INTROSPECTION_INVALID_JSON: 'invalid_json',
  ERR_INTROSPECTION_INVALID_RESPONSE: 'invalid_response',
  ERR_INTROSPECTION_DISCOVERY: 'discovery',
};
