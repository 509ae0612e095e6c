// The trivial upstream behind Envoy for `--via-envoy`: 200 "ok" to every request. A child process of its own, so that
// its work is not counted as the soak's or tokengate's. Usage: node scripts/soak/upstream.mjs <port>
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const server = createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
  res.end('ok\n');
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
