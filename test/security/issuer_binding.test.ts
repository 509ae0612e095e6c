// Issue 15, wrong allows 1 and 2: a key verifies only tokens of the issuer it belongs to (RFC 8725 §3.8, OpenID
// Connect Core §10.1), and a key fetched from the network is never an HMAC secret. Every case goes through the real
// gRPC server with keys fetched over real HTTP. jose's jwtVerify has no notion of key sources: binding keys to issuers
// is tokengate being stricter than the library, on purpose.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { forge, hmacKey, rsaKey } from './helpers/forge.js';
import { configProblems } from '../helpers/config_problems.js';

const AUD = 'api://orders';
const TENANT = '3c1d2f1e-8a4b-4c2d-9e6f-7a8b9c0d1e2f';
const V1_ISSUER = `https://sts.windows.net/${TENANT}/`;

let a: DevIssuer;
let b: DevIssuer;
let entra: DevIssuer;
let jwksServer: Server;
let jwksUrl: string;
let tg: RunningTokengate;
const published = hmacKey('published-oct', randomBytes(32));
const publishedRsa = rsaKey('published-rsa');
const staticSecret = randomBytes(32);
const STATIC_ISS = 'https://static.example.com';
const OCT_ISS = 'https://oct.example.com';

beforeAll(async () => {
  a = await startDevIssuer({ algorithms: ['RS256'], issuerPath: 'realm-a', defaultAudience: AUD });
  b = await startDevIssuer({ algorithms: ['RS256'], issuerPath: 'realm-b', defaultAudience: AUD });
  entra = await startDevIssuer({ algorithms: ['RS256'], issuerPath: `${TENANT}/v2.0`, defaultAudience: AUD });
  // A JWKS that (wrongly) publishes an HMAC secret beside an RSA key.
  const body = JSON.stringify({
    keys: [
      { kty: 'oct', kid: published.kid, k: (published.signing as Buffer).toString('base64url') },
      { ...publishedRsa.jwk, kid: publishedRsa.kid, use: 'sig' },
    ],
  });
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/keys`;

  tg = await startTokengate(
    `
policies:
  - name: two-discovery
    match: { pathPrefixes: ["/two"] }
    validateJwt:
      openidConfig:
        - { url: "\${A}/.well-known/openid-configuration" }
        - { url: "\${B}/.well-known/openid-configuration" }
      audiences: ["${AUD}"]
  - name: explicit-jwks
    match: { pathPrefixes: ["/jwks"] }
    validateJwt:
      jwksUri:
        - { url: "\${A}/keys", issuers: ["\${A}"] }
        - { url: "\${B}/keys", issuers: ["\${B}"] }
      audiences: ["${AUD}"]
      issuers: ["\${A}", "\${B}"]
  - name: static-beside-discovery
    match: { pathPrefixes: ["/static"] }
    validateJwt:
      openidConfig: [{ url: "\${A}/.well-known/openid-configuration" }]
      issuerSigningKeys:
        - { base64: "${staticSecret.toString('base64')}", id: static-hs, issuers: ["${STATIC_ISS}"] }
      audiences: ["${AUD}"]
      issuers: ["\${A}", "${STATIC_ISS}"]
  - name: article
    match: { pathPrefixes: ["/article"] }
    validateJwt:
      openidConfig: [{ url: "\${ENTRA}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
      issuers: ["${V1_ISSUER}", "\${ENTRA}"]
  - name: published-oct
    match: { pathPrefixes: ["/oct"] }
    validateJwt:
      jwksUri: [{ url: "\${JWKS}", issuers: ["${OCT_ISS}"] }]
      issuerSigningKeys:
        - { base64: "${staticSecret.toString('base64')}", id: static-hs, issuers: ["${OCT_ISS}"] }
      audiences: ["${AUD}"]
      issuers: ["${OCT_ISS}"]
`,
    { A: a.issuer, B: b.issuer, ENTRA: entra.issuer, JWKS: jwksUrl },
  );
});

afterAll(async () => {
  await tg?.stop();
  await Promise.all([a?.close(), b?.close(), entra?.close()]);
  await new Promise((resolve) => jwksServer?.close(resolve));
});

async function check(path: string, token: string) {
  const res = await tg.client.check(envoyCheckRequest({ path, headers: bearer(token) }));
  return { code: res.status?.code ?? 0, reason: reasonOf(res) };
}

describe('keys are bound to their issuer (RFC 8725 §3.8)', () => {
  it('two discovery documents: each issuer’s own tokens pass', async () => {
    expect(await check('/two', await a.sign({}))).toEqual({ code: 0, reason: undefined });
    expect(await check('/two', await b.sign({}))).toEqual({ code: 0, reason: undefined });
  });

  it('two discovery documents: B’s key cannot sign as A, with or without kid', async () => {
    const forgedWithKid = await b.sign({ iss: a.issuer });
    const forgedWithoutKid = await b.sign({ iss: a.issuer }, { kid: null });
    expect(await check('/two', forgedWithKid)).toMatchObject({ code: 16, reason: 'TokenSignatureKeyNotFound' });
    // Without a kid, only A's keys are tried, and none of them made this signature.
    expect(await check('/two', forgedWithoutKid)).toMatchObject({ code: 16, reason: 'TokenSignatureInvalid' });
  });

  it('a verdict cached under one issuer is not reused for a policy that binds the key elsewhere', async () => {
    // Allowed for B at /two, then the same token, whose iss is B, presented to a policy where only A's keys...
    const own = await b.sign({});
    expect((await check('/two', own)).code).toBe(0);
    // ...and a forged token verified nowhere stays denied on a second look (no cached allow).
    const forged = await b.sign({ iss: a.issuer });
    expect((await check('/two', forged)).reason).toBe('TokenSignatureKeyNotFound');
    expect((await check('/two', forged)).reason).toBe('TokenSignatureKeyNotFound');
  });

  it('explicit jwksUri bindings: own tokens pass, nothing crossed', async () => {
    expect((await check('/jwks', await a.sign({}))).code).toBe(0);
    expect((await check('/jwks', await b.sign({}))).code).toBe(0);
    expect((await check('/jwks', await a.sign({ iss: b.issuer }))).reason).toBe('TokenSignatureKeyNotFound');
    expect((await check('/jwks', await b.sign({ iss: a.issuer }, { kid: null }))).reason).toBe('TokenSignatureInvalid');
  });

  it('a static key bound to its issuer cannot sign as the discovery issuer, and the reverse', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = (iss: string) => ({ iss, aud: AUD, sub: 'u', iat: now, exp: now + 600 });
    const hs = (iss: string) => forge('HS256', staticSecret, { alg: 'HS256', kid: 'static-hs' }, claims(iss));
    expect((await check('/static', hs(STATIC_ISS))).code).toBe(0);
    expect((await check('/static', hs(a.issuer))).reason).toBe('TokenSignatureKeyNotFound');
    expect((await check('/static', await a.sign({}))).code).toBe(0);
    expect((await check('/static', await a.sign({ iss: STATIC_ISS }))).reason).toBe('TokenSignatureKeyNotFound');
  });

  it('an issuer the policy does not accept at all is named as such', async () => {
    expect((await check('/two', await a.sign({ iss: 'https://elsewhere.example.com' }))).reason).toBe('TokenIssuerNotAllowed');
  });

  it('the article’s policy (v2 document, v1 issuer, one key source) still allows v1 and v2 tokens', async () => {
    expect(await check('/article', await entra.sign({ iss: V1_ISSUER, ver: '1.0' }))).toEqual({ code: 0, reason: undefined });
    expect(await check('/article', await entra.sign({ ver: '2.0' }))).toEqual({ code: 0, reason: undefined });
  });
});

describe('a symmetric key from a remote JWKS never verifies (RFC 8725 §3.1)', () => {
  it('an HS256 token made with the published k is denied, with and without kid; the RSA key still works', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: OCT_ISS, aud: AUD, sub: 'u', iat: now, exp: now + 600 };
    const withKid = forge('HS256', published.signing, { alg: 'HS256', kid: published.kid }, claims);
    const withoutKid = forge('HS256', published.signing, { alg: 'HS256' }, claims);
    expect(await check('/oct', withKid)).toMatchObject({ code: 16 });
    expect(await check('/oct', withoutKid)).toMatchObject({ code: 16, reason: 'TokenSignatureInvalid' });
    const rs = forge('RS256', publishedRsa.signing, { alg: 'RS256', kid: publishedRsa.kid }, claims);
    expect((await check('/oct', rs)).code).toBe(0);
    // The policy's own secret still verifies HS256.
    expect((await check('/oct', forge('HS256', staticSecret, { alg: 'HS256', kid: 'static-hs' }, claims))).code).toBe(0);
  });

  it('the dropped key is counted and logged', async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${tg.app.opsPort!}/metrics`)).text();
    expect(metrics).toMatch(/tokengate_jwks_keys_skipped_total\{source="[^"]+",reason="symmetric"\} [1-9]/);
    expect(tg.rawLog()).toMatch(/symmetric \(oct\) key: never trusted from the network/);
  });
});

describe('config: a key source whose issuers cannot be known is refused', () => {
  const problems = configProblems;

  it('two JWKS URLs without issuers: each gets its path and the fix', () => {
    const found = problems(`
policies:
  - name: p
    validateJwt:
      jwksUri: ["https://a.example.com/keys", "https://b.example.com/keys"]
      audiences: [x]
      issuers: ["https://a.example.com", "https://b.example.com"]
`);
    expect(found).toEqual([
      expect.stringMatching(/^policies\[0\]\.validateJwt\.jwksUri\[0\]: .*issuers: \[/),
      expect.stringMatching(/^policies\[0\]\.validateJwt\.jwksUri\[1\]: .*issuers: \[/),
    ]);
  });

  it('a static key beside a discovery document needs its issuers; a single source needs none', () => {
    const found = problems(`
policies:
  - name: p
    validateJwt:
      openidConfig: [{ url: "https://a.example.com/.well-known/openid-configuration" }]
      issuerSigningKeys: [{ base64: "${staticSecret.toString('base64')}" }]
      audiences: [x]
`);
    expect(found).toEqual([expect.stringMatching(/^policies\[0\]\.validateJwt\.issuerSigningKeys\[0\]: .*issuers/)]);
    expect(problems(`
policies:
  - name: p
    validateJwt:
      jwksUri: ["https://a.example.com/keys"]
      audiences: [x]
      issuers: ["https://a.example.com", "https://b.example.com"]
`)).toEqual([]);
  });
});
