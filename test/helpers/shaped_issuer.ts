import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { signJwt } from '../../src/dev_issuer/jws.js';

/**
 * A test issuer that serves discovery documents in the shapes real issuers publish (Auth0's trailing slash, B2C's
 * query, RFC 8414 paths, Entra's v1/v2 and multi-tenant documents), each naming whatever issuer the test says and
 * pointing at a JWKS of its own. Loopback only.
 */
export interface ShapedIssuer {
  readonly origin: string;
  /** Serves `body(origin)` as JSON at `path` (a path with an optional query, matched exactly). */
  route(path: string, body: (origin: string) => unknown): void;
  /** A discovery document at `path` naming `issuer`, with its JWKS at `jwksPath` holding key `kid`. */
  document(
    path: string,
    issuer: (origin: string) => string,
    jwksPath: string,
    kid: string,
    keyIssuer?: string,
  ): Promise<void>;
  /** A JWT signed with key `kid`. */
  sign(kid: string, claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

interface Key {
  readonly privateKey: KeyObject;
  readonly jwk: JWK;
}

export async function startShapedIssuer(): Promise<ShapedIssuer> {
  const routes = new Map<string, (origin: string) => unknown>();
  const keys = new Map<string, Key>();
  const server: Server = createServer((req, res) => {
    const body = routes.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body(origin)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const keyFor = async (kid: string): Promise<Key> => {
    let key = keys.get(kid);
    if (!key) {
      const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
      key = {
        privateKey: pair.privateKey,
        jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' },
      };
      keys.set(kid, key);
    }
    return key;
  };

  return {
    origin,
    route: (path, body) => void routes.set(path, body),
    async document(path, issuer, jwksPath, kid, keyIssuer) {
      const { jwk } = await keyFor(kid);
      routes.set(path, (o) => ({ issuer: issuer(o), jwks_uri: `${o}${jwksPath}` }));
      routes.set(jwksPath, () => ({ keys: [{ ...jwk, ...(keyIssuer ? { issuer: keyIssuer } : {}) }] }));
    },
    async sign(kid, claims) {
      const key = await keyFor(kid);
      const now = Math.floor(Date.now() / 1000);
      return signJwt('RS256', key.privateKey, { kid, typ: 'JWT' }, { iat: now, exp: now + 600, ...claims });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
