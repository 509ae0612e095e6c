// OpenID Connect development issuer: a real HTTP issuer (discovery, JWKS, token
// endpoint) for the `dev-issuer` demo, for integration tests, which must fetch
// keys over real HTTP, and for the bench and the soak. Faults can be injected per
// route to exercise the sidecar's key-fetching failure handling, and hooks report
// what a caller must time exactly (a key added, a JWKS served).
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { isLoopbackHost } from '../net/loopback.js';
import type { AddressInfo, Socket } from 'node:net';
import { assertSupportedAlgorithm, KeyRing, signJwt, type SigningKey } from './keys.js';
import { applyFault, sendJson, sendMethodNotAllowed, validateFault, type IssuerFault } from './responses.js';
import type { DevIssuer, DevIssuerHooks, DevIssuerOptions, FaultRoute, Route, SignOptions } from './types.js';
import { parseTokenRequest, readTokenParams, TokenRequestError } from './token_request.js';

export type {
  DevIssuer,
  DevIssuerHooks,
  DevIssuerOptions,
  FaultRoute,
  IssuerFault,
  Route,
  SignOptions,
} from './types.js';

const DEFAULT_SUBJECT = 'dev-user';
const DEFAULT_EXPIRES_IN = 3600;

export async function startDevIssuer(options: DevIssuerOptions = {}): Promise<DevIssuer> {
  const issuer = new HttpDevIssuer(options);
  // Sequential so JWKS order and each alg's "current" key are deterministic.
  for (const alg of options.algorithms ?? ['RS256', 'ES256']) await issuer.addKey(alg);
  await issuer.start();
  return issuer;
}

class HttpDevIssuer implements DevIssuer {
  readonly hits = { discovery: 0, jwks: 0, token: 0 };
  readonly #host: string;
  readonly #issuerPath: string;
  readonly #audience: string;
  readonly #cacheMaxAge: number;
  readonly #defaultAlg: string | undefined;
  readonly #hooks: DevIssuerHooks;
  readonly #ring = new KeyRing();
  readonly #faults: Partial<Record<Route, IssuerFault>> = {};
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #port: number;
  #server: Server | undefined;
  #closed = false;

  constructor(options: DevIssuerOptions) {
    this.#host = options.host ?? '127.0.0.1';
    if (!options.allowNonLoopback && !isLoopbackHost(this.#host)) {
      throw new Error(
        `dev issuer: refusing to bind non-loopback host "${this.#host}" because it mints tokens for anyone who asks; ` +
          'use 127.0.0.1, ::1 or localhost, or set allowNonLoopback',
      );
    }
    this.#port = options.port ?? 0;
    if (!Number.isInteger(this.#port) || this.#port < 0 || this.#port > 65535) {
      throw new Error(`dev issuer: invalid port ${String(options.port)}`);
    }
    this.#cacheMaxAge = options.cacheMaxAge ?? 300;
    if (!Number.isInteger(this.#cacheMaxAge) || this.#cacheMaxAge < 0) {
      throw new Error(`dev issuer: cacheMaxAge must be a non-negative integer, got ${String(options.cacheMaxAge)}`);
    }
    this.#issuerPath = (options.issuerPath ?? '').replace(/^\/+|\/+$/g, '');
    // Reject paths the URL parser would rewrite (spaces, "..", "?"), or `iss` and
    // the served routes would silently disagree.
    if (new URL(`http://h/${this.#issuerPath}`).pathname !== `/${this.#issuerPath}`) {
      throw new Error(`dev issuer: issuerPath "${options.issuerPath}" is not a plain URL path`);
    }
    this.#audience = options.defaultAudience ?? 'api://tokengate-demo';
    const algorithms = options.algorithms ?? ['RS256', 'ES256'];
    algorithms.forEach(assertSupportedAlgorithm);
    this.#defaultAlg = algorithms[0];
    this.#hooks = options.hooks ?? {};
  }

  get port(): number {
    return this.#port;
  }

  get issuer(): string {
    return `http://${urlHost(this.#host)}:${this.#port}${this.#issuerPath ? `/${this.#issuerPath}` : ''}`;
  }

  get discoveryUrl(): string {
    return `${this.issuer}/.well-known/openid-configuration`;
  }

  get jwksUri(): string {
    return `${this.issuer}/keys`;
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/token`;
  }

  keys(): { kid: string; alg: string }[] {
    return this.#ring.published().map(({ kid, alg }) => ({ kid, alg }));
  }

  async addKey(alg: string, kid?: string): Promise<string> {
    return (await this.#ring.add(alg, kid, undefined, this.#keyAdded)).kid;
  }

  async importKey(alg: string, pem: string, kid?: string): Promise<string> {
    return (await this.#ring.add(alg, kid, pem, this.#keyAdded)).kid;
  }

  readonly #keyAdded = (key: SigningKey): void =>
    this.#hooks.keyAdded?.({ kid: key.kid, alg: key.alg, privateKey: key.keyObject, at: Date.now() });

  removeKey(kid: string): void {
    this.#ring.unpublish(kid);
  }

  async sign(claims: Record<string, unknown>, options: SignOptions = {}): Promise<string> {
    const kid = options.kid ?? undefined;
    // With an explicit kid the key decides the alg; the default alg would only conflict.
    const key = this.#ring.pick(options.alg ?? (kid === undefined ? this.#defaultAlg : undefined), kid);
    const now = Math.floor(Date.now() / 1000);
    const payload: Record<string, unknown> = options.noDefaults
      ? { ...claims }
      : {
          iss: this.issuer,
          aud: this.#audience,
          sub: DEFAULT_SUBJECT,
          iat: now,
          nbf: now,
          exp: now + (options.expiresIn ?? DEFAULT_EXPIRES_IN),
          ...claims,
        };
    // `{ nbf: undefined }` in claims is how a caller drops a single default claim.
    for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
    const header = { typ: 'JWT', ...(options.kid === null ? {} : { kid: key.kid }), ...options.header };
    return signJwt(key, payload, header);
  }

  setFault(fault: IssuerFault | undefined, route: FaultRoute = 'all'): void {
    if (fault) validateFault(fault);
    const routes: Route[] = route === 'all' ? ['discovery', 'jwks', 'token'] : [route];
    for (const r of routes) {
      if (fault) this.#faults[r] = fault;
      else delete this.#faults[r];
    }
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error('dev issuer: already closed');
    if (this.#server) return;
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#server = server;
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // Reuse the first bound port so restarts keep issuer/jwks_uri stable.
        server.listen(this.#port, this.#host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.#server = undefined;
      throw err;
    }
    // Once listening, errors concern single connections; never crash the host process.
    server.on('error', () => {});
    this.#port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Drop keep-alive and hung connections now, so "issuer down" is immediate and
    // open sockets cannot keep the process (or a test run) alive.
    server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.stop();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.#route(req, res);
    } catch (err) {
      if (err instanceof TokenRequestError) {
        sendJson(res, err.status, { error: 'invalid_request', error_description: err.message }, 'no-store');
      } else {
        sendJson(res, 500, { error: 'server_error', error_description: String(err) }, 'no-store');
      }
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Split the raw target instead of `new URL(req.url, base)`: "//x/keys" must not
    // be read as host "x" plus path "/keys".
    const target = req.url ?? '/';
    const queryStart = target.indexOf('?');
    const path = queryStart === -1 ? target : target.slice(0, queryStart);
    const query = queryStart === -1 ? '' : target.slice(queryStart + 1);

    const route = this.#routeFor(path);
    if (!route) {
      sendJson(res, 404, { error: 'not_found', error_description: `no route for ${path}` }, 'no-store');
      return;
    }
    this.hits[route]++;

    const hooked = this.#hooks.fault?.(route);
    if (hooked) validateFault(hooked);
    const fault = hooked ?? this.#faults[route];
    if (fault) {
      if (fault.kind === 'delay') await this.#sleep(fault.ms);
      else return applyFault(fault, res);
    }

    const method = req.method ?? 'GET';
    if (route === 'token') {
      if (method !== 'GET' && method !== 'POST') return sendMethodNotAllowed(res, 'GET, POST');
      const params = await readTokenParams(req, query);
      const published = [...new Set(this.keys().map((k) => k.alg))];
      const request = parseTokenRequest(params, published);
      const expiresIn = request.expiresIn ?? DEFAULT_EXPIRES_IN;
      const token = await this.sign(request.claims, { alg: request.alg, expiresIn });
      sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: expiresIn }, 'no-store');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') return sendMethodNotAllowed(res, 'GET, HEAD');
    const cacheControl = `public, max-age=${this.#cacheMaxAge}`;
    if (route === 'discovery') return sendJson(res, 200, this.#discovery(), cacheControl);
    const jwks = this.#ring.jwks();
    this.#hooks.jwksServed?.({ kids: jwks.keys.map((k) => k.kid!), at: Date.now() });
    sendJson(res, 200, jwks, cacheControl);
  }

  #routeFor(path: string): Route | undefined {
    if (path === new URL(this.discoveryUrl).pathname) return 'discovery';
    if (path === new URL(this.jwksUri).pathname) return 'jwks';
    if (path === new URL(this.tokenEndpoint).pathname) return 'token';
    return undefined;
  }

  #discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: this.jwksUri,
      token_endpoint: this.tokenEndpoint,
      response_types_supported: ['token'],
      grant_types_supported: ['client_credentials'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [...new Set(this.keys().map((k) => k.alg))],
      token_endpoint_auth_methods_supported: ['none'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'scp', 'roles'],
    };
  }

  // Tracked so stop() can cancel pending delays instead of answering after "shutdown".
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }
}

function urlHost(host: string): string {
  // An unspecified bind address is not something a client can connect to.
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}
