#!/usr/bin/env node
// What introspection (RFC 7662) costs a check, in one process, against oidc-provider on loopback (issue 19 §3):
//   1. a cached introspection hit against a cached JWT: µs per authorize() call, and their ratio;
//   2. a miss: authorize() of a token never seen (one call to the introspection endpoint) against the same POST made
//      directly with the same HTTP client, on other fresh tokens, interleaved: the difference is tokengate's own time beyond the
//      round trip (hashing, form and client authentication, parsing, caching, the claim checks).
//
//   npm run build && node bench/introspection_cost.mjs [--n 20000] [--rounds 5] [--misses 300]
//
// oidc-provider runs in this process, so its own work counts in both halves of (2) alike; absolute µs move with the
// machine, the ratio and the difference are the figures.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    misses: { type: 'string', default: '300' },
  },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const MISSES = Number(values.misses);

const dist = (p) => import(join(ROOT, 'dist', p));
const { authorize } = await dist('authz/authorize.js');
const { buildRuntime, startRuntime, retireRuntime } = await dist('authz/runtime.js');
const { parseConfigText } = await dist('config/load.js');
const { default: Provider } = await import('oidc-provider');
const { httpRequest } = await import(join(ROOT, 'dist', 'net', 'http_request.js'));

// oidc-provider: a client_credentials client, tokengate's introspection client, one resource server for JWTs.
const SECRET = 'bench-introspection-secret';
const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const signing = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
const none = { grant_types: [], response_types: [], redirect_uris: [] };
const provider = new Provider(issuer, {
  clients: [
    { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    { client_id: 'tokengate', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', ...none },
  ],
  jwks: { keys: [signing] },
  scopes: ['orders:read'],
  ttl: { AccessToken: 3600, ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'orders:read', audience: 'https://api.example.com', accessTokenFormat: 'jwt' }),
    },
  },
});
server.on('request', provider.callback());

const svc = `Basic ${Buffer.from('svc:svc-secret').toString('base64')}`;
async function token(resource) {
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: 'orders:read', ...(resource ? { resource } : {}) });
  const res = await fetch(`${issuer}/token`, { method: 'POST', headers: { authorization: svc }, body });
  return (await res.json()).access_token;
}

const dir = mkdtempSync(join(tmpdir(), 'tokengate-bench-introspection-'));
writeFileSync(join(dir, 'secret'), SECRET);
const runtime = buildRuntime(
  parseConfigText(`
server: { grpc: { address: "127.0.0.1:0" } }
policies:
  - name: jwt
    match: { pathPrefixes: ["/jwt/"] }
    validateJwt:
      openidConfig: [{ url: "${issuer}/.well-known/openid-configuration" }]
      audiences: ["https://api.example.com"]
      requiredClaims: [{ name: scope, separator: " ", values: ["orders:read"] }]
  - name: opaque
    match: { pathPrefixes: ["/opaque/"] }
    validateJwt:
      issuers: ["${issuer}"]
      audiences: []
      requiredClaims: [{ name: scope, separator: " ", values: ["orders:read"] }]
      introspection:
        endpoint: "${issuer}/token/introspection"
        clientId: tokengate
        clientSecretFile: "${dir}/secret"
        cacheSeconds: 3600
`),
);
startRuntime(runtime);
await Promise.all([...runtime.sources.values()].map((s) => s.firstFetch()));

const request = (path, token) => ({
  method: 'GET',
  host: 'api.example.com',
  path,
  headers: { authorization: `Bearer ${token}` },
  requestId: undefined,
  contextExtensions: {},
});
const OPTIONS = { deadlineMs: 5000 };
async function mustAllow(req) {
  const decision = await authorize(req, runtime, OPTIONS);
  if (!decision.allowed) throw new Error(`denied: ${decision.reason} ${decision.detail}`);
}

// 1. Cached hits: both tokens verified (JWT admitted to the token cache on its second verification) before timing.
const jwtReq = request('/jwt/orders', await token('https://api.example.com'));
const opaqueReq = request('/opaque/orders', await token());
for (let i = 0; i < 3; i++) {
  await mustAllow(jwtReq);
  await mustAllow(opaqueReq);
}
async function perCheckMicros(req) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await authorize(req, runtime, OPTIONS);
  return Number(process.hrtime.bigint() - start) / 1e3 / N;
}
const jwtRounds = [];
const opaqueRounds = [];
for (let r = 0; r < ROUNDS; r++) {
  jwtRounds.push(await perCheckMicros(jwtReq));
  opaqueRounds.push(await perCheckMicros(opaqueReq));
}

// 2. Misses: fresh tokens, interleaving a direct POST (the round trip alone) and a check that must make the call.
const fresh = [];
for (let i = 0; i < 2 * MISSES + 20; i++) fresh.push(await token());
const basic = `Basic ${Buffer.from(`tokengate:${SECRET}`).toString('base64')}`;
async function directPost(t) {
  const start = process.hrtime.bigint();
  // The client tokengate's introspection calls use (src/net/http_request.ts), so the difference is tokengate's own work.
  const res = await httpRequest(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ token: t, token_type_hint: 'access_token' }).toString(),
    timeoutMs: 5000,
    maxBytes: 256 * 1024,
  });
  const body = JSON.parse(res.text);
  if (body.active !== true) throw new Error('direct introspection: not active');
  return Number(process.hrtime.bigint() - start) / 1e3;
}
async function missCheck(t) {
  const start = process.hrtime.bigint();
  await mustAllow(request('/opaque/orders', t));
  return Number(process.hrtime.bigint() - start) / 1e3;
}
for (let i = 0; i < 10; i++) {
  await directPost(fresh.pop());
  await missCheck(fresh.pop());
}
const direct = [];
const misses = [];
for (let i = 0; i < MISSES; i++) {
  direct.push(await directPost(fresh.pop()));
  misses.push(await missCheck(fresh.pop()));
}

retireRuntime(runtime, undefined);
server.close();
server.closeAllConnections();
rmSync(dir, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x) => x.toFixed(1);
const jwtHit = median(jwtRounds);
const opaqueHit = median(opaqueRounds);
const roundTrip = median(direct);
const miss = median(misses);
console.log(`node ${process.version}, ${N} checks x ${ROUNDS} rounds, ${MISSES} misses, oidc-provider in-process on loopback`);
console.log(`cached JWT (RS256, token cache hit):     ${fmt(jwtHit)} µs per authorize()`);
console.log(`cached introspection hit:                ${fmt(opaqueHit)} µs per authorize()`);
console.log(`ratio JWT hit / introspection hit:       ${(jwtHit / opaqueHit).toFixed(2)} (1.00 = as cheap; above 1 = cheaper)`);
console.log(`miss: authorize() with one call:         ${fmt(miss)} µs (median)`);
console.log(`round trip alone (the same client and POST): ${fmt(roundTrip)} µs (median)`);
console.log(`miss's own time beyond the round trip:   ${fmt(miss - roundTrip)} µs`);
