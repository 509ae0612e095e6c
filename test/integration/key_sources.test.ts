import { afterEach, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { waitUntil } from '../helpers/wait.js';

const CONFIG = `
policies:
  - name: api
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["api://test"]
`;

let issuer: DevIssuer | undefined;
let tg: RunningTokengate | undefined;

afterEach(async () => {
  await tg?.stop();
  await issuer?.close();
  tg = issuer = undefined;
});

async function readyz(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; sources: { usable: boolean; keys: number; lastError: string | null }[] } };
}

describe('key sources', () => {
  it('issuer down at start: health NOT_SERVING and /readyz 503 until keys arrive, then SERVING', async () => {
    issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://test' });
    await issuer.stop();
    tg = await startTokengate(CONFIG, { ISSUER: issuer.issuer });
    expect(await tg.client.health('envoy.service.auth.v3.Authorization')).toBe('NOT_SERVING');
    expect(await tg.client.health('')).toBe('NOT_SERVING');
    const before = await readyz(tg.app.opsPort!);
    expect(before.status).toBe(503);
    expect(before.body.sources[0]).toMatchObject({ usable: false, keys: 0 });
    expect(before.body.sources[0]!.lastError).toMatch(/ECONNREFUSED/);
    // Fail closed while there are no keys: 503 KeysUnavailable, never an allow.
    const token = await issuer.sign({});
    const denied = await tg.client.check(envoyCheckRequest({ headers: bearer(token) }));
    expect(reasonOf(denied)).toBe('KeysUnavailable');
    expect(denied.denied_response?.status.code).toBe(503);

    await issuer.start();
    await waitUntil(async () => (await tg!.client.health('envoy.service.auth.v3.Authorization')) === 'SERVING', 'SERVING');
    expect((await readyz(tg.app.opsPort!)).status).toBe(200);
    expect((await tg.client.check(envoyCheckRequest({ headers: bearer(token) }))).status.code).toBe(0);
  });

  it('issuer down after start: the last good keys keep working', async () => {
    issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://test' });
    tg = await startTokengate(`keys: { cooldown: 0 }\n${CONFIG}`, { ISSUER: issuer.issuer });
    expect(await tg.client.health('envoy.service.auth.v3.Authorization')).toBe('SERVING');
    await issuer.stop();
    // A token with an unknown kid forces a refetch, which fails: the source now reports the error...
    const unknown = await tg.client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({}, { header: { kid: 'unknown' } })) }));
    expect(unknown.status.code).not.toBe(0);
    await waitUntil(() => tg!.app.keySources()[0]!.lastError !== undefined, 'the failed refetch');
    // ...but tokens signed with the keys fetched before still pass, and readiness stays green within maxStale.
    expect((await tg.client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({})) }))).status.code).toBe(0);
    const ready = await readyz(tg.app.opsPort!);
    expect(ready.status).toBe(200);
    expect(ready.body.sources[0]!.lastError).toMatch(/ECONNREFUSED/);
  });

  it('a discovery document naming another issuer is rejected', async () => {
    issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://test' });
    tg = await startTokengate(
      `policies:\n  - name: api\n    validateJwt:\n      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration", issuer: "https://login.example.com/other" }]\n      audiences: ["api://test"]\n`,
      { ISSUER: issuer.issuer },
    );
    expect(tg.app.keySources()[0]!.lastError).toMatch(/names issuer ".*", expected "https:\/\/login.example.com\/other"/);
    expect(reasonOf(await tg.client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({})) })))).toBe('KeysUnavailable');
  });
});
