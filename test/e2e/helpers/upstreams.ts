import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

const FORCE_SHUTDOWN_AFTER_MS = 2000;

export interface EchoRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface EchoUpstream {
  readonly port: number;
  /** Every request the upstream received, in order. */
  readonly requests: readonly EchoRequest[];
  readonly count: number;
  close(): Promise<void>;
}

/** The HTTP/1.1 app behind Envoy: answers 200 with the JSON of the request it received, and counts requests. */
export async function startEchoUpstream(port: number): Promise<EchoUpstream> {
  const requests: EchoRequest[] = [];
  const server: Server = createServer((req, res) => {
    const seen: EchoRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers };
    requests.push(seen);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify(seen);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-echo-upstream': '1' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    get count() {
      return requests.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** grpc.health.v1.Health as an ordinary gRPC app (a real proto from grpc-health-check), not Envoy's health check. */
const HEALTH = healthService as unknown as grpc.ServiceDefinition;
export const UPSTREAM_GRPC_METHOD = HEALTH.Check!.path; // "/grpc.health.v1.Health/Check"

export interface GrpcUpstream {
  readonly port: number;
  /** Metadata of every Check call received, as plain objects (lower-case keys). */
  readonly calls: readonly Record<string, string>[];
  close(): Promise<void>;
}

export async function startGrpcUpstream(port: number): Promise<GrpcUpstream> {
  const calls: Record<string, string>[] = [];
  const server = new grpc.Server();
  server.addService(HEALTH, {
    Check(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      calls.push(Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])));
      callback(null, { status: 'SERVING' });
    },
    Watch(call: grpc.ServerWritableStream<unknown, unknown>) {
      call.end();
    },
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port: bound,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        // A deadline, not a wait: streams still open after it are cut so the test never hangs on close.
        const force = setTimeout(() => server.forceShutdown(), FORCE_SHUTDOWN_AFTER_MS);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

export interface GrpcResult {
  /** grpc status code (0 = OK). */
  readonly code: number;
  readonly details: string;
  readonly response: unknown;
}

/**
 * One unary call of the upstream method through `port` (Envoy's listener: plaintext HTTP/2, prior knowledge),
 * on a fresh channel that is closed afterwards.
 */
export function callUpstreamGrpc(port: number, metadata: Record<string, string>, timeoutMs = 10_000): Promise<GrpcResult> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const method = HEALTH.Check!;
  return new Promise<GrpcResult>((resolve) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      { service: '' },
      md,
      { deadline: Date.now() + timeoutMs },
      (err: grpc.ServiceError | null, response?: unknown) => {
        resolve(err ? { code: err.code, details: err.details, response: undefined } : { code: grpc.status.OK, details: '', response });
      },
    );
  }).finally(() => client.close());
}
