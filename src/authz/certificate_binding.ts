import {
  DEFAULT_CERTIFICATE_BINDING,
  type CertificateBindingConfig,
  type CertificateSource,
} from '../config/certificate_binding.js';
import { AuthzError } from '../errors.js';
import { presentedCertificate } from '../mtls/presented_certificate.js';
import type { AuthzRequest } from './request.js';
import type { Trace } from './trace.js';

/** A policy's certificate binding; `explicit` when its config names one (then the certificate is always read). */
export interface CompiledCertificateBinding {
  readonly source: CertificateSource;
  readonly required: boolean;
  readonly explicit: boolean;
}

export function compileCertificateBinding(config: CertificateBindingConfig | undefined): CompiledCertificateBinding {
  return { ...(config ?? DEFAULT_CERTIFICATE_BINDING), explicit: config !== undefined };
}

/** RFC 8705 §3.1 / RFC 7515 §4.1.8: base64url (no padding) of a 32-byte SHA-256 digest. */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/**
 * RFC 8705 §3: a token whose `cnf` holds `x5t#S256` is accepted only over a connection whose client certificate has
 * that thumbprint (§3.1), with an introspection answer's `cnf` alike (§3.2). A bound token is never taken as a bearer
 * token: every policy checks it, against the peer certificate unless it names another source. A policy that names
 * a source also refuses a malformed certificate from it, whatever the token; `required: true` refuses unbound tokens.
 */
export function checkCertificateBinding(
  req: AuthzRequest,
  claims: Readonly<Record<string, unknown>>,
  binding: CompiledCertificateBinding,
  trace?: Trace,
): void {
  const bound = boundThumbprint(claims);
  if (bound === undefined && !binding.required && !binding.explicit) return;
  const presented = presentedCertificate(req, binding.source);
  const from = `the client certificate (${binding.source})`;
  if (presented.kind === 'malformed') throw mismatch(`${from} cannot be read: ${presented.detail}`);
  if (bound === undefined) {
    if (binding.required) throw mismatch('the policy requires a certificate-bound token (cnf x5t#S256, RFC 8705 §3)');
    trace?.({ step: 'certificate', ok: true, detail: 'not a certificate-bound token' });
    return;
  }
  if (presented.kind === 'none')
    throw mismatch(`certificate-bound token (RFC 8705 §3), but no client certificate (${binding.source})`);
  // Not a secret: a plain comparison leaks nothing the client does not already hold.
  if (presented.thumbprint !== bound) throw mismatch(`cnf x5t#S256 is not the thumbprint of ${from} (RFC 8705 §3.1)`);
  trace?.({ step: 'certificate', ok: true, detail: `cnf x5t#S256 matches ${from}` });
}

/** The token's `cnf["x5t#S256"]`, undefined when it has none; a malformed one denies. */
function boundThumbprint(claims: Readonly<Record<string, unknown>>): string | undefined {
  const cnf = claims.cnf;
  if (cnf === undefined) return undefined;
  // RFC 7800 §3.1: `cnf` is a JSON object.
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw mismatch('cnf claim is not a JSON object');
  const x5t = (cnf as Record<string, unknown>)['x5t#S256'];
  if (x5t === undefined) return undefined;
  if (typeof x5t !== 'string' || !THUMBPRINT.test(x5t))
    throw mismatch('cnf x5t#S256 is not a base64url SHA-256 thumbprint (RFC 8705 §3.1)');
  return x5t;
}

function mismatch(message: string): AuthzError {
  return new AuthzError('CertificateBindingMismatch', message, { step: 'certificate' });
}
