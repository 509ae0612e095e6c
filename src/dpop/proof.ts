import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { AuthzError } from '../errors.js';
import { decodeJws, type DecodedJws } from '../jwt/decode_jws.js';
import { jwsAlgorithm } from '../jwt/algorithms.js';
import { verifySignature } from '../jwt/verify_signature.js';
import type { KeyType, VerificationKey } from '../keys/verification_key.js';

/** A proof is a few hundred bytes; an RSA-8192 `jwk` and signature make it about 3.5 KiB. Far larger is not one. */
export const MAX_PROOF_LENGTH = 8192;

/** JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A proof whose form, header and signature hold; its claims are checked by check_dpop.ts. */
export interface VerifiedProof {
  readonly jws: DecodedJws;
  readonly jwk: Readonly<Record<string, unknown>>;
}

/**
 * RFC 9449 §4.3 steps 2-7: a well-formed JWT; `typ` is `dpop+jwt`; `alg` is asymmetric and allowed; `jwk` is a
 * public key; the signature verifies with it. The `jwk` is imported as a public key only after its private members
 * are refused, so a private key sent by mistake is never used, and is named as the reason.
 */
export function verifyProof(proof: string, algorithms: ReadonlySet<string>): VerifiedProof {
  if (proof.length > MAX_PROOF_LENGTH) throw invalid(`the proof is longer than ${MAX_PROOF_LENGTH} characters`);
  let jws: DecodedJws;
  try {
    jws = decodeJws(proof);
  } catch (err) {
    // decode_jws's checks (canonical base64url, duplicate members, crit) apply to proofs as to tokens.
    throw invalid(`the proof is not a well-formed JWS: ${(err as Error).message}`);
  }
  // §4.2: typ dpop+jwt, compared exactly: a proof is minted by DPoP client code, never by a hand-written header.
  if (jws.header.typ !== 'dpop+jwt')
    throw invalid(`the proof's typ is ${JSON.stringify(jws.header.typ)}, not dpop+jwt`);
  const spec = jwsAlgorithm(jws.alg);
  // §4.3 step 5: an asymmetric algorithm (a MAC would need a secret we share with the client), from the allow-list.
  if (!spec || spec.symmetric || !algorithms.has(jws.alg)) {
    throw invalid(`the proof's alg ${JSON.stringify(jws.alg)} is not one of [${[...algorithms].join(', ')}]`);
  }
  const jwk = jws.header.jwk;
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw invalid('the proof has no jwk header');
  const members = jwk as Record<string, unknown>;
  // §4.3 step 7: the header's key must be public.
  const secret = PRIVATE_MEMBERS.find((m) => Object.hasOwn(members, m));
  if (secret !== undefined) throw invalid(`the proof's jwk holds a private key (member "${secret}")`);
  const key = importPublicJwk(members);
  if (!spec.keyTypes.includes(key.type)) throw invalid(`the proof's jwk (${key.type}) cannot verify ${jws.alg}`);
  if (!verifySignature(jws.alg, key, jws.signingInput, jws.signature)) {
    throw invalid(`the proof's ${jws.alg} signature does not verify with its jwk`);
  }
  return { jws, jwk: members };
}

function importPublicJwk(jwk: Record<string, unknown>): VerificationKey {
  if (jwk.kty !== 'EC' && jwk.kty !== 'RSA' && jwk.kty !== 'OKP') {
    throw invalid(`the proof's jwk has kty ${JSON.stringify(jwk.kty)}; EC, RSA or OKP expected`);
  }
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    return { kid: undefined, alg: undefined, type: keyType(key.asymmetricKeyType, key.asymmetricKeyDetails), key };
  } catch (err) {
    throw invalid(`the proof's jwk is not a usable public key: ${(err as Error).message}`);
  }
}

const CURVES: Readonly<Record<string, KeyType>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
/** RFC 7518 §3.3 and RFC 8725 §3.5: RSA keys below 2048 bits are refused, as for token keys. */
const MIN_RSA_BITS = 2048;

function keyType(type: string | undefined, details: { namedCurve?: string; modulusLength?: number } = {}): KeyType {
  if (type === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS) return 'RSA';
  if (type === 'ec' && details.namedCurve !== undefined && Object.hasOwn(CURVES, details.namedCurve)) {
    return CURVES[details.namedCurve]!;
  }
  if (type === 'ed25519') return 'Ed25519';
  if (type === 'ed448') return 'Ed448';
  throw new Error(`unsupported key (${type ?? 'unknown'}${type === 'rsa' ? `, RSA below ${MIN_RSA_BITS} bits` : ''})`);
}

function invalid(message: string): AuthzError {
  return new AuthzError('DpopProofInvalid', message);
}
