// docs/entra-id.md: every YAML snippet is a complete tokengate config or a single policy that `tokengate validate`
// accepts; the full config is the one the entra-id overlay ships; and that config, pointed at a local issuer that
// mints Entra-shaped tokens, accepts a v2.0 access token for backend-app and rejects the v1.0 shape with APIM's
// 401 and message.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import type { ManagedProcess } from '../helpers/child_process.js';
import { ROOT } from '../helpers/paths.js';
import { freePorts } from '../helpers/ports.js';
import { startTokengateProcess } from '../helpers/tokengate_process.js';
import { DEPLOY, authzClient, ensureBuilt, tokengateValidate, type AuthzClient } from './helpers.js';

const DOC = join(ROOT, 'docs/entra-id.md');
const OVERLAY_CONFIG = join(DEPLOY, 'overlays/entra-id/tokengate.yaml');
const MESSAGE = 'Unauthorized. Access token is missing or invalid.';

interface Block {
  readonly lang: string;
  readonly text: string;
  readonly line: number;
}

/** Fenced code blocks, including ones indented inside list items (dedented). */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^ *```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(Math.min(indent, lines[j]!.search(/\S|$/))));
    blocks.push({ lang: open[2]!, text: `${body.join('\n')}\n`, line: i + 1 });
    i = j;
  }
  return blocks;
}

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-entra-doc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const doc = readFileSync(DOC, 'utf8');
const blocks = codeBlocks(doc);
const yamlBlocks = blocks.filter((b) => b.lang === 'yaml');

describe('docs/entra-id.md', () => {
  it('has the YAML snippets: the full config, the domain-name variant, v1, v1+v2, scp and roles policies', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(6);
  });

  for (const block of yamlBlocks) {
    it(`the YAML at line ${block.line} is a tokengate config or policy that \`tokengate validate\` accepts`, () => {
      const data = parse(block.text, { maxAliasCount: 100 }) as Record<string, unknown>;
      let config: string;
      if (data && 'policies' in data) config = block.text;
      else if (data && 'name' in data && 'validateJwt' in data) config = stringify({ policies: [data] });
      else throw new Error(`line ${block.line}: a YAML block must be a tokengate config (with policies) or one policy (name, validateJwt)`);
      ensureBuilt();
      const file = join(tmp, `snippet-${block.line}.yaml`);
      writeFileSync(file, config);
      const r = tokengateValidate(file);
      expect(r.status, `line ${block.line}:\n${r.output}`).toBe(0);
    }, 60_000);
  }

  it('shows the overlay\'s complete config verbatim', () => {
    expect(yamlBlocks.map((b) => b.text)).toContain(readFileSync(OVERLAY_CONFIG, 'utf8'));
  });

  it('shows the APIM policy of the article next to it', () => {
    const xml = blocks.filter((b) => b.lang === 'xml').map((b) => b.text).join('\n');
    for (const s of [
      'header-name="Authorization"',
      'failed-validation-httpcode="401"',
      `failed-validation-error-message="${MESSAGE}"`,
      'https://login.microsoftonline.com/{aad-tenant}/v2.0/.well-known/openid-configuration',
      '<claim name="aud">',
      '{backend-app-client-id}',
    ]) {
      expect(xml).toContain(s);
    }
  });

  it('names the registration steps, the token versions and the exact scope strings of both flows', () => {
    for (const s of [
      'backend-app',
      'client-app',
      'Expose an API',
      'api://BACKEND_CLIENT_ID',
      '"accessTokenAcceptedVersion": 2',
      'https://sts.windows.net/TENANT_ID/',
      'https://login.microsoftonline.com/TENANT_ID/.well-known/openid-configuration',
      'https://login.microsoftonline.com/$TENANT_ID/oauth2/v2.0/token',
      'grant_type=client_credentials',
      'scope="api://$BACKEND_CLIENT_ID/.default"',
      'grant_type=authorization_code',
      'api://BACKEND_CLIENT_ID/Files.Read',
    ]) {
      expect(doc).toContain(s);
    }
  });

  it('links only to files that exist', () => {
    for (const m of doc.matchAll(/\]\((\.\.\/[^)#\s]+)/g)) {
      expect(existsSync(join(ROOT, 'docs', m[1]!)), m[1]).toBe(true);
    }
  });
});

describe('the overlay\'s Entra ID config against Entra-shaped tokens', () => {
  const TENANT = 'TENANT_ID';
  const CLIENT_ID = 'BACKEND_CLIENT_ID';
  let issuer: DevIssuer;
  let tokengate: ManagedProcess;
  let client: AuthzClient;

  beforeAll(async () => {
    ensureBuilt();
    // The issuer stands in for https://login.microsoftonline.com: same paths, so the v2.0 issuer is <base>/TENANT_ID/v2.0.
    issuer = await startDevIssuer({ issuerPath: `${TENANT}/v2.0`, defaultAudience: CLIENT_ID, algorithms: ['RS256'] });
    const base = issuer.issuer.slice(0, -`/${TENANT}/v2.0`.length);
    const [grpcPort, opsPort] = await freePorts(2);
    const config = parse(readFileSync(OVERLAY_CONFIG, 'utf8').replaceAll('https://login.microsoftonline.com', base), { maxAliasCount: 100 });
    config.server = { grpc: { address: `127.0.0.1:${grpcPort}` }, http: { address: `127.0.0.1:${opsPort}` } };
    const file = join(tmp, 'entra-local.yaml');
    writeFileSync(file, stringify(config, { aliasDuplicateObjects: false }));
    tokengate = await startTokengateProcess({ args: ['serve', '--config', file], opsPort: opsPort!, logFile: join(tmp, 'tokengate.log') });
    client = authzClient(`127.0.0.1:${grpcPort}`);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await tokengate?.stop();
    await issuer?.close();
  });

  it('allows a v2.0 access token for backend-app on every route policy', async () => {
    const token = await issuer.sign({ ver: '2.0', azp: 'CLIENT_APP_ID', roles: ['Files.Read.All'] });
    for (const policy of [undefined, 'orders', 'admin', 'grpc']) {
      const r = await client.check({ path: '/orders', headers: { authorization: `Bearer ${token}` }, ...(policy ? { contextExtensions: { policy } } : {}) });
      expect(r.status, `policy ${policy ?? '(default)'}`).toBe(200);
    }
  });

  it('answers 401 with APIM\'s message for a missing token, a v1.0-shaped token and another API\'s token', async () => {
    const v1Shaped = await issuer.sign({ aud: `api://${CLIENT_ID}`, iss: `https://sts.windows.net/${TENANT}/`, ver: '1.0' });
    const otherApi = await issuer.sign({ aud: '00000003-0000-0000-c000-000000000000' }); // Microsoft Graph's app id
    const cases: Record<string, string>[] = [{}, { authorization: `Bearer ${v1Shaped}` }, { authorization: `Bearer ${otherApi}` }];
    for (const headers of cases) {
      const r = await client.check({ path: '/orders', headers });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toEqual({ statusCode: 401, message: MESSAGE });
    }
  });
});
