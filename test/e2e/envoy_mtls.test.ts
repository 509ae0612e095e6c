// Certificate-bound access tokens (RFC 8705 §3) through a real Envoy: the shipped envoy/envoy-mtls.yaml (a TLS
// listener that requires client certificates, ext_authz with include_peer_certificate: true) in front of tokengate
// (the built CLI, a child process). Certificates are made for this run (test/helpers/x509.ts): a CA that signs the server
// certificate and two client certificates, and a second CA whose certificates Envoy must refuse. A second Envoy,
// from envoy/envoy.yaml, stands where TLS ended at a proxy in front: it takes x-forwarded-client-cert from that proxy,
// hand-written by the test or set by a third Envoy that ends the client's TLS.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderEnvoyConfig } from '../../scripts/render-envoy-config.mjs';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { createTestCa, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import type { ManagedProcess } from '../helpers/child_process.js';
import { freePorts } from '../helpers/ports.js';
import { startTokengateProcess } from '../helpers/tokengate_process.js';
import { httpGet } from '../helpers/http.js';
import { SHIPPED_ENVOY_CONFIG, startEnvoy, type RunningEnvoy } from './helpers/envoy.js';
import {
  SHIPPED_MTLS_ENVOY_CONFIG,
  httpsGet,
  startFrontProxy,
  trustingXfcc,
  withTlsFiles,
} from './helpers/envoy_mtls.js';
import { startEchoUpstream, type EchoUpstream } from './helpers/upstreams.js';

const AUDIENCE = 'api://orders-mtls';

let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let alice: TestCertificate;
let bob: TestCertificate;
let mallory: TestCertificate;
let issuer: DevIssuer;
let echo: EchoUpstream;
let tokengate: ManagedProcess;
let envoy: RunningEnvoy;
let listenerPort: number;
/** envoy/envoy.yaml, plain HTTP, behind a (simulated) TLS-terminating proxy that sets x-forwarded-client-cert. */
let behindProxy: RunningEnvoy;
/** A real Envoy ending the client's TLS and setting x-forwarded-client-cert (SANITIZE_SET), in front of behindProxy. */
let frontProxy: ManagedProcess;
let frontPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tokengate-e2e-mtls-'));
  ca = createTestCa('tokengate-e2e-ca');
  otherCa = createTestCa('another-ca');
  const server = ca.issue('envoy', { serverNames: ['127.0.0.1', 'localhost'] });
  alice = ca.issue('alice');
  bob = ca.issue('bob');
  mallory = otherCa.issue('mallory');
  const ports = (await freePorts(10)) as number[];
  const [listener, adminPort, upstreamPort, upstreamGrpcPort, tokengatePort, opsPort, proxiedPort, proxiedAdmin] =
    ports as [number, number, number, number, number, number, number, number];
  frontPort = ports[8]!;
  listenerPort = listener;
  echo = await startEchoUpstream(upstreamPort);
  issuer = await startDevIssuer({ defaultAudience: AUDIENCE });
  const discovery = `${issuer.issuer}/.well-known/openid-configuration`;
  const configFile = join(dir, 'tokengate.yaml');
  // `orders` is chosen by Envoy's route (context_extensions) and names the peer as its certificate source; the
  // fallback policy names none, and still checks bound tokens against the peer certificate.
  writeFileSync(
    configFile,
    `server:
  grpc: { address: "127.0.0.1:${tokengatePort}" }
  http: { address: "127.0.0.1:${opsPort}" }
  shutdownGraceSeconds: 1
policies:
  - name: orders
    match: { hosts: ["only-by-context-extensions.invalid"] }
    validateJwt:
      openidConfig: [{ url: "${discovery}" }]
      audiences: ["${AUDIENCE}"]
    certificateBinding: { source: peer }
  - name: proxied
    match: { hosts: ["proxied.example.com"] }
    validateJwt:
      openidConfig: [{ url: "${discovery}" }]
      audiences: ["${AUDIENCE}"]
    certificateBinding: { source: xfcc }
  - name: default
    validateJwt:
      openidConfig: [{ url: "${discovery}" }]
      audiences: ["${AUDIENCE}"]
`,
  );
  tokengate = await startTokengateProcess({
    args: ['serve', '--config', configFile],
    opsPort,
    logFile: join(dir, 'tokengate.log'),
  });
  const options = { listenerPort, listenerAddress: '127.0.0.1', adminPort, upstreamPort, upstreamGrpcPort, tokengatePort };
  const mtls = withTlsFiles(renderEnvoyConfig(readFileSync(SHIPPED_MTLS_ENVOY_CONFIG, 'utf8'), options), ca, server);
  envoy = await startEnvoy({ dir, ...options, configure: () => mtls });
  const proxiedDir = join(dir, 'behind-proxy');
  mkdirSync(proxiedDir);
  const proxied = { ...options, listenerPort: proxiedPort, adminPort: proxiedAdmin };
  const plain = trustingXfcc(renderEnvoyConfig(readFileSync(SHIPPED_ENVOY_CONFIG, 'utf8'), proxied));
  behindProxy = await startEnvoy({ dir: proxiedDir, ...proxied, configure: () => plain });
  const front = { dir: proxiedDir, port: frontPort, adminPort: ports[9]!, nextPort: proxiedPort, ca, server };
  frontProxy = await startFrontProxy(front);
});

afterAll(async () => {
  await envoy?.stop();
  await frontProxy?.stop('SIGTERM', 10_000);
  await behindProxy?.stop();
  await tokengate?.stop('SIGTERM', 10_000);
  await echo?.close();
  await issuer?.close();
  ca?.remove();
  otherCa?.remove();
  if (dir && !process.env.TOKENGATE_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});

const boundTo = (cert: TestCertificate) => issuer.sign({ jti: randomUUID(), cnf: { 'x5t#S256': cert.thumbprint } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function expectUpstream(path: string, client: TestCertificate, token: string) {
  const before = echo.count;
  const res = await httpsGet(listenerPort, path, { ca, client, headers: bearer(token) });
  expect(res.status, res.body).toBe(200);
  expect(res.headers['x-echo-upstream']).toBe('1');
  expect(echo.count).toBe(before + 1);
}

async function expectBindingDenied(path: string, client: TestCertificate, token: string, headers = {}) {
  const before = echo.count;
  const res = await httpsGet(listenerPort, path, { ca, client, headers: { ...bearer(token), ...headers } });
  expect(res.status, res.body).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  expect(echo.count, 'a denied request must never reach the upstream').toBe(before);
}

describe('certificate-bound tokens through Envoy with a mutual-TLS listener', () => {
  for (const path of ['/orders/1', '/elsewhere']) {
    it(`${path}: the token passes over a connection with its certificate`, async () => {
      await expectUpstream(path, alice, await boundTo(alice));
    });

    it(`${path}: another certificate signed by the same CA is denied 401 invalid_token`, async () => {
      await expectBindingDenied(path, bob, await boundTo(alice));
    });
  }

  it("the denial is the binding's: a bearer token over bob's connection passes, and bob's own bound token too", async () => {
    await expectUpstream('/orders/1', bob, await issuer.sign({ jti: randomUUID() }));
    await expectUpstream('/orders/1', bob, await boundTo(bob));
  });

  it("a forwarded-certificate header from the client does not stand in for the connection's certificate", async () => {
    const forged = {
      'x-forwarded-client-cert': `Cert="${alice.urlEncodedPem}"`,
      'client-cert': `:${alice.der.toString('base64')}:`,
    };
    await expectBindingDenied('/orders/1', bob, await boundTo(alice), forged);
  });

  it('no client certificate, or one from another CA: Envoy refuses the TLS connection before any check', async () => {
    const before = echo.count;
    const token = await boundTo(alice);
    await expect(httpsGet(listenerPort, '/orders/1', { ca, headers: bearer(token) })).rejects.toThrow();
    await expect(httpsGet(listenerPort, '/orders/1', { ca, client: mallory, headers: bearer(token) })).rejects.toThrow();
    expect(echo.count).toBe(before);
    expect(await envoy.counter('listener.127.0.0.1_' + listenerPort + '.ssl.fail_verify_no_cert')).toBeGreaterThan(0);
  });
});

describe('TLS ended at a proxy in front: x-forwarded-client-cert, where the policy names it', () => {
  /** What the proxy sends on: the client certificate of its TLS connection (Envoy's SANITIZE_SET with cert: true). */
  const fromProxy = (cert: TestCertificate, token: string, host = 'proxied.example.com') => ({
    host,
    ...bearer(token),
    'x-forwarded-client-cert': `Hash=${Buffer.from(cert.thumbprint, 'base64url').toString('hex')};Cert="${cert.urlEncodedPem}"`,
  });

  it("the token passes with its certificate in the proxy's header, and is denied with another or none", async () => {
    const token = await boundTo(alice);
    const before = echo.count;
    const ok = await httpGet(behindProxy.listenerPort, '/elsewhere', { headers: fromProxy(alice, token) });
    expect(ok.status, ok.body).toBe(200);
    expect(echo.count).toBe(before + 1);
    for (const headers of [fromProxy(bob, token), { host: 'proxied.example.com', ...bearer(token) }]) {
      const res = await httpGet(behindProxy.listenerPort, '/elsewhere', { headers });
      expect(res.status, res.body).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
    expect(echo.count).toBe(before + 1);
  });

  it('a policy that does not name xfcc ignores the header: its bound tokens need the peer certificate', async () => {
    const res = await httpGet(behindProxy.listenerPort, '/orders/1', { headers: fromProxy(alice, await boundTo(alice)) });
    expect(res.status, res.body).toBe(401);
  });
});

describe('a real TLS-terminating Envoy in front sets x-forwarded-client-cert', () => {
  const viaFront = (client: TestCertificate, token: string, headers: Record<string, string> = {}) =>
    httpsGet(frontPort, '/elsewhere', { ca, client, headers: { host: 'proxied.example.com', ...bearer(token), ...headers } });

  it("the header Envoy writes (Hash, Cert, Subject) is read: the token's own certificate passes", async () => {
    const before = echo.count;
    const res = await viaFront(alice, await boundTo(alice));
    expect(res.status, res.body).toBe(200);
    const seen = echo.requests.at(-1)!;
    // What the upstream sees is what tokengate was given: one element, with the fields set_current_client_cert_details names.
    expect(String(seen.headers['x-forwarded-client-cert'])).toMatch(/^Hash=[0-9a-f]{64};Cert="-----BEGIN%20CERTIFICATE-----.*";Subject="CN=alice"/);
    expect(echo.count).toBe(before + 1);
  });

  it('another certificate of the same CA is denied, and a client cannot send its own header past the proxy', async () => {
    const token = await boundTo(alice);
    const forged: Record<string, string> = { 'x-forwarded-client-cert': `Cert="${alice.urlEncodedPem}"` };
    for (const headers of [{}, forged]) {
      const res = await viaFront(bob, token, headers);
      expect(res.status, res.body).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
  });
});
