import { AuthzError } from '../errors.js';
import { decodeJws, type DecodedJws } from '../jwt/decode_jws.js';
import { jwsAlgorithm } from '../jwt/algorithms.js';
import { verifySignature } from '../jwt/verify_signature.js';
import { proofKey, type ProofKey } from './proof_keys.js';

/** A proof is a few hundred bytes; an RSA-8192 `jwk` and signature make it about 3.5 KiB. Far larger is not one. */
export const MAX_PROOF_LENGTH = 8192;

/** JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A proof whose form, header and signature hold; its claims are checked by check_dpop.ts. */
export interface VerifiedProof {
  readonly jws: DecodedJws;
  readonly jwk: Readonly<Record<string, unknown>>;
  /** The imported key, with its RFC 7638 thumbprint once known (see proof_keys.ts). */
  readonly key: ProofKey;
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
  const entry = proofKey(members);
  const key = entry.key;
  if (!spec.keyTypes.includes(key.type)) throw invalid(`the proof's jwk (${key.type}) cannot verify ${jws.alg}`);
  if (!verifySignature(jws.alg, key, jws.signingInput, jws.signature)) {
    throw invalid(`the proof's ${jws.alg} signature does not verify with its jwk`);
  }
  return { jws, jwk: members, key: entry };
}

function invalid(message: string): AuthzError {
  return new AuthzError('DpopProofInvalid', message);
}
