import type { AuthzRequest } from '../authz/request.js';
import type { CertificateSource } from '../config/certificate_binding.js';
import { fromPem, malformed, NO_CERTIFICATE, type PresentedCertificate } from './certificate.js';
import { certificateFromClientCertHeader } from './client_cert_header.js';
import { certificateFromXfcc } from './xfcc.js';

/** The client certificate the policy's source presents; a header is read only when the policy names it. */
export function presentedCertificate(req: AuthzRequest, source: CertificateSource): PresentedCertificate {
  switch (source) {
    case 'peer':
      return certificateFromPeer(req.clientCertificate);
    case 'xfcc':
      return certificateFromXfcc(req.headers['x-forwarded-client-cert']);
    case 'client-cert':
      return certificateFromClientCertHeader(req.headers['client-cert']);
  }
}

/**
 * `attributes.source.certificate`: "the certificate contents are encoded in URL and PEM format"
 * (envoy/service/auth/v3/attribute_context.proto, Peer.certificate); empty when the connection had no client
 * certificate or the filter lacks `include_peer_certificate: true`.
 */
function certificateFromPeer(encoded: string | undefined): PresentedCertificate {
  if (encoded === undefined || encoded === '') return NO_CERTIFICATE;
  let pem: string;
  try {
    pem = decodeURIComponent(encoded);
  } catch {
    return malformed('peer certificate: not URL-encoded');
  }
  return fromPem(pem);
}
