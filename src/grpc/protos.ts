import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { PROTO_DIR } from '../paths.js';

export const EXTERNAL_AUTH_PROTO = 'envoy/service/auth/v3/external_auth.proto';

/**
 * Loader options as grpc-js-xds uses them for these protos. `defaults: false` leaves unset fields undefined,
 * which keeps decoding cheap; enums as strings keep responses readable.
 */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** Loads envoy.service.auth.v3.Authorization from the fetched protos (see scripts/fetch-protos.mjs). */
export function loadAuthorizationService(): ServiceDefinition {
  const definition = loadSync(EXTERNAL_AUTH_PROTO, LOADER_OPTIONS);
  return definition['envoy.service.auth.v3.Authorization'] as ServiceDefinition;
}

/** The CheckRequest fields tokengate reads, as proto-loader decodes them with LOADER_OPTIONS. */
export interface CheckRequestMessage {
  attributes?: {
    request?: {
      http?: {
        id?: string;
        method?: string;
        path?: string;
        host?: string;
        scheme?: string;
        headers?: Record<string, string>;
        header_map?: { headers?: { key?: string; value?: string; raw_value?: Buffer }[] };
      };
    };
    context_extensions?: Record<string, string>;
    /** Peer: certificate = 5 (include_peer_certificate: true). */
    source?: { certificate?: string };
  };
}

export interface StructValue {
  stringValue?: string;
  structValue?: { fields: Record<string, StructValue> };
}

export interface HeaderValueOption {
  header: { key: string; value: string };
  append_action?: 'OVERWRITE_IF_EXISTS_OR_ADD' | 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT';
}

export interface CheckResponseMessage {
  status: { code: number; message?: string };
  ok_response?: {
    headers?: HeaderValueOption[];
    headers_to_remove?: string[];
    query_parameters_to_remove?: string[];
  };
  denied_response?: {
    status: { code: number };
    headers?: HeaderValueOption[];
    body?: string;
  };
  dynamic_metadata?: { fields: Record<string, StructValue> };
}
