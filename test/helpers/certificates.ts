import { X509Certificate, createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificatePem, makeCertificate, privateKeyPem } from './x509.js';

/**
 * Throwaway X.509 certificates made with node:crypto (./x509.ts) for one test run (nothing is committed): a CA and
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

/** A P-256 key and its certificate, written where TLS servers and clients read them. */
function write(dir: string, name: string, cert: Buffer, key: KeyObject): TestCertificate {
  const base = join(dir, name.replace(/[^a-z0-9-]/gi, '_'));
  writeFileSync(`${base}.pem`, certificatePem(cert));
  writeFileSync(`${base}.key`, privateKeyPem(key), { mode: 0o600 });
  return load(name, `${base}.pem`, `${base}.key`);
}

export function createTestCa(name = 'tokengate-test-ca'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-certs-'));
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caCert = makeCertificate({
    subject: name,
    publicKey: caKeys.publicKey,
    issuer: name,
    issuerKey: caKeys.privateKey,
    ca: true,
    validDays: 2,
  });
  return {
    ...write(dir, 'ca', caCert, caKeys.privateKey),
    name,
    dir,
    issue(subject, options = {}) {
      const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const cert = makeCertificate({
        subject,
        publicKey: keys.publicKey,
        issuer: name,
        issuerKey: caKeys.privateKey,
        usage: options.serverNames ? 'serverAuth' : 'clientAuth',
        serverNames: options.serverNames,
        validDays: 2,
      });
      return write(dir, subject, cert, keys.privateKey);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
