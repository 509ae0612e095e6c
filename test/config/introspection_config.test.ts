import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { configProblems } from '../helpers/config_problems.js';

const dir = mkdtempSync(join(tmpdir(), 'tokengate-introspection-config-'));
writeFileSync(join(dir, 'secret'), 'secret\n');
writeFileSync(join(dir, 'not-a-key.pem'), 'nothing to see\n');

/** What `tokengate validate` reports: the reader's problems, else the compile step's. */
function problemsOf(introspection: string, extra = ''): readonly string[] {
  const yaml = `policies:
  - name: opaque
    validateJwt:
      issuers: ["https://idp.example.com"]
      audiences: []
${extra}
      introspection:
${introspection.replace(/^/gm, '        ')}
`;
  return configProblems(yaml);
}

const BASE = `endpoint: https://idp.example.com/oauth2/introspect
clientId: tokengate`;

describe('introspection: in the config', () => {
  it('accepts a policy that takes opaque tokens only (no key source), with the defaults applied', () => {
    expect(problemsOf(`${BASE}\nclientSecretFile: ${dir}/secret`)).toEqual([]);
    const config = parseConfigText(`policies:
  - name: opaque
    validateJwt:
      issuers: []
      audiences: []
      introspection: { endpoint: "https://idp.example.com/i", clientId: tg, clientSecretFile: "${dir}/secret" }
`);
    expect(config.policies[0]!.validateJwt.introspection).toEqual({
      endpoint: 'https://idp.example.com/i',
      clientId: 'tg',
      clientAuth: { method: 'client_secret_basic', secretFile: `${dir}/secret` },
      cacheSeconds: 60,
      negativeCacheSeconds: 5,
      cacheMaxEntries: 10_000,
      cacheMaxBytes: 16 * 1024 * 1024,
      timeoutMs: 1000,
      applyTo: 'opaque',
      allowInsecureHttp: false,
    });
  });

  it('refuses an inline secret: secrets come from files only', () => {
    expect(problemsOf(`${BASE}\nclientSecret: hunter2`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/introspection\.clientSecret: unknown key/),
        expect.stringMatching(/set exactly one of clientSecretFile .* or privateKeyJwt/),
      ]),
    );
  });

  it('refuses both a secret file and a private key, and a method that does not fit the credential', () => {
    expect(problemsOf(`${BASE}\nclientSecretFile: ${dir}/secret\nprivateKeyJwt: { keyFile: ${dir}/k.pem }`)).toEqual([
      expect.stringMatching(/set exactly one of clientSecretFile/),
    ]);
    expect(problemsOf(`${BASE}\nclientSecretFile: ${dir}/secret\nclientAuthMethod: private_key_jwt`)).toEqual([
      expect.stringMatching(/clientAuthMethod: private_key_jwt needs privateKeyJwt/),
    ]);
  });

  it('refuses an HMAC or unknown algorithm for private_key_jwt (RFC 7523: a signature, not a shared secret)', () => {
    expect(problemsOf(`${BASE}\nprivateKeyJwt: { keyFile: ${dir}/k.pem, algorithm: HS256 }`)).toEqual([
      expect.stringMatching(/privateKeyJwt\.algorithm: must be one of RS256/),
    ]);
  });

  it('refuses endpoints that would expose the token: http off loopback, other schemes, credentials in the URL', () => {
    const endpoint = (url: string, extra = '') =>
      problemsOf(`endpoint: "${url}"\nclientId: tg\nclientSecretFile: ${dir}/secret${extra}`);
    expect(endpoint('http://idp.example.com/i')).toEqual([
      expect.stringMatching(/must be https:\/\/ .*allowInsecureHttp/),
    ]);
    expect(endpoint('http://idp.example.com/i', '\nallowInsecureHttp: true')).toEqual([]);
    expect(endpoint('http://127.0.0.1:8080/i')).toEqual([]);
    expect(endpoint('ftp://idp.example.com/i')).toEqual([expect.stringMatching(/must be an https:\/\/ URL, got ftp:/)]);
    expect(endpoint('https://tg:pw@idp.example.com/i')).toEqual([expect.stringMatching(/must not carry credentials/)]);
  });

  it('refuses bad values with their paths', () => {
    expect(problemsOf(`${BASE}\nclientSecretFile: ${dir}/secret\napplyTo: jwt\ncacheSeconds: -1\ntimeout: 0`)).toEqual([
      expect.stringMatching(/^policies\[0\]\.validateJwt\.introspection\.cacheSeconds: must be a number/),
      expect.stringMatching(/introspection\.timeout: must be a number/),
      expect.stringMatching(/introspection\.applyTo: must be one of opaque, all/),
    ]);
  });

  it('without an endpoint, needs exactly one openidConfig to name it', () => {
    expect(problemsOf(`clientId: tg\nclientSecretFile: ${dir}/secret`)).toEqual([
      expect.stringMatching(/introspection\.endpoint: is required, unless the policy has exactly one openidConfig/),
    ]);
    const one = '      openidConfig: [{ url: "https://idp.example.com/.well-known/openid-configuration" }]';
    expect(problemsOf(`clientId: tg\nclientSecretFile: ${dir}/secret`, one)).toEqual([]);
    const two = `${one.replace(']', ', { url: "https://other.example.com/.well-known/openid-configuration" }]')}`;
    expect(problemsOf(`clientId: tg\nclientSecretFile: ${dir}/secret`, two)).toEqual([
      expect.stringMatching(/introspection\.endpoint: is required/),
    ]);
  });

  it('reads the credential files in the compile step, so `tokengate validate` reports them', () => {
    expect(problemsOf(`${BASE}\nclientSecretFile: ${dir}/absent`)).toEqual([
      expect.stringMatching(/introspection\.clientSecretFile: cannot read .*absent: ENOENT/),
    ]);
    expect(problemsOf(`${BASE}\nprivateKeyJwt: { keyFile: ${dir}/not-a-key.pem }`)).toEqual([
      expect.stringMatching(/introspection\.privateKeyJwt\.keyFile: .*not-a-key\.pem: is not a private key/),
    ]);
  });

  it('requireTokenType is read as written; a policy with no introspection still needs a key source', () => {
    const config = parseConfigText(`policies:
  - name: typed
    validateJwt:
      jwksUri: ["https://idp.example.com/keys"]
      issuers: ["https://idp.example.com"]
      audiences: []
      requireTokenType: at+jwt
`);
    expect(config.policies[0]!.validateJwt.requireTokenType).toBe('at+jwt');
    expect(() => parseConfigText(`policies:\n  - name: x\n    validateJwt: { issuers: [], audiences: [] }\n`)).toThrow(
      /needs at least one key source/,
    );
  });
});
