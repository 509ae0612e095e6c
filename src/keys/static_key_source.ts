import type { KeySource, KeySourceStatus } from './key_source.js';
import type { VerificationKey } from './verification_key.js';

/** Keys written into the policy (`issuerSigningKeys`): always present, never refreshed. */
export class StaticKeySource implements KeySource {
  readonly kind = 'static';
  readonly id: string;
  readonly #keys: readonly VerificationKey[];
  readonly #set: ReadonlySet<VerificationKey>;

  constructor(id: string, keys: readonly VerificationKey[]) {
    this.id = id;
    this.#keys = keys;
    this.#set = new Set(this.#keys);
  }

  keysWithKid(kid: string): readonly VerificationKey[] {
    // APIM: a static key without an id is a candidate for any token.
    return this.#keys.filter((k) => k.kid === kid || k.kid === undefined);
  }

  allKeys(): readonly VerificationKey[] {
    return this.#keys;
  }

  hasKey(key: VerificationKey): boolean {
    return this.#set.has(key);
  }

  usable(): boolean {
    return true;
  }

  documentIssuer(): undefined {
    return undefined;
  }

  firstFetch(): Promise<void> {
    return Promise.resolve();
  }

  refreshForUnknownKid(): Promise<void> {
    return Promise.resolve();
  }

  status(): KeySourceStatus {
    return {
      id: this.id,
      kind: this.kind,
      keyCount: this.#keys.length,
      ageSeconds: undefined,
      lastError: undefined,
      usable: true,
      issuer: undefined,
    };
  }

  start(): void {}

  stop(): void {}
}
