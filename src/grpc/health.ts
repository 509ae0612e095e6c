import {
  status,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';
import { LEN, VARINT, tag } from './wire.js';

/**
 * grpc.health.v1.Health (grpc/grpc-proto health/v1/health.proto), written by hand like the Check codec: two one-field
 * messages do not need a proto loader, whose reflection of the .proto files costs every sidecar megabytes of memory
 * and a few hundred milliseconds of start-up (issue 23).
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN = 0, SERVING = 1, NOT_SERVING = 2, SERVICE_UNKNOWN = 3
 */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

const STATUS_NUMBER: Readonly<Record<ServingStatus, number>> = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
};
const STATUS_NAME: readonly ServingStatus[] = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

interface HealthRequest {
  readonly service: string;
}

interface HealthResponse {
  readonly status: ServingStatus;
}

function encodeRequest(request: HealthRequest): Buffer {
  const bytes = Buffer.from(request.service, 'utf8');
  const writer = protobuf.Writer.create();
  if (bytes.length > 0) writer.uint32(tag(1, LEN)).bytes(bytes);
  return Buffer.from(writer.finish());
}

function decodeRequest(buffer: Buffer): HealthRequest {
  const reader = protobuf.Reader.create(buffer);
  let service = '';
  while (reader.pos < reader.len) {
    const field = reader.uint32();
    if (field === tag(1, LEN)) service = reader.string();
    else reader.skipType(field & 7);
  }
  return { service };
}

function encodeResponse(response: HealthResponse): Buffer {
  const number = STATUS_NUMBER[response.status];
  return number === 0 ? Buffer.alloc(0) : Buffer.from([tag(1, VARINT), number]);
}

function decodeResponse(buffer: Buffer): HealthResponse {
  const reader = protobuf.Reader.create(buffer);
  let number = 0;
  while (reader.pos < reader.len) {
    const field = reader.uint32();
    if (field === tag(1, VARINT)) number = reader.int32();
    else reader.skipType(field & 7);
  }
  return { status: STATUS_NAME[number] ?? 'UNKNOWN' };
}

function method(name: string, responseStream: boolean): MethodDefinition<HealthRequest, HealthResponse> {
  return {
    path: `/grpc.health.v1.Health/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  };
}

/** The service definition, for the server and for a client (grpc-js makeGenericClientConstructor). */
export const HEALTH_SERVICE: ServiceDefinition = { Check: method('Check', false), Watch: method('Watch', true) };

/** Serving status per service name; Check answers NOT_FOUND for an unknown one, Watch streams every change. */
export class HealthService {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Map<string, Set<(status: ServingStatus) => void>>();

  constructor(initial: Readonly<Record<string, ServingStatus>>) {
    for (const [service, value] of Object.entries(initial)) this.#statuses.set(service, value);
  }

  setStatus(service: string, value: ServingStatus): void {
    if (this.#statuses.get(service) === value) return;
    this.#statuses.set(service, value);
    for (const watcher of this.#watchers.get(service) ?? []) watcher(value);
  }

  readonly implementation = {
    Check: (call: ServerUnaryCall<HealthRequest, HealthResponse>, callback: sendUnaryData<HealthResponse>) => {
      const value = this.#statuses.get(call.request.service);
      if (value === undefined) callback({ code: status.NOT_FOUND, details: `unknown service ${call.request.service}` });
      else callback(null, { status: value });
    },
    Watch: (call: ServerWritableStream<HealthRequest, HealthResponse>) => {
      const service = call.request.service;
      const send = (value: ServingStatus) => call.write({ status: value });
      send(this.#statuses.get(service) ?? 'SERVICE_UNKNOWN');
      const watchers = this.#watchers.get(service) ?? new Set();
      this.#watchers.set(service, watchers);
      watchers.add(send);
      call.on('cancelled', () => watchers.delete(send));
    },
  };
}
