// `tokengate test` (the built CLI, offline) with certificate-bound tokens (RFC 8705 §3): a case's `boundTo: FILE`
// binds its token to a certificate, `request.clientCert: FILE` is the certificate Envoy would pass on.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../helpers/certificates.js';

const CLI = resolve('dist/cli.js');
let ca: TestCa;

beforeAll(() => {
  ca = createTestCa();
  // Certificates beside the test file, named relative to it; the keys are not needed.
  writeFileSync(join(ca.dir, 'alice.pem'), ca.issue('alice').pem);
  writeFileSync(join(ca.dir, 'bob.pem'), ca.issue('bob').pem);
  writeFileSync(join(ca.dir, 'not-a-cert.pem'), 'hello\n');
  writeFileSync(
    join(ca.dir, 'tokengate.yaml'),
    `policies:
  - name: payments
    validateJwt:
      issuerSigningKeys: [{ base64: "${Buffer.alloc(32, 7).toString('base64')}" }]
      algorithms: [HS256]
      issuers: ["https://issuer.invalid"]
      audiences: []
    certificateBinding: { source: peer }
`,
  );
});
afterAll(() => ca?.remove());

async function tokengateTest(text: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(ca.dir, 'cases.yaml');
  writeFileSync(file, text);
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'test', file]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tokengate test with client certificates', () => {
  it('boundTo and request.clientCert: the right certificate passes, another or none is denied', async () => {
    const { code, stdout } = await tokengateTest(`config: tokengate.yaml
defaults:
  request: { clientCert: alice.pem }
cases:
  - { name: its certificate, boundTo: alice.pem, expect: { decision: allow } }
  - { name: another certificate, boundTo: alice.pem, request: { clientCert: bob.pem },
      expect: { decision: deny, reason: CertificateBindingMismatch, status: 401 } }
  - { name: a bearer token, expect: { decision: allow } }
  - { name: bound elsewhere, boundTo: bob.pem, expect: { decision: deny, reason: CertificateBindingMismatch } }
`);
    expect(stdout).toContain('4 passed, 0 failed');
    expect(code).toBe(0);
  });

  it('a certificate file that cannot be read, or is not a certificate, is a problem of the test file (exit 2)', async () => {
    const { code, stderr } = await tokengateTest(`config: tokengate.yaml
cases:
  - { name: a, boundTo: missing.pem, expect: { decision: allow } }
  - { name: b, request: { clientCert: not-a-cert.pem }, expect: { decision: allow } }
`);
    expect(code).toBe(2);
    expect(stderr).toContain('cases[0].boundTo: cannot read missing.pem: ENOENT');
    expect(stderr).toContain('cases[1].request.clientCert: not-a-cert.pem is not one PEM certificate');
  });
});
