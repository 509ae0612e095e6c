import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevIssuer, type DevIssuer } from '../../../src/dev_issuer/dev_issuer.js';
import { ManagedProcess } from '../../helpers/child_process.js';
import { envoyBin } from '../../helpers/envoy_binary.js';
import type { HttpResult } from '../../helpers/http.js';
import { ROOT } from '../../helpers/paths.js';
import { freePorts } from '../../helpers/ports.js';
import { startTokengateProcess } from '../../helpers/tokengate_process.js';
import { startEchoUpstream, type EchoUpstream } from '../helpers/upstreams.js';
import { caddyfile, envoyConfig, nginxConfig, nginxMainConfig, tokengateConfig, type Ports } from './render.js';

export type Proxy = 'nginx' | 'caddy' | 'envoy';

/** The audience of proxies/tokengate.yaml. */
export const AUDIENCE = 'api://orders';

export interface ProxyStack {
  readonly issuer: DevIssuer;
  readonly echo: EchoUpstream;
  /** A request through the proxy, the path sent exactly as given (no client-side normalisation). */
  get(path: string, headers?: Record<string, string>): Promise<HttpResult>;
  stopTokengate(): Promise<void>;
  startTokengate(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The dev issuer, an echo upstream, tokengate (the built CLI) with proxies/tokengate.yaml, and the real proxy with
 * its example configuration from proxies/, all on fresh loopback ports.
 */
export async function startProxyStack(proxy: Proxy): Promise<ProxyStack> {
  const dir = mkdtempSync(join(tmpdir(), `tokengate-${proxy}-`));
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
    if (!process.env.TOKENGATE_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [listener, upstream, tokengateGrpc, tokengateOps, tokengateHttp, admin] = (await freePorts(6)) as [
      number, number, number, number, number, number,
    ];
    const ports: Ports = { listener, upstream, tokengateGrpc, tokengateOps, tokengateHttp, admin };
    const echo = await startEchoUpstream(upstream);
    cleanups.push(() => echo.close());
    const issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: AUDIENCE });
    cleanups.push(() => issuer.close());

    const configFile = join(dir, 'tokengate.yaml');
    writeFileSync(configFile, tokengateConfig(ports, issuer.issuer));
    let starts = 0;
    const launch = () =>
      startTokengateProcess({ args: ['serve', '--config', configFile], opsPort: tokengateOps, logFile: join(dir, `tokengate.${starts++}.log`) });
    let tokengate = await launch();
    cleanups.push(() => tokengate.stop('SIGTERM', 10_000));

    const proc = startProxy(proxy, dir, ports);
    cleanups.push(() => proc.stop('SIGTERM', 10_000));
    const get = (path: string, headers: Record<string, string> = {}) => send(listener, path, headers);
    // Ready by observation: a request without a token has gone through the proxy to tokengate and back.
    const answering = () => proc.waitUntil(`${proxy} answering 401 through tokengate`, async () => (await get('/public/probe').catch(() => undefined))?.status === 401);
    await answering();

    return {
      issuer,
      echo,
      get,
      async stopTokengate() {
        await tokengate.stop('SIGTERM', 10_000);
      },
      async startTokengate() {
        tokengate = await launch();
        await answering();
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function startProxy(proxy: Proxy, dir: string, ports: Ports): ManagedProcess {
  const log = join(dir, `${proxy}.log`);
  if (proxy === 'nginx') {
    const example = join(dir, 'tokengate.conf');
    writeFileSync(example, nginxConfig(ports));
    writeFileSync(join(dir, 'nginx.conf'), nginxMainConfig(dir, example));
    // -e: the error log before the config is read (the packaged default is a path under /var/log).
    return new ManagedProcess('nginx', proxyBin('nginx'), ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx.error.log')], log);
  }
  if (proxy === 'caddy') {
    writeFileSync(join(dir, 'Caddyfile'), caddyfile(ports));
    // Caddy keeps its state (autosave.json, certificates) under these; none of it outside this run's folder.
    const home = join(dir, 'caddy-home');
    mkdirSync(home);
    const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: home, XDG_DATA_HOME: home };
    return new ManagedProcess('caddy', proxyBin('caddy'), ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], log, { env });
  }
  writeFileSync(join(dir, 'envoy.yaml'), envoyConfig(ports));
  const args = ['-c', join(dir, 'envoy.yaml'), '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warn'];
  return new ManagedProcess('envoy', envoyBin(), [...args, '--drain-time-s', '1', '--parent-shutdown-time-s', '2'], log);
}

/**
 * NGINX_BIN / CADDY_BIN (`npm run test:e2e` sets them after scripts/install-proxy.sh), else what that script finds
 * or installs. Never skips: a missing proxy fails loudly.
 */
function proxyBin(proxy: 'nginx' | 'caddy'): string {
  const given = process.env[`${proxy.toUpperCase()}_BIN`];
  if (given) return given;
  const r = spawnSync('bash', [join(ROOT, 'scripts/install-proxy.sh'), proxy], { encoding: 'utf8' });
  const bin = r.stdout.trim().split('\n').at(-1);
  if (r.status !== 0 || !bin) throw new Error(`no ${proxy}: ${r.stderr.trim()}`);
  return bin;
}

/** One HTTP/1.1 request on a fresh connection, the path as given: node sends `/public/../admin` as it is. */
function send(port: number, path: string, headers: Record<string, string>): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}
