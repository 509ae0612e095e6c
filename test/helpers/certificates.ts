import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Throwaway X.509 certificates made by the openssl CLI for one test run (nothing is committed): a CA and
 * certificates it signs, each with its key in a temporary directory, and the forms the tests send them in.
 */
export interface TestCertificate {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly pem: string;
  readonly der: Buffer;
  /** RFC 8705 §3.1: base64url SHA-256 of the DER, what `cnf["x5t#S256"]` holds. */
  readonly thumbprint: string;
  /** As Envoy sends it in attributes.source.certificate and in an XFCC Cert= field. */
  readonly urlEncodedPem: string;
}

export interface TestCa extends TestCertificate {
  readonly dir: string;
  /** A certificate signed by this CA: a client certificate, or with `serverNames` a server one. */
  issue(name: string, options?: { serverNames?: readonly string[] }): TestCertificate;
  remove(): void;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function load(name: string, certFile: string, keyFile: string): TestCertificate {
  const pem = readFileSync(certFile, 'utf8');
  const der = new X509Certificate(pem).raw;
  return {
    name,
    certFile,
    keyFile,
    pem,
    der,
    thumbprint: createHash('sha256').update(der).digest('base64url'),
    urlEncodedPem: encodeURIComponent(pem),
  };
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function createTestCa(name = 'tokengate-test-ca'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-certs-'));
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca.key');
  openssl(['req', '-x509', ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${name}`, '-days', '2']);
  return {
    ...load(name, certFile, keyFile),
    dir,
    issue(subject, options = {}) {
      const base = join(dir, subject.replace(/[^a-z0-9-]/gi, '_'));
      const csr = `${base}.csr`;
      const ext = `${base}.ext`;
      const server = options.serverNames;
      writeFileSync(
        ext,
        server
          ? `subjectAltName=${server.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}\n` +
              'extendedKeyUsage=serverAuth\n'
          : 'extendedKeyUsage=clientAuth\n',
      );
      openssl(['req', ...EC_KEY, '-keyout', `${base}.key`, '-out', csr, '-subj', `/CN=${subject}`]);
      const serial = `0x${randomBytes(8).toString('hex')}`;
      openssl(['x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', keyFile, '-set_serial', serial]
        .concat(['-days', '2', '-extfile', ext, '-out', `${base}.pem`]));
      return load(subject, `${base}.pem`, `${base}.key`);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
