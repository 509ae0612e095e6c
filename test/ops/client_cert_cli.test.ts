// `tokengate explain` and `tokengate check` (the built CLI) with --client-cert: a certificate-bound token
// (RFC 8705 §3) explained and checked with the client certificate Envoy would pass on, and with another.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { createTestCa, type TestCa, type TestCertificate } from '../helpers/certificates.js';
import { startTokengate, type RunningTokengate } from '../helpers/tokengate.js';

const run = promisify(execFile);
let issuer: DevIssuer;
let ca: TestCa;
let alice: TestCertificate;
let bob: TestCertificate;
let configFile: string;
let tg: RunningTokengate;

const policies = (issuerUrl: string) => `policies:
  - name: orders
    validateJwt:
      openidConfig: [{ url: "${issuerUrl}/.well-known/openid-configuration" }]
      audiences: ["api://orders"]
`;

beforeAll(async () => {
  issuer = await startDevIssuer({ defaultAudience: 'api://orders' });
  ca = createTestCa();
  alice = ca.issue('alice');
  bob = ca.issue('bob');
  configFile = join(ca.dir, 'tokengate.yaml');
  writeFileSync(configFile, policies(issuer.issuer));
  tg = await startTokengate(policies(issuer.issuer));
});

afterAll(async () => {
  await tg?.stop();
  await issuer?.close();
  ca?.remove();
});

async function cli(...args: string[]) {
  try {
    const { stdout } = await run(process.execPath, ['dist/cli.js', ...args]);
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

const boundToAlice = () => issuer.sign({ jti: randomUUID(), cnf: { 'x5t#S256': alice.thumbprint } });

describe('--client-cert', () => {
  it('explain: the certificate step passes with the bound certificate, and names the failure with another', async () => {
    const token = await boundToAlice();
    const ok = await cli('explain', '--config', configFile, '--token', token, '--client-cert', alice.certFile);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^ok +certificate +cnf x5t#S256 matches the client certificate \(peer\)$/m);
    const other = await cli('explain', '--config', configFile, '--token', token, '--client-cert', bob.certFile);
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/^FAIL +certificate +cnf x5t#S256 is not the thumbprint of the client certificate/m);
    expect(other.stdout).toContain('CertificateBindingMismatch');
    const none = await cli('explain', '--config', configFile, '--token', token);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/^FAIL +certificate +certificate-bound token \(RFC 8705 §3\), but no client certificate \(peer\)$/m);
  });

  it('a --client-cert file that cannot be read is a usage error (exit 2), never a stack trace', async () => {
    const missing = await cli('explain', '--config', configFile, '--token', 'x', '--client-cert', join(ca.dir, 'none.pem'));
    expect(missing.code).toBe(2);
  });

  it('check: the certificate goes to a running tokengate in attributes.source.certificate', async () => {
    const token = await boundToAlice();
    const address = tg.app.grpcAddress;
    const ok = await cli('check', '--address', address, '--token', token, '--client-cert', alice.certFile);
    expect(ok.stdout).toMatch(/^ALLOW policy=orders$/m);
    expect(ok.code).toBe(0);
    const other = await cli('check', '--address', address, '--token', token, '--client-cert', bob.certFile);
    expect(other.stdout).toMatch(/^DENY 401 reason=CertificateBindingMismatch policy=orders$/m);
    expect(other.code).toBe(1);
  });
});
