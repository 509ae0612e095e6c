#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from './app.js';
import { loadConfigFile, parseConfigText } from './config/load.js';
import type { Config } from './config/types.js';
import { startDevIssuer } from './dev_issuer/dev_issuer.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { PACKAGE_ROOT } from './paths.js';

const USAGE = `tokengate: JWT authorization sidecar for Envoy (ext_authz v3)

  tokengate serve --config FILE     run the server (or TOKENGATE_CONFIG=FILE)
  tokengate validate FILE           check a config; prints every problem as "path: message"
  tokengate demo                    run with the bundled demo config and a built-in development issuer
  tokengate dev-issuer [--port N] [--host H] [--allow-non-loopback]
                                    run the development OpenID Connect issuer alone (never for production)
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = { serve, validate, demo, 'dev-issuer': devIssuer };

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  return run(rest);
}

async function validate(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) {
    process.stderr.write('usage: tokengate validate FILE\n');
    return 2;
  }
  try {
    const config = loadConfigFile(positionals[0]!);
    process.stdout.write(`${positionals[0]}: ok (${config.policies.length} ${config.policies.length === 1 ? 'policy' : 'policies'})\n`);
    return 0;
  } catch (err) {
    return reportConfigError(err);
  }
}

function reportConfigError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  throw err;
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  const path = values.config ?? process.env.TOKENGATE_CONFIG;
  if (!path) {
    process.stderr.write('usage: tokengate serve --config FILE (or set TOKENGATE_CONFIG)\n');
    return 2;
  }
  let config: Config;
  try {
    config = loadConfigFile(path);
  } catch (err) {
    return reportConfigError(err);
  }
  const log = createLogger(process.env.LOG_LEVEL ?? config.logging.level);
  const app = await App.start({ config, log });
  handleSignals(app, log, () => loadConfigFile(path));
  return new Promise(() => undefined);
}

/** SIGTERM/SIGINT drain and exit 0; SIGHUP reloads, keeping the old config when the new one is bad. */
function handleSignals(app: App, log: Logger, reloadConfig: () => Config): void {
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void app.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    try {
      app.reload(reloadConfig());
    } catch (err) {
      app.recordReloadFailure();
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      log.error({ problems }, 'config reload failed; the previous config keeps serving');
    }
  });
}

async function demo(args: string[]): Promise<number> {
  parseArgs({ args, options: {} });
  const issuer = await startDevIssuer({ algorithms: ['RS256', 'ES256'] });
  const text = readFileSync(join(PACKAGE_ROOT, 'config', 'demo.yaml'), 'utf8').replaceAll('${ISSUER}', issuer.issuer);
  const config = parseConfigText(text, 'config/demo.yaml');
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  const app = await App.start({ config, log });
  await app.firstFetches();
  const good = await issuer.sign({ sub: 'demo-user', scp: 'orders.read' });
  const noScope = await issuer.sign({ sub: 'demo-user', scp: 'profile' });
  const grpc = app.grpcAddress;
  process.stderr.write(`
tokengate demo is ready: gRPC ${grpc}, ops http://127.0.0.1:${app.opsPort}/readyz
Development issuer (NOT FOR PRODUCTION): ${issuer.issuer}  (tokens: curl -s -d scope=orders.read ${issuer.tokenEndpoint})

A demo token with scp=orders.read:
${good}

Allow (GET /orders with that token):
  grpcurl -plaintext -import-path proto -proto envoy/service/auth/v3/external_auth.proto \\
    -d '{"attributes":{"request":{"http":{"method":"GET","path":"/orders","host":"api.local","headers":{"authorization":"Bearer ${good}"}}}}}' \\
    ${grpc} envoy.service.auth.v3.Authorization/Check
Deny (a token without the orders scope):
  grpcurl -plaintext -import-path proto -proto envoy/service/auth/v3/external_auth.proto \\
    -d '{"attributes":{"request":{"http":{"method":"GET","path":"/orders","host":"api.local","headers":{"authorization":"Bearer ${noScope}"}}}}}' \\
    ${grpc} envoy.service.auth.v3.Authorization/Check

Press Ctrl-C to stop.
`);
  const stop = () => void app.stop(1000).then(() => issuer.close()).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return new Promise(() => undefined);
}

async function devIssuer(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8400' },
      host: { type: 'string', default: '127.0.0.1' },
      'allow-non-loopback': { type: 'boolean', default: false },
      alg: { type: 'string', multiple: true },
    },
  });
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`tokengate: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
