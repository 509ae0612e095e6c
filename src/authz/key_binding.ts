import type { KeySource } from '../keys/key_source.js';
import type { VerificationKey } from '../keys/verification_key.js';
import { issuerMatcher } from '../jwt/issuer_pattern.js';

/**
 * A key source as one policy trusts it: its keys verify only tokens of the issuers bound to it (RFC 8725 §3.8,
 * OpenID Connect Core §10.1). Without this, a policy with two sources would let either issuer sign as the other.
 */
export interface BoundKeySource {
  readonly source: KeySource;
  /** Whether this source's keys may verify a token whose `iss` claim is `iss`. */
  signsFor(iss: unknown): boolean;
  /** For messages: which issuers it signs for. */
  readonly describe: string;
}

/** The policy's one key source signs for every issuer the policy accepts; the issuer check decides the rest. */
export function bindToAnyIssuer(source: KeySource): BoundKeySource {
  return { source, signsFor: () => true, describe: 'every issuer the policy accepts' };
}

/** A source whose config names the issuers it signs for (`issuers` on the entry). */
export function bindToIssuers(source: KeySource, issuers: readonly string[]): BoundKeySource {
  const matches = issuerMatcher(issuers);
  return { source, signsFor: (iss) => typeof iss === 'string' && matches(iss), describe: issuers.join(', ') };
}

/**
 * A discovery document signs for the issuer it names (OpenID Connect Discovery 1.0 §4.3 ties the document to that
 * issuer), a `{tenantid}` template included. Before the first fetch it signs for nothing.
 */
export function bindToDocumentIssuer(source: KeySource): BoundKeySource {
  let named: string | undefined;
  let matches: (iss: string) => boolean = () => false;
  return {
    source,
    signsFor(iss) {
      const current = source.documentIssuer();
      if (current !== named) {
        named = current;
        matches = current === undefined ? () => false : issuerMatcher([current]);
      }
      return typeof iss === 'string' && matches(iss);
    },
    describe: 'the issuer its discovery document names',
  };
}

/** Whether `key` belongs to a source that signs for `iss`: the only keys that may verify that token. */
export function keyTrustedFor(bound: readonly BoundKeySource[], key: VerificationKey, iss: unknown): boolean {
  for (const b of bound) if (b.signsFor(iss) && b.source.hasKey(key)) return true;
  return false;
}
