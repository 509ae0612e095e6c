// `tokengate explain` and `tokengate check` on the DPoP path: a `dpop` header (`--header dpop=PROOF`) sends the token
// as `DPoP <token>` (RFC 9449 §7.1), and the explanation shows the proof's step; without it, a bound token is the
// Bearer downgrade the pipeline refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { parseConfigText } from '../../src/config/load.js';
import { explain } from '../../src/explain.js';
import type { Config } from '../../src/config/types.js';
import { dpopProof, es256Key, type ProofKey } from './proofs.js';

let issuer: DevIssuer;
let config: Config;
let key: ProofKey;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://orders' });
  key = await es256Key();
  config = parseConfigText(`policies:
  - name: orders
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://orders"]
    dpop: { required: true }
`);
});
afterAll(async () => issuer?.close());

const request = (token: string, headers: Record<string, string> = {}) => ({
  token,
  method: 'GET',
  path: '/orders/1?expand=items',
  host: 'api.example.com',
  headers,
  contextExtensions: {},
});

describe('explain with a DPoP proof', () => {
  it('allows a bound token with its proof and shows the dpop step', async () => {
    const token = await issuer.sign({ cnf: { jkt: key.thumbprint } });
    const proof = dpopProof(key, { htu: 'https://api.example.com/orders/1', token });
    const result = await explain(config, request(token, { dpop: proof }));
    expect(result.decision, JSON.stringify(result.steps)).toBe('allow');
    expect(result.steps.find((s) => s.step === 'dpop')).toMatchObject({ ok: true });
  });

  it('denies the same token without a proof: a bound token is never a Bearer token', async () => {
    const token = await issuer.sign({ cnf: { jkt: key.thumbprint } });
    const result = await explain(config, request(token));
    expect(result.decision).toBe('deny');
    expect(result.reason).toMatch(/^Dpop/);
  });
});
