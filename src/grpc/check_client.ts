import {
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  type Client,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { HEALTH_SERVICE } from './health.js';
import { EXTERNAL_AUTH_PROTO, LOADER_OPTIONS, type CheckResponseMessage } from './protos.js';

/** envoy.config.core.v3.HeaderValueOption.HeaderAppendAction, as numbers arrive from this client. */
export const HEADER_APPEND_ACTION = {
  APPEND_IF_EXISTS_OR_ADD: 0,
  ADD_IF_ABSENT: 1,
  OVERWRITE_IF_EXISTS_OR_ADD: 2,
} as const;

type ReplyHeader = { header: { key: string; value: string }; append_action?: number };

/**
 * A CheckResponse as this client decodes it: proto-loader with enums as numbers, so an HTTP status is the number
 * itself (envoy.type.v3.StatusCode values are the status codes) and an append action is its enum value.
 */
export interface CheckReply {
  status: CheckResponseMessage['status'];
  ok_response?: { headers?: ReplyHeader[]; headers_to_remove?: string[]; query_parameters_to_remove?: string[] };
  denied_response?: { status: { code: number }; headers?: ReplyHeader[]; body?: string };
  dynamic_metadata?: CheckResponseMessage['dynamic_metadata'];
}

/** A grpc-js client for Authorization/Check and grpc.health.v1.Health: `tokengate check` and the tests use it. */
export interface CheckClient {
  check(request: object, timeoutMs?: number): Promise<CheckReply>;
  health(service?: string): Promise<string>;
  close(): void;
}

type Constructors = { Authorization: ServiceClientConstructor; Health: ServiceClientConstructor };
let constructors: Constructors | undefined;

function load(): Constructors {
  if (!constructors) {
    const definition = loadSync(EXTERNAL_AUTH_PROTO, { ...LOADER_OPTIONS, enums: Number });
    const auth = loadPackageDefinition(definition) as unknown as AuthPackage;
    constructors = {
      Authorization: auth.envoy.service.auth.v3.Authorization,
      Health: makeGenericClientConstructor(HEALTH_SERVICE, 'grpc.health.v1.Health'),
    };
  }
  return constructors;
}

/** The package path proto-loader builds for external_auth.proto. */
type AuthPackage = { envoy: { service: { auth: { v3: { Authorization: ServiceClientConstructor } } } } };

type Unary<Res> = (
  request: object,
  options: { deadline: number },
  callback: (err: Error | null, res: Res) => void,
) => void;

/** `ownConnection`: do not share grpc-js's global subchannel pool, so each client opens its own connection. */
export function createCheckClient(address: string, options: { ownConnection?: boolean } = {}): CheckClient {
  const { Authorization, Health } = load();
  const channelOptions = options.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {};
  const auth = new Authorization(address, credentials.createInsecure(), channelOptions) as unknown as Client & {
    Check: Unary<CheckReply>;
  };
  const health = new Health(address, credentials.createInsecure()) as unknown as Client & {
    Check: Unary<{ status: string }>;
  };
  return {
    check: (request, timeoutMs = 10_000) =>
      new Promise((resolve, reject) =>
        auth.Check(request, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
      ),
    health: (service = '') =>
      new Promise((resolve, reject) =>
        health.Check({ service }, { deadline: Date.now() + 5_000 }, (err, res) =>
          err ? reject(err) : resolve(res.status),
        ),
      ),
    close() {
      auth.close();
      health.close();
    },
  };
}
