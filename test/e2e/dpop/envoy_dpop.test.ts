// DPoP (RFC 9449) through a real Envoy: the shipped envoy/envoy.yaml as it is (its ext_authz allowed_headers names
// `dpop`, the line docs/sender-constrained-tokens.md asks for), in front of tokengate (the built CLI). What this shows beyond
// the gRPC tests: the scheme and :authority (with its port) that Envoy really sends build the htu the client signed,
// and Envoy hands the DPoP challenge and the DPoP-Nonce back to the client.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../../src/dev_issuer/dev_issuer.js';
import { dpopProof, es256Key, type ProofKey } from '../../dpop/proofs.js';
import type { ManagedProcess } from '../../helpers/child_process.js';
import { httpGet } from '../../helpers/http.js';
import { freePorts } from '../../helpers/ports.js';
import { startTokengateProcess } from '../../helpers/tokengate_process.js';
import { startEnvoy, type RunningEnvoy } from '../helpers/envoy.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/upstreams.js';

const AUDIENCE = 'api://orders-dpop';
let dir: string;
let issuer: DevIssuer;
let echo: EchoUpstream;
let tokengate: ManagedProcess;
let envoy: RunningEnvoy;
let key: ProofKey;
let token: string;
let origin: string;

/** The shipped file must pass the proof on: without `dpop` in allowed_headers every DPoP request is denied. */
function expectDpopHeader(yaml: string): string {
  if (!/^ +- \{ exact: dpop \}/m.test(yaml)) throw new Error('envoy.yaml no longer names dpop in allowed_headers');
  return yaml;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tokengate-e2e-dpop-'));
  const [listenerPort, adminPort, upstreamPort, upstreamGrpcPort, tokengatePort, opsPort] = (await freePorts(6)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  origin = `http://127.0.0.1:${listenerPort}`;
  echo = await startEchoUpstream(upstreamPort);
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: AUDIENCE });
  writeFileSync(join(dir, 'nonce.key'), randomBytes(32));
  const configFile = join(dir, 'tokengate.yaml');
  // Envoy's routes name the policy by context_extensions: /orders is `orders`, /admin is `admin`.
  writeFileSync(
    configFile,
    `server:
  grpc: { address: "127.0.0.1:${tokengatePort}" }
  http: { address: "127.0.0.1:${opsPort}" }
policies:
  - name: orders
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["${AUDIENCE}"]
    dpop: { required: true, algorithms: [ES256] }
  - name: admin
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["${AUDIENCE}"]
    dpop: { required: true, algorithms: [ES256], nonce: { keyFile: "${join(dir, 'nonce.key')}" } }
  - name: default
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["${AUDIENCE}"]
`,
  );
  tokengate = await startTokengateProcess({
    args: ['serve', '--config', configFile],
    opsPort,
    logFile: join(dir, 'tokengate.log'),
  });
  const ports = { listenerPort, adminPort, upstreamPort, upstreamGrpcPort, tokengatePort };
  envoy = await startEnvoy({ dir, ...ports, configure: expectDpopHeader });
  await envoy.waitTokengateHealthy();
  key = await es256Key();
  token = await issuer.sign({ cnf: { jkt: key.thumbprint } });
});

afterAll(async () => {
  await envoy?.stop();
  await tokengate?.stop('SIGTERM', 10_000);
  await echo?.close();
  await issuer?.close();
  if (dir && !process.env.TOKENGATE_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, proof: string | undefined) =>
  httpGet(envoy.listenerPort, path, {
    headers: { authorization: `DPoP ${token}`, ...(proof === undefined ? {} : { dpop: proof }) },
  });

describe('DPoP through a real Envoy', () => {
  it('a proof for the URI the client used (scheme, host and port, path) reaches the upstream; its replay does not', async () => {
    const proof = dpopProof(key, { token, htu: `${origin}/orders/1` });
    const before = echo.count;
    expect((await get('/orders/1?page=2', proof)).status).toBe(200);
    expect(echo.count).toBe(before + 1);
    const replay = await get('/orders/1?page=2', proof);
    expect(replay.status).toBe(401);
    expect(replay.headers['www-authenticate']).toBe('DPoP error="invalid_dpop_proof", algs="ES256"');
    expect(echo.count).toBe(before + 1);
  });

  it('a proof for another port, or for the path before Envoy normalised it, is refused', async () => {
    const otherPort = dpopProof(key, { token, htu: `http://127.0.0.1:1/orders/1` });
    expect((await get('/orders/1', otherPort)).status).toBe(401);
    // Envoy normalises /orders/x/../1 to /orders/1 (normalize_path): the client signed what it sent, and both sides
    // are normalised alike, so this passes; a proof for /orders/2 does not.
    expect((await get('/orders/x/../1', dpopProof(key, { token, htu: `${origin}/orders/x/../1` }))).status).toBe(200);
    expect((await get('/orders/1', dpopProof(key, { token, htu: `${origin}/orders/2` }))).status).toBe(401);
  });

  it('with nonces on, the client gets use_dpop_nonce and a DPoP-Nonce through Envoy, and the retry passes', async () => {
    const first = await get('/admin', dpopProof(key, { token, htu: `${origin}/admin` }));
    expect(first.status).toBe(401);
    expect(first.headers['www-authenticate']).toBe('DPoP error="use_dpop_nonce", algs="ES256"');
    const nonce = first.headers['dpop-nonce'];
    expect(typeof nonce).toBe('string');
    const retry = await get('/admin', dpopProof(key, { token, htu: `${origin}/admin`, nonce: nonce as string }));
    expect(retry.status).toBe(200);
  });
});
