import { Writable } from 'node:stream';
import { App } from '../../src/app.js';
import { parseConfigText } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { createCheckClient, type CheckClient } from './check_client.js';

export interface RunningTokengate {
  readonly app: App;
  readonly client: CheckClient;
  /** Every log line written so far, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly rawLog: () => string;
  stop(): Promise<void>;
}

/**
 * Starts a real tokengate (gRPC on an ephemeral loopback port, ops port too) from YAML text, with a grpc-js client.
 * `${ISSUER}` in the text is replaced by `vars.ISSUER`, and likewise for any other variable.
 */
export async function startTokengate(yaml: string, vars: Record<string, string> = {}, options: { waitForKeys?: boolean; logLevel?: string } = {}): Promise<RunningTokengate> {
  let text = yaml;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`\${${name}}`, value);
  if (!/^server:/m.test(text)) text = `server:\n  grpc: { address: "127.0.0.1:0" }\n  http: { address: "127.0.0.1:0" }\n${text}`;
  const config = parseConfigText(text, 'test');
  let raw = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      raw += chunk.toString();
      done();
    },
  });
  const log = createLogger(options.logLevel ?? 'debug', sink);
  const app = await App.start({ config, log });
  if (options.waitForKeys !== false) await app.firstFetches();
  const client = createCheckClient(app.grpcAddress);
  return {
    app,
    client,
    get logs() {
      return raw.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLog: () => raw,
    async stop() {
      client.close();
      await app.stop(1000);
    },
  };
}
