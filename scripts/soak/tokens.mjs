// Token signing for the soak, used by the issuer thread (ahead of need) and by the main thread (inline, when a queue
// runs dry), with the project's one signer (dist/dev_issuer/jws.js: node:crypto with a pre-encoded header, ~19k
// ES256/s and ~2.5k RS256/s per core, which is what ~2k fresh tokens/s need). Keys are { kid, alg, keyObject, signer }
// (signingKey); a context is { issuer, current: { ES256, RS256 }, lastRetired }.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AUDIENCE, SCOPE } from './options.mjs';
import { ROOT } from './procs.mjs';

const { JwsSigner, jsonSegment, jwsSignature } = await import(join(ROOT, 'dist/dev_issuer/jws.js'));

/** A key the soak signs with: its private KeyObject (as the issuer's keyAdded hook gives it) and its signer. */
export const signingKey = (kid, alg, keyObject) => ({
  kid,
  alg,
  keyObject,
  signer: new JwsSigner(alg, keyObject, { typ: 'JWT', kid }),
});

/** Never published: signs the `forged` and `unknown_kid` tokens. */
const ROGUE = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

/** Signs one fresh token of `kind` with the keys of `ctx`: { kind, kid, token }. `seq.n` numbers the jti. */
export function generate(kind, ctx, seq, tag) {
  const now = Math.floor(Date.now() / 1000);
  const n = seq.n++;
  const claims = (over) => {
    const c = {
      iss: ctx.issuer,
      aud: AUDIENCE,
      sub: `user-${n % 100_000}`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      scp: `${SCOPE} profile`,
      jti: `${tag}-${n}`,
      ...over,
    };
    for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
    return c;
  };
  const jwt = (key, payload) => key.signer.sign(payload);
  const es = ctx.current.ES256;
  switch (kind) {
    case 'valid': {
      const key = Math.random() < 0.95 ? es : ctx.current.RS256; // RS256 signing costs ~8x ES256 signing
      return { kind, kid: key.kid, token: jwt(key, claims()) };
    }
    case 'old_key':
      if (!ctx.lastRetired) return generate('valid', ctx, seq, tag);
      return { kind, kid: ctx.lastRetired.kid, token: jwt(ctx.lastRetired, claims()) };
    case 'expired': {
      const exp = now - 30 - ((Math.random() * 3600) | 0);
      return { kind, kid: es.kid, token: jwt(es, claims({ exp, iat: exp - 3600, nbf: exp - 3600 })) };
    }
    case 'wrong_aud': {
      const aud = Math.random() < 0.5 ? 'api://another-api' : ['api://x', 'api://y'];
      return { kind, kid: es.kid, token: jwt(es, claims({ aud })) };
    }
    case 'missing_scope': {
      const scp = Math.random() < 0.5 ? undefined : 'orders.write profile';
      return { kind, kid: es.kid, token: jwt(es, claims({ scp })) };
    }
    case 'bad_sig': {
      const input = `${es.signer.headerSegment}.${jsonSegment(claims())}`;
      const sig = jwsSignature(es.alg, es.keyObject, input);
      sig[(Math.random() * sig.length) | 0] ^= 1 << ((Math.random() * 8) | 0); // still canonical base64url
      return { kind, kid: es.kid, token: `${input}.${sig.toString('base64url')}` };
    }
    case 'forged': // the current kid, signed with a key that was never published
      return { kind, kid: es.kid, token: new JwsSigner('ES256', ROGUE, { typ: 'JWT', kid: es.kid }).sign(claims()) };
    case 'unknown_kid': {
      const kid = `never-published-${randomBytes(6).toString('hex')}`;
      return { kind, kid, token: new JwsSigner('ES256', ROGUE, { typ: 'JWT', kid }).sign(claims()) };
    }
  }
  throw new Error(`unknown token kind ${kind}`);
}
