import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, envoyCheckRequest, reasonOf, upstreamHeaders } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { rsaSigningKey, startOidcProvider, type OidcProvider } from './oidc_provider.js';

// oidc-provider as the issuer of RFC 9068 JWT access tokens: tokens come from its real token endpoint, keys from its
// real discovery document and JWKS, and tokengate checks them over real gRPC.
let provider: OidcProvider;
let tg: RunningTokengate;

const CONFIG = `keys: { cooldown: 0 }
policies:
  - name: orders
    match: { pathPrefixes: ["/orders"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["https://api.example.com"]
      requireTokenType: at+jwt
      requiredClaims: [{ name: scope, separator: " ", values: ["orders:read"] }]
      outputClaimsToHeaders: [{ claim: client_id, header: x-client-id }]
  - name: typ-spelled-as-media-type
    match: { pathPrefixes: ["/media-type"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["https://api.example.com"]
      requireTokenType: application/AT+JWT
  - name: web-ids
    match: { pathPrefixes: ["/web"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["web"]
  - name: web-ids-typed
    match: { pathPrefixes: ["/typed-web"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["web"]
      requireTokenType: at+jwt
`;

beforeAll(async () => {
  const client = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  provider = await startOidcProvider({ introspectionClientJwk: { ...client, kid: 'tokengate' } });
  tg = await startTokengate(CONFIG, { ISSUER: provider.issuer });
});

afterAll(async () => {
  await tg?.stop();
  await provider?.stop();
});

const check = (token: string, path = '/orders') => tg.client.check(envoyCheckRequest({ path, headers: bearer(token) }));
const header = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

describe('oidc-provider JWT access tokens (RFC 9068)', () => {
  it('a token for our resource with the scope is allowed, its client_id forwarded', async () => {
    const token = await provider.clientCredentialsToken({ scope: 'orders:read', resource: 'https://api.example.com' });
    expect(header(token).typ).toBe('at+jwt');
    const res = await check(token);
    expect(res.status?.code).toBe(0);
    expect(upstreamHeaders(res)['x-client-id']).toBe('svc');
  });

  it('a token for another resource server is denied: its aud is not ours (RFC 8725 §3.9)', async () => {
    const token = await provider.clientCredentialsToken({
      scope: 'orders:read',
      resource: 'https://other.example.com',
    });
    const res = await check(token);
    expect(reasonOf(res)).toBe('TokenAudienceNotAllowed');
    expect(res.denied_response?.status?.code).toBe(401);
  });

  it('a token without the required scope is denied 403 insufficient_scope', async () => {
    const token = await provider.clientCredentialsToken({ scope: 'orders:write', resource: 'https://api.example.com' });
    const res = await check(token);
    expect(reasonOf(res)).toBe('TokenClaimValueNotAllowed');
    expect(res.denied_response?.status?.code).toBe(403);
  });

  it('requireTokenType compares typ without case and with the application/ prefix optional (RFC 7515 §4.1.9)', async () => {
    const token = await provider.clientCredentialsToken({ scope: 'orders:read', resource: 'https://api.example.com' });
    expect((await check(token, '/media-type')).status?.code).toBe(0);
  });

  it('an ID token presented as an access token is denied with requireTokenType: at+jwt (RFC 9068 §4)', async () => {
    const idToken = await provider.idToken();
    expect(header(idToken).typ).not.toBe('at+jwt');
    // Without requireTokenType the same ID token passes (its aud is the client): the typ check is what stops it.
    expect((await check(idToken, '/web')).status?.code).toBe(0);
    const res = await check(idToken, '/typed-web');
    expect(reasonOf(res)).toBe('JwtInvalid');
    expect(res.denied_response?.status?.code).toBe(401);
  });

  it('key rotation: a new key is published, then signs, and tokengate follows without a restart', async () => {
    const before = await provider.clientCredentialsToken({ scope: 'orders:read', resource: 'https://api.example.com' });
    expect((await check(before)).status?.code).toBe(0);
    const k1 = rsaSigningKey('k1-replaced');
    const k2 = rsaSigningKey('k2');
    // oidc-provider signs with the first key of its JWKS: k1 keeps signing while k2 is published, then k2 signs.
    provider.useSigningKeys([k1, k2]);
    const stillOld = await provider.clientCredentialsToken({
      scope: 'orders:read',
      resource: 'https://api.example.com',
    });
    expect(header(stillOld).kid).toBe('k1-replaced');
    expect((await check(stillOld)).status?.code).toBe(0);
    provider.useSigningKeys([k2, k1]);
    const rotated = await provider.clientCredentialsToken({
      scope: 'orders:read',
      resource: 'https://api.example.com',
    });
    expect(header(rotated).kid).toBe('k2');
    expect((await check(rotated)).status?.code).toBe(0);
    // A key that is no longer published stops verifying once the JWKS is refetched.
    provider.useSigningKeys([rsaSigningKey('k3'), k2]);
    const third = await provider.clientCredentialsToken({ scope: 'orders:read', resource: 'https://api.example.com' });
    expect((await check(third)).status?.code).toBe(0);
    expect(reasonOf(await check(stillOld))).toBe('TokenSignatureKeyNotFound');
  });
});
