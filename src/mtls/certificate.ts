import { X509Certificate, createHash } from 'node:crypto';

/**
 * A client certificate as one of the sources presented it, reduced to what RFC 8705 §3.1 compares: the base64url
 * SHA-256 of its DER encoding. `malformed` is never "no certificate": whatever cannot be read is denied.
 */
export type PresentedCertificate =
  | { readonly kind: 'none' }
  | { readonly kind: 'certificate'; readonly thumbprint: string; readonly sha256Hex: string }
  | { readonly kind: 'malformed'; readonly detail: string };

export const NO_CERTIFICATE: PresentedCertificate = Object.freeze({ kind: 'none' });

/** Far above any client certificate (a few KiB); bounds the work one request can ask for. */
const MAX_ENCODED_LENGTH = 32 * 1024;

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';
/** RFC 7468 §3 (strict form, with any line breaks and spaces between lines): base64 with its padding at the end. */
const PEM_BODY = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Certificates repeat (a client keeps its certificate): their thumbprints are kept, a bounded number of them. */
const CACHE_SIZE = 512;
const cache = new Map<string, PresentedCertificate>();

function cached(key: string, compute: () => PresentedCertificate): PresentedCertificate {
  const hit = cache.get(key);
  if (hit) return hit;
  const value = compute();
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
  return value;
}

export function malformed(detail: string): PresentedCertificate {
  return { kind: 'malformed', detail };
}

/**
 * A certificate in PEM (RFC 7468 §5), exactly one, nothing before or after it but white space: Envoy's
 * `attributes.source.certificate` and an XFCC `Cert=` once URL-decoded. A chain, or text around the block, is
 * refused rather than guessing which certificate is the client's.
 */
export function fromPem(pem: string): PresentedCertificate {
  if (pem.length > MAX_ENCODED_LENGTH) return malformed('certificate too large');
  return cached(`pem:${pem}`, () => {
    const text = pem.trim();
    if (!text.startsWith(PEM_BEGIN) || !text.endsWith(PEM_END))
      return malformed('not one PEM certificate (RFC 7468 §5)');
    const body = text.slice(PEM_BEGIN.length, text.length - PEM_END.length);
    if (body.includes('-----') || !PEM_BODY.test(body)) return malformed('not one PEM certificate (RFC 7468 §5)');
    return fromDerChecked(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
  });
}

/**
 * A certificate as base64 of its DER, as RFC 9440 §2.2's byte sequence carries it. Canonical base64 only, its `=`
 * padding optional as RFC 8941 §4.2.7 asks of parsers.
 */
export function fromBase64Der(base64: string): PresentedCertificate {
  if (base64.length > MAX_ENCODED_LENGTH) return malformed('certificate too large');
  return cached(`der:${base64}`, () => {
    const der = Buffer.from(base64, 'base64');
    // Buffer.from skips what is not base64; re-encoding shows whether anything was skipped or left over.
    const canonical = der.toString('base64');
    const same = base64.includes('=') ? canonical === base64 : canonical.replace(/=+$/, '') === base64;
    if (der.length === 0 || !same) return malformed('not canonical base64');
    return fromDerChecked(der);
  });
}

/**
 * RFC 8705 §3.1: `x5t#S256` is the base64url SHA-256 of the certificate's DER. The bytes must be one whole X.509
 * certificate (OpenSSL parses it; nothing may follow it), so garbage never yields a thumbprint to compare.
 */
function fromDerChecked(der: Buffer): PresentedCertificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    return malformed('not an X.509 certificate');
  }
  if (!certificate.raw.equals(der)) return malformed('bytes after the certificate');
  const digest = createHash('sha256').update(der).digest();
  return { kind: 'certificate', thumbprint: digest.toString('base64url'), sha256Hex: digest.toString('hex') };
}
