import type { CheckResponseMessage, HeaderValueOption, StructValue } from './protos.js';
import { LEN, VARINT, tag } from './wire.js';

/**
 * Encodes a CheckResponse straight to protobuf wire format. proto-loader's serializer first converts the plain
 * object into protobufjs message instances (Struct values through the well-known-type wrapper) and then writes
 * them op by op; for an allow response that cost more than the rest of a cached check (bench/stages.mjs).
 * Like protobufjs, it writes every field the object sets, zero values included, in field-number order, so the
 * bytes are the same as proto-loader's: test/grpc/codec.test.ts compares them.
 *
 * Field numbers: envoy/service/auth/v3/external_auth.proto, envoy/config/core/v3/base.proto,
 * google/rpc/status.proto, google/protobuf/struct.proto.
 */
export function encodeCheckResponse(message: CheckResponseMessage): Buffer {
  // ProtoWriter.finish() copies out into a Buffer of its own: no second copy here.
  return encodeCheckResponseWith(scratch.reset(), message) as Buffer;
}

/**
 * The writer calls the encoding needs: the subset of protobufjs.Writer's API that ProtoWriter implements, so the two
 * can be measured against each other on the same encoding (bench/codec_writer.mjs).
 */
export interface WireWriter {
  uint32(value: number): this;
  int32(value: number): this;
  string(value: string): this;
  fork(): this;
  ldelim(): this;
  finish(): Uint8Array;
}

/** Encodes `message` with `w` (a fresh writer) and returns what `w.finish()` gives. */
export function encodeCheckResponseWith(w: WireWriter, message: CheckResponseMessage): Uint8Array {
  // CheckResponse.status = 1 (google.rpc.Status: code = 1, message = 2)
  w.uint32(tag(1, LEN)).fork();
  if (message.status.code != null) w.uint32(tag(1, VARINT)).int32(message.status.code);
  if (message.status.message != null) w.uint32(tag(2, LEN)).string(message.status.message);
  w.ldelim();

  const denied = message.denied_response;
  if (denied) {
    // CheckResponse.denied_response = 2: status = 1 (HttpStatus.code = 1), headers = 2, body = 3
    w.uint32(tag(2, LEN)).fork();
    w.uint32(tag(1, LEN)).fork().uint32(tag(1, VARINT)).int32(denied.status.code).ldelim();
    for (const h of denied.headers ?? []) writeHeader(w, 2, h);
    if (denied.body != null) w.uint32(tag(3, LEN)).string(denied.body);
    w.ldelim();
  }

  const ok = message.ok_response;
  if (ok) {
    // CheckResponse.ok_response = 3: headers = 2, headers_to_remove = 5, query_parameters_to_remove = 8
    w.uint32(tag(3, LEN)).fork();
    for (const h of ok.headers ?? []) writeHeader(w, 2, h);
    for (const name of ok.headers_to_remove ?? []) w.uint32(tag(5, LEN)).string(name);
    for (const name of ok.query_parameters_to_remove ?? []) w.uint32(tag(8, LEN)).string(name);
    w.ldelim();
  }

  if (message.dynamic_metadata) {
    // CheckResponse.dynamic_metadata = 4
    w.uint32(tag(4, LEN)).fork();
    writeStructFields(w, message.dynamic_metadata.fields);
    w.ldelim();
  }
  return w.finish();
}

/**
 * A protobuf writer over one growing scratch buffer. A length-delimited field reserves one byte for its length and
 * moves its body up in the rare case that the length needs more (a body of 128 bytes or more).
 */
class ProtoWriter implements WireWriter {
  #buf = Buffer.allocUnsafe(1024);
  #pos = 0;
  readonly #open: number[] = [];

  /** Starts a new message; the buffer is reused, so finish() copies out. */
  reset(): this {
    this.#pos = 0;
    this.#open.length = 0;
    return this;
  }

  uint32(value: number): this {
    this.#reserve(5);
    this.#pos = writeVarint(this.#buf, this.#pos, value >>> 0);
    return this;
  }

  int32(value: number): this {
    // Negative int32 values take ten bytes on the wire; tokengate only writes codes and enums, all non-negative.
    if (value < 0) throw new RangeError(`negative int32 ${value} is not supported`);
    return this.uint32(value);
  }

  string(value: string): this {
    this.#reserve(5 + value.length * 3);
    return this.fork()
      .#written(this.#buf.write(value, this.#pos, 'utf8'))
      .ldelim();
  }

  /** Starts a length-delimited body; ldelim() closes it. */
  fork(): this {
    this.#reserve(1);
    this.#open.push(this.#pos);
    this.#pos += 1;
    return this;
  }

  ldelim(): this {
    const start = this.#open.pop()!;
    const length = this.#pos - start - 1;
    if (length < 0x80) {
      this.#buf[start] = length;
      return this;
    }
    const size = varintSize(length);
    this.#reserve(size - 1);
    this.#buf.copyWithin(start + size, start + 1, this.#pos);
    writeVarint(this.#buf, start, length);
    this.#pos += size - 1;
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#pos));
  }

  #written(bytes: number): this {
    this.#pos += bytes;
    return this;
  }

  #reserve(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + bytes));
    this.#buf.copy(bigger, 0, 0, this.#pos);
    this.#buf = bigger;
  }
}

/** Encoding is synchronous, so one scratch writer serves every response. */
const scratch = new ProtoWriter();

function writeVarint(buf: Buffer, pos: number, value: number): number {
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[pos++] = value;
  return pos;
}

function varintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** envoy.config.core.v3.HeaderAppendAction */
const APPEND_ACTIONS = { APPEND_IF_EXISTS_OR_ADD: 0, ADD_IF_ABSENT: 1, OVERWRITE_IF_EXISTS_OR_ADD: 2 } as const;

/** HeaderValueOption: header = 1 (HeaderValue: key = 1, value = 2), append_action = 3 */
function writeHeader(w: WireWriter, field: number, option: HeaderValueOption): void {
  w.uint32(tag(field, LEN)).fork();
  w.uint32(tag(1, LEN)).fork();
  if (option.header.key != null) w.uint32(tag(1, LEN)).string(option.header.key);
  if (option.header.value != null) w.uint32(tag(2, LEN)).string(option.header.value);
  w.ldelim();
  if (option.append_action != null) w.uint32(tag(3, VARINT)).int32(APPEND_ACTIONS[option.append_action]);
  w.ldelim();
}

/** Struct.fields = 1, a map: each entry is a message with key = 1 and value = 2 (Value). */
function writeStructFields(w: WireWriter, fields: Record<string, StructValue>): void {
  for (const key of Object.keys(fields)) {
    w.uint32(tag(1, LEN)).fork();
    w.uint32(tag(1, LEN)).string(key);
    w.uint32(tag(2, LEN)).fork();
    writeValue(w, fields[key]!);
    w.ldelim();
    w.ldelim();
  }
}

/** Value: string_value = 3, struct_value = 5 (the kinds tokengate puts in dynamic metadata). */
function writeValue(w: WireWriter, value: StructValue): void {
  if (value.stringValue !== undefined) {
    w.uint32(tag(3, LEN)).string(value.stringValue);
  } else if (value.structValue !== undefined) {
    w.uint32(tag(5, LEN)).fork();
    writeStructFields(w, value.structValue.fields);
    w.ldelim();
  }
}
