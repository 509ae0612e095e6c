import type { Config, KeysConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { RevocationList } from './revocation_list.js';
import type { KeySource } from '../keys/key_source.js';
import { RemoteKeySource, type KeyFetchEvent } from '../keys/remote_key_source.js';
import { importPolicyKeys } from './compile_keys.js';
import { compilePolicy, type CompiledPolicy } from './policy.js';
import { compileAllRules } from '../rules/compile.js';
import { policySources, type RemoteSourceFactory } from './policy_sources.js';
import { TokenCache, type TokenCacheOptions } from './token_cache.js';
import { buildIntrospectors } from '../introspection/build.js';
import type { IntrospectionEvents } from '../introspection/events.js';
import type { Introspector } from '../introspection/introspector.js';
import { compileDpops } from '../dpop/compile.js';
import type { ReplayStore } from '../dpop/replay_store.js';

/** Everything a check needs, built from one config. A reload builds a new Runtime and swaps it in whole. */
export interface Runtime {
  readonly config: Config;
  readonly policies: readonly CompiledPolicy[];
  readonly byName: ReadonlyMap<string, CompiledPolicy>;
  /** Key sources by kind, URL and expected issuer; remote ones are shared between policies naming the same URL. */
  readonly sources: ReadonlyMap<string, KeySource>;
  readonly cache: TokenCache;
  readonly revocations: RevocationList | undefined;
  /** Introspection endpoints (RFC 7662) by their settings; shared by policies and taken over like key sources. */
  readonly introspectors: ReadonlyMap<string, Introspector>;
  /** DPoP replay stores (src/dpop/) by their settings; taken over on reload, so seen proofs stay seen. */
  readonly dpopStores: ReadonlyMap<string, ReplayStore>;
}

export interface RuntimeOptions {
  /** The runtime being replaced: remote key sources whose URL and settings did not change are taken over, keys too. */
  readonly previous?: Runtime | undefined;
  readonly onKeyFetch?: (event: KeyFetchEvent) => void;
  /** Tracing on: a span for each key fetch a check asks for (RemoteKeySourceOptions.traceFetch). */
  readonly traceKeyFetch?: ((source: string) => (event: KeyFetchEvent) => void) | undefined;
  readonly tokenCache?: TokenCacheOptions;
  readonly onRevocationReloadError?: (err: Error) => void;
  readonly onIntrospection?: IntrospectionEvents;
}

/** Builds the runtime; its key sources are not started (see startRuntime) so a failed build leaves nothing running. */
export function buildRuntime(config: Config, options: RuntimeOptions = {}): Runtime {
  const sources = new Map<string, KeySource>();
  const reusable =
    options.previous?.config && sameKeySettings(options.previous.config.keys, config.keys)
      ? options.previous.sources
      : undefined;

  const remote: RemoteSourceFactory = (kind, url, expected) => {
    const expectedIssuer = expected?.issuer;
    const issuerImplied = expected?.issuerImplied;
    const key = `${kind} ${url} ${expectedIssuer ?? ''} ${issuerImplied ?? ''}`;
    const source =
      sources.get(key) ??
      reusable?.get(key) ??
      new RemoteKeySource({
        kind,
        url,
        expectedIssuer,
        issuerImplied,
        ...remoteOptions(config.keys),
        onFetch: options.onKeyFetch,
        traceFetch: options.traceKeyFetch,
      });
    sources.set(key, source);
    return source;
  };

  // Every rule of every policy compiled and type-checked up front: one ConfigError lists all their problems.
  compileAllRules(config);
  const keys = importPolicyKeys(config);
  // Without an endpoint, a policy's introspection endpoint is named by its one openidConfig document.
  const discovery = (i: number) => {
    const entries = config.policies[i]!.validateJwt.openidConfig;
    return entries.length === 1 ? remote('openid-config', entries[0]!.url, entries[0]) : undefined;
  };
  const introspection = buildIntrospectors(config, options.previous?.introspectors, options.onIntrospection, discovery);
  const dpop = compileDpops(config, options.previous?.dpopStores);
  const policies = config.policies.map((policy, i) => {
    const bound = policySources(policy, keys[i]!.signing, remote, sources);
    return compilePolicy(
      policy,
      bound.keySources,
      keys[i]!.decryption,
      bound.documentIssuers,
      introspection.byPolicy[i],
      dpop.byPolicy[i],
    );
  });
  return {
    config,
    policies,
    byName: new Map(policies.map((p) => [p.name, p])),
    sources,
    // The cache's verdicts stay valid across reloads: a hit counts only if the new policy's sources hold the key.
    cache: options.previous?.cache ?? new TokenCache(options.tokenCache),
    revocations: revocationList(config, options),
    introspectors: introspection.all,
    dpopStores: dpop.stores,
  };
}

function revocationList(config: Config, options: RuntimeOptions): RevocationList | undefined {
  const file = config.revokedTokensFile;
  if (file === undefined) return undefined;
  const previous = options.previous?.revocations;
  const grace = Math.max(0, ...config.policies.map((p) => p.validateJwt.clockSkewSeconds));
  if (previous?.file === file) {
    previous.setGraceSeconds(grace);
    previous.reload();
    return previous;
  }
  try {
    return new RevocationList(file, options.onRevocationReloadError, grace);
  } catch (err) {
    throw new ConfigError([
      `revokedTokens.file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    ]);
  }
}

export function remoteOptions(keys: KeysConfig) {
  return {
    fetchTimeoutMs: keys.fetchTimeoutSeconds * 1000,
    refreshIntervalMs: keys.refreshIntervalSeconds * 1000,
    cooldownMs: keys.cooldownSeconds * 1000,
    maxStaleMs: keys.maxStaleSeconds * 1000,
    followRedirects: keys.followRedirects,
    allowInsecureHttp: keys.allowInsecureHttp,
  };
}

function sameKeySettings(a: KeysConfig, b: KeysConfig): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function startRuntime(runtime: Runtime): void {
  for (const source of runtime.sources.values()) source.start();
  runtime.revocations?.start();
  for (const introspector of runtime.introspectors.values()) introspector.start();
  for (const store of runtime.dpopStores.values()) store.start?.();
}

/** Stops the sources of `old` that `current` no longer uses. */
export function retireRuntime(old: Runtime, current: Runtime | undefined): void {
  for (const [id, source] of old.sources) {
    if (current?.sources.get(id) !== source) source.stop();
  }
  if (old.revocations && old.revocations !== current?.revocations) old.revocations.stop();
  for (const [id, introspector] of old.introspectors) {
    if (current?.introspectors.get(id) !== introspector) introspector.stop();
  }
  for (const [id, store] of old.dpopStores) if (current?.dpopStores.get(id) !== store) store.close();
}

/** Ready: every key source has usable keys. */
export function runtimeReady(runtime: Runtime): boolean {
  for (const source of runtime.sources.values()) if (!source.usable()) return false;
  return true;
}
