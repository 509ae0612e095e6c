import { X509Certificate, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import Provider from 'oidc-provider';
import type { TestCa, TestCertificate } from '../helpers/certificates.js';

/**
 * oidc-provider issuing certificate-bound access tokens (RFC 8705 §3) for real: features.mTLS with
 * certificateBoundAccessTokens, and a client registered with `tls_client_certificate_bound_access_tokens: true`.
 * The provider's callback is served twice: over plain HTTP on loopback (the issuer URL: discovery, JWKS and
 * introspection, what tokengate reads) and over HTTPS requiring a client certificate from the test CA (the token
 * endpoint the client uses), where getCertificate returns the certificate of that TLS connection.
 */
export interface MtlsProvider {
  readonly issuer: string;
  /** A client_credentials token from the HTTPS token endpoint, the request made with `cert` as client certificate. */
  token(cert: TestCertificate, resource: string): Promise<string>;
  stop(): Promise<void>;
}

export const MTLS_CLIENT_SECRET = 'mtls-client-secret-for-tests-only';
export const MTLS_INTROSPECTION_SECRET = 'mtls-introspection-secret-for-tests-only';
export const JWT_RESOURCE = 'https://api.example.com';
export const OPAQUE_RESOURCE = 'https://opaque.example.com';

export async function startMtlsProvider(ca: TestCa, serverCert: TestCertificate): Promise<MtlsProvider> {
  const http = createServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, configuration());
  const handle = provider.callback();
  http.on('request', (req: IncomingMessage, res: ServerResponse) => handle(req, res));
  const https = createHttpsServer({
    cert: readFileSync(serverCert.certFile),
    key: readFileSync(serverCert.keyFile),
    ca: ca.pem,
    requestCert: true,
    rejectUnauthorized: true,
  });
  https.on('request', (req: IncomingMessage, res: ServerResponse) => handle(req, res));
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const httpsPort = (https.address() as AddressInfo).port;
  return {
    issuer,
    token: (cert, resource) => tokenRequest(httpsPort, ca, cert, resource),
    stop: async () => {
      for (const server of [http, https]) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
    },
  };
}

function tokenRequest(port: number, ca: TestCa, cert: TestCertificate, resource: string): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders:read', resource }).toString();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/token',
        method: 'POST',
        ca: ca.pem,
        cert: readFileSync(cert.certFile),
        key: readFileSync(cert.keyFile),
        // A new TLS session for every request: each token must be bound to the certificate of this request.
        agent: false,
        headers: {
          authorization: `Basic ${Buffer.from(`mtls-svc:${MTLS_CLIENT_SECRET}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const json = JSON.parse(text) as Record<string, string>;
          if (res.statusCode === 200 && json.access_token) resolve(json.access_token);
          else reject(new Error(`token endpoint: ${res.statusCode} ${text}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function signingKey(): JsonWebKey {
  // RS256: oidc-provider's default for ID tokens too, which it checks client metadata against.
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: 'mtls-k1', alg: 'RS256', use: 'sig' };
}

function configuration(): Record<string, unknown> {
  return {
    clients: [
      {
        client_id: 'mtls-svc',
        client_secret: MTLS_CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        tls_client_certificate_bound_access_tokens: true,
      },
      {
        client_id: 'tokengate',
        client_secret: MTLS_INTROSPECTION_SECRET,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: [signingKey()] },
    scopes: ['orders:read'],
    cookies: { keys: ['oidc-provider-mtls-test-cookie-key'] },
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: () => true },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        // The certificate of the TLS connection the request came on; none over the plain HTTP listener.
        getCertificate: (ctx: { socket: TLSSocket }) => {
          const peer = typeof ctx.socket.getPeerCertificate === 'function' ? ctx.socket.getPeerCertificate() : undefined;
          return peer?.raw ? new X509Certificate(peer.raw) : undefined;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => ({
          scope: 'orders:read',
          audience: resource,
          accessTokenFormat: resource === OPAQUE_RESOURCE ? 'opaque' : 'jwt',
          accessTokenTTL: 600,
        }),
      },
    },
  };
}
