#!/usr/bin/env node
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { App } from './app.js';
import { reportToPrimary, runPrimary, workerConfig } from './cluster.js';
import { buildRuntime } from './authz/runtime.js';
import { loadConfigFile } from './config/load.js';
import type { Config } from './config/types.js';
import { watchConfig } from './config/watch_config.js';
import { explain, formatExplanation } from './explain.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { loadRuleEngine } from './rules/engine.js';

const USAGE = `tokengate: JWT authorization sidecar for Envoy (ext_authz v3)

  tokengate serve --config FILE     run the server (or TOKENGATE_CONFIG=FILE)
  tokengate validate FILE           check a config; prints every problem as "path: message"
  tokengate test FILE... [--config CONFIG] [--json]
                                    run a file of table-driven cases against a config, offline (exit 1 on a failure)
  tokengate explain --config FILE --token JWT [--method GET] [--path /orders] [--host api.example.com]
                  [--header k=v ...] [--policy NAME] [--client-cert PEM] [--json]
                                    show how the config decides one request, check by check (exit 0 allow, 1 deny)
  tokengate check [--address 127.0.0.1:9191] [--token JWT] [--method GET] [--path /] [--host H]
                  [--header k=v ...] [--policy NAME] [--client-cert PEM]
                                    send one Check to a running tokengate (exit 0 allow, 1 deny)
  tokengate demo [--grpc ADDRESS] [--http ADDRESS]
                                    run with the bundled demo config and a built-in development issuer
  tokengate dev-issuer [--port N] [--host H] [--allow-non-loopback]
                                    run the development OpenID Connect issuer alone (never for production)
  tokengate import-apim POLICY.xml [--name NAME] [--allow-partial]
                  [--named-value NAME=VALUE ...] [--named-values FILE] [--certificate ID=FILE.pem ...]
                                    print the tokengate YAML for an APIM validate-jwt / validate-azure-ad-token policy
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve,
  validate,
  explain: explainCommand,
  check,
  // The demo and the development issuer load the issuer's signing code only when run.
  demo: async (args) => (await import('./demo_command.js')).demoCommand(args),
  'dev-issuer': async (args) => (await import('./demo_command.js')).devIssuerCommand(args),
  'import-apim': importApim,
};
COMMANDS.test = async (args) => (await import('./test_command/command.js')).testCommand(args);

// Commands that need jose or an XML parser load them when run, so `serve` starts without them.
async function importApim(args: string[]): Promise<number> {
  const { importApimCommand } = await import('./apim/command.js');
  return importApimCommand(args);
}

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
    // The same compile step as serving (keys imported, key sources bound, revocation file read), never started.
    await loadRuleEngine(config);
    buildRuntime(config);
    process.stdout.write(
      `${positionals[0]}: ok (${config.policies.length} ${config.policies.length === 1 ? 'policy' : 'policies'})\n`,
    );
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

/** The config a command was pointed at, or the exit code after saying what is wrong with it. */
function readConfig(path: string | undefined, usage: string): Config | number {
  if (!path) {
    process.stderr.write(usage);
    return 2;
  }
  try {
    return loadConfigFile(path);
  } catch (err) {
    return reportConfigError(err);
  }
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  const path = values.config ?? process.env.TOKENGATE_CONFIG ?? '';
  const config = readConfig(path, 'usage: tokengate serve --config FILE (or set TOKENGATE_CONFIG)\n');
  if (typeof config === 'number') return config;
  const log = createLogger(process.env.LOG_LEVEL ?? config.logging.level);
  if (config.server.workers > 1 && cluster.isPrimary) {
    await runPrimary(config, log);
    return new Promise(() => undefined);
  }
  const app = await App.start({ config: cluster.isWorker ? workerConfig(config) : config, log });
  if (cluster.isWorker) reportToPrimary(app);
  const reload = (trigger: string) =>
    app
      .reload(() => loadConfigFile(path))
      .catch((err: unknown) => {
        const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
        log.error({ trigger, problems }, 'config reload failed; the previous config keeps serving');
      });
  const watcher = watchConfig(path, () => reload('file change'));
  process.on('SIGHUP', () => reload('SIGHUP'));
  handleStop(app, log, () => watcher.close());
  return new Promise(() => undefined);
}

/** SIGTERM/SIGINT: not ready at once, drain in-flight checks, exit 0 within server.shutdownGraceSeconds. */
function handleStop(app: App, log: Logger, cleanup: () => void): void {
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    cleanup();
    void app.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

const REQUEST_OPTIONS = {
  token: { type: 'string' },
  method: { type: 'string', default: 'GET' },
  path: { type: 'string', default: '/' },
  host: { type: 'string', default: 'localhost' },
  header: { type: 'string', multiple: true, default: [] as string[] },
  policy: { type: 'string' },
  'client-cert': { type: 'string' },
} satisfies ParseArgsConfig['options'];

/** --client-cert FILE: the TLS client certificate (PEM) as Envoy passes it on, URL-encoded (RFC 8705 binding). */
function peerCertificate(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return encodeURIComponent(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`tokengate: --client-cert: cannot read ${file}: ${(err as NodeJS.ErrnoException).code}\n`);
    return process.exit(2);
  }
}

function parseHeaders(list: string[]): Record<string, string> {
  return Object.fromEntries(
    list.map((h) => {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new Error(`--header ${h}: expected name=value`);
      return [h.slice(0, eq).toLowerCase(), h.slice(eq + 1)];
    }),
  );
}

async function explainCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...REQUEST_OPTIONS, config: { type: 'string', short: 'c' }, json: { type: 'boolean', default: false } },
  });
  const config = readConfig(
    values.config ?? process.env.TOKENGATE_CONFIG,
    'usage: tokengate explain --config FILE --token JWT [--method M] [--path P] [--host H] [--header k=v] [--json]\n',
  );
  if (typeof config === 'number') return config;
  const result = await explain(config, {
    token: values.token,
    method: values.method,
    path: values.path,
    host: values.host,
    headers: parseHeaders(values.header),
    contextExtensions: values.policy ? { policy: values.policy } : {},
    clientCertificate: peerCertificate(values['client-cert']),
  });
  process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatExplanation(result));
  return result.decision === 'deny' ? 1 : 0;
}

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...REQUEST_OPTIONS, address: { type: 'string', default: '127.0.0.1:9191' } },
  });
  const headers: Record<string, string> = {
    ':authority': values.host,
    ':method': values.method,
    ':path': values.path,
    ...parseHeaders(values.header),
  };
  // RFC 9449 §7.1: with a DPoP proof (`--header dpop=PROOF`), the token goes as `DPoP <token>`.
  if (values.token) headers.authorization = `${headers.dpop === undefined ? 'Bearer' : 'DPoP'} ${values.token}`;
  // Loaded here, not at start: the client reads Envoy's .proto files, which `serve` never needs.
  const { createCheckClient } = await import('./grpc/check_client.js');
  const client = createCheckClient(values.address);
  const certificate = peerCertificate(values['client-cert']);
  try {
    const res = await client.check({
      attributes: {
        ...(certificate === undefined ? {} : { source: { certificate } }),
        request: { http: { method: values.method, path: values.path, host: values.host, headers } },
        context_extensions: values.policy ? { policy: values.policy } : {},
      },
    });
    const meta = res.dynamic_metadata?.fields ?? {};
    const policy = meta['tokengate.policy']?.stringValue ?? '';
    if (res.status.code === 0) {
      process.stdout.write(`ALLOW policy=${policy}\n`);
      for (const h of res.ok_response?.headers ?? [])
        process.stdout.write(`  upstream header ${h.header.key}: ${h.header.value}\n`);
      return 0;
    }
    process.stdout.write(
      `DENY ${res.denied_response?.status.code} reason=${meta['tokengate.reason']?.stringValue ?? ''} ` +
        `policy=${policy}\n`,
    );
    for (const h of res.denied_response?.headers ?? [])
      process.stdout.write(`  response header ${h.header.key}: ${h.header.value}\n`);
    process.stdout.write(`  body: ${res.denied_response?.body ?? ''}\n`);
    return 1;
  } finally {
    client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`tokengate: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
