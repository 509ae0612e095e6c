import type { Config, KeysConfig, PolicyConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { RevocationList } from './revocation_list.js';
import type { KeySource } from '../keys/key_source.js';
import { RemoteKeySource, type KeyFetchEvent } from '../keys/remote_key_source.js';
import { StaticKeySource } from '../keys/static_key_source.js';
import { bindToAnyIssuer, bindToDocumentIssuer, bindToIssuers, type BoundKeySource } from './key_binding.js';
import type { VerificationKey } from '../keys/verification_key.js';
import { importPolicyKeys } from './compile_keys.js';
import { compilePolicy, type CompiledPolicy } from './policy.js';
import { TokenCache, type TokenCacheOptions } from './token_cache.js';

/** Everything a check needs, built from one config. A reload builds a new Runtime and swaps it in whole. */
export interface Runtime {
  readonly config: Config;
  readonly policies: readonly CompiledPolicy[];
  readonly byName: ReadonlyMap<string, CompiledPolicy>;
  /** Key sources by kind, URL and expected issuer; remote ones are shared between policies naming the same URL. */
  readonly sources: ReadonlyMap<string, KeySource>;
  readonly cache: TokenCache;
  readonly revocations: RevocationList | undefined;
}

export interface RuntimeOptions {
  /** The runtime being replaced: remote key sources whose URL and settings did not change are taken over, keys and all. */
  readonly previous?: Runtime | undefined;
  readonly onKeyFetch?: (event: KeyFetchEvent) => void;
  readonly tokenCache?: TokenCacheOptions;
  readonly onRevocationReloadError?: (err: Error) => void;
}

/** Builds the runtime; its key sources are not started (see startRuntime) so a failed build leaves nothing running. */
export function buildRuntime(config: Config, options: RuntimeOptions = {}): Runtime {
  const sources = new Map<string, KeySource>();
  const reusable = options.previous?.config && sameKeySettings(options.previous.config.keys, config.keys) ? options.previous.sources : undefined;

  const remote = (kind: 'openid-config' | 'jwks', url: string, expectedIssuer?: string): KeySource => {
    const key = `${kind} ${url} ${expectedIssuer ?? ''}`;
    const source =
      sources.get(key) ??
      reusable?.get(key) ??
      new RemoteKeySource({ kind, url, expectedIssuer, ...remoteOptions(config.keys), onFetch: options.onKeyFetch });
    sources.set(key, source);
    return source;
  };

  const keys = importPolicyKeys(config);
  const policies = config.policies.map((policy, i) =>
    compilePolicy(policy, policySources(policy, keys[i]!.signing, remote, sources), keys[i]!.decryption),
  );
  return {
    config,
    policies,
    byName: new Map(policies.map((p) => [p.name, p])),
    sources,
    // The cache's verdicts stay valid across reloads: a hit counts only if the new policy's sources hold the key.
    cache: options.previous?.cache ?? new TokenCache(options.tokenCache),
    revocations: revocationList(config, options),
  };
}

/**
 * The policy's key sources, each bound to the issuers it signs for (RFC 8725 §3.8): the config's `issuers` on the
 * entry; else, for the policy's only source, any issuer it accepts; else a discovery document's own issuer. A JWKS or
 * static key with none of these is refused by the config reader, and here signs for nothing.
 */
function policySources(
  policy: PolicyConfig,
  staticKeys: readonly VerificationKey[],
  remote: (kind: 'openid-config' | 'jwks', url: string, expectedIssuer?: string) => KeySource,
  sources: Map<string, KeySource>,
): BoundKeySource[] {
  const spec = policy.validateJwt;
  const entries: { source: KeySource; issuers: readonly string[] | undefined; discovery: boolean }[] = [
    ...spec.openidConfig.map((c) => ({ source: remote('openid-config', c.url, c.issuer), issuers: c.issuers, discovery: true })),
    ...spec.jwksUri.map((j) => ({ source: remote('jwks', j.url), issuers: j.issuers, discovery: false })),
  ];
  const unboundKeys = staticKeys.filter((_, i) => spec.issuerSigningKeys[i]!.issuers === undefined);
  const staticSource = (id: string, keys: readonly VerificationKey[]) => {
    const source = new StaticKeySource(id, keys);
    sources.set(id, source);
    return source;
  };
  if (unboundKeys.length > 0) {
    entries.push({ source: staticSource(`static:${policy.name}`, unboundKeys), issuers: undefined, discovery: false });
  }
  spec.issuerSigningKeys.forEach((key, i) => {
    if (key.issuers === undefined) return;
    entries.push({ source: staticSource(`static:${policy.name}:${i}`, [staticKeys[i]!]), issuers: key.issuers, discovery: false });
  });
  return entries.map((e) => {
    if (e.issuers !== undefined) return bindToIssuers(e.source, e.issuers);
    if (entries.length === 1) return bindToAnyIssuer(e.source);
    return e.discovery ? bindToDocumentIssuer(e.source) : bindToIssuers(e.source, []);
  });
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
    throw new ConfigError([`revokedTokens.file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
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
}

/** Stops the sources of `old` that `current` no longer uses. */
export function retireRuntime(old: Runtime, current: Runtime | undefined): void {
  for (const [id, source] of old.sources) {
    if (current?.sources.get(id) !== source) source.stop();
  }
  if (old.revocations && old.revocations !== current?.revocations) old.revocations.stop();
}

/** Ready: every key source has usable keys. */
export function runtimeReady(runtime: Runtime): boolean {
  for (const source of runtime.sources.values()) if (!source.usable()) return false;
  return true;
}
