// Sends the checks through Envoy: GET /orders with the token, over HTTP/1.1 keep-alive connections to Envoy's
// listener (the shipped envoy.yaml: ext_authz to tokengate, then the trivial upstream). The verdict comes back as the
// HTTP status: 200 from the upstream is an allow; 401 and 403 are tokengate's denials; a 5xx is tokengate's only when
// the body is its JSON error ({"statusCode": 503, ...}, KeysUnavailable). Lost: no answer within 2 s, a transport
// error, or any other status (Envoy's 503 when the check failed or took over its 250 ms, an upstream error).
import { Agent, request } from 'node:http';
import { CHECK_TIMEOUT_MS } from './options.mjs';

function tokengateBody(status, body) {
  try {
    return JSON.parse(body).statusCode === status;
  } catch {
    return false;
  }
}

export function createHttpDriver({ port, connections, judge, onFree }) {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  let inflight = 0;

  function trySend(job) {
    if (inflight >= connections) return false;
    inflight++;
    const { t } = job;
    judge.sent(t);
    const sentAt = Date.now();
    const started = performance.now();
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      inflight--;
      onFree();
      return true;
    };
    const lose = (cause, detail) => settle() && judge.lose({ t, sentAt, cause, detail });
    const headers = { authorization: `Bearer ${t.token}`, 'x-request-id': `soak-${job.n}` };
    const req = request({ host: '127.0.0.1', port, path: '/orders', agent, headers });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    req.on('error', (err) => lose(err.message.startsWith('no answer') ? 'deadline' : 'transport', err.message));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('error', (err) => lose('transport', err.message));
      res.on('end', () => {
        const status = res.statusCode;
        const decided = status === 200 || status === 401 || status === 403 || tokengateBody(status, body);
        if (!decided) return void lose(`http-${status}`, `${status} ${body.slice(0, 120)}`);
        if (!settle()) return;
        const end = performance.now();
        const allowed = status === 200;
        const reason = allowed ? 'allow' : `http-${status}`;
        const a = { t, sentAt, answeredAt: Date.now(), allowed, reason, cached: undefined };
        judge.answer({ ...a, latencyMs: end - started, schedLatencyMs: end - job.scheduledAt });
      });
    });
    req.end();
    return true;
  }

  return {
    trySend,
    get inflight() {
      return inflight;
    },
    stats: () => ({ connections }),
    close: () => agent.destroy(),
  };
}
