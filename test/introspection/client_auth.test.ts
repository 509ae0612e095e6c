import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IntrospectionClientAuth, IntrospectionConfig } from '../../src/config/types.js';
import { Introspector } from '../../src/introspection/introspector.js';
import { json, startFakeEndpoint, type FakeEndpoint } from '../oidc/fake_endpoint.js';
import { waitUntil } from '../helpers/wait.js';

// What tokengate sends to authenticate at the introspection endpoint, read where it lands: a real HTTP endpoint.
let dir: string;
let endpoint: FakeEndpoint;
let introspector: Introspector | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tokengate-client-auth-'));
  endpoint = await startFakeEndpoint(json({ active: true, exp: Math.floor(Date.now() / 1000) + 600 }));
});

afterEach(async () => {
  introspector?.stop();
  introspector = undefined;
  await endpoint.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(clientAuth: IntrospectionClientAuth, clientId = 'tokengate'): Introspector {
  const config: IntrospectionConfig = {
    endpoint: endpoint.url,
    discovery: undefined,
    clientId,
    clientAuth,
    cacheSeconds: 0,
    negativeCacheSeconds: 0,
    cacheMaxEntries: 100,
    cacheMaxBytes: 1 << 20,
    timeoutMs: 2000,
    applyTo: 'opaque',
    allowInsecureHttp: false,
  };
  introspector = new Introspector(config);
  introspector.start();
  return introspector;
}

const NEVER = () => new Promise<void>(() => undefined);
const introspect = (i: Introspector, token = 'opaque-1') => i.verify(token, { nowMs: Date.now(), deadline: NEVER });

describe('client authentication at the introspection endpoint', () => {
  it("client_secret_basic: id and secret form-encoded, then base64 (RFC 6749 §2.3.1); the file's newline dropped", async () => {
    writeFileSync(join(dir, 'secret'), 'a b:c%ä+\n');
    await introspect(start({ method: 'client_secret_basic', secretFile: join(dir, 'secret') }, 'token gate'));
    const seen = endpoint.requests[0]!;
    const decoded = Buffer.from(seen.headers.authorization!.replace(/^Basic /, ''), 'base64').toString();
    expect(decoded).toBe('token+gate:a+b%3Ac%25%C3%A4%2B');
    expect(seen.form.get('client_secret')).toBeNull();
    expect(seen.form.get('token')).toBe('opaque-1');
    expect(seen.form.get('token_type_hint')).toBe('access_token');
  });

  it('client_secret_post: client_id and client_secret in the form, no Authorization header', async () => {
    writeFileSync(join(dir, 'secret'), 'p0st-secret');
    await introspect(start({ method: 'client_secret_post', secretFile: join(dir, 'secret') }));
    const seen = endpoint.requests[0]!;
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.form.get('client_id')).toBe('tokengate');
    expect(seen.form.get('client_secret')).toBe('p0st-secret');
  });

  it('private_key_jwt (RFC 7523 §2.2, §3): iss = sub = client id, aud = endpoint, fresh jti, a short exp, signed', async () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'key.jwk'), JSON.stringify({ ...pair.privateKey.export({ format: 'jwk' }), kid: 'tg-1' }));
    const i = start({
      method: 'private_key_jwt',
      keyFile: join(dir, 'key.jwk'),
      algorithm: undefined,
      keyId: undefined,
      audience: undefined,
    });
    await introspect(i, 'opaque-1');
    await introspect(i, 'opaque-2');
    const publicKey = await importSPKI(pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 'ES256');
    const jtis = new Set<unknown>();
    for (const seen of endpoint.requests) {
      expect(seen.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const assertion = seen.form.get('client_assertion')!;
      expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'ES256', kid: 'tg-1' });
      const { payload } = await jwtVerify(assertion, publicKey, {
        issuer: 'tokengate',
        subject: 'tokengate',
        audience: endpoint.url,
      });
      expect(payload.exp! - payload.iat!).toBe(60);
      jtis.add(payload.jti);
    }
    expect(jtis.size).toBe(2);
  });

  it('private_key_jwt with a PEM RSA key, PS256 and a configured audience (the issuer)', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'key.pem'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const auth = {
      method: 'private_key_jwt',
      keyFile: join(dir, 'key.pem'),
      algorithm: 'PS256',
      keyId: 'rsa-1',
      audience: 'https://idp.example.com',
    } as const;
    await introspect(start(auth));
    const assertion = endpoint.requests[0]!.form.get('client_assertion')!;
    const publicKey = await importSPKI(pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(), 'PS256');
    const { protectedHeader } = await jwtVerify(assertion, publicKey, { audience: 'https://idp.example.com' });
    expect(protectedHeader).toMatchObject({ alg: 'PS256', kid: 'rsa-1' });
  });

  it('a key file that is not a private key, or one that cannot sign the algorithm, fails without quoting the file', () => {
    writeFileSync(join(dir, 'key.pem'), 'SECRET-LOOKING-CONTENT');
    const auth = {
      method: 'private_key_jwt',
      keyFile: join(dir, 'key.pem'),
      algorithm: undefined,
      keyId: undefined,
      audience: undefined,
    } as const;
    expect(() => start(auth)).toThrow(/is not a private key/);
    expect(() => start(auth)).not.toThrow(/SECRET-LOOKING/);
    writeFileSync(
      join(dir, 'key.pem'),
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    expect(() => start({ ...auth, algorithm: 'RS256' })).toThrow(/P-256 key cannot sign RS256/);
  });

  it('a rotated secret file is picked up without a restart; an emptied one leaves the previous secret in use', async () => {
    writeFileSync(join(dir, 'secret'), 'first');
    const i = start({ method: 'client_secret_post', secretFile: join(dir, 'secret') });
    await introspect(i);
    writeFileSync(join(dir, 'secret'), 'second\n');
    await waitUntil(async () => {
      await introspect(i, `t-${endpoint.requests.length}`);
      return endpoint.requests.at(-1)!.form.get('client_secret') === 'second';
    }, 'the new secret in use');
    writeFileSync(join(dir, 'secret'), '');
    await waitUntil(() => i.status().lastError !== undefined, 'the failed reload reported');
    expect(i.status().lastError).toMatch(/secret file is empty; the previous value stays in use/);
    await introspect(i, 'after-empty');
    expect(endpoint.requests.at(-1)!.form.get('client_secret')).toBe('second');
  });
});
