// `tokengate demo` (npm start) and `tokengate dev-issuer`: the bundled demo config with a development issuer, and
// the issuer alone. Never for production; kept out of cli.ts so `serve` does not load them.
import { writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from './app.js';
import { parseConfigText } from './config/load.js';
import { createLogger } from './log.js';
import { PACKAGE_ROOT } from './paths.js';

export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { grpc: { type: 'string' }, http: { type: 'string' } } });
  const { startDevIssuer } = await import('./dev_issuer/dev_issuer.js');
  const issuer = await startDevIssuer({ algorithms: ['RS256', 'ES256'] });
  let text = readFileSync(join(PACKAGE_ROOT, 'config', 'demo.yaml'), 'utf8').replaceAll('${ISSUER}', issuer.issuer);
  if (values.grpc) text = text.replace('127.0.0.1:9191', values.grpc);
  if (values.http) text = text.replace('127.0.0.1:9090', values.http);
  const config = parseConfigText(text, 'config/demo.yaml');
  // The resolved config, so `tokengate explain` can be pointed at exactly what the demo runs.
  const resolvedConfig = join(tmpdir(), `tokengate-demo-${process.pid}.yaml`);
  writeFileSync(resolvedConfig, text);
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  const app = await App.start({ config, log });
  await app.firstFetches();
  const good = await issuer.sign({ sub: 'demo-user', scp: 'orders.read' });
  const noScope = await issuer.sign({ sub: 'demo-user', scp: 'profile' });
  const grpc = app.grpcAddress;
  process.stderr.write(`
tokengate demo is ready: gRPC ${grpc}, ops http://127.0.0.1:${app.opsPort}/readyz
Development issuer (NOT FOR PRODUCTION): ${issuer.issuer}
  more tokens: curl -s -d scope=orders.read ${issuer.tokenEndpoint}

A demo token with scp=orders.read:
${good}

Allow (GET /orders with that token), with the bundled client:
  node dist/cli.js check --address ${grpc} --path /orders --token ${good}
Deny (a token without the orders scope):
  node dist/cli.js check --address ${grpc} --path /orders --token ${noScope}
Explain a decision check by check:
  node dist/cli.js explain --config ${resolvedConfig} --path /orders --token ${noScope}
${grpcurlHint(grpc, good)}
Press Ctrl-C to stop.
`);
  const stop = () =>
    void app
      .stop(1000)
      .then(() => issuer.close())
      .then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise(() => undefined);
}

function grpcurlHint(grpc: string, token: string): string {
  const http = { method: 'GET', path: '/orders', host: 'api.local', headers: { authorization: `Bearer ${token}` } };
  const request = JSON.stringify({ attributes: { request: { http } } });
  return `With grpcurl, if you have it:
  grpcurl -plaintext -import-path proto -proto envoy/service/auth/v3/external_auth.proto \\
    -d '${request}' \\
    ${grpc} envoy.service.auth.v3.Authorization/Check`;
}

export async function devIssuerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8400' },
      host: { type: 'string', default: '127.0.0.1' },
      'allow-non-loopback': { type: 'boolean', default: false },
      alg: { type: 'string', multiple: true },
    },
  });
  const { startDevIssuer } = await import('./dev_issuer/dev_issuer.js');
  const issuer = await startDevIssuer({
    host: values.host,
    port: Number(values.port),
    allowNonLoopback: values['allow-non-loopback'],
    ...(values.alg ? { algorithms: values.alg } : {}),
  });
  process.stderr.write(`
*** DEVELOPMENT ISSUER: NOT FOR PRODUCTION. It hands out signed tokens to anyone who asks. ***
issuer:    ${issuer.issuer}
discovery: ${issuer.discoveryUrl}
jwks:      ${issuer.jwksUri}
token:     curl -s -d 'scope=orders.read' -d 'sub=alice' ${issuer.tokenEndpoint}
`);
  const stop = () => void issuer.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise(() => undefined);
}
