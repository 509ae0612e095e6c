#!/usr/bin/env node
// Issue 16 §2: tokengate's own protobuf writer (ProtoWriter in src/grpc/encode_check_response.ts) against
// protobufjs.Writer, on the same encoding of the same responses: an allow with claim headers and metadata, and a
// denial. Both writers must give the same bytes. In-process, alternating rounds, median ns per response.
//
//   npm run build && node bench/codec_writer.mjs [--n 200000] [--rounds 7]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs/minimal.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { n: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '7' } },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const { encodeCheckResponse, encodeCheckResponseWith } = await import(
  join(ROOT, 'dist', 'grpc', 'encode_check_response.js')
);

const str = (stringValue) => ({ stringValue });
const ALLOW = {
  status: { code: 0 },
  ok_response: {
    headers: [
      { header: { key: 'x-user-sub', value: 'user-1234567890' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      {
        header: { key: 'x-user-scopes', value: 'orders.read orders.write profile' },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      },
    ],
    headers_to_remove: ['x-jwt-payload'],
  },
  dynamic_metadata: {
    fields: {
      policy: str('orders'),
      'tokengate.policy': str('orders'),
      'tokengate.decision': str('allow'),
      sub: str('user-1234567890'),
    },
  },
};
const DENY = {
  status: { code: 16, message: 'TokenExpired' },
  denied_response: {
    status: { code: 401 },
    headers: [
      { header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      {
        header: { key: 'www-authenticate', value: 'Bearer error="invalid_token"' },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      },
    ],
    body: '{"statusCode":401,"message":"Unauthorized. Access token is missing or invalid."}',
  },
  dynamic_metadata: { fields: { 'tokengate.reason': str('TokenExpired'), 'tokengate.decision': str('deny') } },
};

const own = (m) => encodeCheckResponse(m);
const protobufjs = (m) => encodeCheckResponseWith(protobuf.Writer.create(), m);

for (const m of [ALLOW, DENY]) {
  if (!Buffer.from(own(m)).equals(Buffer.from(protobufjs(m)))) throw new Error('the two writers give different bytes');
}

function nsPerCall(encode, message) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) encode(message);
  return Number(process.hrtime.bigint() - start) / N;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const result = {};
for (const [name, message] of [
  ['allow', ALLOW],
  ['deny', DENY],
]) {
  const a = [];
  const b = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(nsPerCall(own, message));
    b.push(nsPerCall(protobufjs, message));
  }
  result[name] = {
    ownNs: Math.round(median(a)),
    protobufjsNs: Math.round(median(b)),
    ownOverProtobufjs: Math.round((median(a) / median(b)) * 100) / 100,
  };
}
process.stdout.write(`${JSON.stringify({ n: N, rounds: ROUNDS, node: process.version, ...result }, null, 2)}\n`);
