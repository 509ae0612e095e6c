// The pod of deploy/base, simulated on this machine: tokengate (`node dist/cli.js serve`, config path from
// TOKENGATE_CONFIG as in the Deployment) and Envoy (the Deployment's args) started from the rendered ConfigMaps,
// laid out as the kubelet lays out a ConfigMap volume, talking over the Unix socket; a local issuer stands in for
// the identity provider and a tiny HTTP server for the app. Only ports and paths are localised: ephemeral
// loopback ports instead of the pod's, the socket and the volumes under a temp dir, the issuer's URL.
// Then a ConfigMap update, done the kubelet's way (a new payload directory, `..data` swapped by rename(2)),
// changes a decision without a restart; a broken update changes nothing.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMap, isSeq, parseDocument } from 'yaml';
import { rewriteDeployEnvoyConfig } from '../../../scripts/render-deploy.mjs';
import { startDevIssuer, type DevIssuer } from '../../../src/dev_issuer/dev_issuer.js';
import { DEPLOY, ensureBuilt } from '../../deploy/helpers.js';
import { ManagedProcess } from '../../helpers/child_process.js';
import { updateConfigMapVolume, writeConfigMapVolume } from '../../helpers/configmap_volume.js';
import { envoyBin } from '../../helpers/envoy_binary.js';
import { httpGet } from '../../helpers/http.js';
import { freePorts } from '../../helpers/ports.js';
import { metric as sample, startTokengateProcess } from '../../helpers/tokengate_process.js';
import { StopWaiting, waitFor } from '../../helpers/wait.js';
import { kustomize, parseObjects, podOf, type RenderedPod } from './render.js';

// Short: the socket path must stay under the 108-byte sun_path limit.
const root = mkdtempSync(join(tmpdir(), 'tg-pod-'));

let pod: RenderedPod;
let issuer: DevIssuer;
let upstream: Server;
let tokengate: ManagedProcess;
let envoy: ManagedProcess;
const seen: Record<string, string | string[] | undefined>[] = [];
let ports: { listener: number; admin: number; ready: number; upstream: number; upstreamGrpc: number; ops: number };
let socket: string;

/**
 * The ConfigMap's tokengate.yaml, localised: server addresses to this machine, every openidConfig URL to the local
 * issuer; `edit` may change the policies (the simulated ConfigMap update).
 */
function localTokengateConfig(edit?: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(pod.tokengateConfigText);
  doc.setIn(['server', 'grpc', 'address'], `unix:${socket}`);
  doc.setIn(['server', 'http', 'address'], `127.0.0.1:${ports.ops}`);
  doc.setIn(['server', 'shutdownGraceSeconds'], 2);
  const policies = doc.get('policies', true);
  if (!isSeq(policies)) throw new Error('tokengate.yaml: no policies');
  for (const policy of policies.items) {
    const entries = isMap(policy) ? policy.getIn(['validateJwt', 'openidConfig'], true) : undefined;
    if (isSeq(entries)) for (const entry of entries.items) if (isMap(entry)) entry.set('url', issuer.discoveryUrl);
  }
  edit?.(doc);
  return doc.toString();
}

function ordersPolicyIndex(doc: ReturnType<typeof parseDocument>): number {
  const policies = doc.get('policies', true);
  const i = isSeq(policies) ? policies.items.findIndex((p) => isMap(p) && p.get('name') === 'orders') : -1;
  if (i < 0) throw new Error('tokengate.yaml has no "orders" policy');
  return i;
}

/** GET through Envoy's ingress listener. */
function viaEnvoy(path: string, token?: string) {
  return httpGet(ports.listener, path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

function metric(name: string, labels: string): Promise<number> {
  return sample(`http://127.0.0.1:${ports.ops}`, `${name}{${labels}}`);
}

const diagnostics = () => `${tokengate?.logTail() ?? ''}\n${envoy?.logTail() ?? ''}`;

beforeAll(async () => {
  ensureBuilt();
  pod = podOf(parseObjects(kustomize(join(DEPLOY, 'base'))));
  const [listener, admin, ready, up, upGrpc, ops] = await freePorts(6);
  ports = { listener: listener!, admin: admin!, ready: ready!, upstream: up!, upstreamGrpc: upGrpc!, ops: ops! };

  const podSocket = parseDocument(pod.tokengateConfigText).getIn(['server', 'grpc', 'address']) as string;
  expect(podSocket).toMatch(/^unix:\//);
  socket = join(root, podSocket.slice('unix:'.length));

  const audience = (parseDocument(pod.tokengateConfigText).toJS({ maxAliasCount: 100 }).policies as any[]).find((p) => p.name === 'orders').validateJwt.audiences[0];
  issuer = await startDevIssuer({ defaultAudience: audience, algorithms: ['RS256'] });

  upstream = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from the app\n');
  });
  await new Promise<void>((ok) => upstream.listen(ports.upstream, '127.0.0.1', () => ok()));

  // The volumes, as the kubelet writes them; the socket's emptyDir.
  writeConfigMapVolume(join(root, dirname(pod.tokengateConfigPath)), { 'tokengate.yaml': localTokengateConfig() });
  const envoyConfig = rewriteDeployEnvoyConfig(pod.envoyConfigText, {
    listenerPort: ports.listener,
    listenerAddress: '127.0.0.1',
    adminPort: ports.admin,
    readyPort: ports.ready,
    readyAddress: '127.0.0.1',
    upstreamPort: ports.upstream,
    upstreamGrpcPort: ports.upstreamGrpc,
    tokengateSocket: socket,
  });
  writeConfigMapVolume(join(root, dirname(pod.envoyConfigPath)), { 'envoy.yaml': envoyConfig });
  mkdirSync(dirname(socket), { recursive: true }); // the emptyDir

  // Start order of the pod: tokengate, then (once its startup probe passes) Envoy.
  const env = { TOKENGATE_CONFIG: join(root, pod.tokengateConfigPath) };
  expect(pod.tokengate.env).toContainEqual({ name: 'TOKENGATE_CONFIG', value: pod.tokengateConfigPath });
  tokengate = await startTokengateProcess({ args: ['serve'], opsPort: ports.ops, logFile: join(root, 'tokengate.log'), env });
  expect((await httpGet(ports.ops, pod.tokengate.startupProbe.httpGet.path)).status).toBe(200);

  const args = (pod.envoy.args as string[]).map((a) => (a === pod.envoyConfigPath ? join(root, pod.envoyConfigPath) : a));
  expect(args).toContain(join(root, pod.envoyConfigPath));
  envoy = new ManagedProcess('envoy', envoyBin(), args, join(root, 'envoy.log'));
  await waitFor(
    `Envoy readiness probe GET ${pod.envoy.readinessProbe.httpGet.path} == 200`,
    async () => {
      if (!envoy.running) throw new StopWaiting('envoy exited');
      return (await httpGet(ports.ready, pod.envoy.readinessProbe.httpGet.path, { timeoutMs: 1000 })).status === 200 ? true : undefined;
    },
    { timeoutMs: 30_000, diagnostics },
  );
}, 90_000);

afterAll(async () => {
  await envoy?.stop('SIGTERM');
  await tokengate?.stop('SIGKILL');
  await issuer?.close();
  await new Promise<void>((ok) => (upstream ? upstream.close(() => ok()) : ok()));
  rmSync(root, { recursive: true, force: true });
});

describe('the deploy/base pod, simulated', () => {
  it('is Ready by the Deployment\'s own probes: tokengate /readyz and /healthz, Envoy /ready and /healthz', async () => {
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect((await httpGet(ports.ops, pod.tokengate[probe].httpGet.path)).status, `tokengate ${probe}`).toBe(200);
      expect((await httpGet(ports.ready, pod.envoy[probe].httpGet.path)).status, `envoy ${probe}`).toBe(200);
    }
    // The "ready" listener forwards nothing else to the admin API.
    expect((await httpGet(ports.ready, '/quitquitquit')).status).toBe(404);
    expect((await httpGet(ports.ready, '/stats/prometheus')).body).toContain('envoy_');
  });

  it('authorises through Envoy and the Unix socket: no token 401, the right scope 200 (claims to the app), the wrong one 403', async () => {
    const read = await issuer.sign({ sub: 'alice', scp: 'orders.read' });
    const ok = await waitFor('GET /orders with an orders.read token == 200', async () => ((await viaEnvoy('/orders', read)).status === 200 ? true : undefined), { timeoutMs: 15_000, diagnostics });
    expect(ok).toBe(true);
    expect(seen.at(-1)?.['x-user-sub']).toBe('alice');
    expect((await viaEnvoy('/orders')).status).toBe(401);
    expect((await viaEnvoy('/orders', await issuer.sign({ scp: 'profile' }))).status).toBe(403);
    expect((await viaEnvoy('/healthz')).status).toBe(200); // Envoy's own route, never authorised
  });

  it('picks up a ConfigMap update (the kubelet\'s ..data swap) without a restart: the decision changes', async () => {
    const read = await issuer.sign({ sub: 'alice', scp: 'orders.read' });
    const write = await issuer.sign({ sub: 'bob', scp: 'orders.write' });
    expect((await viaEnvoy('/orders', read)).status).toBe(200);
    const before = await metric('tokengate_config_reloads_total', 'result="success"');

    // The update: /orders now needs orders.write.
    const updated = localTokengateConfig((doc) => {
      const i = ordersPolicyIndex(doc);
      doc.setIn(['policies', i, 'validateJwt', 'requiredClaims'], doc.createNode([{ name: 'scp', separator: ' ', values: ['orders.write'] }]));
    });
    updateConfigMapVolume(join(root, dirname(pod.tokengateConfigPath)), { 'tokengate.yaml': updated });

    // tokengate watches the config's directory (src/config/watch_config.ts) and reloads on the swap.
    await waitFor('GET /orders with an orders.read token == 403 after the update', async () => ((await viaEnvoy('/orders', read)).status === 403 ? true : undefined), { timeoutMs: 20_000, diagnostics });
    expect((await viaEnvoy('/orders', write)).status).toBe(200);
    expect(tokengate.running).toBe(true);
    expect(await metric('tokengate_config_reloads_total', 'result="success"')).toBeGreaterThan(before);
  }, 30_000);

  it('keeps the previous config when an update does not validate', async () => {
    const write = await issuer.sign({ sub: 'bob', scp: 'orders.write' });
    const before = await metric('tokengate_config_reloads_total', 'result="failure"');
    updateConfigMapVolume(join(root, dirname(pod.tokengateConfigPath)), { 'tokengate.yaml': 'policies: []\n' });
    await waitFor('a failed reload in tokengate_config_reloads_total', async () => ((await metric('tokengate_config_reloads_total', 'result="failure"')) > before ? true : undefined), { timeoutMs: 20_000, diagnostics });
    expect((await viaEnvoy('/orders', write)).status).toBe(200);
    expect((await httpGet(ports.ops, '/readyz')).status).toBe(200);
  }, 30_000);

  it('stops in the pod\'s order: Envoy first, then tokengate drains and exits 0', async () => {
    await envoy.stop('SIGTERM');
    const exit = await tokengate.stop('SIGTERM', 15_000);
    expect(exit, tokengate.logTail()).toEqual({ code: 0, signal: null });
  }, 30_000);
});
