import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { HEADER_APPEND_ACTION, bearer, envoyCheckRequest, reasonOf, responseHeader, upstreamHeaders } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

const AUD = 'api://orders';
const HS_SECRET = Buffer.from('a-32-byte-secret-for-hs256-tests!');
const staticRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

const CONFIG = `
keys:
  cooldown: 0   # so the rotation test can refetch right after the start-up fetch
policies:
  - name: orders
    match: { hosts: ["api.example.com"], pathPrefixes: ["/orders"], methods: ["GET", "POST"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
      requiredClaims:
        - { name: scp, separator: " ", match: all, values: ["orders.read"] }
      outputClaimsToHeaders:
        - { claim: oid, header: x-user-oid }
        - { claim: roles, header: x-user-roles }
      forwardPayloadHeader: x-jwt-payload
      removeToken: true
  - name: any-of
    match: { pathPrefixes: ["/any"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
      requiredClaims:
        - { name: scp, separator: " ", match: any, values: ["a.read", "orders.write"] }
        - { name: roles, match: all, values: ["Reader", "Auditor"] }
  - name: lenient
    match: { pathPrefixes: ["/lenient"] }
    validateJwt:
      jwksUri: ["\${ISSUER}/keys"]
      audiences: ["${AUD}"]
      issuers: ["\${ISSUER}"]
      requireExpirationTime: false
      clockSkew: 120
  - name: query
    match: { pathPrefixes: ["/q"] }
    validateJwt:
      queryParameterName: access_token
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
  - name: cookie
    match: { pathPrefixes: ["/c"] }
    validateJwt:
      cookieName: at
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
  - name: static
    match: { pathPrefixes: ["/static"] }
    validateJwt:
      issuerSigningKeys:
        - { base64: "${HS_SECRET.toString('base64')}", id: hs1 }
        - pem: |
${staticRsa.publicKey.export({ type: 'spki', format: 'pem' }).toString().trim().split('\n').map((l) => `            ${l}`).join('\n')}
      audiences: ["${AUD}"]
      issuers: ["https://static.example.com"]
      failedValidationHttpCode: 401
      failedValidationErrorMessage: "Unauthorized. Access token is missing or invalid."
  - name: by-extension-only
    match: { hosts: ["never.invalid"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["api://other"]
`;

let issuer: DevIssuer;
let tg: RunningTokengate;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'], defaultAudience: AUD });
  tg = await startTokengate(CONFIG, { ISSUER: issuer.issuer });
});

afterAll(async () => {
  await tg?.stop();
  await issuer?.close();
});

const now = () => Math.floor(Date.now() / 1000);
const good = { scp: 'orders.read profile', oid: 'oid-123', roles: ['Reader', 'Auditor'] };

async function check(token: string | undefined, opts: Parameters<typeof envoyCheckRequest>[0] = {}) {
  return tg.client.check(envoyCheckRequest({ ...opts, headers: { ...(token ? bearer(token) : {}), ...opts.headers } }));
}

function expectDenied(res: Awaited<ReturnType<typeof check>>, status: number, reason: string) {
  expect(res.status.code, `reason ${reasonOf(res)}`).not.toBe(0);
  expect(res.denied_response?.status.code).toBe(status);
  expect(reasonOf(res)).toBe(reason);
}

describe('valid tokens for each algorithm family', () => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
    it(`allows ${alg}`, async () => {
      const res = await check(await issuer.sign(good, { alg }));
      expect(res.status.code).toBe(0);
      expect(upstreamHeaders(res)['x-user-oid']).toBe('oid-123');
    });
  }

  it('allows HS256 with a static base64 key, and RS256 with a static PEM key', async () => {
    const hs = await new SignJWT({ iss: 'https://static.example.com', aud: AUD })
      .setProtectedHeader({ alg: 'HS256', kid: 'hs1' })
      .setExpirationTime('5m')
      .sign(HS_SECRET);
    expect((await check(hs, { path: '/static' })).status.code).toBe(0);
    const rs = await new SignJWT({ iss: 'https://static.example.com', aud: AUD })
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime('5m')
      .sign(staticRsa.privateKey);
    expect((await check(rs, { path: '/static' })).status.code).toBe(0);
  });
});

describe('allowed response', () => {
  it('sets claim headers with overwrite, forwards the payload, strips the token, and returns metadata', async () => {
    const token = await issuer.sign({ ...good, sub: 'alice' });
    const res = await check(token, { headers: { 'x-user-oid': 'forged' } });
    expect(res.status.code).toBe(0);
    const oid = res.ok_response?.headers?.find((h) => h.header.key === 'x-user-oid');
    expect(oid).toEqual({ header: { key: 'x-user-oid', value: 'oid-123' }, append_action: HEADER_APPEND_ACTION.OVERWRITE_IF_EXISTS_OR_ADD });
    expect(upstreamHeaders(res)['x-user-roles']).toBe('Reader,Auditor');
    expect(JSON.parse(Buffer.from(upstreamHeaders(res)['x-jwt-payload']!, 'base64url').toString()).sub).toBe('alice');
    expect(res.ok_response?.headers_to_remove).toContain('authorization');
    expect(res.dynamic_metadata?.fields.sub?.stringValue).toBe('alice');
    expect(res.dynamic_metadata?.fields.iss?.stringValue).toBe(issuer.issuer);
    expect(res.dynamic_metadata?.fields.policy?.stringValue).toBe('orders');
  });

  it('removes a forged claim header when the token lacks that claim', async () => {
    const res = await check(await issuer.sign({ scp: 'orders.read' }), { headers: { 'x-user-oid': 'forged' } });
    expect(res.status.code).toBe(0);
    expect(upstreamHeaders(res)['x-user-oid']).toBeUndefined();
    expect(res.ok_response?.headers_to_remove).toContain('x-user-oid');
  });

  it('reads raw header_map headers when Envoy sends encode_raw_headers', async () => {
    const res = await tg.client.check(envoyCheckRequest({ rawHeaders: true, headers: bearer(await issuer.sign(good)) }));
    expect(res.status.code).toBe(0);
  });
});

describe('time claims', () => {
  it('denies an expired token with 401 invalid_token', async () => {
    const res = await check(await issuer.sign({ ...good, exp: now() - 10 }));
    expectDenied(res, 401, 'TokenExpired');
    expect(res.status.code).toBe(16);
    expect(responseHeader(res, 'www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(JSON.parse(res.denied_response!.body!)).toEqual({ statusCode: 401, message: 'Unauthorized. Access token is missing or invalid.' });
  });

  it('denies a token not yet valid', async () => {
    expectDenied(await check(await issuer.sign({ ...good, nbf: now() + 60 })), 401, 'TokenNotYetValid');
  });

  it('applies clock skew to exp and nbf', async () => {
    expect((await check(await issuer.sign({ exp: now() - 60 }), { path: '/lenient' })).status.code).toBe(0);
    expect((await check(await issuer.sign({ nbf: now() + 60 }), { path: '/lenient' })).status.code).toBe(0);
    expectDenied(await check(await issuer.sign({ exp: now() - 300 }), { path: '/lenient' }), 401, 'TokenExpired');
  });

  it('requires exp unless requireExpirationTime is false', async () => {
    expectDenied(await check(await issuer.sign({ ...good, exp: undefined })), 401, 'JwtInvalid');
    expect((await check(await issuer.sign({ exp: undefined }), { path: '/lenient' })).status.code).toBe(0);
  });

  it('denies a non-numeric exp', async () => {
    expectDenied(await check(await issuer.sign({ ...good, exp: String(now() + 600) })), 401, 'JwtInvalid');
  });
});

describe('issuer and audience', () => {
  it('denies a wrong audience', async () => {
    expectDenied(await check(await issuer.sign({ ...good, aud: 'api://other' })), 401, 'TokenAudienceNotAllowed');
  });

  it('accepts an audience list containing an allowed one', async () => {
    expect((await check(await issuer.sign({ ...good, aud: ['api://x', AUD] }))).status.code).toBe(0);
  });

  it('denies a wrong issuer', async () => {
    expectDenied(await check(await issuer.sign({ ...good, iss: 'https://evil.example.com' })), 401, 'TokenIssuerNotAllowed');
  });
});

describe('required claims', () => {
  it('match all with a separator: a missing value is 403 insufficient_scope', async () => {
    const res = await check(await issuer.sign({ ...good, scp: 'profile orders.write' }));
    expectDenied(res, 403, 'TokenClaimValueNotAllowed');
    expect(res.status.code).toBe(7);
    expect(responseHeader(res, 'www-authenticate')).toBe('Bearer error="insufficient_scope"');
  });

  it('a missing claim is TokenClaimNotFound', async () => {
    expectDenied(await check(await issuer.sign({ ...good, scp: undefined })), 403, 'TokenClaimNotFound');
  });

  it('match any over a separated string, and all over an array claim', async () => {
    expect((await check(await issuer.sign({ scp: 'x orders.write', roles: ['Auditor', 'Reader', 'X'] }), { path: '/any' })).status.code).toBe(0);
    expectDenied(await check(await issuer.sign({ scp: 'x y', roles: ['Auditor', 'Reader'] }), { path: '/any' }), 403, 'TokenClaimValueNotAllowed');
    expectDenied(await check(await issuer.sign({ scp: 'a.read', roles: ['Reader'] }), { path: '/any' }), 403, 'TokenClaimValueNotAllowed');
    expectDenied(await check(await issuer.sign({ scp: 'a.read' }), { path: '/any' }), 403, 'TokenClaimNotFound');
  });
});

describe('signatures and algorithms', () => {
  it('denies alg none', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const unsigned = `${base64url.encode(JSON.stringify({ alg, typ: 'JWT' }))}.${base64url.encode(JSON.stringify({ ...good, iss: issuer.issuer, aud: AUD, exp: now() + 60 }))}.`;
      expectDenied(await check(unsigned), 401, 'TokenAlgorithmNotAllowed');
    }
  });

  it('denies HS256 signed with the RSA public key as the secret (algorithm confusion)', async () => {
    const jwks = (await (await fetch(issuer.jwksUri)).json()) as { keys: { kid: string; kty: string }[] };
    const rsa = jwks.keys.find((k) => k.kty === 'RSA')!;
    const header = base64url.encode(JSON.stringify({ alg: 'HS256', kid: rsa.kid }));
    const payload = base64url.encode(JSON.stringify({ ...good, iss: issuer.issuer, aud: AUD, exp: now() + 60 }));
    for (const secret of [JSON.stringify(rsa), staticRsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()]) {
      const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      expectDenied(await check(`${header}.${payload}.${sig}`), 401, 'TokenAlgorithmNotAllowed');
      // The static policy allows HS256, but its only symmetric key has another kid: the RSA key is never an HMAC secret.
      expectDenied(await check(`${header}.${payload}.${sig}`, { path: '/static' }), 401, 'TokenSignatureKeyNotFound');
    }
  });

  it('denies a tampered payload', async () => {
    const [h, , s] = (await issuer.sign(good)).split('.');
    const forged = base64url.encode(JSON.stringify({ ...good, iss: issuer.issuer, aud: AUD, exp: now() + 60, oid: 'admin' }));
    expectDenied(await check(`${h}.${forged}.${s}`), 401, 'TokenSignatureInvalid');
  });

  it('an unknown kid triggers a refetch: a key rotated in at the issuer passes on the same request', async () => {
    const kid = await issuer.addKey('ES256', `rotated-${Date.now()}`);
    const before = issuer.hits.jwks;
    const res = await check(await issuer.sign(good, { kid }));
    expect(res.status.code).toBe(0);
    expect(issuer.hits.jwks).toBeGreaterThan(before);
  });

  it('an unknown kid that the issuer does not have is TokenSignatureKeyNotFound', async () => {
    expectDenied(await check(await issuer.sign(good, { header: { kid: 'no-such-kid' } })), 401, 'TokenSignatureKeyNotFound');
  });
});

describe('token location and scheme', () => {
  it('no token: 401 with a bare Bearer challenge', async () => {
    const res = await check(undefined);
    expectDenied(res, 401, 'TokenNotPresent');
    expect(responseHeader(res, 'www-authenticate')).toBe('Bearer');
  });

  it('scheme missing or wrong', async () => {
    const token = await issuer.sign(good);
    expectDenied(await check(undefined, { headers: { authorization: token } }), 401, 'TokenSchemeInvalid');
    expectDenied(await check(undefined, { headers: { authorization: `Basic ${token}` } }), 401, 'TokenSchemeInvalid');
    expect((await check(undefined, { headers: { authorization: `bearer ${token}` } })).status.code).toBe(0);
  });

  it('token in a query parameter', async () => {
    const token = await issuer.sign(good);
    expect((await check(undefined, { path: `/q/items?x=1&access_token=${token}` })).status.code).toBe(0);
    expectDenied(await check(undefined, { path: '/q/items?x=1' }), 401, 'TokenNotPresent');
  });

  it('token in a cookie', async () => {
    const token = await issuer.sign(good);
    expect((await check(undefined, { path: '/c', headers: { cookie: `theme=dark; at=${token}; lang=en` } })).status.code).toBe(0);
    expectDenied(await check(undefined, { path: '/c', headers: { cookie: 'theme=dark' } }), 401, 'TokenNotPresent');
  });
});

describe('checks arriving together', () => {
  it('each of 300 concurrent checks on one connection gets its own verdict and claim headers', async () => {
    // The server answers checks that arrive in one event-loop turn as a batch (src/grpc/batch_per_turn.ts): a mix of
    // allows and denials, each with its own claims, shows no answer goes to another call.
    const tokens = await Promise.all(
      Array.from({ length: 300 }, (_, i) => issuer.sign(i % 3 === 0 ? { ...good, oid: `oid-${i}`, exp: now() - 10 } : { ...good, oid: `oid-${i}` })),
    );
    const answers = await Promise.all(tokens.map((token) => check(token)));
    answers.forEach((res, i) => {
      if (i % 3 === 0) expectDenied(res, 401, 'TokenExpired');
      else expect(upstreamHeaders(res)['x-user-oid'], `check ${i}`).toBe(`oid-${i}`);
    });
  });
});

describe('bad input never crashes and never allows', () => {
  const cases: [string, () => Promise<Record<string, string>>, string][] = [
    ['two Authorization values joined by a comma', async () => ({ authorization: `Bearer ${await issuer.sign(good)},Bearer ${await issuer.sign(good)}` }), 'JwtInvalid'],
    ['a token over 16 KiB', async () => ({ authorization: `Bearer ${'a'.repeat(17_000)}.b.c` }), 'JwtInvalid'],
    ['non-base64url parts', async () => ({ authorization: 'Bearer ab$c.d*ef.ghi' }), 'JwtInvalid'],
    ['a JSON bomb in the payload', async () => ({ authorization: `Bearer ${base64url.encode('{"alg":"RS256"}')}.${base64url.encode('['.repeat(10_000))}.sig` }), 'JwtInvalid'],
    ['a non-object payload', async () => ({ authorization: `Bearer ${base64url.encode('{"alg":"RS256"}')}.${base64url.encode('"just a string"')}.sig` }), 'JwtInvalid'],
    // RFC 6750 §3.1: the scheme alone carries no token (issue 15, item 6).
    ['the scheme with no token', async () => ({ authorization: 'Bearer' }), 'TokenNotPresent'],
    ['two parts only', async () => ({ authorization: 'Bearer abc.def' }), 'JwtInvalid'],
    ['a JWE', async () => ({ authorization: 'Bearer a.b.c.d.e' }), 'JwtInvalid'],
    ['invalid UTF-8 in the header', async () => ({ authorization: `Bearer ${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}.e30.sig` }), 'JwtInvalid'],
  ];
  for (const [name, headers, reason] of cases) {
    it(name, async () => {
      expectDenied(await check(undefined, { headers: await headers() }), 401, reason);
    });
  }
});

describe('policy selection', () => {
  it('context_extensions names a policy directly', async () => {
    const token = await issuer.sign({ ...good, aud: 'api://other' });
    const res = await check(token, { contextExtensions: { policy: 'by-extension-only' } });
    expect(res.status.code).toBe(0);
    expect(res.dynamic_metadata?.fields.policy?.stringValue).toBe('by-extension-only');
  });

  it('an unknown policy name denies with PolicyNotFound', async () => {
    expectDenied(await check(await issuer.sign(good), { contextExtensions: { policy: 'nope' } }), 403, 'PolicyNotFound');
  });

  it('by host, path and method', async () => {
    const token = await issuer.sign(good);
    expect((await check(token, { host: 'API.example.com:8443', path: '/orders/7' })).dynamic_metadata?.fields.policy?.stringValue).toBe('orders');
    // DELETE is not in the orders policy's methods, and no later policy matches /orders.
    expectDenied(await check(token, { method: 'DELETE', path: '/orders/7' }), 403, 'NoPolicyMatched');
    expectDenied(await check(token, { host: 'other.example.com', path: '/orders' }), 403, 'NoPolicyMatched');
  });

  it('failedValidationHttpCode and message replace the denial status and body', async () => {
    const res = await check(undefined, { path: '/static' });
    expectDenied(res, 401, 'TokenNotPresent');
    expect(JSON.parse(res.denied_response!.body!).message).toBe('Unauthorized. Access token is missing or invalid.');
  });
});

describe('logging', () => {
  it('logs one line per decision with request id and reason, and never the token', async () => {
    const token = await issuer.sign({ ...good, exp: now() - 5 });
    await check(token, { headers: { 'x-request-id': 'req-log-test' } });
    const line = tg.logs.find((l) => l.requestId === 'req-log-test' && l.msg === 'check');
    expect(line).toMatchObject({ policy: 'orders', decision: 'deny', reason: 'TokenExpired' });
    expect(tg.rawLog()).not.toContain(token.split('.')[2]);
  });
});
