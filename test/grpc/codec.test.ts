import { credentials, Client, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckRequest } from '../../src/grpc/decode_check_request.js';
import { encodeCheckResponse } from '../../src/grpc/encode_check_response.js';
import { loadAuthorizationService, type CheckRequestMessage, type CheckResponseMessage } from '../../src/grpc/protos.js';
import { envoyCheckRequest } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

// proto-loader, with tokengate's loader options, is the reference for both directions.
const check = loadAuthorizationService().Check!;
const referenceDecode = (bytes: Buffer) => check.requestDeserialize(bytes) as CheckRequestMessage;
const referenceEncodeRequest = (message: object) => check.requestSerialize(message);
const referenceEncodeResponse = (message: CheckResponseMessage) => check.responseSerialize(message);

/** The fields tokengate reads; an empty map reads the same as an absent one. */
function projection(message: CheckRequestMessage): unknown {
  const nonEmpty = (map: Record<string, string> | undefined) => (map && Object.keys(map).length > 0 ? map : undefined);
  const http = message.attributes?.request?.http;
  return {
    id: http?.id,
    method: http?.method,
    path: http?.path,
    host: http?.host,
    headers: nonEmpty(http?.headers),
    header_map: http?.header_map?.headers?.map((h) => ({ key: h.key, value: h.value, raw_value: h.raw_value && Buffer.from(h.raw_value) })),
    context_extensions: nonEmpty(message.attributes?.context_extensions),
    certificate: message.attributes?.source?.certificate || undefined,
  };
}

const ENVOY_REQUEST = {
  attributes: {
    source: {
      address: { socket_address: { address: '10.0.0.7', port_value: 40000 } },
      principal: 'spiffe://a/b',
      labels: { app: 'web' },
      certificate: '-----BEGIN%20CERTIFICATE-----%0AMIIBszCCAVmgAwIBAgIUe%2Bx%3D%0A-----END%20CERTIFICATE-----%0A',
    },
    destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
    request: {
      time: { seconds: '1796078409', nanos: 5 },
      http: {
        id: '9000000000000000',
        method: 'GET',
        headers: {
          ':authority': 'api.example.com',
          ':method': 'GET',
          ':path': '/orders/1?expand=items',
          authorization: `Bearer ${'e'.repeat(900)}.x.y`,
          'x-request-id': 'b7c1',
          'x-unicode': 'ünïcødé ✓ 🚀',
        },
        path: '/orders/1?expand=items',
        host: 'api.example.com',
        scheme: 'https',
        query: 'expand=items',
        size: '-1',
        protocol: 'HTTP/2',
        body: 'ignored body',
        raw_body: Buffer.from([0, 1, 2, 255]),
      },
    },
    context_extensions: { policy: 'orders', other: '' },
    metadata_context: { filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { sub: { string_value: 'x' } } } } },
    tls_session: { sni: 'api.example.com' },
  },
};

describe('decodeCheckRequest', () => {
  it('reads what proto-loader reads from a full Envoy request, and skips the rest', () => {
    const bytes = referenceEncodeRequest(ENVOY_REQUEST);
    expect(projection(decodeCheckRequest(bytes))).toEqual(projection(referenceDecode(bytes)));
    expect(decodeCheckRequest(bytes).attributes?.request?.http?.headers?.authorization).toBe(ENVOY_REQUEST.attributes.request.http.headers.authorization);
    // include_peer_certificate: the source's certificate (Peer field 5) is read; its address, labels and principal are not.
    expect(decodeCheckRequest(bytes).attributes?.source).toEqual({ certificate: ENVOY_REQUEST.attributes.source.certificate });
  });

  it('reads header_map (encode_raw_headers), raw values included', () => {
    const bytes = referenceEncodeRequest({
      attributes: {
        request: {
          http: {
            header_map: {
              headers: [
                { key: ':path', raw_value: Buffer.from('/a') },
                { key: 'authorization', raw_value: Buffer.from('Bearer abc') },
                { key: 'x-old', value: 'text value' },
              ],
            },
          },
        },
      },
    });
    expect(projection(decodeCheckRequest(bytes))).toEqual(projection(referenceDecode(bytes)));
  });

  it('decodes an empty request to an empty message', () => {
    expect(decodeCheckRequest(Buffer.alloc(0))).toEqual({});
  });

  it('keeps a header named __proto__ as a plain entry, never as the headers object prototype', () => {
    const bytes = referenceEncodeRequest({ attributes: { request: { http: { headers: JSON.parse('{"__proto__":"x","a":"b"}') } } } });
    const headers = decodeCheckRequest(bytes).attributes!.request!.http!.headers!;
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(headers)).toEqual(['__proto__', 'a']);
    expect(headers).toEqual(referenceDecode(bytes).attributes!.request!.http!.headers);
  });

  it('agrees with proto-loader on generated requests (headers, extensions, unicode, empty strings)', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const request = fc.record({
      id: fc.option(text, { nil: undefined }),
      method: fc.option(text, { nil: undefined }),
      path: fc.option(text, { nil: undefined }),
      host: fc.option(text, { nil: undefined }),
      headers: fc.dictionary(text, text, { maxKeys: 12 }),
      context_extensions: fc.dictionary(text, text, { maxKeys: 4 }),
      header_map: fc.array(fc.record({ key: text, value: text }), { maxLength: 4 }),
      labels: fc.dictionary(text, text, { maxKeys: 3 }),
      certificate: fc.option(text, { nil: undefined }),
    });
    fc.assert(
      fc.property(request, (r) => {
        const bytes = referenceEncodeRequest({
          attributes: {
            source: { labels: r.labels, service: 'svc', certificate: r.certificate },
            request: {
              http: { id: r.id, method: r.method, path: r.path, host: r.host, headers: r.headers, header_map: { headers: r.header_map } },
            },
            context_extensions: r.context_extensions,
          },
        });
        expect(projection(decodeCheckRequest(bytes))).toEqual(projection(referenceDecode(bytes)));
      }),
      { numRuns: 500 },
    );
  });

  it('throws on a truncated request instead of returning part of it', () => {
    const bytes = referenceEncodeRequest(ENVOY_REQUEST);
    for (const cut of [1, 2, 10, Math.floor(bytes.length / 2), bytes.length - 1]) {
      expect(() => decodeCheckRequest(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow();
    }
  });

  it('returns or throws, and never hangs, on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeCheckRequest(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

const RESPONSES: [string, CheckResponseMessage][] = [
  ['bare OK', { status: { code: 0 } }],
  [
    'allow with claim headers, removals and metadata',
    {
      status: { code: 0 },
      ok_response: {
        headers: [
          { header: { key: 'x-user-sub', value: 'user-1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-roles', value: 'Reader,Writer' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
          { header: { key: 'x-first', value: 'v' }, append_action: 'ADD_IF_ABSENT' },
        ],
        headers_to_remove: ['authorization', 'x-user-email'],
        query_parameters_to_remove: ['access_token'],
      },
      dynamic_metadata: {
        fields: {
          policy: { stringValue: 'orders' },
          'tokengate.decision': { stringValue: 'allow' },
          empty: { stringValue: '' },
          nested: { structValue: { fields: { a: { stringValue: 'b' } } } },
        },
      },
    },
  ],
  [
    'deny with WWW-Authenticate and an APIM body',
    {
      status: { code: 16, message: 'TokenExpired' },
      denied_response: {
        status: { code: 401 },
        headers: [
          { header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
          { header: { key: 'www-authenticate', value: 'Bearer error="invalid_token", error_description="The token is expired"' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        ],
        body: '{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}',
      },
      dynamic_metadata: { fields: { 'tokengate.reason': { stringValue: 'TokenExpired' } } },
    },
  ],
  [
    'lengths that need multi-byte varints (a forwarded payload header, a long body, unicode)',
    {
      status: { code: 7, message: 'ü'.repeat(200) },
      denied_response: { status: { code: 403 }, body: '✓'.repeat(70_000) },
      dynamic_metadata: { fields: { ['k'.repeat(300)]: { stringValue: '🚀'.repeat(5000) } } },
    },
  ],
];

describe('encodeCheckResponse', () => {
  it.each(RESPONSES)('%s: the same bytes as proto-loader', (_name, message) => {
    expect(encodeCheckResponse(message).toString('hex')).toBe(referenceEncodeResponse(message).toString('hex'));
  });

  it('agrees with proto-loader on generated responses', () => {
    const text = fc.string({ unit: 'binary', maxLength: 200 });
    const header = fc.record({
      header: fc.record({ key: text, value: text }),
      append_action: fc.constantFrom('OVERWRITE_IF_EXISTS_OR_ADD' as const, 'APPEND_IF_EXISTS_OR_ADD' as const, 'ADD_IF_ABSENT' as const),
    });
    const fields = fc.dictionary(text, text.map((s) => ({ stringValue: s })), { maxKeys: 6 });
    const response: fc.Arbitrary<CheckResponseMessage> = fc.oneof(
      fc.record({
        status: fc.record({ code: fc.constant(0) }),
        ok_response: fc.record({ headers: fc.array(header, { maxLength: 5 }), headers_to_remove: fc.array(text, { maxLength: 3 }), query_parameters_to_remove: fc.array(text, { maxLength: 2 }) }),
        dynamic_metadata: fc.record({ fields }),
      }),
      fc.record({
        status: fc.record({ code: fc.integer({ min: 1, max: 16 }), message: text }),
        denied_response: fc.record({ status: fc.record({ code: fc.constantFrom(401, 403, 503) }), headers: fc.array(header, { maxLength: 3 }), body: text }),
        dynamic_metadata: fc.record({ fields }),
      }),
    );
    fc.assert(
      fc.property(response, (message) => {
        expect(encodeCheckResponse(message).toString('hex')).toBe(referenceEncodeResponse(message).toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('does not share bytes between responses (the scratch buffer is copied out)', () => {
    const first = encodeCheckResponse(RESPONSES[1]![1]);
    const copy = Buffer.from(first);
    encodeCheckResponse(RESPONSES[2]![1]);
    expect(first.equals(copy)).toBe(true);
  });
});

describe('the server with its own codec', () => {
  let tg: RunningTokengate;
  beforeAll(async () => {
    tg = await startTokengate(`
policies:
  - name: static
    validateJwt:
      issuers: ["https://codec.example.com"]
      issuerSigningKeys: [{ base64: "${Buffer.alloc(32, 7).toString('base64')}", id: hs1 }]
      audiences: ["api://codec"]
`);
  });
  afterAll(async () => {
    await tg?.stop();
  });

  it('answers a request it cannot decode with a gRPC error, and keeps serving', async () => {
    const raw = new Client(tg.app.grpcAddress, credentials.createInsecure());
    const error = await new Promise<ServiceError | null>((resolve) => {
      raw.makeUnaryRequest(
        '/envoy.service.auth.v3.Authorization/Check',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0x03]), // attributes with a length past the end
        (err) => resolve(err),
      );
    });
    raw.close();
    expect(error?.code).toBe(GrpcStatus.INTERNAL);
    const response = await tg.client.check(envoyCheckRequest());
    expect(response.status.code).toBe(16);
    expect(response.dynamic_metadata?.fields['tokengate.reason']?.stringValue).toBe('TokenNotPresent');
  });
});
