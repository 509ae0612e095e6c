import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envoyCheckRequest, reasonOf, responseHeader } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { waitFor } from '../helpers/wait.js';
import { startDpopProvider, type DpopProvider } from './dpop_provider.js';
import { dpopProof, es256Key, type ProofKey } from './proofs.js';

// RFC 9449 through tokengate over real gRPC, with access tokens that oidc-provider really issues: a DPoP proof at its
// token endpoint binds the token to the proof's key (cnf.jkt). Each rule of §4.3 is broken once, alone.
let provider: DpopProvider;
let tg: RunningTokengate;
let key: ProofKey;
let bound: string;
let unbound: string;
const proofsSent: string[] = [];

const VALIDATE = `validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["https://api.example.com"]`;

const CONFIG = `keys: { cooldown: 0 }
policies:
  - name: orders
    match: { pathPrefixes: ["/orders"] }
    ${VALIDATE}
    dpop: { algorithms: [ES256, PS256] }
  - name: strict
    match: { pathPrefixes: ["/strict"] }
    ${VALIDATE}
    dpop: { required: true, algorithms: [ES256] }
  - name: plain
    match: { pathPrefixes: ["/plain"] }
    ${VALIDATE}
  - name: behind-tls-proxy
    match: { pathPrefixes: ["/behind"] }
    ${VALIDATE}
    dpop: { externalOrigin: "https://api.example.com" }
`;

beforeAll(async () => {
  provider = await startDpopProvider();
  tg = await startTokengate(CONFIG, { ISSUER: provider.issuer });
  key = await es256Key();
  const issued = await provider.token(key);
  expect(issued.tokenType).toBe('DPoP');
  bound = issued.accessToken;
  unbound = (await provider.token(undefined)).accessToken;
});

afterAll(async () => {
  await tg?.stop();
  await provider?.stop();
});

interface Sent {
  method?: string;
  path?: string;
  authorization: string;
  dpop?: string;
}

/** One check; returns the response and the decision's log line (its detail), found by a fresh request id. */
async function check(sent: Sent) {
  const requestId = randomUUID();
  const headers: Record<string, string> = { authorization: sent.authorization, 'x-request-id': requestId };
  if (sent.dpop !== undefined) headers.dpop = sent.dpop;
  if (sent.dpop !== undefined) proofsSent.push(sent.dpop);
  const res = await tg.client.check(envoyCheckRequest({ method: sent.method, path: sent.path, headers }));
  const line = await waitFor(
    'the decision log line',
    () => tg.logs.find((l) => l.requestId === requestId && l.msg === 'check'),
    {
      timeoutMs: 5000,
    },
  );
  return { res, reason: reasonOf(res), detail: String(line.detail ?? ''), status: res.denied_response?.status?.code };
}

const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { cnf?: { jkt?: string } };

describe('DPoP proofs (RFC 9449) with tokens from oidc-provider', () => {
  it('the issued token is bound to the key: cnf.jkt is its RFC 7638 thumbprint', () => {
    expect(claims(bound).cnf?.jkt).toBe(key.thumbprint);
    expect(claims(unbound).cnf).toBeUndefined();
  });

  it('a valid proof is allowed', async () => {
    const { res } = await check({ authorization: `DPoP ${bound}`, dpop: dpopProof(key, { token: bound }) });
    expect(res.status?.code).toBe(0);
  });

  it('htu is compared without query and fragment, after normalisation (RFC 9449 §4.3, RFC 3986 §6.2)', async () => {
    const proof = dpopProof(key, { token: bound, htu: 'HTTP://API.Example.com:80/orders/./a%7e#frag' });
    const { res } = await check({ path: '/orders/a~?page=2', authorization: `DPoP ${bound}`, dpop: proof });
    expect(res.status?.code).toBe(0);
  });

  it('wrong method: denied invalid_dpop_proof, with the DPoP challenge naming the algorithms', async () => {
    const proof = dpopProof(key, { token: bound, htm: 'POST' });
    const { res, reason, detail, status } = await check({ authorization: `DPoP ${bound}`, dpop: proof });
    expect(reason).toBe('DpopProofInvalid');
    expect(status).toBe(401);
    expect(detail).toContain('htm');
    expect(responseHeader(res, 'www-authenticate')).toBe('DPoP error="invalid_dpop_proof", algs="ES256 PS256"');
  });

  it('wrong URI (path, then scheme) is denied', async () => {
    for (const htu of ['http://api.example.com/orders/other', 'https://api.example.com/orders']) {
      const proof = dpopProof(key, { token: bound, htu });
      const { reason, detail } = await check({ authorization: `DPoP ${bound}`, dpop: proof });
      expect(reason).toBe('DpopProofInvalid');
      expect(detail).toContain('htu');
    }
  });

  it('a stale iat (61 s back) and one too far ahead (6 s) are denied; the defaults are 60 s and 5 s', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const [iat, words] of [
      [now - 62, 'too old'],
      [now + 7, 'in the future'],
    ] as const) {
      const { reason, detail } = await check({
        authorization: `DPoP ${bound}`,
        dpop: dpopProof(key, { token: bound, iat }),
      });
      expect(reason).toBe('DpopProofInvalid');
      expect(detail).toContain(words);
    }
    const { res } = await check({
      authorization: `DPoP ${bound}`,
      dpop: dpopProof(key, { token: bound, iat: now - 50 }),
    });
    expect(res.status?.code).toBe(0);
  });

  it('a replayed jti is denied: the second use of the same proof', async () => {
    const proof = dpopProof(key, { token: bound });
    expect((await check({ authorization: `DPoP ${bound}`, dpop: proof })).res.status?.code).toBe(0);
    const again = await check({ authorization: `DPoP ${bound}`, dpop: proof });
    expect(again.reason).toBe('DpopProofReplayed');
    expect(responseHeader(again.res, 'www-authenticate')).toContain('error="invalid_dpop_proof"');
  });

  it('a wrong ath (the hash of another token) is denied, as is a proof without ath', async () => {
    for (const proof of [dpopProof(key, { token: unbound }), dpopProof(key, {})]) {
      const { reason, detail } = await check({ authorization: `DPoP ${bound}`, dpop: proof });
      expect(reason).toBe('DpopProofInvalid');
      expect(detail).toContain('ath');
    }
  });

  it('a proof by another key than cnf.jkt names is denied DpopBindingMismatch', async () => {
    const other = await es256Key();
    const { reason, res } = await check({ authorization: `DPoP ${bound}`, dpop: dpopProof(other, { token: bound }) });
    expect(reason).toBe('DpopBindingMismatch');
    expect(responseHeader(res, 'www-authenticate')).toBe('DPoP error="invalid_token", algs="ES256 PS256"');
  });

  it('a private key in the jwk header is refused, though the signature verifies with it', async () => {
    const privateJwk = key.privateKey.export({ format: 'jwk' });
    const proof = dpopProof(key, { token: bound, header: { jwk: privateJwk } });
    const { reason, detail } = await check({ authorization: `DPoP ${bound}`, dpop: proof });
    expect(reason).toBe('DpopProofInvalid');
    expect(detail).toContain('private key');
  });

  it('an HS256 proof is refused: a MAC is not a proof of possession (RFC 9449 §4.2)', async () => {
    const secret = Buffer.alloc(32, 7);
    const proof = dpopProof(key, {
      token: bound,
      hmacSecret: secret,
      header: { jwk: { kty: 'oct', k: secret.toString('base64url') } },
    });
    const { reason, detail } = await check({ authorization: `DPoP ${bound}`, dpop: proof });
    expect(reason).toBe('DpopProofInvalid');
    expect(detail).toContain('alg "HS256"');
  });

  it('a proof with another typ, and two DPoP headers (Envoy joins them with a comma), are refused', async () => {
    const typed = dpopProof(key, { token: bound, header: { typ: 'JWT' } });
    expect((await check({ authorization: `DPoP ${bound}`, dpop: typed })).detail).toContain('typ');
    const two = `${dpopProof(key, { token: bound })},${dpopProof(key, { token: bound })}`;
    const { reason, detail } = await check({ authorization: `DPoP ${bound}`, dpop: two });
    expect(reason).toBe('DpopProofInvalid');
    expect(detail).toContain('more than one');
  });

  it('a missing proof is denied', async () => {
    const { reason, detail } = await check({ authorization: `DPoP ${bound}` });
    expect(reason).toBe('DpopProofInvalid');
    expect(detail).toContain('no DPoP header');
  });

  it('the bound token sent as Bearer is denied (RFC 9449 §7.2: never downgraded), with or without dpop in the policy', async () => {
    const asBearer = await check({ authorization: `Bearer ${bound}` });
    expect(asBearer.reason).toBe('DpopBindingMismatch');
    expect(asBearer.detail).toContain('Bearer');
    const plain = await check({ path: '/plain', authorization: `Bearer ${bound}` });
    expect(plain.reason).toBe('DpopBindingMismatch');
    expect(responseHeader(plain.res, 'www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('required: false lets an unbound Bearer token through; required: true does not', async () => {
    expect((await check({ authorization: `Bearer ${unbound}` })).res.status?.code).toBe(0);
    const strict = await check({ path: '/strict', authorization: `Bearer ${unbound}` });
    expect(strict.reason).toBe('DpopBindingMismatch');
    expect(responseHeader(strict.res, 'www-authenticate')).toBe('DPoP error="invalid_token", algs="ES256"');
  });

  it('a proof beside a Bearer token is refused (stricter than RFC 9449, which leaves it open: never ignored)', async () => {
    const proof = dpopProof(key, { token: unbound });
    const { reason, detail } = await check({ authorization: `Bearer ${unbound}`, dpop: proof });
    expect(reason).toBe('DpopProofInvalid');
    expect(detail).toContain('a DPoP header came with a Bearer token');
  });

  it('the DPoP scheme with an unbound token is refused, and a missing token gets both challenges', async () => {
    const proof = dpopProof(key, { token: unbound });
    expect((await check({ authorization: `DPoP ${unbound}`, dpop: proof })).reason).toBe('DpopBindingMismatch');
    const none = await check({ authorization: '' });
    expect(none.reason).toBe('TokenNotPresent');
    expect(responseHeader(none.res, 'www-authenticate')).toBe('Bearer, DPoP algs="ES256 PS256"');
  });

  it('behind a proxy that ended TLS, externalOrigin is the origin the client signed, not the one Envoy saw', async () => {
    // Envoy saw http://api.example.com (envoyCheckRequest's scheme); the client addressed https://api.example.com.
    const signed = dpopProof(key, { token: bound, htu: 'https://api.example.com/behind/1' });
    expect((await check({ path: '/behind/1', authorization: `DPoP ${bound}`, dpop: signed })).res.status?.code).toBe(0);
    const asSeen = dpopProof(key, { token: bound, htu: 'http://api.example.com/behind/1' });
    const { reason, detail } = await check({ path: '/behind/1', authorization: `DPoP ${bound}`, dpop: asSeen });
    expect(reason).toBe('DpopProofInvalid');
    expect(detail).toContain('is not the request URI https://api.example.com/behind/1');
  });

  it('no log line holds the token or a proof', () => {
    const log = tg.rawLog();
    expect(proofsSent.length).toBeGreaterThan(15);
    for (const secret of [bound, unbound]) expect(log).not.toContain(secret.split('.')[2]);
    // Neither a whole proof nor any part of one (its header names the client's public key, its claims the jti).
    for (const proof of proofsSent) for (const part of proof.split(/[.,]/)) expect(log).not.toContain(part);
    expect(log).not.toContain(key.thumbprint);
  });
});
