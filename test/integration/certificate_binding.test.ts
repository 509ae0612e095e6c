import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, envoyCheckRequest, reasonOf, responseHeader, type CheckReply } from '../helpers/check_client.js';
import { startBindingStack, type BindingStack } from '../helpers/binding_stack.js';
import type { TestCertificate } from '../helpers/certificates.js';
import { configProblems } from '../helpers/config_problems.js';

// Certificate-bound access tokens (RFC 8705 §3) over real gRPC: tokens with cnf["x5t#S256"] from the dev issuer's
// real JWKS, client certificates made for this run, sent as Envoy sends them (attributes.source.certificate) or in
// the headers a TLS-terminating proxy sets (x-forwarded-client-cert, RFC 9440 Client-Cert).
const AUD = 'api://mtls';

const policy = (name: string, binding: string) => `
  - name: ${name}
    match: { pathPrefixes: ["/${name}"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]${binding ? `\n    certificateBinding: ${binding}` : ''}`;

const CONFIG = `policies:${[
  policy('implicit', ''),
  policy('peer', '{ source: peer }'),
  policy('required', '{ source: peer, required: true }'),
  policy('xfcc', '{ source: xfcc }'),
  policy('client-cert', '{ source: client-cert }'),
  `${policy('report', '{ source: peer }')}\n    mode: report-only`,
  policy('scoped', '{ source: peer }').replace('audiences:', 'requiredClaims: [{ name: scp, values: [orders.read] }]\n      audiences:'),
].join('')}
`;

let stack: BindingStack;
let alice: TestCertificate;
let bob: TestCertificate;
let issuer: BindingStack['issuer'];
let tg: BindingStack['tg'];

beforeAll(async () => {
  stack = await startBindingStack(CONFIG, AUD);
  ({ alice, bob, issuer, tg } = stack);
});

afterAll(() => stack?.stop());

const boundTo = (cert: TestCertificate) => stack.boundTo(cert);
const unbound = () => issuer.sign({ jti: randomUUID() });

interface Presented {
  peer?: TestCertificate | string;
  headers?: Record<string, string>;
}

function check(path: string, token: string, presented: Presented = {}): Promise<CheckReply> {
  const peer = typeof presented.peer === 'string' ? presented.peer : presented.peer?.urlEncodedPem;
  return tg.client.check(
    envoyCheckRequest({
      path,
      headers: { ...bearer(token), ...presented.headers },
      ...(peer === undefined ? {} : { peerCertificate: peer }),
    }),
  );
}

function expectAllowed(res: CheckReply) {
  expect(res.status.code, `reason ${reasonOf(res)}`).toBe(0);
}

function expectMismatch(res: CheckReply) {
  expect(res.status.code).not.toBe(0);
  expect(res.denied_response?.status.code).toBe(401);
  expect(reasonOf(res)).toBe('CertificateBindingMismatch');
  expect(responseHeader(res, 'www-authenticate')).toBe('Bearer error="invalid_token"');
}

const xfcc = (c: TestCertificate) => ({ 'x-forwarded-client-cert': `Hash=x;Cert="${c.urlEncodedPem}"` });
const xfccGood = (c: TestCertificate) => ({
  'x-forwarded-client-cert': `By=spiffe://front;Hash=${Buffer.from(c.thumbprint, 'base64url').toString('hex')};Cert="${c.urlEncodedPem}"`,
});
const clientCert = (c: TestCertificate) => ({ 'client-cert': `:${c.der.toString('base64')}:` });

describe('the peer certificate (include_peer_certificate)', () => {
  for (const path of ['/implicit', '/peer']) {
    it(`${path}: a bound token passes with its certificate, and with no other`, async () => {
      const token = await boundTo(alice);
      expectAllowed(await check(path, token, { peer: alice }));
      expectMismatch(await check(path, token, { peer: bob }));
      expectMismatch(await check(path, token));
    });
  }

  it('a policy without certificateBinding still checks a bound token: never downgraded to a bearer token', async () => {
    const res = await check('/implicit', await boundTo(alice));
    expectMismatch(res);
    expect(tg.logs.some((l) => l.reason === 'CertificateBindingMismatch')).toBe(true);
  });

  it('a bearer token (no cnf) passes with or without a certificate, unless the policy requires binding', async () => {
    expectAllowed(await check('/implicit', await unbound()));
    expectAllowed(await check('/peer', await unbound(), { peer: bob }));
    expectMismatch(await check('/required', await unbound(), { peer: alice }));
    expectAllowed(await check('/required', await boundTo(alice), { peer: alice }));
  });

  it('the headers a client can send are not the peer: a bound token with only xfcc or Client-Cert is denied', async () => {
    const token = await boundTo(alice);
    expectMismatch(await check('/peer', token, { headers: { ...xfccGood(alice), ...clientCert(alice) } }));
    expectMismatch(await check('/implicit', token, { headers: { ...xfccGood(alice), ...clientCert(alice) } }));
  });

  it('a malformed peer certificate denies: with a bound token, and with any token where the policy names the source', async () => {
    const garbled = alice.urlEncodedPem.replace('MII', 'MIX');
    for (const peer of [garbled, 'not%20a%20certificate', '%E0%A4%A', encodeURIComponent(alice.pem + bob.pem)]) {
      expectMismatch(await check('/implicit', await boundTo(alice), { peer }));
      expectMismatch(await check('/peer', await unbound(), { peer }));
    }
    // Where the policy names no source, the certificate is read only for a bound token.
    expectAllowed(await check('/implicit', await unbound(), { peer: 'garbage' }));
  });

  it('a cnf that is not an object, or an x5t#S256 that is not a thumbprint, denies', async () => {
    const sign = (cnf: unknown) => issuer.sign({ jti: randomUUID(), cnf });
    for (const cnf of [{ 'x5t#S256': 42 }, { 'x5t#S256': `${alice.thumbprint}=` }, { 'x5t#S256': '' }]) {
      expectMismatch(await check('/peer', await sign(cnf), { peer: alice }));
    }
    // RFC 7800 §3.1: cnf is an object. The DPoP step reads cnf before this one and refuses it first.
    for (const cnf of ['x', null, [alice.thumbprint]]) {
      const res = await check('/peer', await sign(cnf), { peer: alice });
      expect(res.denied_response?.status.code).toBe(401);
      expect(['DpopBindingMismatch', 'CertificateBindingMismatch']).toContain(reasonOf(res));
    }
    // A cnf with only a DPoP jkt is not certificate-bound: sent as Bearer, it is the DPoP step that refuses it.
    expect(reasonOf(await check('/peer', await sign({ jkt: 'abc' }), { peer: alice }))).toBe('DpopBindingMismatch');
  });

  it('checked before the claims: a bound token without its certificate is 401, not 403 for a scope it lacks', async () => {
    const token = await boundTo(alice);
    expectMismatch(await check('/scoped', token, { peer: bob }));
    // With its certificate, the same token gets as far as the scope rule.
    const res = await check('/scoped', token, { peer: alice });
    expect(res.denied_response?.status.code).toBe(403);
    expect(reasonOf(res)).toBe('TokenClaimNotFound');
  });

  it('report-only: the mismatch is a would-deny, the request passes', async () => {
    const res = await check('/report', await boundTo(alice), { peer: bob });
    expectAllowed(res);
    expect(tg.logs.some((l) => l.policy === 'report' && JSON.stringify(l).includes('CertificateBindingMismatch'))).toBe(
      true,
    );
  });
});

describe('trusted headers, only where the policy names them', () => {
  it('xfcc: the Cert= of x-forwarded-client-cert is compared; the peer certificate is not read', async () => {
    const token = await boundTo(alice);
    expectAllowed(await check('/xfcc', token, { headers: xfccGood(alice) }));
    expectMismatch(await check('/xfcc', token, { headers: xfccGood(bob) }));
    expectMismatch(await check('/xfcc', token, { peer: alice }));
    expectMismatch(await check('/xfcc', token, { headers: clientCert(alice) }));
  });

  it('xfcc: a Hash that is not the Cert, or two elements, deny', async () => {
    const token = await boundTo(alice);
    expectMismatch(await check('/xfcc', token, { headers: xfcc(alice) }));
    const two = `${xfccGood(alice)['x-forwarded-client-cert']},${xfccGood(bob)['x-forwarded-client-cert']}`;
    expectMismatch(await check('/xfcc', token, { headers: { 'x-forwarded-client-cert': two } }));
  });

  it('client-cert: the RFC 9440 byte sequence is compared; the peer and xfcc are not read', async () => {
    const token = await boundTo(alice);
    expectAllowed(await check('/client-cert', token, { headers: clientCert(alice) }));
    expectMismatch(await check('/client-cert', token, { headers: clientCert(bob) }));
    expectMismatch(await check('/client-cert', token, { peer: alice, headers: xfccGood(alice) }));
    expectMismatch(await check('/client-cert', token, { headers: { 'client-cert': alice.pem.replaceAll('\n', '') } }));
  });
});

describe('certificateBinding in tokengate validate', () => {
  const base = `policies:
  - name: p
    validateJwt:
      issuerSigningKeys: [{ base64: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg==" }]
      audiences: [a]
      issuers: ["https://issuer.example"]
`;

  it('accepts each source, required or not', () => {
    for (const source of ['peer', 'xfcc', 'client-cert']) {
      expect(configProblems(`${base}    certificateBinding: { source: ${source}, required: true }\n`)).toEqual([]);
    }
  });

  it('names every problem: no source, an unknown source, a required that is not a boolean, an unknown key', () => {
    expect(configProblems(`${base}    certificateBinding: { required: true }\n`)).toEqual([
      'policies[0].certificateBinding.source: is required (one of: peer, xfcc, client-cert)',
    ]);
    expect(configProblems(`${base}    certificateBinding: { source: x-client-cert, require: yes }\n`)).toEqual([
      'policies[0].certificateBinding.require: unknown key (expected one of: source, required)',
      'policies[0].certificateBinding.source: must be one of peer, xfcc, client-cert, got string "x-client-cert"',
    ]);
    expect(configProblems(`${base}    certificateBinding: { source: peer, required: "yes" }\n`)).toEqual([
      'policies[0].certificateBinding.required: must be true or false, got string "yes"',
    ]);
    expect(configProblems(`${base}    certificateBinding: peer\n`)).toEqual([
      'policies[0].certificateBinding: must be a mapping, got string "peer"',
    ]);
  });
});
