/** `tokengate import-apim` as a user runs it: the built CLI (`npm run build` first; `npm test` does), stdout, stderr, exit code. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tokengate-import-apim-'));
const F = 'test/fixtures/apim';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['dist/cli.js', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Writes the YAML to a file and runs `tokengate validate` on it. */
async function validate(yaml: string, name: string) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return { file, ...(await cli('validate', file)) };
}

describe('tokengate import-apim (the built CLI)', () => {
  it('unmappable pieces: each on stderr as FILE:LINE: <what>: why, no YAML, exit 2', async () => {
    const { code, stdout, stderr } = await cli('import-apim', `${F}/unmappable.xml`);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      [
        `${F}/unmappable.xml:4: <validate-jwt token-value>: policy expression @(context.Request.Headers.GetValueOrDefault("Authorization", "").Split(' ').L... cannot be evaluated: tokengate has no policy expressions; only a plain header, query parameter or cookie read (context.Request.Headers/Url.Query/Cookies.GetValueOrDefault("name")) maps, to headerName, queryParameterName or cookieName`,
        `${F}/unmappable.xml:5: <validate-jwt clock-skew>: named value {{jwt-clock-skew}} has no value: give it with --named-value "jwt-clock-skew=VALUE" or --named-values FILE`,
        `${F}/unmappable.xml:6: <validate-jwt require-expiration-time>: policy expression @(context.Deployment.Region == "West Europe") cannot be evaluated: tokengate has no policy expressions; write the value it stands for`,
        `${F}/unmappable.xml:7: <openid-config url>: named value {{aad-tenant-id}} has no value: give it with --named-value "aad-tenant-id=VALUE" or --named-values FILE`,
        `${F}/unmappable.xml:9: <key certificate-id>: certificate "my-rsa-cert" is in APIM's certificate store, which tokengate cannot read: export the certificate (or its public key) as PEM and give it with --certificate "my-rsa-cert=FILE.pem"`,
        `${F}/unmappable.xml:10: <key>: named value {{jwt-signing-key}} has no value: give it with --named-value "jwt-signing-key=VALUE" or --named-values FILE`,
        `${F}/unmappable.xml:14: <key certificate-id>: certificate "my-encryption-cert" is in APIM's certificate store, which tokengate cannot read: export its private key as PEM (unencrypted) and give it with --certificate "my-encryption-cert=FILE.pem"`,
        `${F}/unmappable.xml:17: <audience>: the audience is the request's host name, which APIM evaluates per request; tokengate has no request-host audience rule: write one policy per host name, with match: { hosts: [HOST] } and audiences: [HOST] (one policy listing every host would let a token issued for one host in at another)`,
        `${F}/unmappable.xml:21: <value>: named value {{admin-group-id}} has no value: give it with --named-value "admin-group-id=VALUE" or --named-values FILE`,
        `${F}/unmappable.xml: 9 unmappable pieces: no YAML written; write their values into the policy, or run with --allow-partial to get the rest`,
        '',
      ].join('\n'),
    );
  });

  it('--allow-partial: the same lines saying what was done instead, the YAML on stdout, exit 0; tokengate validate accepts it', async () => {
    const { code, stdout, stderr } = await cli('import-apim', `${F}/unmappable.xml`, '--allow-partial');
    expect(code).toBe(0);
    const err = stderr.trimEnd().split('\n');
    expect(err).toHaveLength(10);
    expect(err[0]).toBe(
      `${F}/unmappable.xml:4: <validate-jwt token-value>: policy expression @(context.Request.Headers.GetValueOrDefault("Authorization", "").Split(' ').L... cannot be evaluated: tokengate has no policy expressions; only a plain header, query parameter or cookie read (context.Request.Headers/Url.Query/Cookies.GetValueOrDefault("name")) maps, to headerName, queryParameterName or cookieName [--allow-partial: the token location is left out, and a required claim no token carries is added: every request is denied until you write where the token is (reading the Authorization header instead could let in a token APIM never looked at)]`,
    );
    expect(err[7]).toBe(
      `${F}/unmappable.xml:17: <audience>: the audience is the request's host name, which APIM evaluates per request; tokengate has no request-host audience rule: write one policy per host name, with match: { hosts: [HOST] } and audiences: [HOST] (one policy listing every host would let a token issued for one host in at another) [--allow-partial: replaced by a placeholder no token carries, so this check denies until you write the value]`,
    );
    expect(err[9]).toBe(`${F}/unmappable.xml: 9 unmappable pieces left out or replaced so that the policy fails closed: fix them before enforcing`);
    expect(stdout).toContain('\npolicies:\n  - name: unmappable\n    validateJwt:\n');
    expect(stdout).toContain(`- "<unmappable at ${F}/unmappable.xml:17: @(context.Request.OriginalUrl.Host)>"`);
    const v = await validate(stdout, 'partial');
    expect(v.stderr).toBe('');
    expect(v.stdout).toBe(`${v.file}: ok (1 policy)\n`);
  });

  it('a mappable policy: warnings only, exit 0, and the YAML passes tokengate validate', async () => {
    const { code, stdout, stderr } = await cli('import-apim', `${F}/validate-jwt-full.xml`, '--name', 'orders');
    expect(code).toBe(0);
    const [binding, ...rest] = stderr.split('\n');
    expect(binding).toMatch(/^test\/fixtures\/apim\/validate-jwt-full\.xml:7: warning: <issuer-signing-keys>: APIM lets these keys sign/);
    expect(rest.join('\n')).toBe(
      `${F}/validate-jwt-full.xml:15: warning: <validate-jwt output-token-variable-name>: tokengate has no context variables: the validated token's payload goes upstream as base64url JSON in the header x-jwt-payload (forwardPayloadHeader: x-jwt-payload); what read context.Variables["jwt"] must read that header instead, or take single claims with outputClaimsToHeaders\n`,
    );
    expect(stdout.startsWith(`# Imported from ${F}/validate-jwt-full.xml by \`tokengate import-apim\`.`)).toBe(true);
    expect(stdout).toContain('\npolicies:\n  - name: orders\n    validateJwt:\n      headerName: Authorization\n      requireScheme: Bearer\n');
    const v = await validate(stdout, 'full');
    expect(v.code).toBe(0);
    expect(v.stdout).toBe(`${v.file}: ok (1 policy)\n`);
  });

  it('validate-azure-ad-token: the YAML passes tokengate validate', async () => {
    const { code, stdout } = await cli('import-apim', `${F}/validate-azure-ad-token-full.xml`);
    expect(code).toBe(0);
    expect(stdout).toContain('\n  - name: validate-azure-ad-token-full\n    validateAzureAdToken:\n      tenantId: 11111111-2222-3333-4444-555555555555\n');
    const v = await validate(stdout, 'azure');
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
  });

  it('usage, unreadable files and XML errors', async () => {
    const usage =
      'usage: tokengate import-apim POLICY.xml [--name NAME] [--allow-partial]\n' +
      '         [--named-value NAME=VALUE]... [--named-values FILE] [--certificate ID=FILE.pem]...\n';
    expect(await cli('import-apim')).toEqual({ code: 2, stdout: '', stderr: usage });
    expect((await cli('import-apim', `${F}/unmappable.xml`, '--bogus')).code).toBe(2);
    expect(await cli('import-apim', `${F}/does-not-exist.xml`)).toEqual({ code: 1, stdout: '', stderr: `${F}/does-not-exist.xml: cannot read file: ENOENT\n` });
    const broken = join(dir, 'broken.xml');
    writeFileSync(broken, '<policies>\n  <inbound>\n    <validate-jwt header-name="Authorization" header-name="X">\n  </inbound>\n</policies>\n');
    expect(await cli('import-apim', broken)).toEqual({ code: 1, stdout: '', stderr: `${broken}:3: not well-formed XML: attribute header-name is given twice\n` });
    expect((await cli('--help')).stdout).toContain('tokengate import-apim POLICY.xml [--name NAME] [--allow-partial]');
  });

  it('--named-values FILE, --named-value NAME=VALUE and --certificate ID=FILE.pem fill the gaps; the YAML passes validate', async () => {
    const values = join(dir, 'named-values.json');
    writeFileSync(values, JSON.stringify({ 'aad-tenant-id': '9c5e0f3a-7b2d-4e61-8a90-3f1d2c4b5a6e', 'orders-reader-role': 'Orders.Read' }));
    const named = await cli('import-apim', `${F}/corpus/c09-named-values.xml`, '--named-values', values, '--named-value', 'orders-api-client-id=5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a');
    expect(named.stderr).toBe('');
    expect(named.code).toBe(0);
    expect(named.stdout).toContain('https://login.microsoftonline.com/9c5e0f3a-7b2d-4e61-8a90-3f1d2c4b5a6e/v2.0/.well-known/openid-configuration');
    expect((await validate(named.stdout, 'named')).code).toBe(0);
    const cert = await cli('import-apim', `${F}/corpus/c12-certificates.xml`, '--certificate', `jwt-signer=${F}/certs/jwt-signer.bundle.pem`);
    expect(cert.stderr).toBe('');
    expect(cert.stdout).toContain('-----BEGIN CERTIFICATE-----');
    expect(cert.stdout).toContain('-----BEGIN PRIVATE KEY-----');
    expect((await validate(cert.stdout, 'cert')).code).toBe(0);
  });

  it('a malformed --named-value or --named-values file is a usage error (2); an unreadable one exit 1', async () => {
    const xml = `${F}/corpus/c09-named-values.xml`;
    expect((await cli('import-apim', xml, '--named-value', 'no-equals-sign')).stderr).toMatch(/^--named-value no-equals-sign: expected NAME=VALUE\nusage: /);
    expect((await cli('import-apim', xml, '--named-value', 'no-equals-sign')).code).toBe(2);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(await cli('import-apim', xml, '--named-values', list)).toMatchObject({ code: 2, stderr: expect.stringMatching(/list\.yaml: must be a map of named values/) });
    expect(await cli('import-apim', xml, '--certificate', 'jwt-signer=missing.pem')).toEqual({ code: 1, stdout: '', stderr: 'missing.pem: cannot read file: ENOENT\n' });
  });
});
