import { createHash, generateKeyPairSync, randomBytes, type JsonWebKey } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * oidc-provider (the certified Node.js OpenID Connect / OAuth 2.0 server, a real third party) in this process on a
 * loopback port, set up as an issuer tokengate meets in production:
 * - `svc`: a client_credentials client. With the resource indicator `https://api.example.com` (or
 *   `https://other.example.com`) it gets an RFC 9068 JWT access token (`typ: at+jwt`); with
 *   `https://opaque.example.com` an opaque token with that audience; with no resource an opaque token with none.
 * - `web`: an authorization code client, whose ID tokens tests present as access tokens.
 * - `tokengate-basic`, `tokengate-post`, `tokengate-jwt`: tokengate's own clients at the introspection endpoint,
 *   one per client authentication method (oidc-provider insists on the registered one).
 * The HTTP server in front counts requests to the introspection endpoint, so tests can count calls where they land.
 */
export interface OidcProvider {
  readonly issuer: string;
  readonly introspectionEndpoint: string;
  readonly port: number;
  /** Requests that reached the introspection endpoint so far. */
  introspectionCalls(): number;
  /** A token from the real token endpoint (client_credentials grant). */
  clientCredentialsToken(options: { scope: string; resource?: string }): Promise<string>;
  /** An ID token from the real authorization code flow (login and consent completed by the test's interaction). */
  idToken(): Promise<string>;
  /** Serve these signing keys from now on, the first one signing (oidc-provider's own rotation: JWKS order). */
  useSigningKeys(keys: readonly JsonWebKey[]): void;
  /** Stop answering: the port is closed, open connections too. */
  stop(): Promise<void>;
}

export const SVC_SECRET = 'svc-secret-not-used-in-production';
export const INTROSPECTION_SECRET = 'introspection secret: with spaces & symbols';
export const WEB_REDIRECT = 'https://app.example.com/callback';

export interface ProviderOptions {
  /** The public JWK tokengate-jwt authenticates with (private_key_jwt). */
  readonly introspectionClientJwk: JsonWebKey;
}

export function rsaSigningKey(kid: string): JsonWebKey {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

const RESOURCES: Readonly<Record<string, 'jwt' | 'opaque'>> = {
  'https://api.example.com': 'jwt',
  'https://other.example.com': 'jwt',
  'https://opaque.example.com': 'opaque',
};

export async function startOidcProvider(options: ProviderOptions): Promise<OidcProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;
  let calls = 0;
  let provider = new Provider(issuer, configuration([rsaSigningKey('k1')], options));
  let handle = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/token/introspection')) calls += 1;
    if (req.url?.startsWith('/interaction/')) void finishInteraction(provider, req, res);
    else handle(req, res);
  });
  const tokenRequest = async (body: Record<string, string>, auth: string) => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(body).toString(),
    });
    const json = (await res.json()) as Record<string, string>;
    if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    issuer,
    port,
    introspectionEndpoint: `${issuer}/token/introspection`,
    introspectionCalls: () => calls,
    async clientCredentialsToken({ scope, resource }) {
      const body = { grant_type: 'client_credentials', scope, ...(resource ? { resource } : {}) };
      return (await tokenRequest(body, basic('svc', SVC_SECRET))).access_token!;
    },
    async idToken() {
      const code = await authorizationCode(issuer);
      const body = {
        grant_type: 'authorization_code',
        code: code.code,
        redirect_uri: WEB_REDIRECT,
        code_verifier: code.verifier,
      };
      return (await tokenRequest(body, basic('web', 'web-secret'))).id_token!;
    },
    useSigningKeys(keys) {
      // oidc-provider reads its keys at construction: a new instance (its in-memory store is shared) takes over.
      provider = new Provider(issuer, configuration(keys, options));
      handle = provider.callback();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function configuration(keys: readonly JsonWebKey[], options: ProviderOptions): Record<string, unknown> {
  const none = { grant_types: [], response_types: [], redirect_uris: [] };
  return {
    clients: [
      {
        client_id: 'svc',
        client_secret: SVC_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: 'web',
        client_secret: 'web-secret',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [WEB_REDIRECT],
      },
      {
        client_id: 'tokengate-basic',
        client_secret: INTROSPECTION_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        ...none,
      },
      {
        client_id: 'tokengate-post',
        client_secret: INTROSPECTION_SECRET,
        token_endpoint_auth_method: 'client_secret_post',
        ...none,
      },
      {
        client_id: 'tokengate-jwt',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [options.introspectionClientJwk] },
        ...none,
      },
    ],
    jwks: { keys },
    scopes: ['openid', 'orders:read', 'orders:write'],
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Grant: 600,
      Interaction: 600,
      Session: 600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // tokengate's clients are resource servers: they may read any token's answer.
        allowedPolicy: () => true,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          const format = RESOURCES[resource];
          if (!format) throw new Error(`unknown resource ${resource}`);
          return {
            scope: 'orders:read orders:write',
            audience: resource,
            accessTokenFormat: format,
            accessTokenTTL: 600,
          };
        },
      },
    },
  };
}

/** Login and consent for the `web` client, as an interaction page would finish them. */
async function finishInteraction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const details = await provider.interactionDetails(req, res);
    const grant = new provider.Grant({ accountId: 'alice', clientId: String(details.params.client_id) });
    grant.addOIDCScope('openid');
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: 'alice' }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err));
  }
}

/** The authorization code flow by hand: follow redirects with the provider's cookies until the code comes back. */
async function authorizationCode(issuer: string): Promise<{ code: string; verifier: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({
    client_id: 'web',
    response_type: 'code',
    scope: 'openid',
    redirect_uri: WEB_REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const jar = new Map<string, string>();
  let url = `${issuer}/auth?${query}`;
  for (let hop = 0; hop < 6; hop++) {
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (!location) throw new Error(`authorization flow stopped with HTTP ${res.status} at ${url}`);
    const next = new URL(location, url);
    if (next.href.startsWith(WEB_REDIRECT)) {
      const code = next.searchParams.get('code');
      if (!code) throw new Error(`no code in the redirect: ${next.search}`);
      return { code, verifier };
    }
    url = next.href;
  }
  throw new Error('authorization flow did not finish in 6 redirects');
}
