import { fromBase64Der, malformed, NO_CERTIFICATE, type PresentedCertificate } from './certificate.js';

/**
 * The client certificate in the RFC 9440 `Client-Cert` header, set by a TLS-terminating proxy in front (§2.2): an
 * RFC 8941 Byte Sequence, `:` base64 of the DER `:`. Stricter than RFC 8941 §4.2.7 and §4.2.3: the base64 must be
 * canonical (no stray bits in its last character), and parameters after the item are refused, since RFC 9440
 * defines none. A list (two headers joined with `,`) is refused: RFC 9440 §2.2 allows one certificate. An absent
 * or empty header is no certificate.
 */
export function certificateFromClientCertHeader(header: string | undefined): PresentedCertificate {
  if (header === undefined) return NO_CERTIFICATE;
  const value = header.replace(/^[ \t]+|[ \t]+$/g, '');
  if (value === '') return NO_CERTIFICATE;
  const m = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value);
  if (!m) return malformed('client-cert: not one RFC 8941 byte sequence (RFC 9440 §2.2)');
  return fromBase64Der(m[1]!);
}
