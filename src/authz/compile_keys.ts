import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { importDecryptionKey, importStaticKey, type DecryptionKey } from '../keys/import_key.js';
import type { VerificationKey } from '../keys/verification_key.js';

/** A policy's configured keys, imported: `signing[i]` is `issuerSigningKeys[i]`. */
export interface PolicyKeys {
  readonly signing: readonly VerificationKey[];
  readonly decryption: readonly DecryptionKey[];
}

/**
 * Imports every key the config writes inline, once, for both serving and `tokengate validate`: a key that cannot be
 * used fails the whole config with its path, never a request.
 */
export function importPolicyKeys(config: Config): PolicyKeys[] {
  const problems: string[] = [];
  const attempt = <T>(path: string, run: () => T): T[] => {
    try {
      return [run()];
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
      return [];
    }
  };
  const keys = config.policies.map((policy, i) => {
    const path = `policies[${i}].${policy.rulesKey}`;
    const spec = policy.validateJwt;
    return {
      signing: spec.issuerSigningKeys.flatMap((k, j) =>
        attempt(`${path}.issuerSigningKeys[${j}]`, () => importStaticKey(k)),
      ),
      decryption: spec.decryptionKeys.flatMap((k, j) =>
        attempt(`${path}.decryptionKeys[${j}]`, () => importDecryptionKey(k)),
      ),
    };
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return keys;
}
