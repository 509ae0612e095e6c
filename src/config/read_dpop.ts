import { ASYMMETRIC_ALGORITHMS, jwsAlgorithm } from '../jwt/algorithms.js';
import { isLoopbackHost } from '../net/loopback.js';
import {
  Problems,
  join,
  optionalBoolean,
  optionalEnum,
  optionalMapping,
  optionalNumber,
  optionalString,
  requiredString,
  stringList,
  type Raw,
} from './reader.js';
import type { TokenLocation } from './types.js';

/** A policy's `dpop:` section (RFC 9449), as checked here; src/dpop/ evaluates it. */
export interface DpopConfig {
  /** true: only DPoP-bound tokens pass. false: a bound token needs its proof, a plain bearer token still passes. */
  readonly required: boolean;
  /** The proof algorithms accepted (asymmetric only, RFC 9449 §4.2); also the `algs` of the challenge. */
  readonly algorithms: readonly string[];
  /** RFC 9449 §4.3 step 11: how far the proof's `iat` may lie behind and ahead of our clock. */
  readonly iatPastSeconds: number;
  readonly iatFutureSeconds: number;
  /** `https://host[:port]`: the origin clients use, when a proxy in front of Envoy changes the scheme or host. */
  readonly externalOrigin: string | undefined;
  readonly nonce: DpopNonceConfig | undefined;
  readonly replay: DpopReplayConfig;
}

/** RFC 9449 §8: server nonces, stateless (an HMAC over a time step), so they work across pods. */
export interface DpopNonceConfig {
  /** At least 32 bytes of secret; read when the runtime is built (validate does that too). */
  readonly keyFile: string;
  /** A nonce is accepted in its own step and the next one: it lives between stepSeconds and twice that. */
  readonly stepSeconds: number;
}

export interface DpopReplayConfig {
  /** `memory`: this process (and its workers); `redis`: a Redis or Valkey server shared by every pod. */
  readonly store: 'memory' | 'redis';
  /** The in-process cache's bounds: when full of unexpired entries, new proofs are refused (fail closed). */
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly redis: DpopRedisConfig | undefined;
}

export interface DpopRedisConfig {
  /** `host:port` or `unix:/path`. */
  readonly address: string;
  readonly keyPrefix: string;
  /** One command's own time limit; a check still waits no longer than server.checkDeadlineMs. */
  readonly timeoutMs: number;
  readonly username: string | undefined;
  /** AUTH password, from a file only (like every secret in tokengate's config). */
  readonly passwordFile: string | undefined;
}

export const DPOP_KEYS = ['required', 'algorithms', 'iatWindow', 'externalOrigin', 'nonce', 'replay'];
const REPLAY_KEYS = ['store', 'maxEntries', 'maxBytes', 'redis'];
const REDIS_KEYS = ['address', 'keyPrefix', 'timeoutMs', 'username', 'passwordFile'];

/** RFC 9449 §4.3: "within an acceptable window"; 60 s back and 5 s ahead unless the policy says otherwise. */
const DEFAULT_PAST_SECONDS = 60;
const DEFAULT_FUTURE_SECONDS = 5;

/** The `dpop:` section of a policy, or undefined without one. Only its shape: key files are read at runtime build. */
export function readDpop(o: Raw, path: string, problems: Problems, token: TokenLocation): DpopConfig | undefined {
  const section = optionalMapping(o, 'dpop', path, problems, DPOP_KEYS);
  if (!section) return undefined;
  const at = join(path, 'dpop');
  // RFC 9449 §7.1: the token travels as `Authorization: DPoP <token>`; a token from elsewhere cannot be DPoP's.
  if (token.kind !== 'header' || token.name !== 'authorization') {
    problems.add(
      at,
      'needs the token in the Authorization header (RFC 9449 §7.1): remove headerName/queryParameterName',
    );
  }
  const window = optionalMapping(section, 'iatWindow', at, problems, ['pastSeconds', 'futureSeconds']) ?? {};
  const windowAt = join(at, 'iatWindow');
  return {
    required: optionalBoolean(section, 'required', at, problems, false),
    algorithms: readAlgorithms(section, at, problems),
    iatPastSeconds:
      optionalNumber(window, 'pastSeconds', windowAt, problems, { min: 1, max: 3600 }) ?? DEFAULT_PAST_SECONDS,
    iatFutureSeconds:
      optionalNumber(window, 'futureSeconds', windowAt, problems, { min: 0, max: 300 }) ?? DEFAULT_FUTURE_SECONDS,
    externalOrigin: readOrigin(section, at, problems),
    nonce: readNonce(section, at, problems),
    replay: readReplay(section, at, problems),
  };
}

/** RFC 9449 §4.2: the proof is signed with an asymmetric algorithm; a MAC would need a secret the server holds. */
function readAlgorithms(section: Raw, at: string, problems: Problems): string[] {
  const given = stringList(section, 'algorithms', at, problems, { minItems: 1 });
  if (given === undefined) return [...ASYMMETRIC_ALGORITHMS];
  given.forEach((alg, i) => {
    const spec = jwsAlgorithm(alg);
    if (!spec || spec.symmetric) {
      problems.add(
        join(join(at, 'algorithms'), i),
        `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')} (RFC 9449 §4.2: asymmetric only), got "${alg}"`,
      );
    }
  });
  return [...new Set(given)];
}

/** An origin only: scheme, host and port, nothing after. Plain http only for loopback (tests, local proxies). */
function readOrigin(section: Raw, at: string, problems: Problems): string | undefined {
  const text = optionalString(section, 'externalOrigin', at, problems);
  if (text === undefined) return undefined;
  const where = join(at, 'externalOrigin');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.add(where, `"${text}" is not a URL`);
    return undefined;
  }
  // Nothing after the authority but an optional `/`: a path here would be a second, silent path prefix.
  const afterAuthority = text.slice(text.indexOf('//') + 2).replace(/\/$/, '');
  const bare = url.username === '' && url.password === '' && !/[/?#]/.test(afterAuthority);
  if (!bare) {
    problems.add(where, `must be an origin such as https://api.example.com (no path, query or credentials)`);
    return undefined;
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    problems.add(where, 'must be https:// (plain http only for a loopback host)');
    return undefined;
  }
  return url.origin;
}

function readNonce(section: Raw, at: string, problems: Problems): DpopNonceConfig | undefined {
  const nonce = optionalMapping(section, 'nonce', at, problems, ['keyFile', 'stepSeconds']);
  if (!nonce) return undefined;
  const where = join(at, 'nonce');
  const keyFile = requiredString(nonce, 'keyFile', where, problems);
  const stepSeconds = optionalNumber(nonce, 'stepSeconds', where, problems, { min: 5, max: 3600, integer: true });
  return keyFile === undefined ? undefined : { keyFile, stepSeconds: stepSeconds ?? 60 };
}

function readReplay(section: Raw, at: string, problems: Problems): DpopReplayConfig {
  const replay = optionalMapping(section, 'replay', at, problems, REPLAY_KEYS) ?? {};
  const where = join(at, 'replay');
  const store = optionalEnum(replay, 'store', where, problems, ['memory', 'redis'] as const) ?? 'memory';
  const redis = optionalMapping(replay, 'redis', where, problems, REDIS_KEYS);
  if (store === 'redis' && !redis) problems.add(join(where, 'redis'), 'is required with store: redis');
  if (store === 'memory' && redis) problems.add(join(where, 'redis'), 'is read only with store: redis');
  return {
    store,
    maxEntries:
      optionalNumber(replay, 'maxEntries', where, problems, { min: 1, max: 10_000_000, integer: true }) ?? 100_000,
    maxBytes:
      optionalNumber(replay, 'maxBytes', where, problems, { min: 4096, max: 4 * 1024 ** 3, integer: true }) ??
      16 * 1024 * 1024,
    redis: store === 'redis' && redis ? readRedis(redis, join(where, 'redis'), problems) : undefined,
  };
}

function readRedis(o: Raw, at: string, problems: Problems): DpopRedisConfig | undefined {
  const address = requiredString(o, 'address', at, problems);
  if (address !== undefined && !address.startsWith('unix:') && !/^(\[[0-9a-f:.]+\]|[^:\s]+):\d{1,5}$/i.test(address)) {
    problems.add(join(at, 'address'), `must be host:port or unix:/path, got "${address}"`);
  }
  const keyPrefix = optionalString(o, 'keyPrefix', at, problems) ?? 'tokengate:dpop:';
  const timeoutMs = optionalNumber(o, 'timeoutMs', at, problems, { min: 1, max: 10_000, integer: true }) ?? 50;
  const username = optionalString(o, 'username', at, problems);
  const passwordFile = optionalString(o, 'passwordFile', at, problems);
  if (username !== undefined && passwordFile === undefined) {
    problems.add(join(at, 'passwordFile'), 'is required with username (Redis ACL AUTH takes both)');
  }
  return address === undefined ? undefined : { address, keyPrefix, timeoutMs, username, passwordFile };
}
