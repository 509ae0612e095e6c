// Issue 15, wrong allow 3 and smaller fault 9, through the real gRPC server:
// - a revoked token must stay revoked for as long as any policy could accept it (exp + clockSkew), a jti is never
//   dropped while its line is in the file, and a numeric jti is revoked too;
// - a policy with decryptionKeys accepts unsigned claims only from inside a JWE it decrypted.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactEncrypt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RevocationList } from '../../src/authz/revocation_list.js';
import { bearer, envoyCheckRequest, reasonOf } from '../helpers/check_client.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';
import { forge, rsaKey, unsigned } from './helpers/forge.js';

const ISS = 'https://issuer.example.com';
const AUD = 'api://orders';
const rsa = rsaKey('rsa-1');
const dir = randomBytes(32);
const folder = mkdtempSync(join(tmpdir(), 'tokengate-revocation-'));
const revokedFile = join(folder, 'revoked.txt');
const now = () => Math.floor(Date.now() / 1000);
const EXPIRED_AT = now() - 10;

let tg: RunningTokengate;

beforeAll(async () => {
  // A line whose exp has passed, but not past exp + clockSkew, and a numeric jti.
  writeFileSync(revokedFile, `recently-expired ${EXPIRED_AT}\n12345\n`);
  tg = await startTokengate(`
revokedTokens: { file: "${revokedFile}" }
policies:
  - name: skewed
    match: { pathPrefixes: ["/skewed"] }
    validateJwt:
      issuerSigningKeys: [{ jwk: ${JSON.stringify({ ...rsa.jwk, kid: rsa.kid })} }]
      issuers: ["${ISS}"]
      audiences: ["${AUD}"]
      clockSkew: 60
  - name: unsigned-in-jwe
    match: { pathPrefixes: ["/unsigned"] }
    validateJwt:
      issuers: ["${ISS}"]
      audiences: ["${AUD}"]
      requireSignedTokens: false
      decryptionKeys: [{ base64: "${dir.toString('base64')}", id: dir-enc }]
`);
});

afterAll(async () => {
  await tg?.stop();
});

async function check(path: string, token: string) {
  const res = await tg.client.check(envoyCheckRequest({ path, headers: bearer(token) }));
  return { code: res.status?.code ?? 0, reason: reasonOf(res) };
}

const signed = (claims: Record<string, unknown>) =>
  forge('RS256', rsa.signing, { alg: 'RS256', kid: rsa.kid }, { iss: ISS, aud: AUD, sub: 'u', iat: now() - 100, ...claims });

describe('revoked tokens stay revoked while any policy accepts them', () => {
  it('a token past exp but within clockSkew is revoked at start (the list did not drop its line)', async () => {
    const token = signed({ jti: 'recently-expired', exp: EXPIRED_AT });
    expect(await check('/skewed', token)).toEqual({ code: 16, reason: 'TokenRevoked' });
    // The control: the same lifetime without a revoked jti is still accepted, so the skew is what is at stake.
    expect((await check('/skewed', signed({ jti: 'other', exp: EXPIRED_AT }))).code).toBe(0);
  });

  it('a numeric jti is revoked by its line', async () => {
    expect(await check('/skewed', signed({ jti: 12345, exp: now() + 600 }))).toEqual({ code: 16, reason: 'TokenRevoked' });
    expect((await check('/skewed', signed({ jti: 12346, exp: now() + 600 }))).code).toBe(0);
  });

  it('after its line is removed, an entry lives until exp + the largest clockSkew, then goes', () => {
    const file = join(folder, 'unit.txt');
    writeFileSync(file, `gone ${EXPIRED_AT}\nkept-in-file ${EXPIRED_AT - 86_400}\n`);
    const list = new RevocationList(file, undefined, 60);
    writeFileSync(file, `kept-in-file ${EXPIRED_AT - 86_400}\n`);
    list.reload(EXPIRED_AT + 59);
    expect(list.isRevoked('gone', undefined)).toBe(true);
    // Never dropped while its line is in the file, however old its exp.
    expect(list.isRevoked('kept-in-file', undefined)).toBe(true);
    list.reload(EXPIRED_AT + 61);
    expect(list.isRevoked('gone', undefined)).toBe(false);
    expect(list.isRevoked('kept-in-file', undefined)).toBe(true);
  });
});

describe('unsigned claims only from inside a decrypted JWE', () => {
  const claims = () => ({ iss: ISS, aud: AUD, sub: 'u', exp: now() + 600 });

  it('a bare alg-none token is denied when the policy has decryptionKeys (stricter than requireSignedTokens: false)', async () => {
    expect(await check('/unsigned', unsigned({ alg: 'none' }, claims()))).toEqual({ code: 16, reason: 'TokenAlgorithmNotAllowed' });
  });

  it('the same claims inside a JWE the policy decrypts pass', async () => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: 'dir-enc', cty: 'json' })
      .encrypt(dir);
    expect((await check('/unsigned', jwe)).code).toBe(0);
  });
});
