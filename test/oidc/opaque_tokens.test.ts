import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, envoyCheckRequest, reasonOf, responseHeader, upstreamHeaders } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { INTROSPECTION_SECRET, startOidcProvider, type OidcProvider } from './oidc_provider.js';

// Opaque tokens from oidc-provider's real token endpoint, judged by its real introspection endpoint (RFC 7662) with
// each client authentication method tokengate supports.
let provider: OidcProvider;
let tg: RunningTokengate;
let dir: string;

function policy(name: string, client: string, auth: string, extra = ''): string {
  return `  - name: ${name}
    match: { pathPrefixes: ["/${name}/"] }
    validateJwt:
      issuers: ["\${ISSUER}"]
      audiences: []
      requiredClaims: [{ name: scope, separator: " ", values: ["orders:read"] }]
      outputClaimsToHeaders: [{ claim: client_id, header: x-client-id }, { claim: scope, header: x-scope }]
      introspection:
        endpoint: "\${ISSUER}/token/introspection"
        clientId: ${client}
        ${auth}
${extra}`;
}

const CONFIG = `server:
  grpc: { address: "127.0.0.1:0" }
  http: { address: "127.0.0.1:0" }
  checkDeadlineMs: 5000
policies:
${policy('basic', 'tokengate-basic', 'clientSecretFile: "${DIR}/secret"')}
${policy('post', 'tokengate-post', 'clientSecretFile: "${DIR}/secret"\n        clientAuthMethod: client_secret_post')}
${policy('jwt', 'tokengate-jwt', 'privateKeyJwt: { keyFile: "${DIR}/client-key.pem" }')}
${policy('wrong-secret', 'tokengate-basic', 'clientSecretFile: "${DIR}/wrong-secret"')}
  - name: discovered
    match: { pathPrefixes: ["/discovered/"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: []
      introspection:
        clientId: tokengate-basic
        clientSecretFile: "\${DIR}/secret"
  - name: audience
    match: { pathPrefixes: ["/audience/"] }
    validateJwt:
      issuers: ["\${ISSUER}"]
      audiences: ["https://opaque.example.com"]
      introspection:
        endpoint: "\${ISSUER}/token/introspection"
        clientId: tokengate-post
        clientSecretFile: "\${DIR}/secret"
        clientAuthMethod: client_secret_post
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tokengate-opaque-'));
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'client-key.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(join(dir, 'secret'), `${INTROSPECTION_SECRET}\n`);
  writeFileSync(join(dir, 'wrong-secret'), 'not the secret\n');
  provider = await startOidcProvider({ introspectionClientJwk: pair.publicKey.export({ format: 'jwk' }) });
  tg = await startTokengate(CONFIG, { ISSUER: provider.issuer, DIR: dir });
});

afterAll(async () => {
  await tg?.stop();
  await provider?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const check = (token: string, path: string) => tg.client.check(envoyCheckRequest({ path, headers: bearer(token) }));
/** A sample's value from tokengate's own registry (`sample` names a histogram's _count or _sum). */
async function metric(name: string, labels: Record<string, string>, sample = name): Promise<number> {
  const values = (await tg.app.metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
  const found = values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === sample &&
      Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  return found?.value ?? NaN;
}

const opaque = (scope = 'orders:read') => provider.clientCredentialsToken({ scope });

describe('opaque tokens from oidc-provider, by introspection (RFC 7662)', () => {
  for (const [path, method] of [
    ['/basic/orders', 'client_secret_basic'],
    ['/post/orders', 'client_secret_post'],
    ['/jwt/orders', 'private_key_jwt (RFC 7523)'],
  ] as const) {
    it(`${method}: an active token is allowed, its answer's claims checked and forwarded like a JWT's`, async () => {
      const token = await opaque();
      expect(token.includes('.')).toBe(false);
      const before = provider.introspectionCalls();
      const res = await check(token, path);
      expect(res.status?.code).toBe(0);
      expect(upstreamHeaders(res)).toMatchObject({ 'x-client-id': 'svc', 'x-scope': 'orders:read' });
      expect(provider.introspectionCalls()).toBe(before + 1);
    });
  }

  it("without an endpoint, the one the issuer's discovery document names (RFC 8414 §2) is used", async () => {
    const before = provider.introspectionCalls();
    const res = await check(await opaque(), '/discovered/orders');
    expect(res.status?.code).toBe(0);
    expect(provider.introspectionCalls()).toBe(before + 1);
  });

  it('a token the provider does not know is active: false: 401 invalid_token TokenInactive', async () => {
    const res = await check('NotATokenTheProviderIssued0123456789abcdefgh', '/basic/orders');
    expect(reasonOf(res)).toBe('TokenInactive');
    expect(res.denied_response?.status?.code).toBe(401);
    expect(responseHeader(res, 'www-authenticate')).toBe('Bearer error="invalid_token"');
  });

  it('an active token without the required scope is denied 403, as a JWT would be', async () => {
    const res = await check(await opaque('orders:write'), '/basic/orders');
    expect(reasonOf(res)).toBe('TokenClaimValueNotAllowed');
    expect(res.denied_response?.status?.code).toBe(403);
  });

  it("the answer's aud goes through the audience check: a token for the resource passes, one without aud does not", async () => {
    const forUs = await provider.clientCredentialsToken({
      scope: 'orders:read',
      resource: 'https://opaque.example.com',
    });
    expect((await check(forUs, '/audience/orders')).status?.code).toBe(0);
    expect(reasonOf(await check(await opaque(), '/audience/orders'))).toBe('TokenAudienceNotAllowed');
  });

  it('the endpoint refusing our client authentication fails closed (503 IntrospectionUnavailable), never an allow', async () => {
    const res = await check(await opaque(), '/wrong-secret/orders');
    expect(reasonOf(res)).toBe('IntrospectionUnavailable');
    expect(res.denied_response?.status?.code).toBe(503);
  });

  it('a cached answer serves the next checks without a call', async () => {
    const token = await opaque();
    const before = provider.introspectionCalls();
    for (let i = 0; i < 5; i++) expect((await check(token, '/post/orders')).status?.code).toBe(0);
    expect(provider.introspectionCalls()).toBe(before + 1);
  });

  it('1,000 concurrent checks of one new token make one introspection call; metrics count calls, hits, misses', async () => {
    const token = await opaque();
    const before = provider.introspectionCalls();
    const results = await Promise.all(Array.from({ length: 1000 }, () => check(token, '/jwt/orders')));
    expect(results.filter((r) => r.status?.code === 0)).toHaveLength(1000);
    expect(provider.introspectionCalls()).toBe(before + 1);
    expect((await check(token, '/jwt/orders')).status?.code).toBe(0);
    expect(provider.introspectionCalls()).toBe(before + 1);

    const endpoint = `${provider.issuer}/token/introspection`;
    expect(await metric('tokengate_introspection_calls_total', { endpoint, result: 'active' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      await metric('tokengate_introspection_calls_total', { endpoint, result: 'client_auth' }),
    ).toBeGreaterThanOrEqual(1);
    // Checks that arrived while the call was in flight missed and waited for it; later ones hit the cache.
    const misses = await metric('tokengate_introspection_cache_misses_total', { endpoint });
    const hits = await metric('tokengate_introspection_cache_hits_total', { endpoint });
    expect(misses).toBeGreaterThanOrEqual(1);
    expect(hits).toBeGreaterThanOrEqual(1);
    expect(misses + hits).toBeGreaterThanOrEqual(1001);
    const latency = 'tokengate_introspection_duration_seconds';
    expect(await metric(latency, { endpoint }, `${latency}_count`)).toBeGreaterThanOrEqual(1);
  });

  it('neither a token nor the secret is ever logged', async () => {
    const token = await opaque();
    await check(token, '/basic/orders');
    await check(token, '/wrong-secret/orders');
    expect(tg.rawLog()).not.toContain(token);
    expect(tg.rawLog()).not.toContain(INTROSPECTION_SECRET);
    expect(tg.rawLog()).not.toContain('not the secret');
  });
});
