#!/usr/bin/env node
// The transport ceiling: a minimal grpc-js envoy.service.auth.v3.Authorization/Check server that allows everything.
// Same protos, loader options (dist/grpc/protos.js loadAuthorizationService → LOADER_OPTIONS) and server options as
// tokengate (dist/grpc/grpc_server.js), same process model: one process, or `--workers N` with node:cluster (the
// workers share the listening socket; cluster balances connections, not streams).
//
//   node bench/ceiling_server.mjs [--address 127.0.0.1:18491] [--workers N]
//
// Prints "ready <address>" on stdout once bound (the primary prints it when every worker is listening).
import cluster from 'node:cluster';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { address: { type: 'string', default: '127.0.0.1:18491' }, workers: { type: 'string', default: '1' } },
});
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1) {
  process.stderr.write(`ceiling_server: --workers must be a positive integer, got ${values.workers}\n`);
  process.exit(2);
}

if (workers > 1 && cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on('message', (_worker, msg) => {
    if (msg === 'listening' && ++listening === workers)
      process.stdout.write(`ready ${values.address} workers=${workers}\n`);
  });
  cluster.on('exit', (_w, code, signal) => {
    process.stderr.write(`ceiling_server: a worker exited (${signal ?? code}); stopping\n`);
    process.exit(1);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else {
  const grpc = await import('@grpc/grpc-js');
  const { loadAuthorizationService } = await import(join(ROOT, 'dist', 'grpc', 'protos.js'));
  // Same options as tokengate's startGrpcServer.
  const server = new grpc.Server({
    'grpc.max_concurrent_streams': 1000,
    'grpc.max_receive_message_length': 1024 * 1024,
  });
  const ALLOW = { status: { code: 0 } };
  server.addService(loadAuthorizationService(), {
    Check(call, callback) {
      callback(null, ALLOW);
    },
  });
  await new Promise((resolve, reject) =>
    server.bindAsync(values.address, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  if (cluster.isWorker) process.send?.('listening');
  else process.stdout.write(`ready ${values.address}\n`);
  const stop = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
