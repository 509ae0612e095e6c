import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest } from '../helpers/check_client.js';
import { freePort } from '../helpers/ports.js';
import { startTokengate } from '../helpers/tokengate.js';

const AUD = 'api://orders';

let issuer: DevIssuer;
let closedPort: number;

beforeAll(async () => {
  issuer = await startDevIssuer({ defaultAudience: AUD });
  closedPort = await freePort();
});

afterAll(async () => {
  await issuer?.close();
});

/** Two policies: `orders` verifies against the dev issuer; `dark` has a JWKS nobody serves, so its checks deny with KeysUnavailable. */
function config(logging: string): string {
  return `
logging: ${logging}
keys: { maxStale: 0 }
policies:
  - name: orders
    match: { pathPrefixes: ["/orders"] }
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["${AUD}"]
  - name: dark
    match: { pathPrefixes: ["/dark"] }
    validateJwt:
      jwksUri: ["http://127.0.0.1:${closedPort}/keys"]
      audiences: ["${AUD}"]
      issuers: ["${issuer.issuer}"]
`;
}

/** Runs an allowed, two denied (headers, header_map) and a KeysUnavailable check at level info; returns the `check` lines by request id. */
async function decisionLines(logging: string) {
  const tg = await startTokengate(config(logging), {}, { logLevel: 'info', waitForKeys: false });
  try {
    await tg.app.firstFetches();
    const token = await issuer.sign({ sub: 'alice' });
    const send = (id: string, path: string, headers: Record<string, string>, rawHeaders = false) =>
      tg.client.check(envoyCheckRequest({ path, headers: { ...headers, 'x-request-id': id }, rawHeaders }));
    expect((await send('allowed', '/orders', bearer(token))).status.code).toBe(0);
    expect((await send('denied', '/orders', {})).status.code).not.toBe(0);
    // Envoy with encode_raw_headers sends header_map: the line still carries the request id.
    expect((await send('denied-raw', '/orders', {}, true)).status.code).not.toBe(0);
    expect((await send('no-keys', '/dark', bearer(token))).status.code).not.toBe(0);
    const lines = tg.logs.filter((l) => l.msg === 'check');
    return Object.fromEntries(lines.map((l) => [l.requestId as string, l]));
  } finally {
    await tg.stop();
  }
}

describe('logging.decisions', () => {
  it('defaults to deny: denials get a line, allows do not, a missing-keys denial is a warning', async () => {
    const lines = await decisionLines('{ level: info }');
    expect(Object.keys(lines).sort()).toEqual(['denied', 'denied-raw', 'no-keys']);
    expect(lines.denied).toMatchObject({ level: 'info', policy: 'orders', decision: 'deny', reason: 'TokenNotPresent' });
    expect(lines['denied-raw']).toMatchObject({ level: 'info', policy: 'orders', decision: 'deny', reason: 'TokenNotPresent' });
    expect(lines['no-keys']).toMatchObject({ level: 'warn', policy: 'dark', decision: 'deny', reason: 'KeysUnavailable' });
  });

  it('all: allows get an info line with the subject too', async () => {
    const lines = await decisionLines('{ level: info, decisions: all }');
    expect(Object.keys(lines).sort()).toEqual(['allowed', 'denied', 'denied-raw', 'no-keys']);
    expect(lines.allowed).toMatchObject({ level: 'info', policy: 'orders', decision: 'allow', sub: 'alice' });
  });

  it('none: only the missing-keys warning remains', async () => {
    const lines = await decisionLines('{ level: info, decisions: none }');
    expect(Object.keys(lines)).toEqual(['no-keys']);
  });
});
