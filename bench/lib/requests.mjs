// The bench's CheckRequests: the shared Envoy-shaped builder (dist/testkit/check_request.js) with the headers of a
// browser-like client calling `GET /orders/{n}` over https, each request with its own id, source port and x-request-id.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const { envoyCheckRequest } = await import(join(ROOT, 'dist', 'testkit', 'check_request.js'));

/** Request `i` of a set, carrying `token`; `json` spells the timestamp as ghz's JSON data files do. */
export function benchCheckRequest(token, i, { policy, json }) {
  return envoyCheckRequest({
    path: `/orders/${1000 + (i % 9000)}?expand=items`,
    scheme: 'https',
    headers: {
      accept: 'application/json',
      'accept-encoding': 'gzip, deflate, br',
      authorization: `Bearer ${token}`,
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) orders-client/3.2.1',
      'x-forwarded-for': '203.0.113.7',
      'x-request-id': randomUUID(),
    },
    id: String(9_000_000_000_000_000 + i),
    sourcePort: 40000 + (i % 20000),
    contextExtensions: { policy },
    timeAs: json ? 'json' : 'proto',
  });
}
