import { AuthzError } from '../errors.js';
import type { DecryptionKey } from '../keys/import_key.js';

/**
 * Key management algorithms accepted for encrypted tokens. RSA1_5 is left out (padding-oracle prone), and PBES2
 * too (its iteration count is chosen by the sender: a denial-of-service lever).
 */
const KEY_MANAGEMENT_ALGORITHMS = [
  'RSA-OAEP',
  'RSA-OAEP-256',
  'RSA-OAEP-384',
  'RSA-OAEP-512',
  'ECDH-ES',
  'ECDH-ES+A128KW',
  'ECDH-ES+A192KW',
  'ECDH-ES+A256KW',
  'A128KW',
  'A192KW',
  'A256KW',
  'A128GCMKW',
  'A192GCMKW',
  'A256GCMKW',
  'dir',
];
const CONTENT_ENCRYPTION_ALGORITHMS = [
  'A128GCM',
  'A192GCM',
  'A256GCM',
  'A128CBC-HS256',
  'A192CBC-HS384',
  'A256CBC-HS512',
];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decrypts a compact JWE with the policy's decryption keys (jose does the cryptography) and returns the plaintext. */
export async function decryptJwe(token: string, keys: readonly DecryptionKey[]): Promise<string> {
  // Loaded on first use: most deployments never see a JWE, and jose costs start-up time.
  const { compactDecrypt, decodeProtectedHeader } = await import('jose');
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.alg !== 'string' || typeof header.enc !== 'string') throw new Error('no alg/enc');
    kid = typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    throw new AuthzError('JwtInvalid', 'encrypted token has no valid protected header');
  }
  const named = kid === undefined ? [] : keys.filter((k) => k.kid === kid);
  for (const key of named.length > 0 ? named : keys) {
    try {
      const { plaintext } = await compactDecrypt(token, key.key, {
        keyManagementAlgorithms: KEY_MANAGEMENT_ALGORITHMS,
        contentEncryptionAlgorithms: CONTENT_ENCRYPTION_ALGORITHMS,
      });
      return utf8.decode(plaintext);
    } catch {
      // Try the next key: the token does not say which one unless it carries a kid we know.
    }
  }
  throw new AuthzError(
    'JwtInvalid',
    `encrypted token cannot be decrypted with the policy's ${keys.length} decryption key(s)`,
  );
}
