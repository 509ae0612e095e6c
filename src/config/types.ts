/**
 * The configuration as tokengate uses it after validation: every default applied, every value checked.
 * The YAML names are a contract with users; see README "Configuration reference".
 */

import type { CertificateBindingConfig } from './certificate_binding.js';
import type { DpopConfig } from './read_dpop.js';

export interface Config {
  readonly server: ServerConfig;
  readonly keys: KeysConfig;
  readonly logging: LoggingConfig;
  /** A file of revoked `jti` values, one per line (optionally followed by the token's exp), watched like the config. */
  readonly revokedTokensFile: string | undefined;
  readonly policies: readonly PolicyConfig[];
  /** OpenTelemetry traces of checks (src/tracing/); off by default. Read at start, like server.httpAuthz. */
  readonly tracing: TracingConfig;
}

export interface ServerConfig {
  /** `host:port` or `unix:/path`. */
  readonly grpcAddress: string;
  /** `host:port` of the ops HTTP port, or undefined for none. */
  readonly httpAddress: string | undefined;
  /** Every check answers within this, denying with KeysUnavailable if it is still waiting for keys. */
  readonly checkDeadlineMs: number;
  readonly shutdownGraceSeconds: number;
  /** Processes serving Check on the same address (node:cluster); the ops port is served by the primary. */
  readonly workers: number;
  /** The HTTP authorization listener for nginx, Caddy and Envoy's http_service; undefined = off. */
  readonly httpAuthz: HttpAuthzConfig | undefined;
}

/** `server.httpAuthz`: the same policies over plain HTTP (see src/http/). Read at start; a reload does not move it. */
export interface HttpAuthzConfig {
  /** `host:port` or `unix:/path`; never the ops or gRPC address. */
  readonly address: string;
  /** Peers whose forwarded headers (X-Original-URI, X-Forwarded-Uri, ...) describe the request; nobody else's do. */
  readonly trustedProxies: readonly TrustedProxy[];
  /** Envoy http_service's `path_prefix`: a check of `/orders/1` arrives as `PREFIX/orders/1`. */
  readonly envoyPathPrefix: string;
  /** Checks in flight beyond this are answered 503 at once. */
  readonly maxConcurrentChecks: number;
  /** Open connections beyond this are refused. */
  readonly maxConnections: number;
  /** The request line and headers together; a larger request is answered 431. */
  readonly maxHeaderBytes: number;
  /** A request's headers (and any body) must arrive within this. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this; keep the proxies' own idle timeouts shorter. */
  readonly keepAliveTimeoutMs: number;
}

/** A trusted proxy: peers on the Unix socket, or an address range. */
export type TrustedProxy =
  | { readonly kind: 'unix' }
  | { readonly kind: 'cidr'; readonly network: string; readonly prefix: number; readonly family: 'ipv4' | 'ipv6' };

export interface KeysConfig {
  readonly fetchTimeoutSeconds: number;
  readonly refreshIntervalSeconds: number;
  readonly cooldownSeconds: number;
  readonly maxStaleSeconds: number;
  /** Plain http:// key URLs are refused unless they point at loopback or this is set. */
  readonly allowInsecureHttp: boolean;
  readonly followRedirects: boolean;
}

export interface LoggingConfig {
  readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * Which decisions get a log line: `all`; `deny` (the default: denials at info, report-only would-deny at warn,
   * allows at debug); or `none` (all at debug). InternalError and KeysUnavailable denials are always a warning.
   */
  readonly decisions: 'all' | 'deny' | 'none';
}

/** `tracing:`; the exporter (endpoint, headers, service name) is configured by the standard OTEL_* environment. */
export interface TracingConfig {
  readonly enabled: boolean;
  /** The share of checks without a parent span that are sampled; a parent's decision (Envoy's) is followed. */
  readonly samplerRatio: number;
  /** Put the verified token's `sub` on the span as `enduser.id`. No other claim value but the issuer is recorded. */
  readonly recordSub: boolean;
}

export interface PolicyConfig {
  readonly name: string;
  readonly mode: 'enforce' | 'report-only';
  readonly match: MatchConfig | undefined;
  /** The section the rules were written in; `validateAzureAdToken` expands to a validateJwt config. */
  readonly rulesKey: 'validateJwt' | 'validateAzureAdToken';
  readonly validateJwt: ValidateJwtConfig;
  /** CEL authorization rules, evaluated once the token and its claims pass (README "Authorization rules"). */
  readonly rules: readonly RuleConfig[];
  /** What a request that no rule's `when` governs gets: `allow` passes it on, `deny` refuses it (RuleDenied). */
  readonly rulesDefault: 'allow' | 'deny';
  /** RFC 8705 §3: where the client certificate of certificate-bound tokens comes from; undefined = the peer's. */
  readonly certificateBinding?: CertificateBindingConfig | undefined;
  /** RFC 9449 sender-constrained tokens (src/config/read_dpop.ts); undefined = no DPoP proofs are verified. */
  readonly dpop?: DpopConfig | undefined;
}

/** One authorization rule: where `when` holds (or always, without one), `allow` must hold. Both are CEL. */
export interface RuleConfig {
  readonly name: string;
  readonly when: string | undefined;
  readonly allow: string;
  /** report-only: a denial is logged and counted as would_deny, and the request goes on. */
  readonly mode: 'enforce' | 'report-only';
}

export interface MatchConfig {
  readonly hosts: readonly string[] | undefined;
  readonly pathPrefixes: readonly string[] | undefined;
  readonly methods: readonly string[] | undefined;
}

export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly scheme: string | undefined }
  | { readonly kind: 'query'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

export interface OpenIdConfigEntry {
  readonly url: string;
  /** The issuer the document must name: the entry's `issuer`, else the one its URL implies (net/discovery_url.ts). */
  readonly issuer: string;
  /** Implied by the URL (then a terminating `/` in the document is accepted), not written in the config. */
  readonly issuerImplied: boolean;
  /** The issuers this document's keys may sign for; undefined = the issuer the document names. */
  readonly issuers: readonly string[] | undefined;
}

export interface JwksUriEntry {
  readonly url: string;
  /** The issuers this JWKS's keys may sign for; undefined only when it is the policy's one key source. */
  readonly issuers: readonly string[] | undefined;
}

export type StaticKeyConfig = (
  | { readonly form: 'jwk'; readonly jwk: Readonly<Record<string, unknown>> }
  | { readonly form: 'pem'; readonly pem: string; readonly id: string | undefined }
  | { readonly form: 'rsa'; readonly n: string; readonly e: string; readonly id: string | undefined }
  | { readonly form: 'symmetric'; readonly base64: string; readonly id: string | undefined }
) & {
  /** The issuers this key may sign for; undefined only when the static keys are the policy's one key source. */
  readonly issuers?: readonly string[] | undefined;
};

/** Keys that decrypt encrypted tokens (JWE), as APIM's decryption-keys. */
export type DecryptionKeyConfig =
  | { readonly form: 'jwk'; readonly jwk: Readonly<Record<string, unknown>> }
  | { readonly form: 'pem'; readonly pem: string; readonly id: string | undefined }
  | { readonly form: 'symmetric'; readonly base64: string; readonly id: string | undefined };

export interface RequiredClaimConfig {
  readonly name: string;
  readonly match: 'all' | 'any';
  readonly separator: string | undefined;
  readonly values: readonly string[];
}

export interface ClaimHeaderConfig {
  readonly claim: string;
  readonly header: string;
}

export interface ValidateJwtConfig {
  readonly token: TokenLocation;
  readonly openidConfig: readonly OpenIdConfigEntry[];
  readonly jwksUri: readonly JwksUriEntry[];
  readonly issuerSigningKeys: readonly StaticKeyConfig[];
  readonly audiences: readonly string[];
  /** Empty = any issuer; defaults to the issuers the openidConfig documents sign for. */
  readonly issuers: readonly string[];
  /** No `issuers` was written: accept what the discovery documents really name (a terminating `/` included). */
  readonly issuersFromDocuments: boolean;
  readonly algorithms: readonly string[];
  readonly requireExpirationTime: boolean;
  readonly requireSignedTokens: boolean;
  readonly clockSkewSeconds: number;
  readonly maxLifetimeSeconds: number | undefined;
  readonly requiredClaims: readonly RequiredClaimConfig[];
  readonly failedValidationHttpCode: number | undefined;
  readonly failedValidationErrorMessage: string | undefined;
  readonly outputClaimsToHeaders: readonly ClaimHeaderConfig[];
  readonly forwardPayloadHeader: string | undefined;
  readonly removeToken: boolean;
  readonly decryptionKeys: readonly DecryptionKeyConfig[];
  /** Entra client applications allowed to call (checked against `azp`, else `appid`); undefined = any. */
  readonly clientApplicationIds: readonly string[] | undefined;
  /** With a `{tenantid}` issuer template: the tenants (`tid`) accepted, or '*' for any. */
  readonly allowedTenants: readonly string[] | '*' | undefined;
  /** RFC 9068 §4: the JWS header `typ` every token must have (e.g. `at+jwt`); undefined = any. */
  readonly requireTokenType?: string | undefined;
  /** RFC 7662: opaque tokens (or all tokens) are validated by the issuer's introspection endpoint. */
  readonly introspection?: IntrospectionConfig | undefined;
}

/** A policy's introspection endpoint (RFC 7662) and how tokengate authenticates to it. */
export interface IntrospectionConfig {
  /** undefined = the `introspection_endpoint` of the `discovery` document (the policy's one openidConfig). */
  readonly endpoint: string | undefined;
  readonly discovery: string | undefined;
  readonly clientId: string;
  readonly clientAuth: IntrospectionClientAuth;
  /** Upper bound of an active answer's cache lifetime; never past the token's exp. 0 = no caching. */
  readonly cacheSeconds: number;
  /** How long an `active: false` answer is remembered. */
  readonly negativeCacheSeconds: number;
  readonly cacheMaxEntries: number;
  readonly cacheMaxBytes: number;
  /** One call's own time limit; a check still waits no longer than server.checkDeadlineMs. */
  readonly timeoutMs: number;
  /** `opaque`: only tokens that are not a compact JWS or JWE are introspected; `all`: JWTs too. */
  readonly applyTo: 'opaque' | 'all';
  /** Plain http:// is refused unless the endpoint is loopback or this is set. */
  readonly allowInsecureHttp: boolean;
}

/** Client authentication at the introspection endpoint (RFC 7662 §2.1, RFC 6749 §2.3, RFC 7523 §2.2). */
export type IntrospectionClientAuth =
  | { readonly method: 'client_secret_basic' | 'client_secret_post'; readonly secretFile: string }
  | {
      readonly method: 'private_key_jwt';
      readonly keyFile: string;
      /** undefined = from the key: RS256 for RSA, ES256/384/512 by curve, EdDSA for Ed25519. */
      readonly algorithm: string | undefined;
      readonly keyId: string | undefined;
      /** The assertion's `aud`; undefined = the endpoint URL. */
      readonly audience: string | undefined;
    };
