import type { MatchConfig, PolicyConfig, ValidateJwtConfig } from '../config/types.js';
import { issuerOfDiscoveryUrl } from '../config/validate.js';
import type { KeySource } from '../keys/key_source.js';
import type { VerificationKey } from '../keys/verification_key.js';
import type { AuthzRequest } from './request.js';

export interface CompiledClaimRule {
  readonly name: string;
  readonly match: 'all' | 'any';
  readonly separator: string | undefined;
  readonly values: readonly string[];
}

/** A policy prepared at config load: every lookup the request path needs is a Set or a closure. */
export interface CompiledPolicy {
  readonly name: string;
  readonly mode: 'enforce' | 'report-only';
  readonly spec: ValidateJwtConfig;
  readonly matches: (req: AuthzRequest) => boolean;
  readonly describeMatch: string;
  readonly sources: readonly KeySource[];
  readonly algorithms: ReadonlySet<string>;
  /** Empty = any audience (the config said `audiences: []`). */
  readonly audiences: ReadonlySet<string>;
  /** undefined = any issuer (the config said `issuers: []`). */
  readonly issuers: ReadonlySet<string> | undefined;
  readonly requiredClaims: readonly CompiledClaimRule[];
  hasKey(key: VerificationKey): boolean;
}

export function compilePolicy(config: PolicyConfig, sources: readonly KeySource[]): CompiledPolicy {
  const spec = config.validateJwt;
  const issuers = spec.issuers ?? spec.openidConfig.map((c) => c.issuer ?? issuerOfDiscoveryUrl(c.url));
  return {
    name: config.name,
    mode: config.mode,
    spec,
    matches: compileMatch(config.match),
    describeMatch: describeMatch(config.match),
    sources,
    algorithms: new Set(spec.algorithms),
    audiences: new Set(spec.audiences),
    issuers: issuers.length === 0 ? undefined : new Set(issuers),
    requiredClaims: spec.requiredClaims,
    hasKey: (key) => sources.some((s) => s.hasKey(key)),
  };
}

function compileMatch(match: MatchConfig | undefined): (req: AuthzRequest) => boolean {
  if (!match) return () => true;
  const exactHosts = new Set(match.hosts?.filter((h) => !h.startsWith('*.')));
  const hostSuffixes = match.hosts?.filter((h) => h.startsWith('*.')).map((h) => h.slice(1)) ?? [];
  const methods = match.methods ? new Set(match.methods) : undefined;
  const prefixes = match.pathPrefixes;
  return (req) => {
    if (match.hosts && !exactHosts.has(req.host) && !hostSuffixes.some((s) => req.host.endsWith(s) && req.host.length > s.length)) {
      return false;
    }
    if (methods && !methods.has(req.method)) return false;
    if (prefixes && !prefixes.some((p) => req.path.startsWith(p))) return false;
    return true;
  };
}

function describeMatch(match: MatchConfig | undefined): string {
  if (!match) return 'matches every request';
  const parts = [
    match.hosts && `host in [${match.hosts.join(', ')}]`,
    match.pathPrefixes && `path starts with one of [${match.pathPrefixes.join(', ')}]`,
    match.methods && `method in [${match.methods.join(', ')}]`,
  ].filter(Boolean);
  return parts.join(' and ');
}
