import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderEnvoyConfig } from '../../../scripts/render-envoy-config.mjs';
import { ROOT } from '../../helpers/paths.js';

/** The example configurations the tests run: what is in proxies/ is what is tested. */
export const EXAMPLES = join(ROOT, 'proxies');

export interface Ports {
  readonly listener: number;
  readonly upstream: number;
  readonly tokengateGrpc: number;
  readonly tokengateOps: number;
  readonly tokengateHttp: number;
  /** Envoy's admin port. */
  readonly admin: number;
}

/**
 * Replaces each `from` in `text` (each must occur: an example that moved a value must fail here, not pass untested).
 */
function substitute(file: string, replacements: readonly [string, string][]): string {
  let text = readFileSync(join(EXAMPLES, file), 'utf8');
  for (const [from, to] of replacements) {
    if (!text.includes(from)) throw new Error(`proxies/${file} no longer contains ${JSON.stringify(from)}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** proxies/tokengate.yaml with this run's ports and issuer. */
export function tokengateConfig(ports: Ports, issuer: string): string {
  return substitute('tokengate.yaml', [
    ['127.0.0.1:9191', `127.0.0.1:${ports.tokengateGrpc}`],
    ['127.0.0.1:9090', `127.0.0.1:${ports.tokengateOps}`],
    ['127.0.0.1:9192', `127.0.0.1:${ports.tokengateHttp}`],
    ['https://login.example.com', issuer],
  ]);
}

/** proxies/nginx.conf (an http-context file), listening on loopback. */
export function nginxConfig(ports: Ports): string {
  return substitute('nginx.conf', [
    ['listen 8080;', `listen 127.0.0.1:${ports.listener};`],
    ['127.0.0.1:9192', `127.0.0.1:${ports.tokengateHttp}`],
    ['127.0.0.1:8081', `127.0.0.1:${ports.upstream}`],
  ]);
}

/**
 * The main nginx.conf the test runs nginx with: everything nginx would write (pid, logs, temp files) in `dir`, and
 * the example included in the http context, as /etc/nginx/nginx.conf includes conf.d/.
 */
export function nginxMainConfig(dir: string, example: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t}_temp;`);
  return [
    'daemon off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/nginx.error.log info;`,
    'events {}',
    'http {',
    `  access_log ${dir}/nginx.access.log;`,
    ...temp,
    `  include ${example};`,
    '}',
    '',
  ].join('\n');
}

export function caddyfile(ports: Ports): string {
  return substitute('Caddyfile', [
    ['http://:8080', `http://127.0.0.1:${ports.listener}`],
    ['127.0.0.1:9192', `127.0.0.1:${ports.tokengateHttp}`],
    ['127.0.0.1:8081', `127.0.0.1:${ports.upstream}`],
  ]);
}

export function envoyConfig(ports: Ports): string {
  return renderEnvoyConfig(readFileSync(join(EXAMPLES, 'envoy-http-service.yaml'), 'utf8'), {
    listenerPort: ports.listener,
    listenerAddress: '127.0.0.1',
    adminPort: ports.admin,
    tokengatePort: ports.tokengateHttp,
    upstreamPort: ports.upstream,
  });
}
