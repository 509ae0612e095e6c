import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRuntime } from '../../src/authz/runtime.js';
import { parseConfigText } from '../../src/config/load.js';
import { configProblems } from '../helpers/config_problems.js';

const dir = mkdtempSync(join(tmpdir(), 'tokengate-dpop-config-'));
const goodKey = join(dir, 'nonce.key');
writeFileSync(goodKey, `${'k'.repeat(40)}\n`);
const shortKey = join(dir, 'short.key');
writeFileSync(shortKey, 'too short\n');

const policy = (dpop: string, validate = '') => `policies:
  - name: api
    validateJwt:
      issuerSigningKeys: [{ jwk: { kty: EC, crv: P-256, x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0" } }]
      audiences: []
      issuers: []${validate}
    dpop: ${dpop}
`;

describe('dpop: configuration (tokengate validate)', () => {
  it('defaults: not required, every asymmetric algorithm, 60 s back and 5 s ahead, an in-process replay cache', () => {
    const config = parseConfigText(policy('{}'), 'test');
    expect(config.policies[0]!.dpop).toEqual({
      required: false,
      algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
      iatPastSeconds: 60,
      iatFutureSeconds: 5,
      externalOrigin: undefined,
      nonce: undefined,
      replay: { store: 'memory', maxEntries: 100_000, maxBytes: 16 * 1024 * 1024, redis: undefined },
    });
    const runtime = buildRuntime(config);
    expect(runtime.policies[0]!.dpop?.replay.describe).toBe('memory (this process)');
  });

  it('every problem is reported with its path', () => {
    const yaml = policy(`
      required: "yes"
      algorithms: [HS256, ES256, none]
      iatWindow: { pastSeconds: 0, futureSeconds: 301, other: 1 }
      externalOrigin: "https://api.example.com/prefix"
      nonce: { stepSeconds: 2 }
      replay: { store: redis, maxEntries: 0 }
      extra: 1`);
    expect(configProblems(yaml)).toEqual([
      'policies[0].dpop.extra: unknown key (expected one of: required, algorithms, iatWindow, externalOrigin, nonce, replay)',
      'policies[0].dpop.iatWindow.other: unknown key (expected one of: pastSeconds, futureSeconds)',
      'policies[0].dpop.required: must be true or false, got string "yes"',
      'policies[0].dpop.algorithms[0]: must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (RFC 9449 §4.2: asymmetric only), got "HS256"',
      'policies[0].dpop.algorithms[2]: must be one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (RFC 9449 §4.2: asymmetric only), got "none"',
      'policies[0].dpop.iatWindow.pastSeconds: must be a number from 1 to 3600, got number 0',
      'policies[0].dpop.iatWindow.futureSeconds: must be a number from 0 to 300, got number 301',
      'policies[0].dpop.externalOrigin: must be an origin such as https://api.example.com (no path, query or credentials)',
      'policies[0].dpop.nonce.keyFile: is required',
      'policies[0].dpop.nonce.stepSeconds: must be an integer from 5 to 3600, got number 2',
      'policies[0].dpop.replay.redis: is required with store: redis',
      'policies[0].dpop.replay.maxEntries: must be an integer from 1 to 10000000, got number 0',
    ]);
  });

  it('the token must come in the Authorization header (RFC 9449 §7.1)', () => {
    expect(configProblems(policy('{}', '\n      headerName: x-token'))).toEqual([
      'policies[0].dpop: needs the token in the Authorization header (RFC 9449 §7.1): remove headerName/queryParameterName',
    ]);
  });

  it('plain http external origins only for loopback; an origin is kept normalised', () => {
    expect(configProblems(policy('{ externalOrigin: "http://api.example.com" }'))).toEqual([
      'policies[0].dpop.externalOrigin: must be https:// (plain http only for a loopback host)',
    ]);
    const config = parseConfigText(policy('{ externalOrigin: "HTTPS://API.example.com:443/" }'), 'test');
    expect(config.policies[0]!.dpop?.externalOrigin).toBe('https://api.example.com');
  });

  it('the nonce key file is read when the runtime is built: missing or short is a problem', () => {
    expect(configProblems(policy(`{ nonce: { keyFile: "${goodKey}" } }`))).toEqual([]);
    expect(configProblems(policy(`{ nonce: { keyFile: "${join(dir, 'absent.key')}" } }`))).toEqual([
      `policies[0].dpop.nonce.keyFile: cannot read ${join(dir, 'absent.key')}: ENOENT`,
    ]);
    expect(configProblems(policy(`{ nonce: { keyFile: "${shortKey}" } }`))).toEqual([
      'policies[0].dpop.nonce.keyFile: the nonce key needs at least 32 bytes',
    ]);
  });

  it('redis settings: address shape, and username needs passwordFile', () => {
    const yaml = policy('{ replay: { store: redis, redis: { address: "no-port", username: tg } } }');
    expect(configProblems(yaml)).toEqual([
      'policies[0].dpop.replay.redis.address: must be host:port or unix:/path, got "no-port"',
      'policies[0].dpop.replay.redis.passwordFile: is required with username (Redis ACL AUTH takes both)',
    ]);
    expect(configProblems(policy('{ replay: { store: memory, redis: { address: "127.0.0.1:6379" } } }'))).toEqual([
      'policies[0].dpop.replay.redis: is read only with store: redis',
    ]);
  });
});
