import protobuf from 'protobufjs/minimal.js';
import type { CheckRequestMessage } from './protos.js';
import { LEN, tag } from './wire.js';

const { Reader } = protobuf;
type ProtoReader = protobuf.Reader;

type HttpRequest = NonNullable<NonNullable<NonNullable<CheckRequestMessage['attributes']>['request']>['http']>;
type RawHeader = { key?: string; value?: string; raw_value?: Buffer };

/**
 * Decodes the parts of a CheckRequest that tokengate reads (see CheckRequestMessage) and skips the rest: peer
 * addresses, labels, metadata, TLS details and bodies are never decoded (of the peers, only the source's
 * certificate is read). proto-loader's deserializer builds the whole tree and then converts it to plain objects;
 * for Envoy's requests that was as much CPU as the rest of a cached check. test/grpc/codec.test.ts compares the
 * result with proto-loader's on every shape of request.
 *
 * Malformed input throws (protobufjs' Reader checks every length against the buffer), which grpc-js answers with
 * an INTERNAL error; Envoy then applies failure_mode_allow, which tokengate's envoy.yaml keeps false.
 *
 * Field numbers: envoy/service/auth/v3/external_auth.proto and attribute_context.proto.
 */
export function decodeCheckRequest(buffer: Uint8Array): CheckRequestMessage {
  const r = Reader.create(buffer);
  const request: CheckRequestMessage = {};
  while (r.pos < r.len) {
    const t = r.uint32();
    if (t === tag(1, LEN)) request.attributes = decodeAttributes(r, r.uint32() + r.pos, request.attributes ?? {});
    else r.skipType(t & 7);
  }
  return request;
}

type Attributes = NonNullable<CheckRequestMessage['attributes']>;

/** AttributeContext: source = 1 (Peer), request = 4 (Request: http = 2), context_extensions = 10 */
function decodeAttributes(r: ProtoReader, end: number, attributes: Attributes): Attributes {
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(1, LEN)) {
      // Envoy always sends the source's address: an object is made only for a certificate.
      const certificate = readPeerCertificate(r, r.uint32() + r.pos);
      if (certificate !== undefined) attributes.source = { certificate };
    } else if (t === tag(4, LEN)) {
      const requestEnd = r.uint32() + r.pos;
      attributes.request ??= {};
      while (r.pos < requestEnd) {
        const rt = r.uint32();
        if (rt === tag(2, LEN))
          attributes.request.http = decodeHttp(r, r.uint32() + r.pos, attributes.request.http ?? {});
        else r.skipType(rt & 7);
      }
    } else if (t === tag(10, LEN)) {
      attributes.context_extensions ??= {};
      readMapEntry(r, r.uint32() + r.pos, attributes.context_extensions);
    } else {
      r.skipType(t & 7);
    }
  }
  return attributes;
}

/** Peer: certificate = 5 (URL-encoded PEM, with include_peer_certificate); address, labels, principal skipped. */
function readPeerCertificate(r: ProtoReader, end: number): string | undefined {
  let certificate: string | undefined;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(5, LEN)) certificate = r.string();
    else r.skipType(t & 7);
  }
  return certificate;
}

/**
 * HttpRequest: id = 1, method = 2, headers = 3, path = 4, host = 5, scheme = 6,
 * header_map = 13 (HeaderMap: headers = 1)
 */
function decodeHttp(r: ProtoReader, end: number, http: HttpRequest): HttpRequest {
  while (r.pos < end) {
    const t = r.uint32();
    switch (t) {
      case tag(1, LEN):
        http.id = r.string();
        break;
      case tag(2, LEN):
        http.method = r.string();
        break;
      case tag(3, LEN):
        readMapEntry(r, r.uint32() + r.pos, (http.headers ??= {}));
        break;
      case tag(4, LEN):
        http.path = r.string();
        break;
      case tag(5, LEN):
        http.host = r.string();
        break;
      case tag(6, LEN):
        http.scheme = r.string();
        break;
      case tag(13, LEN): {
        const mapEnd = r.uint32() + r.pos;
        const map = (http.header_map ??= {});
        while (r.pos < mapEnd) {
          const ht = r.uint32();
          if (ht === tag(1, LEN)) (map.headers ??= []).push(readHeaderValue(r, r.uint32() + r.pos));
          else r.skipType(ht & 7);
        }
        break;
      }
      default:
        r.skipType(t & 7);
    }
  }
  return http;
}

/** A map<string, string> entry: key = 1, value = 2; a later entry with the same key wins, as in protobuf. */
function readMapEntry(r: ProtoReader, end: number, into: Record<string, string>): void {
  let key = '';
  let value = '';
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(1, LEN)) key = r.string();
    else if (t === tag(2, LEN)) value = r.string();
    else r.skipType(t & 7);
  }
  // Assigning a key named __proto__ would hit the prototype setter; like proto-loader, keep it as an own property.
  if (key === '__proto__')
    Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });
  else into[key] = value;
}

/** HeaderValue: key = 1, value = 2, raw_value = 3 */
function readHeaderValue(r: ProtoReader, end: number): RawHeader {
  const header: RawHeader = {};
  while (r.pos < end) {
    const t = r.uint32();
    if (t === tag(1, LEN)) header.key = r.string();
    else if (t === tag(2, LEN)) header.value = r.string();
    else if (t === tag(3, LEN)) header.raw_value = Buffer.from(r.bytes());
    else r.skipType(t & 7);
  }
  return header;
}
