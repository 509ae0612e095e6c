import type { VerificationKey } from './verification_key.js';

export type KeySourceKind = 'openid-config' | 'jwks' | 'static';

export interface KeySourceStatus {
  readonly id: string;
  readonly kind: KeySourceKind;
  readonly keyCount: number;
  /** Seconds since the keys were last fetched; undefined for static keys or before the first fetch. */
  readonly ageSeconds: number | undefined;
  readonly lastError: string | undefined;
  /** The keys can be used to verify tokens (present, and not past keys.maxStale while refreshes fail). */
  readonly usable: boolean;
  /** The issuer named by the discovery document, for openid-config sources. */
  readonly issuer: string | undefined;
}

/**
 * Where a policy's verification keys come from. Implementations: static keys from the config, and remote
 * keys from a JWKS URL or an OpenID Connect discovery document. Sources are shared by every policy that
 * names the same URL, and survive a config reload when their URL and settings did not change.
 */
export interface KeySource {
  readonly id: string;
  readonly kind: KeySourceKind;
  /** Usable keys with this kid (empty when none or when the source is not usable). */
  keysWithKid(kid: string): readonly VerificationKey[];
  /** Every usable key, for tokens without a kid. */
  allKeys(): readonly VerificationKey[];
  /** Whether this key is still one of the source's usable keys (cached verdicts depend on it). */
  hasKey(key: VerificationKey): boolean;
  usable(): boolean;
  /** The `issuer` the discovery document names (openid-config sources, once fetched); undefined otherwise. */
  documentIssuer(): string | undefined;
  /** The document's `introspection_endpoint`: undefined before the document is read, null when it names none. */
  introspectionEndpoint?(): string | null | undefined;
  /** Resolves once the first fetch finished (successfully or not). */
  firstFetch(): Promise<void>;
  /**
   * A token named a kid this source does not know: refetch (one fetch at a time, at most once per cooldown)
   * and resolve when the keys are as fresh as they are going to get.
   */
  refreshForUnknownKid(): Promise<void>;
  status(): KeySourceStatus;
  start(): void;
  stop(): void;
}
