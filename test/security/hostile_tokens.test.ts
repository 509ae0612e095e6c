// Issue 7, "Hostile input it must reject": every attack token goes through the real gRPC server and must be denied
// with the reason named in the test title; valid controls for the same policies must pass, so the table can fail.
import { createPublicKey, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import type { CheckReply } from '../../src/grpc/check_client.js';
import { bearer, envoyCheckRequest, reasonOf, responseHeader, upstreamHeaders } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { buildAttackCases, nestedObject, POLICY_MAX_LIFETIME, TENANT_TEMPLATE, type AttackCase, type Expected } from './helpers/attacks.js';
import { claimsFor, ecKey, edKey, forge, hmacKey, noneCasings, rsaKey, unsigned } from './helpers/forge.js';
import { bareHeaderCases, bearerHeaderCases } from './helpers/header_attacks.js';

const AUD = 'api://orders';
const ISS = 'https://static.example.com';
const NOW = Math.floor(Date.now() / 1000);

// 3072 bits: a 384-byte signature is 512 base64url characters, so a dangling 513th character is possible.
const rsa = rsaKey('rsa-1', 3072);
const ec = ecKey('ec-1', 'P-256');
const hs = hmacKey('hs-1', randomBytes(32));
const ec384 = ecKey('ec384-1', 'P-384');
const ed = edKey('ed-1');
const attacker = rsaKey('attacker-1');

const indentPem = (pem: string, spaces: number) => pem.trim().split('\n').map((l) => `${' '.repeat(spaces)}${l}`).join('\n');

const CONFIG = `
# cooldown 0: an unknown kid always refetches the issuer's JWKS, which the absence check below uses as a barrier.
keys: { cooldown: 0 }
policies:
  - name: issuer
    match: { pathPrefixes: ["/i"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
      algorithms: ["RS256", "ES256"]
      maxLifetime: ${POLICY_MAX_LIFETIME}
  - name: static
    match: { pathPrefixes: ["/s"] }
    validateJwt:
      issuerSigningKeys:
        - id: ${rsa.kid}
          pem: |
${indentPem(rsa.publicKey!.export({ type: 'spki', format: 'pem' }).toString(), 12)}
        - jwk: ${JSON.stringify({ ...ec.jwk, kid: ec.kid })}
        - { base64: "${(hs.signing as Buffer).toString('base64')}", id: ${hs.kid} }
      audiences: ["${AUD}"]
      issuers: ["${ISS}"]
      algorithms: ["RS256", "ES256", "HS256"]
      maxLifetime: ${POLICY_MAX_LIFETIME}
      outputClaimsToHeaders: [{ claim: sub, header: x-user-sub }]
  - name: rsa
    match: { pathPrefixes: ["/r"] }
    validateJwt:
      issuerSigningKeys:
        - { jwk: ${JSON.stringify({ ...rsa.jwk, kid: rsa.kid })} }
      audiences: ["${AUD}"]
      issuers: ["${ISS}"]
      algorithms: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
  - name: tenant
    match: { pathPrefixes: ["/t"] }
    validateJwt:
      issuerSigningKeys:
        - { jwk: ${JSON.stringify({ ...rsa.jwk, kid: rsa.kid })} }
      audiences: ["${AUD}"]
      issuers: ["${TENANT_TEMPLATE}"]
      allowedTenants: "*"
      algorithms: ["RS256"]
  - name: bare-header
    match: { pathPrefixes: ["/h"] }
    validateJwt:
      headerName: x-token
      issuerSigningKeys:
        - { jwk: ${JSON.stringify({ ...rsa.jwk, kid: rsa.kid })} }
      audiences: ["${AUD}"]
      issuers: ["${ISS}"]
      algorithms: ["RS256"]
  - name: any-issuer
    match: { pathPrefixes: ["/a"] }
    validateJwt:
      issuerSigningKeys:
        - { jwk: ${JSON.stringify({ ...rsa.jwk, kid: rsa.kid })} }
      audiences: ["${AUD}"]
      issuers: []
      algorithms: ["RS256"]
  - name: unsigned-ok
    match: { pathPrefixes: ["/u"] }
    validateJwt:
      requireSignedTokens: false
      issuerSigningKeys:
        - { jwk: ${JSON.stringify({ ...rsa.jwk, kid: rsa.kid })} }
      audiences: ["${AUD}"]
      issuers: ["${ISS}"]
      algorithms: ["RS256"]
`;

let issuer: DevIssuer;
let tg: RunningTokengate;

// The attacker's server: serves a JWKS with the attacker key to anyone who asks, and counts who asks.
const attackerHits: string[] = [];
const attackerServer: Server = createServer((req, res) => {
  attackerHits.push(`${req.method} ${req.url}`);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ keys: [{ ...attacker.jwk, kid: attacker.kid, alg: 'RS256', use: 'sig' }] }));
});
await new Promise<void>((resolve) => attackerServer.listen(0, '127.0.0.1', resolve));
const attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}`;

// Built at import time: vitest collects tests synchronously, after top-level awaits.
const staticCases: AttackCase[] = await buildAttackCases({ now: NOW, iss: ISS, aud: AUD, rsa, ec, hs, ec384, ed, attacker, attackerUrl });

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'], defaultAudience: AUD });
  tg = await startTokengate(CONFIG, { ISSUER: issuer.issuer });
});

afterAll(async () => {
  await tg?.stop();
  await issuer?.close();
  await new Promise((resolve) => attackerServer?.close(resolve));
});

const STATUS_OF_REASON: Record<string, number> = { TokenClaimNotFound: 403, TokenClaimValueNotAllowed: 403, KeysUnavailable: 503, InternalError: 503 };

async function check(token: string, path: string, headers: Record<string, string> = {}): Promise<CheckReply> {
  return tg.client.check(envoyCheckRequest({ path, headers: { ...bearer(token), ...headers } }));
}

function expectOutcome(res: CheckReply, expected: Expected): void {
  if (expected === 'allow') {
    expect(res.status.code, `denied with ${reasonOf(res)}`).toBe(0);
    expect(res.ok_response).toBeDefined();
    expect(res.denied_response).toBeUndefined();
    return;
  }
  expect(res.status.code, 'must never be allowed').not.toBe(0);
  expect(res.ok_response).toBeUndefined();
  expect(reasonOf(res)).toBe(expected);
  expect(res.denied_response?.status.code).toBe(STATUS_OF_REASON[expected] ?? 401);
  const body = JSON.parse(res.denied_response!.body!) as { statusCode: number; message: string };
  expect(body.statusCode).toBe(STATUS_OF_REASON[expected] ?? 401);
  expect(typeof body.message).toBe('string');
}

const PATH_OF_POLICY: Record<NonNullable<AttackCase['policy']> | 'static', string> = { static: '/s', rsa: '/r', tenant: '/t' };

describe('forged tokens against a static-key policy (RS256, ES256, HS256; maxLifetime 2h), or the case\'s own policy', () => {
  for (const c of staticCases) {
    const title = `${c.group}: ${c.name}${c.policy ? ` [policy ${c.policy}]` : ''} → ${c.expect === 'allow' ? 'allowed (control)' : `denied ${c.expect}`}`;
    it(title, async () => expectOutcome(await check(c.token, PATH_OF_POLICY[c.policy ?? 'static']), c.expect));
  }
});

describe('tokens against the dev issuer policy (keys from its JWKS; RS256 and ES256 only)', () => {
  const good = () => ({ scp: 'orders.read' });

  it('control: RS256 and ES256 tokens from the issuer are allowed', async () => {
    expectOutcome(await check(await issuer.sign(good(), { alg: 'RS256' }), '/i'), 'allow');
    expectOutcome(await check(await issuer.sign(good(), { alg: 'ES256' }), '/i'), 'allow');
  });

  it('alg not in the allow-list: PS256 and EdDSA signed by published issuer keys → denied TokenAlgorithmNotAllowed', async () => {
    expectOutcome(await check(await issuer.sign(good(), { alg: 'PS256' }), '/i'), 'TokenAlgorithmNotAllowed');
    expectOutcome(await check(await issuer.sign(good(), { alg: 'EdDSA' }), '/i'), 'TokenAlgorithmNotAllowed');
  });

  it('alg confusion: HS256 keyed with the issuer RSA key (JWK JSON, PEM), kid of that key → denied TokenAlgorithmNotAllowed', async () => {
    const jwks = (await (await fetch(issuer.jwksUri)).json()) as { keys: (Record<string, string> & { kid: string })[] };
    const rsaJwk = jwks.keys.find((k) => k.kty === 'RSA' && k.alg === 'RS256')!;
    const pem = createPublicKey({ key: rsaJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    const claims = claimsFor(NOW, issuer.issuer, AUD);
    for (const secret of [JSON.stringify(rsaJwk), pem, pem.trim()]) {
      for (const header of [{ alg: 'HS256', kid: rsaJwk.kid }, { alg: 'HS256' }]) {
        expectOutcome(await check(forge('HS256', Buffer.from(secret), header, claims), '/i'), 'TokenAlgorithmNotAllowed');
      }
    }
  });

  it('alg none in all 16 casings, with and without a signature → denied TokenAlgorithmNotAllowed', async () => {
    const claims = claimsFor(NOW, issuer.issuer, AUD);
    const realSignature = (await issuer.sign(good())).split('.')[2]!;
    for (const alg of noneCasings()) {
      expectOutcome(await check(unsigned({ alg }, claims), '/i'), 'TokenAlgorithmNotAllowed');
      expectOutcome(await check(unsigned({ alg, kid: issuer.keys()[0]!.kid }, claims, realSignature), '/i'), 'TokenAlgorithmNotAllowed');
    }
  });

  it('crit naming extensions tokengate does not understand → denied JwtInvalid', async () => {
    expectOutcome(await check(await issuer.sign(good(), { header: { crit: ['x-unknown'], 'x-unknown': 1 } }), '/i'), 'JwtInvalid');
    expectOutcome(await check(await issuer.sign(good(), { header: { crit: ['exp'], exp: NOW } }), '/i'), 'JwtInvalid');
  });

  it('kid with path traversal or SQL-looking text, signed by a real issuer key → denied TokenSignatureKeyNotFound', async () => {
    for (const kid of ['../../etc/passwd', "' OR 1=1 --", '../keys?kid=x', '/.well-known/openid-configuration']) {
      expectOutcome(await check(await issuer.sign(good(), { header: { kid } }), '/i'), 'TokenSignatureKeyNotFound');
    }
  });

  it('claims: numbers as strings, lifetime over maxLifetime, aud number/object, negative iat, deep nesting, NUL → denied JwtInvalid', async () => {
    const cases: [string, Record<string, unknown>, { expiresIn?: number }?][] = [
      ['exp as string', { exp: String(NOW + 600) }],
      ['nbf as string', { nbf: String(NOW) }],
      ['exp 10 years ahead', {}, { expiresIn: 10 * 365 * 86_400 }],
      ['aud number', { aud: 42 }],
      ['aud object', { aud: { value: AUD } }],
      ['iat negative', { iat: -5 }],
      ['claim nested 40 deep', { ext: JSON.parse(nestedObject(40)) }],
      ['NUL in sub', { sub: 'alice\u0000' }],
    ];
    for (const [what, claims, options] of cases) {
      const res = await check(await issuer.sign({ ...good(), ...claims }, options), '/i');
      expect(reasonOf(res), what).toBe('JwtInvalid');
      expectOutcome(res, 'JwtInvalid');
    }
  });
});

describe('jku / x5u / jwk headers pointing at an attacker server', () => {
  const attackerJwk = () => ({ ...attacker.jwk, kid: attacker.kid, alg: 'RS256', use: 'sig' });
  const headerSets = () => [
    { jku: `${attackerUrl}/jwks`, kid: attacker.kid },
    { x5u: `${attackerUrl}/cert.pem`, kid: attacker.kid },
    { jwk: attackerJwk(), kid: attacker.kid },
    { jku: `${attackerUrl}/jwks`, x5u: `${attackerUrl}/cert.pem`, jwk: attackerJwk() },
  ];

  it('issuer policy: attacker-signed tokens → denied TokenSignatureKeyNotFound (attacker kid) / TokenSignatureInvalid (no kid)', async () => {
    const claims = claimsFor(NOW, issuer.issuer, AUD);
    for (const header of headerSets()) {
      const expected = header.kid ? 'TokenSignatureKeyNotFound' : 'TokenSignatureInvalid';
      expectOutcome(await check(forge('RS256', attacker.signing, { alg: 'RS256', ...header }, claims), '/i'), expected);
    }
    // With the kid of the issuer's real RS256 key, the token names a real key and fails its signature.
    const realKid = issuer.keys().find((k) => k.alg === 'RS256')!.kid;
    expectOutcome(await check(forge('RS256', attacker.signing, { alg: 'RS256', jku: `${attackerUrl}/jwks`, jwk: attackerJwk(), kid: realKid }, claims), '/i'), 'TokenSignatureInvalid');
  });

  it('static policy: attacker-signed tokens → denied TokenSignatureKeyNotFound / TokenSignatureInvalid', async () => {
    const claims = claimsFor(NOW, ISS, AUD);
    for (const header of headerSets()) {
      const expected = header.kid ? 'TokenSignatureKeyNotFound' : 'TokenSignatureInvalid';
      expectOutcome(await check(forge('RS256', attacker.signing, { alg: 'RS256', ...header }, claims), '/s'), expected);
    }
  });

  it('the attacker server received zero requests', async () => {
    // A barrier instead of a wait: this check makes tokengate refetch the real issuer's JWKS and answers only after
    // that fetch; any fetch tokengate had started for the earlier tokens' jku/x5u was issued before it.
    const jwksHits = issuer.hits.jwks;
    const barrier = forge('RS256', attacker.signing, { alg: 'RS256', kid: 'barrier-unknown-kid' }, claimsFor(NOW, ISS, AUD));
    expectOutcome(await check(barrier, '/i'), 'TokenSignatureKeyNotFound');
    expect(issuer.hits.jwks).toBeGreaterThan(jwksHits);
    expect(attackerHits).toEqual([]);
  });
});

describe('a policy with requireSignedTokens: false', () => {
  const claims = () => claimsFor(NOW, ISS, AUD);

  it('control: alg "none" with an empty signature is allowed (the policy opted in)', async () => {
    expectOutcome(await check(unsigned({ alg: 'none' }, claims()), '/u'), 'allow');
  });

  it('alg "none" with any signature, and every other casing of none → denied TokenAlgorithmNotAllowed', async () => {
    for (const alg of noneCasings()) {
      expectOutcome(await check(unsigned({ alg }, claims(), randomBytes(32).toString('base64url')), '/u'), 'TokenAlgorithmNotAllowed');
      if (alg !== 'none') expectOutcome(await check(unsigned({ alg }, claims()), '/u'), 'TokenAlgorithmNotAllowed');
    }
  });

  it('unsigned tokens still pass the claim rules: wrong issuer → denied TokenIssuerNotAllowed; duplicate aud → denied JwtInvalid', async () => {
    expectOutcome(await check(unsigned({ alg: 'none' }, { ...claims(), iss: 'https://evil.example' }), '/u'), 'TokenIssuerNotAllowed');
    const body = JSON.stringify(claims()).slice(1, -1);
    expectOutcome(await check(unsigned({ alg: 'none' }, `{"aud":"api://other",${body}}`), '/u'), 'JwtInvalid');
  });
});

describe('hostile request headers', () => {
  const goodToken = () => forge('RS256', rsa.signing, { alg: 'RS256', kid: rsa.kid }, claimsFor(NOW, ISS, AUD));

  for (const c of bearerHeaderCases(goodToken())) {
    it(`authorization ${c.group}: ${c.name} → ${c.expect === 'allow' ? 'allowed (control)' : `denied ${c.expect}`}`, async () => {
      const headers: Record<string, string> = c.value === undefined ? {} : { authorization: c.value };
      const res = await tg.client.check(envoyCheckRequest({ path: '/s', headers }));
      expectOutcome(res, c.expect);
      // RFC 6750 §3.1: no error code when the request carried no token; invalid_token when it carried a bad one.
      if (c.expect === 'TokenNotPresent') expect(responseHeader(res, 'www-authenticate')).toBe('Bearer');
      else if (c.expect !== 'allow') expect(responseHeader(res, 'www-authenticate')).toBe('Bearer error="invalid_token"');
    });
  }

  for (const c of bareHeaderCases(goodToken())) {
    it(`x-token (no scheme) ${c.group}: ${c.name} → ${c.expect === 'allow' ? 'allowed (control)' : `denied ${c.expect}`}`, async () => {
      const headers: Record<string, string> = c.value === undefined ? {} : { 'x-token': c.value };
      expectOutcome(await tg.client.check(envoyCheckRequest({ path: '/h', headers })), c.expect);
    });
  }

  it('an authorization header just under the 1 MiB gRPC message limit → denied JwtInvalid (length checked before parsing)', async () => {
    const started = process.hrtime.bigint();
    expectOutcome(await check(`${goodToken()}${'A'.repeat(1024 * 1024 - 16 * 1024)}`, '/s'), 'JwtInvalid');
    expectOutcome(await check('a.'.repeat(500_000), '/s'), 'JwtInvalid');
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });

  it('an authorization header of 1 MiB → the RPC fails with RESOURCE_EXHAUSTED (Envoy fails closed: failure_mode_allow false), never an allow', async () => {
    // grpc-js refuses messages over grpc.max_receive_message_length (1 MiB) before the handler runs, so there is no
    // CheckResponse to inspect; envoy/envoy.yaml keeps failure_mode_allow: false so Envoy answers status_on_error.
    const outcome = await check(`${goodToken()}${'A'.repeat(1024 * 1024)}`, '/s').then(
      (res) => ({ res }),
      (err: { code?: number }) => ({ err }),
    );
    if ('res' in outcome) expectOutcome(outcome.res, 'JwtInvalid');
    else expect(outcome.err.code).toBe(8);
  });

  it('a 1 MiB unrelated header beside a good token does not break the check', async () => {
    const outcome = await check(goodToken(), '/s', { 'x-big': 'b'.repeat(1024 * 1024 - 64 * 1024) });
    expectOutcome(outcome, 'allow');
  });

  it('invalid UTF-8 bytes in a raw authorization header (header_map raw_value) → denied JwtInvalid', async () => {
    const req = envoyCheckRequest({ path: '/s', rawHeaders: true, headers: bearer(goodToken()) }) as {
      attributes: { request: { http: { header_map: { headers: { key: string; raw_value: Buffer }[] } } } };
    };
    const entry = req.attributes.request.http.header_map.headers.find((h) => h.key === 'authorization')!;
    entry.raw_value = Buffer.concat([entry.raw_value.subarray(0, 40), Buffer.from([0xff, 0xfe, 0xc0, 0xaf]), entry.raw_value.subarray(40)]);
    expectOutcome(await tg.client.check(req), 'JwtInvalid');
  });

  it('NUL bytes in the authorization header → denied JwtInvalid', async () => {
    const token = goodToken();
    expectOutcome(await tg.client.check(envoyCheckRequest({ path: '/s', headers: { authorization: `Bearer ${token}\u0000` } })), 'JwtInvalid');
    expectOutcome(await tg.client.check(envoyCheckRequest({ path: '/s', headers: { authorization: `Bearer \u0000${token}` } })), 'JwtInvalid');
  });

  it('two tokens in one authorization header → denied JwtInvalid', async () => {
    const token = goodToken();
    expectOutcome(await tg.client.check(envoyCheckRequest({ path: '/s', headers: { authorization: `Bearer ${token}, Bearer ${token}` } })), 'JwtInvalid');
  });

  // Envoy's ext_authz does not validate mutations by default (validate_mutations: false), so tokengate must not
  // forward a claim that could smuggle a header; the header is removed instead, so a client copy cannot survive.
  it('a claim with CR/LF copied to an upstream header is never forwarded as is', async () => {
    const token = forge('RS256', rsa.signing, { alg: 'RS256', kid: rsa.kid }, claimsFor(NOW, ISS, AUD, { sub: 'alice\r\nx-admin: true' }));
    const res = await check(token, '/s');
    expect(res.status.code).toBe(0);
    for (const value of Object.values(upstreamHeaders(res))) expect(value).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f]/);
    expect(res.ok_response?.headers_to_remove).toContain('x-user-sub');
  });

  // An access log that prints %DYNAMIC_METADATA(envoy.filters.http.ext_authz:sub)% would be split by a CR/LF in the
  // claim: sub and iss go into the metadata only under the rule the claim headers follow.
  it('sub and iss with control characters are left out of the dynamic metadata; clean ones are put in', async () => {
    const sign = (claims: Record<string, unknown>) => forge('RS256', rsa.signing, { alg: 'RS256', kid: rsa.kid }, claimsFor(NOW, ISS, AUD, claims));
    const fields = async (claims: Record<string, unknown>) => {
      const res = await check(sign(claims), '/a');
      expect(res.status.code, `denied with ${reasonOf(res)}`).toBe(0);
      return res.dynamic_metadata!.fields;
    };
    for (const bad of ['alice\r\n127.0.0.1 - - "GET /admin" 200', 'alice\nx', 'alice\u001b[31m', 'alice\u007f']) {
      const f = await fields({ sub: bad, iss: `https://evil.example/${bad}` });
      expect(f.sub, JSON.stringify(bad)).toBeUndefined();
      expect(f.iss, JSON.stringify(bad)).toBeUndefined();
      expect(f['tokengate.decision']?.stringValue).toBe('allow');
    }
    const clean = await fields({ sub: 'alice\tsmith' });
    expect(clean.sub?.stringValue).toBe('alice\tsmith');
    expect(clean.iss?.stringValue).toBe(ISS);
  });
});
