import type { ClaimHeaderConfig, MatchConfig, PolicyConfig, TokenLocation } from '../config/types.js';
import type { Introspector } from '../introspection/introspector.js';
import { TENANT_PLACEHOLDER, issuerTemplate, type IssuerTemplate } from '../jwt/issuer_pattern.js';
import { normalizeTokenType } from '../jwt/token_type.js';
import type { DecryptionKey } from '../keys/import_key.js';
import type { VerificationKey } from '../keys/verification_key.js';
import { compileClaimPath, type ClaimPath } from '../jwt/claim_path.js';
import { keyTrustedFor, type BoundKeySource } from './key_binding.js';
import { ruleSetOf, type RuleSet } from '../rules/compile.js';
import type { AuthzRequest } from './request.js';
import type { CompiledDpop } from '../dpop/compile.js';
import { compileCertificateBinding, type CompiledCertificateBinding } from './certificate_binding.js';

export interface CompiledClaimRule {
  /** The claim path as written: messages and `explain` name it. */
  readonly name: string;
  readonly path: ClaimPath;
  readonly match: 'all' | 'any';
  readonly separator: string | undefined;
  readonly values: readonly string[];
}

export interface AcceptedIssuers {
  readonly exact: ReadonlySet<string>;
  /** Multi-tenant issuers: `prefix{tenantid}suffix`, filled from the token's `tid`. */
  readonly templates: readonly IssuerTemplate[];
}

export interface CompiledClaimHeader extends ClaimHeaderConfig {
  readonly path: ClaimPath;
}

/** A policy prepared at config load: every lookup the request path needs is a Set or a closure. */
export interface CompiledPolicy {
  readonly name: string;
  readonly mode: 'enforce' | 'report-only';
  /** Where the token is read from. */
  readonly token: TokenLocation;
  readonly matches: (req: AuthzRequest) => boolean;
  readonly describeMatch: string;
  /** Each key source with the issuers it signs for: a token is verified only with its own issuer's keys. */
  readonly keySources: readonly BoundKeySource[];
  readonly algorithms: ReadonlySet<string>;
  /** Empty = any audience (the config said `audiences: []`). */
  readonly audiences: ReadonlySet<string>;
  /**
   * The issuers whose tokens the policy accepts; undefined = any issuer (the config said `issuers: []`). Without an
   * `issuers` list, these are the issuers the discovery documents really name, so Auth0's `https://T.auth0.com/`
   * (with the slash its URL drops) is accepted exactly as its document writes it.
   */
  acceptedIssuers(): AcceptedIssuers | undefined;
  /** undefined = any tenant may fill a template ('*'). */
  readonly allowedTenants: ReadonlySet<string> | undefined;
  readonly clientApplicationIds: ReadonlySet<string> | undefined;
  readonly decryptionKeys: readonly DecryptionKey[];
  readonly requiredClaims: readonly CompiledClaimRule[];
  readonly requireSignedTokens: boolean;
  readonly requireExpirationTime: boolean;
  readonly clockSkewSeconds: number;
  readonly maxLifetimeSeconds: number | undefined;
  /** Claims copied to upstream headers, and the header that carries the whole payload. */
  readonly claimHeaders: readonly CompiledClaimHeader[];
  readonly forwardPayloadHeader: string | undefined;
  /** Strip the token's header or query parameter before the request goes upstream. */
  readonly removeToken: boolean;
  /** failedValidationHttpCode / failedValidationErrorMessage: replace a token denial's status and message. */
  readonly failedValidation: { readonly httpStatus: number | undefined; readonly message: string | undefined };
  /** RFC 9068 §4: the JWS `typ` required, normalised (RFC 7515 §4.1.9); undefined = any. */
  readonly requireTokenType: string | undefined;
  /** RFC 7662: the endpoint that judges opaque tokens (or all, with applyTo: all); undefined = none. */
  readonly introspection: Introspector | undefined;
  /** CEL rules, compiled at load; undefined when the policy has none. */
  readonly rules: RuleSet | undefined;
  /** RFC 9449: the DPoP proofs this policy checks (src/dpop/); undefined = none, and DPoP-bound tokens are refused. */
  readonly dpop: CompiledDpop | undefined;
  /** RFC 8705 §3: the client certificate a certificate-bound token must come with. */
  readonly certificateBinding: CompiledCertificateBinding;
  /** Whether `key` may verify a token of issuer `iss` under this policy (a cached verdict is re-checked with it). */
  keyTrustedFor(key: VerificationKey, iss: unknown): boolean;
}

export function compilePolicy(
  config: PolicyConfig,
  keySources: readonly BoundKeySource[],
  decryptionKeys: readonly DecryptionKey[],
  documentIssuers: () => readonly string[],
  introspection?: Introspector,
  dpop?: CompiledDpop,
): CompiledPolicy {
  const spec = config.validateJwt;
  return {
    name: config.name,
    mode: config.mode,
    token: spec.token,
    matches: compileMatch(config.match),
    describeMatch: describeMatch(config.match),
    keySources,
    algorithms: new Set(spec.algorithms),
    audiences: new Set(spec.audiences),
    acceptedIssuers: spec.issuersFromDocuments ? memoized(documentIssuers) : constant(spec.issuers),
    allowedTenants:
      spec.allowedTenants === '*' || spec.allowedTenants === undefined ? undefined : new Set(spec.allowedTenants),
    clientApplicationIds: spec.clientApplicationIds ? new Set(spec.clientApplicationIds) : undefined,
    decryptionKeys,
    requiredClaims: spec.requiredClaims.map((rule) => ({ ...rule, path: compileClaimPath(rule.name) })),
    requireSignedTokens: spec.requireSignedTokens,
    requireExpirationTime: spec.requireExpirationTime,
    clockSkewSeconds: spec.clockSkewSeconds,
    maxLifetimeSeconds: spec.maxLifetimeSeconds,
    claimHeaders: spec.outputClaimsToHeaders.map(({ claim, header }) => ({
      claim,
      header,
      path: compileClaimPath(claim),
    })),
    forwardPayloadHeader: spec.forwardPayloadHeader,
    removeToken: spec.removeToken,
    failedValidation: { httpStatus: spec.failedValidationHttpCode, message: spec.failedValidationErrorMessage },
    requireTokenType: spec.requireTokenType === undefined ? undefined : normalizeTokenType(spec.requireTokenType),
    introspection,
    rules: ruleSetOf(config),
    dpop,
    certificateBinding: compileCertificateBinding(config.certificateBinding),
    keyTrustedFor: (key, iss) => keyTrustedFor(keySources, key, iss),
  };
}

function accepted(issuers: readonly string[]): AcceptedIssuers | undefined {
  if (issuers.length === 0) return undefined;
  return {
    exact: new Set(issuers.filter((i) => !TENANT_PLACEHOLDER.test(i))),
    templates: issuers.flatMap((i) => issuerTemplate(i) ?? []),
  };
}

function constant(issuers: readonly string[]): () => AcceptedIssuers | undefined {
  const value = accepted(issuers);
  return () => value;
}

/** Rebuilt only when a document names another issuer: the check path reads a cached value. */
function memoized(issuers: () => readonly string[]): () => AcceptedIssuers | undefined {
  let key: readonly string[] | undefined;
  let value: AcceptedIssuers | undefined;
  return () => {
    // The list is a new array only when a document named another issuer (policy_sources.ts).
    const current = issuers();
    if (current !== key) {
      key = current;
      // Never "any issuer": a document list that is somehow empty accepts nothing.
      value = accepted(current) ?? { exact: new Set(), templates: [] };
    }
    return value;
  };
}

function compileMatch(match: MatchConfig | undefined): (req: AuthzRequest) => boolean {
  if (!match) return () => true;
  const exactHosts = new Set(match.hosts?.filter((h) => !h.startsWith('*.')));
  const hostSuffixes = match.hosts?.filter((h) => h.startsWith('*.')).map((h) => h.slice(1)) ?? [];
  const methods = match.methods ? new Set(match.methods) : undefined;
  const prefixes = match.pathPrefixes;
  return (req) => {
    if (
      match.hosts &&
      !exactHosts.has(req.host) &&
      !hostSuffixes.some((s) => req.host.endsWith(s) && req.host.length > s.length)
    ) {
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
