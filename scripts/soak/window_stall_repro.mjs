#!/usr/bin/env node
// Reproduces, without tokengate, the lost checks of the 14-minute soak (docs/reliability.md, "Soak"): a client on
// Node's HTTP/2 (grpc-js, or node:http2 itself with --raw) that sends more request bytes at once than the server's
// 64 KiB connection window leaves one unary call per window refill hanging until its deadline; the server never sees
// that call.
//
//   node scripts/soak/window_stall_repro.mjs                      # 1 connection, no budget: calls 98, 198, ... lost
//   node scripts/soak/window_stall_repro.mjs --raw                # the same calls lost without grpc-js
//   node scripts/soak/window_stall_repro.mjs --budget 24576       # the soak's rule: no call lost
//   options: --connections 1 --seconds 3 --burst-ms 100 --rate 1500 --work-us 100 --size 660
//
// The server is a plain grpc-js server (a child process) whose handler spends --work-us of CPU, as a real check does;
// the client sends a burst of rate × burst-ms / 1000 calls of --size bytes every --burst-ms (150 × 665 bytes: more
// than the window), each with a 2 s deadline, and with --budget keeps each connection's outstanding request bytes
// under that many bytes (queueing the rest). It prints the calls lost and whether the server ever handled them.
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { connect, constants } from 'node:http2';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    connections: { type: 'string', default: '1' },
    budget: { type: 'string', default: 'Infinity' },
    seconds: { type: 'string', default: '3' },
    'burst-ms': { type: 'string', default: '100' },
    rate: { type: 'string', default: '1500' },
    'work-us': { type: 'string', default: '100' },
    size: { type: 'string', default: '660' },
    server: { type: 'boolean', default: false },
    raw: { type: 'boolean', default: false },
  },
});
const [connections, budget, seconds, burstMs, rate, workUs, size] = [
  o.connections,
  o.budget,
  o.seconds,
  o['burst-ms'],
  o.rate,
  o['work-us'],
  o.size,
].map(Number);
const id = (b) => b;
const method = { path: '/repro.Repro/Echo', requestStream: false, responseStream: false };
const service = {
  Echo: { ...method, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id },
};

if (o.server) {
  const handled = [];
  const server = new grpc.Server();
  server.addService(service, {
    Echo(call, callback) {
      const until = process.hrtime.bigint() + BigInt(workUs * 1000);
      while (process.hrtime.bigint() < until); // the CPU a check costs
      handled.push(call.request.readUInt32BE(0));
      callback(null, Buffer.alloc(200));
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => process.send(err ? 0 : port));
  process.on('message', () => process.send(handled));
} else {
  const child = fork(new URL(import.meta.url).pathname, ['--server', '--work-us', String(workUs)]);
  const port = await new Promise((resolve) => child.once('message', resolve));
  const conns = Array.from({ length: connections }, () => ({ echo: o.raw ? rawEcho(port) : grpcEcho(port), bytes: 0 }));
  const queue = [];
  const lost = [];
  let n = 0;
  let answered = 0;
  let outstanding = 0;
  const pump = () => {
    while (queue.length) {
      const conn = conns.find((c) => c.bytes + size + 5 <= budget);
      if (!conn) return;
      const i = queue.shift();
      const body = Buffer.alloc(size, 1);
      body.writeUInt32BE(i, 0);
      conn.bytes += size + 5;
      outstanding++;
      conn.echo(body, (err) => {
        conn.bytes -= size + 5;
        outstanding--;
        if (err) lost.push(i);
        else answered++;
        pump();
      });
    }
  };
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    for (const due = Math.floor(((performance.now() - t0) * rate) / 1000); n < due;) queue.push(n++);
    pump();
    await new Promise((resolve) => setTimeout(resolve, burstMs));
  }
  while (outstanding || queue.length) await new Promise((resolve) => setTimeout(resolve, 50));
  child.send('handled?');
  const handled = new Set(await new Promise((resolve) => child.once('message', resolve)));
  child.kill();
  lost.sort((a, b) => a - b);
  const neverHandled = lost.filter((i) => !handled.has(i)).length;
  console.log(
    `${connections} connection(s), budget ${budget} bytes: sent ${n}, answered ${answered}, lost ${lost.length}` +
      ` (${neverHandled} never reached the server handler)${lost.length ? `; first lost: ${lost.slice(0, 8).join(', ')}` : ''}`,
  );
  process.exit(0);
}

/** A grpc-js client on a connection of its own: echo(body, callback) with a 2 s deadline. */
function grpcEcho(port) {
  const Client = grpc.makeGenericClientConstructor(service);
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  return (body, callback) => client.Echo(body, { deadline: Date.now() + 2000 }, callback);
}

/** The same call on a node:http2 session, framed by hand (5-byte gRPC prefix), cancelled after 2 s. */
function rawEcho(port) {
  const session = connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  return (body, callback) => {
    const headers = { ':method': 'POST', ':path': method.path, 'content-type': 'application/grpc', te: 'trailers' };
    const stream = session.request(headers);
    let status;
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      callback(err);
    };
    const timer = setTimeout(() => {
      finish(new Error('deadline'));
      stream.close(constants.NGHTTP2_CANCEL);
    }, 2000);
    stream.on('trailers', (trailers) => (status = trailers['grpc-status']));
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('close', () => finish(status === '0' ? null : new Error(`grpc-status ${status}`)));
    const framed = Buffer.alloc(body.length + 5);
    framed.writeUInt32BE(body.length, 1);
    body.copy(framed, 5);
    stream.end(framed);
  };
}
