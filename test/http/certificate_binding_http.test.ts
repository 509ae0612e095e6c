// Certificate-bound tokens (RFC 8705 §3) on the HTTP authorization listener, over real sockets: there is no peer
// certificate in this mode (the proxy asks over plain HTTP), so a bound token needs a header source that the proxy
// sets: nginx's `$ssl_client_escaped_cert` in x-forwarded-client-cert's Cert= field, or RFC 9440 Client-Cert.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBindingStack, type BindingStack } from '../helpers/binding_stack.js';
import type { TestCertificate } from '../helpers/certificates.js';
import { startTokengate } from '../helpers/tokengate.js';
import { ask, bearer, type Answer } from './http_client.js';

const AUD = 'api://http-mtls';

const policy = (name: string, binding: string) => `
  - name: ${name}
    match: { pathPrefixes: ["/${name}"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]${binding ? `\n    certificateBinding: ${binding}` : ''}`;

const CONFIG = `server:
  grpc: { address: "127.0.0.1:0" }
  http: { address: "127.0.0.1:0" }
  httpAuthz: { address: "127.0.0.1:0", trustedProxies: ["127.0.0.1/32"] }
policies:${policy('implicit', '')}${policy('peer', '{ source: peer }')}${policy('xfcc', '{ source: xfcc }')}${policy(
  'client-cert',
  '{ source: client-cert }',
)}
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

/** As nginx's auth_request asks (X-Original-URI), with the headers its proxy_set_header lines add. */
function nginx(uri: string, token: string, extra: [string, string][] = []): Promise<Answer> {
  const headers: [string, string][] = [['x-original-method', 'GET'], ['x-original-uri', uri], bearer(token), ...extra];
  return ask(tg.app.httpAuthzPort!, '/authz', { headers });
}

const xfcc = (c: TestCertificate): [string, string] => ['x-forwarded-client-cert', `Cert="${c.urlEncodedPem}"`];
const clientCert = (c: TestCertificate): [string, string] => ['client-cert', `:${c.der.toString('base64')}:`];

function expectMismatch(res: Answer) {
  expect(res.status, res.body).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
}

describe('certificate-bound tokens on the HTTP authorization listener', () => {
  it("xfcc: the proxy's Cert= (nginx: $ssl_client_escaped_cert) is compared", async () => {
    const token = await boundTo(alice);
    expect((await nginx('/xfcc/1', token, [xfcc(alice)])).status).toBe(200);
    expectMismatch(await nginx('/xfcc/1', token, [xfcc(bob)]));
    expectMismatch(await nginx('/xfcc/1', token));
    // nginx sends `Cert=` when the client had no certificate: a bearer token passes, the bound one does not.
    expectMismatch(await nginx('/xfcc/1', token, [['x-forwarded-client-cert', 'Cert=']]));
    const unbound = await issuer.sign({ jti: randomUUID() });
    expect((await nginx('/xfcc/1', unbound, [['x-forwarded-client-cert', 'Cert=']])).status).toBe(200);
  });

  it('client-cert: the RFC 9440 byte sequence is compared', async () => {
    const token = await boundTo(alice);
    expect((await nginx('/client-cert/1', token, [clientCert(alice)])).status).toBe(200);
    expectMismatch(await nginx('/client-cert/1', token, [clientCert(bob)]));
  });

  it('no peer certificate here: a bound token under a peer policy (or one naming no source) is denied', async () => {
    const token = await boundTo(alice);
    expectMismatch(await nginx('/peer/1', token, [xfcc(alice), clientCert(alice)]));
    expectMismatch(await nginx('/implicit/1', token, [xfcc(alice), clientCert(alice)]));
  });

  it('from a peer that is not a trusted proxy the certificate headers are ignored, in either request form', async () => {
    // Stricter than a listener that reads every header: a client that reaches it directly could otherwise present
    // the (public) certificate of a stolen bound token.
    const untrusting = await startTokengate(CONFIG.replace('trustedProxies: ["127.0.0.1/32"]', 'trustedProxies: []'), {
      ISSUER: issuer.issuer,
    });
    try {
      const token = await boundTo(alice);
      const port = untrusting.app.httpAuthzPort!;
      for (const source of [xfcc(alice), clientCert(alice)]) {
        const path = source[0] === 'client-cert' ? '/envoy/client-cert/1' : '/envoy/xfcc/1';
        expectMismatch(await ask(port, path, { headers: [bearer(token), source] }));
      }
      // The same request through the trusting listener passes: the only difference is who sent the header.
      expect(
        (await ask(tg.app.httpAuthzPort!, '/envoy/xfcc/1', { headers: [bearer(token), xfcc(alice)] })).status,
      ).toBe(200);
    } finally {
      await untrusting.stop();
    }
  });

  it('a bearer token still passes where binding is not required', async () => {
    const token = await issuer.sign({ jti: randomUUID() });
    expect((await nginx('/implicit/1', token)).status).toBe(200);
    expect((await nginx('/peer/1', token)).status).toBe(200);
  });
});
