import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { join, optionalString, type Problems, type Raw } from '../config/reader.js';
import { fromPem } from '../mtls/certificate.js';

/**
 * A test case's certificate file (PEM, relative to the test file): for `request.clientCert`, what Envoy would pass on
 * (URL-encoded PEM); for `boundTo`, the thumbprint a certificate-bound token carries (RFC 8705 §3.1). A file that
 * cannot be read, or is not one PEM certificate, is a problem of the test file.
 */
export function readCaseCertificate(
  o: Raw,
  key: string,
  at: string,
  dir: string,
  problems: Problems,
): { urlEncodedPem: string; thumbprint: string } | undefined {
  const file = optionalString(o, key, at, problems);
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(resolve(dir, file), 'utf8');
  } catch (err) {
    problems.add(join(at, key), `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return undefined;
  }
  const certificate = fromPem(pem);
  if (certificate.kind !== 'certificate') {
    problems.add(join(at, key), `${file} is not one PEM certificate`);
    return undefined;
  }
  return { urlEncodedPem: encodeURIComponent(pem), thumbprint: certificate.thumbprint };
}
