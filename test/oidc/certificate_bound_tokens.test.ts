import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, envoyCheckRequest, reasonOf, responseHeader, type CheckReply } from '../helpers/check_client.js';
import { createTestCa, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import {
  JWT_RESOURCE,
  MTLS_INTROSPECTION_SECRET,
  OPAQUE_RESOURCE,
  startMtlsProvider,
  type MtlsProvider,
} from './mtls_provider.js';

// Certificate-bound access tokens (RFC 8705 §3) that oidc-provider really issues: the client asks its token endpoint
// over mutual TLS with a certificate made by test/helpers/x509.ts, the provider binds the token to that certificate (cnf
// x5t#S256 in the JWT, and in its introspection answer for an opaque token), and tokengate checks the token over
// real gRPC with the certificate in the CheckRequest, as Envoy sends it with include_peer_certificate: true.
const CONFIG = `server:
  grpc: { address: "127.0.0.1:0" }
  http: { address: "127.0.0.1:0" }
  checkDeadlineMs: 5000
policies:
  - name: jwt
    match: { pathPrefixes: ["/jwt"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${JWT_RESOURCE}"]
      requireTokenType: at+jwt
  - name: required
    match: { pathPrefixes: ["/required"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${JWT_RESOURCE}"]
    certificateBinding: { source: peer, required: true }
  - name: xfcc
    match: { pathPrefixes: ["/xfcc"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${JWT_RESOURCE}"]
    certificateBinding: { source: xfcc }
  - name: opaque
    match: { pathPrefixes: ["/opaque"] }
    validateJwt:
      issuers: ["\${ISSUER}"]
      audiences: ["${OPAQUE_RESOURCE}"]
      introspection:
        endpoint: "\${ISSUER}/token/introspection"
        clientId: tokengate
        clientSecretFile: "\${DIR}/secret"
`;

let ca: TestCa;
let alice: TestCertificate;
let bob: TestCertificate;
let provider: MtlsProvider;
let tg: RunningTokengate;

beforeAll(async () => {
  ca = createTestCa();
  alice = ca.issue('alice');
  bob = ca.issue('bob');
  provider = await startMtlsProvider(ca, ca.issue('oidc-provider', { serverNames: ['127.0.0.1'] }));
  writeFileSync(join(ca.dir, 'secret'), MTLS_INTROSPECTION_SECRET);
  tg = await startTokengate(CONFIG, { ISSUER: provider.issuer, DIR: ca.dir });
});

afterAll(async () => {
  await tg?.stop();
  await provider?.stop();
  ca?.remove();
});

const payload = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

function check(path: string, token: string, peer?: string, headers: Record<string, string> = {}): Promise<CheckReply> {
  const request = { path, headers: { ...bearer(token), ...headers } };
  return tg.client.check(envoyCheckRequest(peer === undefined ? request : { ...request, peerCertificate: peer }));
}

function expectMismatch(res: CheckReply) {
  expect(res.denied_response?.status.code).toBe(401);
  expect(reasonOf(res)).toBe('CertificateBindingMismatch');
  expect(responseHeader(res, 'www-authenticate')).toBe('Bearer error="invalid_token"');
}

describe('oidc-provider certificate-bound JWT access tokens', () => {
  it("the token carries cnf x5t#S256 of the certificate the client used at the token endpoint", async () => {
    const token = await provider.token(alice, JWT_RESOURCE);
    expect(payload(token).cnf).toEqual({ 'x5t#S256': alice.thumbprint });
    expect(payload((await provider.token(bob, JWT_RESOURCE))).cnf).toEqual({ 'x5t#S256': bob.thumbprint });
  });

  it('passes with its own certificate', async () => {
    const token = await provider.token(alice, JWT_RESOURCE);
    expect((await check('/jwt', token, alice.urlEncodedPem)).status.code).toBe(0);
    expect((await check('/required', token, alice.urlEncodedPem)).status.code).toBe(0);
  });

  it('is denied with another certificate of the same CA, and with none', async () => {
    const token = await provider.token(alice, JWT_RESOURCE);
    expectMismatch(await check('/jwt', token, bob.urlEncodedPem));
    expectMismatch(await check('/jwt', token));
    expectMismatch(await check('/required', token, bob.urlEncodedPem));
  });

  it('is denied with a malformed certificate', async () => {
    const token = await provider.token(alice, JWT_RESOURCE);
    expectMismatch(await check('/jwt', token, alice.urlEncodedPem.slice(0, -40)));
    expectMismatch(await check('/jwt', token, encodeURIComponent(alice.pem.replace('CERTIFICATE', 'CERTIFICATE REQUEST'))));
  });

  it('x-forwarded-client-cert is honoured only where the policy names it', async () => {
    const token = await provider.token(alice, JWT_RESOURCE);
    const xfcc = { 'x-forwarded-client-cert': `By=spiffe://front;Cert="${alice.urlEncodedPem}"` };
    expect((await check('/xfcc', token, undefined, xfcc)).status.code).toBe(0);
    expectMismatch(await check('/jwt', token, undefined, xfcc));
    // Where the policy names xfcc, the peer certificate is not a substitute.
    expectMismatch(await check('/xfcc', token, alice.urlEncodedPem));
    expectMismatch(await check('/xfcc', token, undefined, { 'x-forwarded-client-cert': `Cert="${bob.urlEncodedPem}"` }));
  });
});

describe('oidc-provider certificate-bound opaque tokens (RFC 8705 §3.2: cnf in the introspection answer)', () => {
  it('passes with its own certificate, is denied with another or none', async () => {
    const token = await provider.token(alice, OPAQUE_RESOURCE);
    expect(token.split('.')).toHaveLength(1);
    expect((await check('/opaque', token, alice.urlEncodedPem)).status.code).toBe(0);
    const other = await provider.token(bob, OPAQUE_RESOURCE);
    expectMismatch(await check('/opaque', other, alice.urlEncodedPem));
    expectMismatch(await check('/opaque', token));
  });
});
