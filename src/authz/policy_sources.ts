import type { PolicyConfig } from '../config/types.js';
import type { KeySource } from '../keys/key_source.js';
import { StaticKeySource } from '../keys/static_key_source.js';
import type { VerificationKey } from '../keys/verification_key.js';
import { bindToAnyIssuer, bindToDocumentIssuer, bindToIssuers, type BoundKeySource } from './key_binding.js';

/** A remote source for a URL, shared by every policy naming it with the same expected issuer. */
export type RemoteSourceFactory = (
  kind: 'openid-config' | 'jwks',
  url: string,
  expected?: { readonly issuer: string; readonly issuerImplied: boolean },
) => KeySource;

export interface PolicySources {
  readonly keySources: readonly BoundKeySource[];
  /**
   * What the sources sign for, as issuer strings: each entry's `issuers`, or for a discovery document the issuer it
   * names once fetched (its expected issuer before). The policy's accepted issuers when it has no `issuers` list.
   */
  readonly documentIssuers: () => readonly string[];
}

interface Entry {
  readonly source: KeySource;
  readonly issuers: readonly string[] | undefined;
  /** A discovery document's expected issuer; undefined for a JWKS URL or static keys. */
  readonly expectedIssuer: string | undefined;
}

/**
 * The policy's key sources, each bound to the issuers it signs for (RFC 8725 §3.8): the config's `issuers` on the
 * entry; else, for the policy's only source, any issuer it accepts; else a discovery document's own issuer. A JWKS or
 * static key with none of these is refused by the config reader, and here signs for nothing.
 */
export function policySources(
  policy: PolicyConfig,
  staticKeys: readonly VerificationKey[],
  remote: RemoteSourceFactory,
  sources: Map<string, KeySource>,
): PolicySources {
  const spec = policy.validateJwt;
  const entries: Entry[] = [
    ...spec.openidConfig.map((c) => ({
      source: remote('openid-config', c.url, c),
      issuers: c.issuers,
      expectedIssuer: c.issuer,
    })),
    ...spec.jwksUri.map((j) => ({ source: remote('jwks', j.url), issuers: j.issuers, expectedIssuer: undefined })),
  ];
  const staticSource = (id: string, keys: readonly VerificationKey[]) => {
    const source = new StaticKeySource(id, keys);
    sources.set(id, source);
    return source;
  };
  const unboundKeys = staticKeys.filter((_, i) => spec.issuerSigningKeys[i]!.issuers === undefined);
  if (unboundKeys.length > 0) {
    entries.push({
      source: staticSource(`static:${policy.name}`, unboundKeys),
      issuers: undefined,
      expectedIssuer: undefined,
    });
  }
  spec.issuerSigningKeys.forEach((key, i) => {
    if (key.issuers === undefined) return;
    const source = staticSource(`static:${policy.name}:${i}`, [staticKeys[i]!]);
    entries.push({ source, issuers: key.issuers, expectedIssuer: undefined });
  });
  const keySources = entries.map((e) => {
    if (e.issuers !== undefined) return bindToIssuers(e.source, e.issuers);
    if (entries.length === 1) return bindToAnyIssuer(e.source);
    return e.expectedIssuer !== undefined ? bindToDocumentIssuer(e.source) : bindToIssuers(e.source, []);
  });
  return { keySources, documentIssuers: documentIssuersOf(entries) };
}

/**
 * Read on every check (the policy's accepted issuers when it lists none), so it allocates only when a document
 * names another issuer than last time: otherwise it hands back the same array, which callers may memoize on.
 */
function documentIssuersOf(entries: readonly Entry[]): () => readonly string[] {
  const named = entries.filter((e) => e.issuers === undefined && e.expectedIssuer !== undefined);
  const fixed = entries.flatMap((e) => e.issuers ?? []);
  const current = (e: Entry) => e.source.documentIssuer() ?? e.expectedIssuer!;
  let last = named.map(current);
  let list: readonly string[] = [...fixed, ...last];
  return () => {
    let changed = false;
    for (let i = 0; i < named.length; i++) if (current(named[i]!) !== last[i]) changed = true;
    if (changed) {
      last = named.map(current);
      list = [...fixed, ...last];
    }
    return list;
  };
}
