import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { CompactEncrypt, exportJWK } from 'jose';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { waitUntil } from '../helpers/wait.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const kw = randomBytes(32);
const dir = randomBytes(32);
const revokedFile = join(mkdtempSync(join(tmpdir(), 'tokengate-revoked-')), 'revoked.txt');

let issuer: DevIssuer;
let tg: RunningTokengate;

beforeAll(async () => {
  issuer = await startDevIssuer({ algorithms: ['ES256'], defaultAudience: 'api://jwe' });
  writeFileSync(revokedFile, '# revoked token ids\nstolen-1\n');
  const rsaJwk = await exportJWK(rsa.privateKey);
  tg = await startTokengate(`
revokedTokens: { file: "${revokedFile}" }
policies:
  - name: jwe
    match: { pathPrefixes: ["/jwe"] }
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["api://jwe"]
      decryptionKeys:
        - { jwk: ${JSON.stringify({ ...rsaJwk, kid: 'rsa-enc' })} }
        - pem: |
${ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().trim().split('\n').map((l) => `            ${l}`).join('\n')}
          id: ec-enc
        - { base64: "${kw.toString('base64')}", id: kw-enc }
        - { base64: "${dir.toString('base64')}", id: dir-enc }
  - name: unsigned-ok
    match: { pathPrefixes: ["/unsigned"] }
    validateJwt:
      issuers: []
      audiences: []
      requireSignedTokens: false
      decryptionKeys: [{ base64: "${dir.toString('base64')}", id: dir-enc }]
  - name: plain
    validateJwt:
      openidConfig: [{ url: "\${ISSUER}/.well-known/openid-configuration" }]
      audiences: ["api://jwe"]
`, { ISSUER: issuer.issuer });
});

afterAll(async () => {
  await tg?.stop();
  await issuer?.close();
});

async function encrypt(plaintext: string, alg: string, enc: string, key: unknown, kid?: string, cty = 'JWT'): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader({ alg, enc, cty, ...(kid ? { kid } : {}) }).encrypt(key as never);
}

const check = async (path: string, token: string) => tg.client.check(envoyCheckRequest({ path, headers: bearer(token) }));

describe('encrypted tokens (JWE)', () => {
  const families: [string, string, () => unknown, string | undefined][] = [
    ['RSA-OAEP', 'A256GCM', () => rsa.publicKey, 'rsa-enc'],
    ['RSA-OAEP-256', 'A128CBC-HS256', () => rsa.publicKey, undefined],
    ['ECDH-ES', 'A256GCM', () => ec.publicKey, 'ec-enc'],
    ['ECDH-ES+A256KW', 'A256GCM', () => ec.publicKey, undefined],
    ['A256KW', 'A256GCM', () => kw, 'kw-enc'],
    ['dir', 'A256GCM', () => dir, 'dir-enc'],
  ];
  for (const [alg, enc, key, kid] of families) {
    it(`decrypts ${alg}/${enc}${kid ? '' : ' without a kid'} and verifies the signed token inside`, async () => {
      const jwe = await encrypt(await issuer.sign({ sub: 'jwe-user' }), alg, enc, key(), kid);
      const res = await check('/jwe', jwe);
      expect(res.status.code, reasonOf(res)).toBe(0);
      expect(res.dynamic_metadata?.fields.sub?.stringValue).toBe('jwe-user');
    });
  }

  it('a wrong decryption key is JwtInvalid', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(reasonOf(await check('/jwe', await encrypt(await issuer.sign({}), 'RSA-OAEP', 'A256GCM', other.publicKey)))).toBe('JwtInvalid');
  });

  it('PBES2 is refused even with the right secret: the sender would choose our work factor', async () => {
    expect(reasonOf(await check('/jwe', await encrypt(await issuer.sign({}), 'PBES2-HS256+A128KW', 'A128GCM', kw, 'kw-enc')))).toBe('JwtInvalid');
  });

  it('a JWE wrapping an expired or forged signed token is still denied', async () => {
    expect(reasonOf(await check('/jwe', await encrypt(await issuer.sign({ exp: 1 }), 'dir', 'A256GCM', dir, 'dir-enc')))).toBe('TokenExpired');
    const [h, p] = (await issuer.sign({})).split('.');
    expect(reasonOf(await check('/jwe', await encrypt(`${h}.${p}.AAAA`, 'dir', 'A256GCM', dir, 'dir-enc')))).toBe('TokenSignatureInvalid');
  });

  it('a JWE wrapping unsigned claims is rejected when requireSignedTokens, accepted only when it is false', async () => {
    const claims = JSON.stringify({ iss: issuer.issuer, aud: 'api://jwe', exp: Math.floor(Date.now() / 1000) + 60, sub: 'x' });
    expect(reasonOf(await check('/jwe', await encrypt(claims, 'dir', 'A256GCM', dir, 'dir-enc', 'json')))).toBe('TokenAlgorithmNotAllowed');
    expect((await check('/unsigned', await encrypt(claims, 'dir', 'A256GCM', dir, 'dir-enc', 'json'))).status.code).toBe(0);
  });

  it('a policy without decryptionKeys refuses a JWE', async () => {
    expect(reasonOf(await check('/plain', await encrypt(await issuer.sign({}), 'dir', 'A256GCM', dir, 'dir-enc')))).toBe('JwtInvalid');
  });
});

describe('revoked tokens (jti deny-list)', () => {
  it('denies a revoked jti, picks up new lines from the watched file, and keeps an entry until the token expires', async () => {
    const stolen = await issuer.sign({ jti: 'stolen-1' });
    expect(reasonOf(await check('/any', stolen))).toBe('TokenRevoked');
    const fine = await issuer.sign({ jti: 'fine-1' });
    expect((await check('/any', fine)).status.code).toBe(0);

    appendFileSync(revokedFile, 'fine-1\n');
    await waitUntil(async () => reasonOf(await check('/any', fine)) === 'TokenRevoked', 'the revocation file reload', 10_000);

    // Removing the lines does not un-revoke tokens that are still valid: the entries stay until their exp.
    writeFileSync(revokedFile, '# emptied\n');
    tg.app.runtime.revocations!.reload();
    expect(reasonOf(await check('/any', stolen))).toBe('TokenRevoked');
    expect(reasonOf(await check('/any', fine))).toBe('TokenRevoked');
    // An entry whose token has expired is dropped.
    tg.app.runtime.revocations!.reload(Date.now() / 1000 + 7200);
    expect(tg.app.runtime.revocations!.size).toBe(0);
  });
});
