// Sends the checks straight to tokengate: envoy.service.auth.v3.Authorization/Check over grpc-js, shaped as Envoy's
// ext_authz filter sends them for the shipped envoy.yaml's /orders route.
//
// Why a byte budget per connection: Node's HTTP/2 client (which grpc-js uses) strands a request that does not fit in
// the connection's send window. The server (Node's HTTP/2, as tokengate runs it) grants a 64 KiB connection window and
// returns it in WINDOW_UPDATEs of 32 KiB as it reads; once a burst of requests has used it up, the request whose body
// straddles the edge never goes out: its bytes stay in the client stream's write queue until the deadline
// (docs/reliability.md, "Soak", has the evidence; soak/window_stall_repro.mjs reproduces it without tokengate, with
// grpc-js and with node:http2 alone). That is one lost check per 32 KiB of requests sent while the window is exhausted,
// which is what the 14-minute soak lost. A connection whose outstanding request bytes stay under half the window can never run out of it (the server
// has consumed, or still holds unread, at most that much more than it has acknowledged), so no request is ever split
// by flow control; the checks are spread over `connections` connections so that the budget does not limit the rate.
import { join } from 'node:path';
import { CHECK_TIMEOUT_MS, POLICY } from './options.mjs';
import { ROOT } from './procs.mjs';

const { createCheckClient } = await import(join(ROOT, 'dist/grpc/check_client.js'));
const { loadAuthorizationService } = await import(join(ROOT, 'dist/grpc/protos.js'));
const { envoyCheckRequest } = await import(join(ROOT, 'dist/testkit/check_request.js'));

/** Outstanding request bytes per connection: under half of the 64 KiB HTTP/2 connection window. */
export const CONNECTION_BUDGET_BYTES = 24 * 1024;

/** Reasons that prove the signature verified with a key that is still current: such a fresh token was cached. */
const CACHED_REASONS = new Set([
  'TokenAudienceNotAllowed',
  'TokenIssuerNotAllowed',
  'TokenClaimNotFound',
  'TokenClaimValueNotAllowed',
]);

/** Check `n`, as Envoy's ext_authz filter sends it for `GET /orders` with the token. */
function checkRequest(token, n) {
  return envoyCheckRequest({
    headers: { 'user-agent': 'soak/1', 'x-request-id': `soak-${n}`, authorization: `Bearer ${token}` },
    id: String(n),
    contextExtensions: { policy: POLICY },
  });
}

export function createGrpcDriver({ address, connections, judge, onFree }) {
  // A request's DATA: the 5-byte gRPC prefix, the message without the token, the token, and a few bytes of slack for
  // longer varints and request ids.
  const overhead = 5 + loadAuthorizationService().Check.requestSerialize(checkRequest('', 1e9)).length + 8;
  const conns = Array.from({ length: connections }, () => ({
    client: createCheckClient(address, { ownConnection: true }),
    bytes: 0,
  }));
  let inflight = 0;
  let maxBytes = 0;
  const stats = { maxConnectionBytes: 0, budgetBytes: CONNECTION_BUDGET_BYTES, connections };

  function trySend(job) {
    const size = overhead + job.t.token.length;
    let conn;
    for (const c of conns) if (c.bytes + size <= CONNECTION_BUDGET_BYTES && (!conn || c.bytes < conn.bytes)) conn = c;
    if (!conn) return false;
    conn.bytes += size;
    maxBytes = Math.max(maxBytes, conn.bytes);
    inflight++;
    const { t } = job;
    judge.sent(t);
    const sentAt = Date.now();
    const started = performance.now();
    const settle = () => {
      conn.bytes -= size;
      inflight--;
      onFree();
    };
    conn.client.check(checkRequest(t.token, job.n), CHECK_TIMEOUT_MS).then(
      (res) => {
        settle();
        const end = performance.now();
        const allowed = res.status?.code === 0;
        const reason = allowed
          ? 'allow'
          : (res.dynamic_metadata?.fields?.['tokengate.reason']?.stringValue ?? `code${res.status?.code}`);
        const cached = allowed || CACHED_REASONS.has(reason);
        const a = { t, sentAt, answeredAt: Date.now(), allowed, reason, cached };
        judge.answer({ ...a, latencyMs: end - started, schedLatencyMs: end - job.scheduledAt });
      },
      (err) => {
        settle();
        const cause = err.code === 4 ? 'deadline' : `grpc-status-${err.code}`;
        judge.lose({ t, sentAt, cause, detail: String(err.details ?? err.message).slice(0, 200) });
      },
    );
    return true;
  }

  return {
    trySend,
    get inflight() {
      return inflight;
    },
    stats() {
      return { ...stats, maxConnectionBytes: maxBytes };
    },
    close() {
      for (const c of conns) c.client.close();
    },
  };
}
