// The bench's signing keys: PKCS#8 PEM files in <data>/keys/, made once and reused, so the token sets and the JWKS
// that the issuer, Envoy and OPA publish stay consistent across runs.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILES = { RS256: 'rs256.pem', ES256: 'es256.pem', rogue: 'rogue_rs256.pem' };
const kidOf = (pem) =>
  createHash('sha256')
    .update(createPublicKey(pem).export({ type: 'spki', format: 'der' }))
    .digest('base64url')
    .slice(0, 16);

/**
 * { RS256, ES256, rogue }: each { pem, kid }. `create` makes the missing ones (make_data.mjs); without it a missing
 * file is an error (the bench's issuer publishes what make_data made).
 */
export function dataKeys(dir, { create = false } = {}) {
  const read = (name, gen) => {
    const path = join(dir, FILES[name]);
    if (!existsSync(path)) {
      if (!create) throw new Error(`${path} is missing: run node bench/make_data.mjs`);
      writeFileSync(path, gen().privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    }
    return readFileSync(path, 'utf8');
  };
  const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsPem = read('RS256', rsa);
  const esPem = read('ES256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  return {
    RS256: { pem: rsPem, kid: `rs-${kidOf(rsPem)}` },
    ES256: { pem: esPem, kid: `es-${kidOf(esPem)}` },
    // Used for forged signatures (under the published kid) and for unknown kids; RS256 only, the mix set is RS256.
    rogue: { pem: read('rogue', rsa), kid: 'rogue' },
  };
}

/** The JWKS every system under test trusts: the RS256 and ES256 public keys (never the rogue one). */
export function jwksOf(keys) {
  const jwk = (alg) => ({
    ...createPublicKey(keys[alg].pem).export({ format: 'jwk' }),
    kid: keys[alg].kid,
    alg,
    use: 'sig',
  });
  return { keys: [jwk('RS256'), jwk('ES256')] };
}
