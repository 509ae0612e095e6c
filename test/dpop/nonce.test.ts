import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonceIssuer } from '../../src/dpop/nonce.js';
import { envoyCheckRequest, reasonOf, responseHeader } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { startDpopProvider, type DpopProvider } from './dpop_provider.js';
import { dpopProof, es256Key, type ProofKey } from './proofs.js';

// RFC 9449 §8 server nonces: stateless (an HMAC over a time step), so two tokengate processes ("pods") with the same
// key file accept each other's nonces without sharing anything else.
let provider: DpopProvider;
let pods: RunningTokengate[];
let key: ProofKey;
let token: string;
const nonceKey = randomBytes(32);

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tokengate-dpop-nonce-')), 'nonce.key');
  writeFileSync(file, nonceKey);
  provider = await startDpopProvider();
  const config = `policies:
  - name: orders
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["https://api.example.com"]
    dpop: { required: true, algorithms: [ES256], nonce: { keyFile: "${file}", stepSeconds: 60 } }
`;
  pods = [
    await startTokengate(config, { ISSUER: provider.issuer }),
    await startTokengate(config, { ISSUER: provider.issuer }),
  ];
  key = await es256Key();
  token = (await provider.token(key)).accessToken;
});

afterAll(async () => {
  await Promise.all((pods ?? []).map((p) => p.stop()));
  await provider?.stop();
});

const check = (pod: RunningTokengate, nonce?: string) =>
  pod.client.check(
    envoyCheckRequest({
      headers: {
        authorization: `DPoP ${token}`,
        dpop: dpopProof(key, { token, nonce, jti: randomUUID() }),
      },
    }),
  );

describe('DPoP server nonces (RFC 9449 §8)', () => {
  it('a proof without a nonce gets 401 use_dpop_nonce and a DPoP-Nonce; with it, the retry passes', async () => {
    const first = await check(pods[0]!);
    expect(reasonOf(first)).toBe('DpopNonceRequired');
    expect(first.denied_response?.status?.code).toBe(401);
    expect(responseHeader(first, 'www-authenticate')).toBe('DPoP error="use_dpop_nonce", algs="ES256"');
    const nonce = responseHeader(first, 'dpop-nonce');
    expect(nonce).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    expect((await check(pods[0]!, nonce)).status?.code).toBe(0);
  });

  it('another pod with the same key file accepts the nonce: no shared state', async () => {
    const nonce = responseHeader(await check(pods[0]!), 'dpop-nonce');
    expect((await check(pods[1]!, nonce)).status?.code).toBe(0);
  });

  it('a nonce of the previous step still passes; an older one, or one made with another key, does not', async () => {
    const ours = new NonceIssuer(nonceKey, 60);
    expect((await check(pods[0]!, ours.issue(Date.now() - 60_000))).status?.code).toBe(0);
    const before = ours.issue(Date.now());
    const stale = await check(pods[0]!, ours.issue(Date.now() - 120_000));
    expect(reasonOf(stale)).toBe('DpopNonceRequired');
    // The nonce of the current step (the step may turn between our two readings of the clock).
    expect([before, ours.issue(Date.now())]).toContain(responseHeader(stale, 'dpop-nonce'));
    const forged = new NonceIssuer(randomBytes(32), 60).issue(Date.now());
    expect(reasonOf(await check(pods[0]!, forged))).toBe('DpopNonceRequired');
    const [step, mac] = ours.issue(Date.now()).split('.');
    expect(reasonOf(await check(pods[0]!, `0${step}.${mac}`))).toBe('DpopNonceRequired');
  });

  it('any other DPoP 401 carries a fresh nonce too, so the client need not fail twice', async () => {
    const ours = new NonceIssuer(nonceKey, 60);
    const before = ours.issue(Date.now());
    const res = await pods[0]!.client.check(envoyCheckRequest({ headers: { authorization: `DPoP ${token}` } }));
    expect(reasonOf(res)).toBe('DpopProofInvalid');
    expect([before, ours.issue(Date.now())]).toContain(responseHeader(res, 'dpop-nonce'));
  });
});
