import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { configProblems } from '../helpers/config_problems.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tokengate-validate-'));

/** What `tokengate validate` reports: the reader's problems, else the compile step's (keys imported, sources bound). */
const problemsOf = configProblems;

const MINIMAL = `
policies:
  - name: orders
    validateJwt:
      jwksUri: ["https://idp.example.com/keys"]
      audiences: ["api://orders"]
      issuers: ["https://idp.example.com/"]
`;

describe('config validation', () => {
  it('accepts a minimal policy and applies the defaults', () => {
    const config = parseConfigText(MINIMAL);
    expect(config.server.grpcAddress).toBe('127.0.0.1:9191');
    expect(config.keys).toMatchObject({ fetchTimeoutSeconds: 5, refreshIntervalSeconds: 600, cooldownSeconds: 30, maxStaleSeconds: 86400 });
    expect(config.logging).toEqual({ level: 'info', decisions: 'deny' });
    const jwt = config.policies[0]!.validateJwt;
    expect(jwt.token).toEqual({ kind: 'header', name: 'authorization', scheme: 'Bearer' });
    expect(jwt.requireExpirationTime).toBe(true);
    expect(jwt.clockSkewSeconds).toBe(0);
    expect(jwt.algorithms).not.toContain('HS256');
    expect(Object.isFrozen(config.policies[0])).toBe(true);
  });

  it('reports every problem with its path', () => {
    const problems = problemsOf(`
server:
  grpc: { address: "nowhere" }
keys:
  refreshInterval: 5
  colldown: 3
logging: { decisions: allow }
policies:
  - name: a
    validateJwt:
      jwksUri: ["http://idp.example.com/keys"]
      audiences: ["api://a"]
      issuers: ["x"]
  - name: b
    validateJwt:
      openidConfig: [{ url: "https://idp.example.com/.well-known/openid-configuration" }]
      audiences: [""]
      algorithms: [none, RS256, HS256, XY1]
      requiredClaims:
        - { name: scp, match: some }
      clockSkew: -1
  - name: a
    validateJwt:
      audiences: []
      issuers: []
      headerName: "bad header"
      cookieName: at
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'server.grpc.address: must be host:port or unix:/path, got "nowhere"',
        'keys.refreshInterval: must be a number from 60 to 86400, got number 5',
        'keys.colldown: unknown key (expected one of: fetchTimeout, refreshInterval, cooldown, maxStale, allowInsecureHttp, followRedirects)',
        'logging.decisions: must be one of all, deny, none, got string "allow"',
        'policies[0].validateJwt.jwksUri[0]: must be https:// (plain http is allowed for loopback hosts, or anywhere with keys.allowInsecureHttp: true)',
        'policies[1].validateJwt.audiences[0]: must be a non-empty string',
        'policies[1].validateJwt.algorithms[0]: "none" is never allowed: unsigned tokens are controlled by requireSignedTokens',
        'policies[1].validateJwt.algorithms[2]: HS256 needs a symmetric key in issuerSigningKeys (base64): HS* is never verified with a public key',
        'policies[1].validateJwt.algorithms[3]: unknown algorithm "XY1" (expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512)',
        'policies[1].validateJwt.requiredClaims[0].match: must be one of all, any, got string "some"',
        'policies[1].validateJwt.clockSkew: must be a number from 0 to 86400, got number -1',
        'policies[2].name: duplicate policy name "a"',
        'policies[2].validateJwt: set only one of headerName, queryParameterName, cookieName (got headerName, cookieName)',
        'policies[2].validateJwt: needs at least one key source: openidConfig, jwksUri or issuerSigningKeys',
      ]),
    );
  });

  it('makes a signature-only check explicit: audiences and issuers are required unless given as []', () => {
    const problems = problemsOf(`
policies:
  - name: p
    validateJwt:
      jwksUri: ["https://idp.example.com/keys"]
`);
    expect(problems).toEqual([
      'policies[0].validateJwt.audiences: is required (write `audiences: []` to accept any audience on purpose)',
      'policies[0].validateJwt.issuers: is required when there is no openidConfig to take issuers from (write `issuers: []` to accept any issuer on purpose)',
    ]);
    expect(problemsOf(`
policies:
  - name: p
    validateJwt:
      jwksUri: ["https://idp.example.com/keys"]
      audiences: []
      issuers: []
`)).toEqual([]);
  });

  it('checks the shape of static keys when reading', () => {
    expect(problemsOf(`
policies:
  - name: p
    validateJwt:
      audiences: []
      issuers: []
      issuerSigningKeys:
        - { n: "abc" }
        - { kid: x }
`)).toEqual([
      'policies[0].validateJwt.issuerSigningKeys[0].e: is required',
      'policies[0].validateJwt.issuerSigningKeys[1].kid: unknown key (expected one of: jwk, pem, n, e, base64, id, issuers)',
      'policies[0].validateJwt.issuerSigningKeys[1]: must give one of jwk, pem, n + e, or base64',
      // No misleading "needs at least one key source" after the real problems: the keys were written.
    ]);
  });

  it('imports every key in the compile step, and reports each bad one by its path alone', () => {
    expect(problemsOf(`
policies:
  - name: p
    validateJwt:
      audiences: []
      issuers: []
      issuerSigningKeys:
        - { base64: "c2hvcnQ=" }
        - { pem: "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----" }
`)).toEqual([
      'policies[0].validateJwt.issuerSigningKeys[0]: a symmetric key needs at least 16 bytes',
      expect.stringMatching(/^policies\[0\]\.validateJwt\.issuerSigningKeys\[1\]: pem: not a PEM public key or X\.509 certificate/),
    ]);
  });

  it('checks the Entra shorthand and multi-tenant issuers', () => {
    expect(problemsOf(`
policies:
  - name: a
    validateAzureAdToken:
      tenantId: contoso.onmicrosoft.com
  - name: b
    validateJwt:
      openidConfig: [{ url: "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration" }]
      issuers: ["https://login.microsoftonline.com/{tenantid}/v2.0"]
      audiences: [x]
  - name: c
    validateJwt:
      jwksUri: ["https://idp.example.com/keys"]
      issuers: ["https://idp.example.com"]
      allowedTenants: "*"
      audiences: [x]
`)).toEqual([
      'policies[0].validateAzureAdToken.tenantId: must be the directory (tenant) id, a GUID, or common / organizations: the issuers name the tenant by id, never by domain name',
      expect.stringMatching(/^policies\[0\]\.validateAzureAdToken\.clientApplicationIds: is required: tokengate is stricter than APIM, which accepts any client application when audiences are given; .*validateJwt/),
      'policies[0].validateAzureAdToken: needs backendApplicationIds or audiences: a token for any application of the tenant must not pass',
      'policies[1].validateJwt.allowedTenants: is required with the issuer template https://login.microsoftonline.com/{tenantid}/v2.0: list the tenant ids to accept, or "*" for any tenant',
      'policies[2].validateJwt.allowedTenants: needs an issuer template with {tenantid} in issuers, e.g. https://login.microsoftonline.com/{tenantid}/v2.0',
    ]);
  });

  it('refuses decryption keys no JWE algorithm can use, in the compile step', () => {
    expect(problemsOf(`
policies:
  - name: c
    validateJwt:
      jwksUri: ["https://idp.example.com/keys"]
      issuers: ["https://idp.example.com"]
      audiences: [x]
      decryptionKeys: [{ base64: "c2hvcnQ=" }, { jwk: { kty: RSA, n: "AQAB", e: "AQAB" } }]
`)).toEqual([
      'policies[0].validateJwt.decryptionKeys[0]: decryption key: a symmetric key needs at least 16 bytes: no JWE algorithm uses fewer',
      'policies[0].validateJwt.decryptionKeys[1]: decryption key: a decryption JWK must be a private key (with "d")',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(problemsOf('policies:\n  - name: a\n    validateJwt: {\n')[0]).toMatch(/^line \d+, column \d+: /);
    expect(problemsOf('policies: []\npolicies: []\n')[0]).toMatch(/^line 2, column 1: Map keys must be unique/);
  });
});

describe('tokengate validate (CLI)', () => {
  // Runs the built CLI: npm test builds first (package.json pretest).
  const cli = ['dist/cli.js'];

  async function validate(yaml: string) {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    try {
      const { stdout, stderr } = await run(process.execPath, [...cli, 'validate', file]);
      return { code: 0, stdout, stderr, file };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr, file };
    }
  }

  it('exits 0 on a good file', async () => {
    const r = await validate(MINIMAL);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${r.file}: ok (1 policy)\n`);
  });

  it('exits 1 and prints every problem as path: message', async () => {
    const r = await validate('policies:\n  - name: p\n    validateJwt:\n      jwksUri: ["https://x.example/keys"]\n      audiences: [1]\n      issuers: []\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${r.file}: invalid configuration:\n  policies[0].validateJwt.audiences[0]: must be a non-empty string\n`);
  });
});
