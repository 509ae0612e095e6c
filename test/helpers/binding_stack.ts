import { randomUUID } from 'node:crypto';
import { startDevIssuer, type DevIssuer } from '../../src/dev_issuer/dev_issuer.js';
import { createTestCa, type TestCa, type TestCertificate } from './certificates.js';
import { startTokengate, type RunningTokengate } from './tokengate.js';

/**
 * What the certificate-binding tests (RFC 8705 §3) share: a CA with two client certificates, a dev issuer, and
 * tokengate on a config whose `${ISSUER}` is that issuer; `boundTo` signs a token bound to a certificate.
 */
export interface BindingStack {
  readonly ca: TestCa;
  readonly alice: TestCertificate;
  readonly bob: TestCertificate;
  readonly issuer: DevIssuer;
  readonly tg: RunningTokengate;
  boundTo(cert: TestCertificate): Promise<string>;
  stop(): Promise<void>;
}

export async function startBindingStack(config: string, audience: string): Promise<BindingStack> {
  const ca = createTestCa();
  const issuer = await startDevIssuer({ defaultAudience: audience });
  const tg = await startTokengate(config, { ISSUER: issuer.issuer });
  return {
    ca,
    alice: ca.issue('alice'),
    bob: ca.issue('bob'),
    issuer,
    tg,
    boundTo: (cert) => issuer.sign({ jti: randomUUID(), cnf: { 'x5t#S256': cert.thumbprint } }),
    stop: async () => {
      await tg.stop();
      await issuer.close();
      ca.remove();
    },
  };
}
