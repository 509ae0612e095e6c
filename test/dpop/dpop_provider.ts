import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { rsaSigningKey } from '../oidc/oidc_provider.js';
import { dpopProof, type ProofKey } from './proofs.js';

/**
 * oidc-provider (a real, certified authorization server) issuing DPoP-bound access tokens (RFC 9449 §5): the
 * client_credentials grant with a DPoP proof at the token endpoint yields an RFC 9068 JWT access token whose
 * `cnf.jkt` is the thumbprint of the proof's key, and `token_type: DPoP`.
 */
export interface DpopProvider {
  readonly issuer: string;
  /** A DPoP-bound token for `key`; without a key, a plain bearer token. */
  token(key: ProofKey | undefined): Promise<{ accessToken: string; tokenType: string }>;
  stop(): Promise<void>;
}

export const RESOURCE = 'https://api.example.com';

export async function startDpopProvider(): Promise<DpopProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'svc',
        client_secret: 'svc-secret-not-used-in-production',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [rsaSigningKey('k1')] },
    scopes: ['orders:read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'orders:read', audience: RESOURCE, accessTokenFormat: 'jwt' }),
      },
    },
  });
  const handle = provider.callback();
  server.on('request', handle);
  const basic = `Basic ${Buffer.from('svc:svc-secret-not-used-in-production').toString('base64')}`;
  return {
    issuer,
    async token(key) {
      const headers: Record<string, string> = {
        authorization: basic,
        'content-type': 'application/x-www-form-urlencoded',
      };
      if (key) headers.dpop = dpopProof(key, { htm: 'POST', htu: `${issuer}/token` });
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders:read', resource: RESOURCE }),
      });
      const json = (await res.json()) as Record<string, string>;
      if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(json)}`);
      return { accessToken: json.access_token!, tokenType: json.token_type! };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
