import {
  Server,
  ServerCredentials,
  status,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { removeStaleSocket } from '../net/unix_socket.js';
import { batchPerTurn } from './batch_per_turn.js';
import type { CheckHandler, CheckServiceDeps } from './check_service.js';
import { createCheckHandler } from './check_service.js';
import { decodeCheckRequest } from './decode_check_request.js';
import { encodeCheckResponse } from './encode_check_response.js';
import { HEALTH_SERVICE, HealthService } from './health.js';
import type { CheckRequestMessage, CheckResponseMessage } from './protos.js';

export const AUTHORIZATION_SERVICE = 'envoy.service.auth.v3.Authorization';

/**
 * Authorization/Check with tokengate's own codec, which decodes only what the pipeline reads and encodes without
 * building message objects; defined by hand, so serving loads no .proto files (the client side does, see protos.ts).
 */
const CHECK_METHOD: MethodDefinition<CheckRequestMessage, CheckResponseMessage> = {
  path: `/${AUTHORIZATION_SERVICE}/Check`,
  requestStream: false,
  responseStream: false,
  requestDeserialize: decodeCheckRequest,
  responseSerialize: encodeCheckResponse,
  // A server never encodes a request or decodes a response.
  requestSerialize: () => {
    throw new Error('Check requests are not encoded by the server');
  },
  responseDeserialize: () => {
    throw new Error('Check responses are not decoded by the server');
  },
};

export interface GrpcServer {
  /** `host:port` actually bound (the port resolved when 0 was asked), or `unix:/path`. */
  readonly address: string;
  readonly port: number;
  setServing(serving: boolean): void;
  /** Stops accepting, lets in-flight checks finish, and forces the rest closed after graceMs. */
  shutdown(graceMs: number): Promise<void>;
}

export async function startGrpcServer(address: string, deps: CheckServiceDeps): Promise<GrpcServer> {
  const server = new Server({
    // Envoy keeps long-lived HTTP/2 connections; a bound on streams per connection protects the event loop.
    'grpc.max_concurrent_streams': 1000,
    // Above Envoy's largest header block (max_request_headers_kb is at most 8 MiB): an oversized request must be
    // answered with a denial, not a RESOURCE_EXHAUSTED error that leaves the outcome to Envoy's failure mode.
    'grpc.max_receive_message_length': 9 * 1024 * 1024,
  });
  const handleCheck = batchPerTurn<Parameters<CheckHandler>>(createCheckHandler(deps), (err, _call, callback) => {
    deps.log.error({ err: (err as Error)?.message ?? String(err) }, 'check handler failed');
    // Envoy applies failure_mode_allow to a gRPC error; tokengate's envoy.yaml keeps it false, so this denies.
    callback({ code: status.INTERNAL, details: 'internal error' });
  });
  const checkService: UntypedServiceImplementation = {
    Check: (
      call: ServerUnaryCall<CheckRequestMessage, CheckResponseMessage>,
      callback: sendUnaryData<CheckResponseMessage>,
    ) => handleCheck(call, callback, process.hrtime.bigint()),
  };
  server.addService({ Check: CHECK_METHOD }, checkService);
  const health = new HealthService({ '': 'NOT_SERVING', [AUTHORIZATION_SERVICE]: 'NOT_SERVING' });
  server.addService(HEALTH_SERVICE, health.implementation);

  if (address.startsWith('unix:')) await removeStaleSocket(address.slice('unix:'.length));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, boundPort) =>
      err ? reject(err) : resolve(boundPort),
    );
  });
  const bound = address.startsWith('unix:') ? address : `${address.slice(0, address.lastIndexOf(':'))}:${port}`;

  return {
    address: bound,
    port,
    setServing(serving) {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.setStatus('', status);
      health.setStatus(AUTHORIZATION_SERVICE, status);
    },
    shutdown(graceMs) {
      return new Promise((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
