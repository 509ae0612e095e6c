// tokengate in this process with tracing on and the SDK's in-memory exporter, a gRPC client that can send call
// metadata (Envoy's ext_authz client puts its trace context there), and the log lines it wrote.
import { Writable } from 'node:stream';
import { credentials, makeGenericClientConstructor, Metadata, type Client } from '@grpc/grpc-js';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { App } from '../../src/app.js';
import { parseConfigText } from '../../src/config/load.js';
import type { TracingConfig } from '../../src/config/types.js';
import { loadAuthorizationService } from '../../src/grpc/protos.js';
import { createLogger } from '../../src/log.js';
import { createOtelTracer } from '../../src/tracing/otel.js';
import { envoyCheckRequest, type CheckReply } from '../helpers/check_client.js';
import { waitFor } from '../helpers/wait.js';

export interface TracedTokengate {
  readonly app: App;
  readonly exporter: InMemorySpanExporter;
  /** A Check with these request headers, and these call metadata (as Envoy's gRPC client sends them). */
  check(options: {
    path?: string;
    headers?: Record<string, string>;
    metadata?: Record<string, string>;
  }): Promise<CheckReply>;
  /** The finished spans named `name`, once there are `count` of them (polled, with a deadline). */
  spans(name: string, count: number): Promise<ReadableSpan[]>;
  /** The decision log line of the check with this x-request-id. */
  logLine(requestId: string): Record<string, unknown>;
  stop(): Promise<void>;
}

type Unary = (req: object, md: Metadata, opts: object, cb: (err: Error | null, res: CheckReply) => void) => void;

export async function startTraced(yaml: string, tracing: TracingConfig): Promise<TracedTokengate> {
  let raw = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      raw += chunk.toString();
      done();
    },
  });
  const exporter = new InMemorySpanExporter();
  const tracer = createOtelTracer(tracing, { spanProcessor: new SimpleSpanProcessor(exporter) });
  const app = await App.start({ config: parseConfigText(yaml, 'test'), log: createLogger('info', sink), tracer });
  await app.firstFetches();
  const Authorization = makeGenericClientConstructor(loadAuthorizationService(), 'Authorization');
  const client = new Authorization(app.grpcAddress, credentials.createInsecure()) as unknown as Client & {
    Check: Unary;
  };
  const logs = () =>
    raw
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    app,
    exporter,
    check({ path = '/orders', headers = {}, metadata = {} }) {
      const md = new Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      return new Promise((resolve, reject) =>
        client.Check(envoyCheckRequest({ path, headers }), md, { deadline: Date.now() + 10_000 }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
    },
    spans: (name, count) =>
      waitFor(
        `${count} finished span(s) named ${name}`,
        () => {
          const found = exporter.getFinishedSpans().filter((s) => s.name === name);
          return found.length >= count ? found : undefined;
        },
        {
          timeoutMs: 5000,
          intervalMs: 10,
          diagnostics: () =>
            exporter
              .getFinishedSpans()
              .map((s) => s.name)
              .join(),
        },
      ),
    logLine(requestId) {
      const line = logs().find((l) => l.msg === 'check' && l.requestId === requestId);
      if (!line) throw new Error(`no decision log line for ${requestId}:\n${raw}`);
      return line;
    },
    async stop() {
      client.close();
      await app.stop(1000);
    },
  };
}

/** Everything a span exports, as one string to search: name, attributes, events, status, links, resource. */
export function exported(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events,
    status: span.status,
    links: span.links,
    resource: span.resource.attributes,
  });
}
