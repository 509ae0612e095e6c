import { join, optionalBoolean, optionalEnum, optionalMapping, type Problems, type Raw } from './reader.js';

/**
 * Where a policy takes the client certificate that certificate-bound tokens (RFC 8705 §3) are compared with:
 * - `peer`: the certificate of the TLS connection Envoy terminated (`attributes.source.certificate`, sent when the
 *   ext_authz filter has `include_peer_certificate: true`). The only source a client cannot write itself.
 * - `xfcc`: Envoy's `x-forwarded-client-cert` header, `Cert=` field, set by a proxy that terminated TLS in front.
 * - `client-cert`: the RFC 9440 `Client-Cert` header, set by such a proxy.
 * A header is a source only when the policy names it: any client can send one (RFC 9440 §4), so it is trusted only
 * where the operator says a proxy in front sets it and removes what clients sent.
 */
export const CERTIFICATE_SOURCES = ['peer', 'xfcc', 'client-cert'] as const;
export type CertificateSource = (typeof CERTIFICATE_SOURCES)[number];

/** A policy's `certificateBinding`, as validated. */
export interface CertificateBindingConfig {
  readonly source: CertificateSource;
  /** true: only certificate-bound tokens pass; false: a bearer token (no `cnf["x5t#S256"]`) passes too. */
  readonly required: boolean;
}

/** The policy keys this module reads. */
export const CERTIFICATE_BINDING_KEYS = ['certificateBinding'] as const;

/** What a policy without `certificateBinding` does: bound tokens are still checked, against the peer certificate. */
export const DEFAULT_CERTIFICATE_BINDING: CertificateBindingConfig = Object.freeze({ source: 'peer', required: false });

/**
 * A policy's `certificateBinding: { source, required }`, the shape only; undefined when the policy has none
 * (then DEFAULT_CERTIFICATE_BINDING applies, src/authz/certificate_binding.ts).
 */
export function readCertificateBinding(
  o: Raw,
  path: string,
  problems: Problems,
): { certificateBinding: CertificateBindingConfig | undefined } {
  const m = optionalMapping(o, 'certificateBinding', path, problems, ['source', 'required']);
  if (!m) return { certificateBinding: undefined };
  const where = join(path, 'certificateBinding');
  const source = optionalEnum(m, 'source', where, problems, CERTIFICATE_SOURCES);
  // No default source: choosing a header is a statement about the proxy in front, which only the operator can make.
  if (m.source === undefined)
    problems.add(join(where, 'source'), `is required (one of: ${CERTIFICATE_SOURCES.join(', ')})`);
  const required = optionalBoolean(m, 'required', where, problems, false);
  return { certificateBinding: source === undefined ? undefined : { source, required } };
}
