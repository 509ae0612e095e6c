// A config without rules does not load the CEL engine (src/rules/engine.ts); a reload that brings the first rules
// loads it then, and the rules decide from that reload on. In its own file: the engine is per module instance.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { parseConfigText } from '../../src/config/load.js';
import { ruleEnvironment } from '../../src/rules/engine.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

let issuer: DevIssuer;
let tg: RunningTokengate;

const config = (rules: string) => `server:
  grpc: { address: "127.0.0.1:0" }
policies:
  - name: orders
    validateJwt:
      openidConfig: [{ url: "${issuer.issuer}/.well-known/openid-configuration" }]
      audiences: ["api://orders"]
${rules}`;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['RS256'], defaultAudience: 'api://orders' });
  tg = await startTokengate(config(''));
});

afterAll(async () => {
  await tg?.stop();
  await issuer?.close();
});

it('a reload that adds the first rules loads the CEL engine, and the rules decide from then on', async () => {
  expect(() => ruleEnvironment()).toThrow(/not loaded/);
  const ask = async () =>
    tg.client.check(envoyCheckRequest({ headers: bearer(await issuer.sign({ scp: 'orders.read' })) }));
  expect((await ask()).status.code).toBe(0);
  await tg.app.reload(() =>
    parseConfigText(config(`    rules:\n      - name: writers-only\n        allow: '"orders.write" in scopes()'\n`), 'reload'),
  );
  const denied = await ask();
  expect(denied.status.code).not.toBe(0);
  expect(reasonOf(denied)).toBe('RuleDenied');
});
