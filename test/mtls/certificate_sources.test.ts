import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCertificateBinding, compileCertificateBinding } from '../../src/authz/certificate_binding.js';
import type { AuthzRequest } from '../../src/authz/request.js';
import { AuthzError } from '../../src/errors.js';
import { fromPem } from '../../src/mtls/certificate.js';
import { certificateFromClientCertHeader } from '../../src/mtls/client_cert_header.js';
import { presentedCertificate } from '../../src/mtls/presented_certificate.js';
import { certificateFromXfcc } from '../../src/mtls/xfcc.js';
import { createTestCa } from '../helpers/certificates.js';

// Reading the client certificate from each source RFC 8705 binding can use: Envoy's peer certificate (URL-encoded
// PEM), Envoy's x-forwarded-client-cert, and RFC 9440 Client-Cert. Certificates are made for this run (test/helpers/x509.ts).
const ca = createTestCa();
const alice = ca.issue('alice');
const bob = ca.issue('bob');
afterAll(() => ca.remove());

const hex = (thumbprint: string) => Buffer.from(thumbprint, 'base64url').toString('hex');
const request = (headers: Record<string, string>, clientCertificate?: string): AuthzRequest => ({
  method: 'GET',
  path: '/',
  host: 'api.example.com',
  headers,
  contextExtensions: {},
  requestId: undefined,
  clientCertificate,
});

describe('peer certificate (attributes.source.certificate)', () => {
  it('URL-encoded PEM gives the base64url SHA-256 of the DER (RFC 8705 §3.1)', () => {
    expect(presentedCertificate(request({}, alice.urlEncodedPem), 'peer')).toMatchObject({
      kind: 'certificate',
      thumbprint: alice.thumbprint,
    });
    expect(alice.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('none: no certificate; not URL-encoded, or not a certificate: malformed', () => {
    expect(presentedCertificate(request({}), 'peer').kind).toBe('none');
    expect(presentedCertificate(request({}, ''), 'peer').kind).toBe('none');
    expect(presentedCertificate(request({}, '%E0%A4%A'), 'peer').kind).toBe('malformed');
    expect(presentedCertificate(request({}, 'hello'), 'peer').kind).toBe('malformed');
  });

  it('the headers are never read for the peer source, nor the peer for a header source', () => {
    const headers = { 'x-forwarded-client-cert': `Cert="${alice.urlEncodedPem}"`, 'client-cert': `:${alice.der.toString('base64')}:` };
    expect(presentedCertificate(request(headers), 'peer').kind).toBe('none');
    expect(presentedCertificate(request({}, bob.urlEncodedPem), 'xfcc').kind).toBe('none');
    expect(presentedCertificate(request({}, bob.urlEncodedPem), 'client-cert').kind).toBe('none');
  });
});

describe('PEM: one certificate, nothing else (RFC 7468 §5)', () => {
  it('accepts CRLF line ends and surrounding white space', () => {
    expect(fromPem(`\n  ${alice.pem.replaceAll('\n', '\r\n')}  \n`)).toMatchObject({ thumbprint: alice.thumbprint });
  });

  it.each([
    ['a chain of two', () => `${alice.pem}${ca.pem}`],
    ['text before the block', () => `Bag Attributes\n${alice.pem}`],
    ['a private key', () => alice.pem.replaceAll('CERTIFICATE', 'PRIVATE KEY')],
    ['a character outside base64', () => alice.pem.replace(/\n([A-Za-z])/, '\n*')],
    ['a truncated body', () => alice.pem.replace(/\n[^\n]+\n-----END/, '\n-----END')],
    ['bytes after the DER', () => pemOf(Buffer.concat([alice.der, Buffer.from([0, 0, 0])]))],
    ['not X.509 at all', () => pemOf(Buffer.from('not a certificate'))],
  ])('refuses %s as malformed', (_name, make) => {
    expect(fromPem(make()).kind).toBe('malformed');
  });

  it('refuses a certificate far larger than any real one without parsing it', () => {
    expect(fromPem(`-----BEGIN CERTIFICATE-----\n${'A'.repeat(40_000)}\n-----END CERTIFICATE-----`)).toEqual({
      kind: 'malformed',
      detail: 'certificate too large',
    });
  });
});

function pemOf(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

describe("Envoy's x-forwarded-client-cert", () => {
  const full = (c = alice) =>
    `By=spiffe://cluster.local/ns/default/sa/front;Hash=${hex(c.thumbprint)};Cert="${c.urlEncodedPem}";` +
    'Subject="CN=alice,O=Example\\, Inc.";URI=spiffe://client;DNS=a.example.com;DNS=b.example.com';

  it('reads Cert= (URL-encoded PEM) from the fields Envoy writes, quoted values and all', () => {
    expect(certificateFromXfcc(full())).toMatchObject({ kind: 'certificate', thumbprint: alice.thumbprint });
  });

  it('keys are case-insensitive; an unquoted Cert works too', () => {
    expect(certificateFromXfcc(`cert=${alice.urlEncodedPem};HASH=${hex(alice.thumbprint).toUpperCase()}`)).toMatchObject({
      thumbprint: alice.thumbprint,
    });
  });

  it('an absent or empty header, or an empty Cert= (nginx without a client certificate), is no certificate', () => {
    expect(certificateFromXfcc(undefined).kind).toBe('none');
    expect(certificateFromXfcc('  ').kind).toBe('none');
    expect(certificateFromXfcc('Cert=').kind).toBe('none');
    expect(certificateFromXfcc('Cert=""').kind).toBe('none');
    // With a Hash beside it, an empty Cert is a contradiction.
    expect(certificateFromXfcc(`Hash=${hex(alice.thumbprint)};Cert=`).kind).toBe('malformed');
  });

  it.each([
    ['two elements (two proxies appended, or the header was sent twice)', () => `${full()},${full(bob)}`],
    ['a Hash that is not the SHA-256 of Cert', () => `Hash=${hex(bob.thumbprint)};Cert="${alice.urlEncodedPem}"`],
    ['only a Hash, no Cert', () => `Hash=${hex(alice.thumbprint)};Subject="CN=alice"`],
    ['Cert twice', () => `Cert="${alice.urlEncodedPem}";Cert="${bob.urlEncodedPem}"`],
    ['an unterminated quote', () => `Cert="${alice.urlEncodedPem}`],
    ['a quote in the middle of a value', () => `Cert=ab"cd"`],
    ['a field without =', () => `Cert="${alice.urlEncodedPem}";oops`],
    ['a Cert that is not URL-encoded', () => 'Cert="%E0%A4%A"'],
    ['a Cert that is not a certificate', () => `Cert="${encodeURIComponent(pemOf(Buffer.from('junk')))}"`],
  ])('refuses %s', (_name, make) => {
    expect(certificateFromXfcc(make()).kind).toBe('malformed');
  });
});

describe('RFC 9440 Client-Cert', () => {
  const value = (c = alice) => `:${c.der.toString('base64')}:`;

  it('reads the byte sequence (base64 DER between colons), with white space around it', () => {
    expect(certificateFromClientCertHeader(` ${value()}\t`)).toMatchObject({ thumbprint: alice.thumbprint });
    expect(certificateFromClientCertHeader(value(bob))).toMatchObject({ thumbprint: bob.thumbprint });
  });

  it('an absent or empty header is no certificate', () => {
    expect(certificateFromClientCertHeader(undefined).kind).toBe('none');
    expect(certificateFromClientCertHeader('').kind).toBe('none');
  });

  it.each([
    ['two certificates (the header sent twice, joined by Envoy)', () => `${value()}, ${value(bob)}`],
    ['no colons (a bare base64 value)', () => alice.der.toString('base64')],
    ['a PEM', () => alice.pem],
    ['base64url instead of base64', () => `:${alice.der.toString('base64url')}:`],
    ['base64 with the wrong padding', () => `:${alice.der.toString('base64').replace(/=*$/, '===')}:`],
    ['parameters after the item (RFC 9440 defines none; stricter)', () => `${value()};a=1`],
    ['bytes that are not a certificate', () => `:${Buffer.from('not a certificate!').toString('base64')}:`],
  ])('refuses %s', (_name, make) => {
    expect(certificateFromClientCertHeader(make()).kind).toBe('malformed');
  });

  it('accepts the base64 without its = padding (RFC 8941 §4.2.7)', () => {
    // A certificate whose DER length base64 pads (two in three are): issue more until one does.
    let padded = [alice, bob, ca].find((c) => c.der.length % 3 !== 0);
    for (let i = 0; padded === undefined && i < 10; i++) padded = [ca.issue(`pad-${i}`)].find((c) => c.der.length % 3);
    const bare = padded!.der.toString('base64').replace(/=+$/, '');
    expect(bare.length % 4).not.toBe(0);
    expect(certificateFromClientCertHeader(`:${bare}:`)).toMatchObject({ thumbprint: padded!.thumbprint });
  });

  it('refuses base64 whose last character has bits the decoder drops (stricter than RFC 8941 §4.2.7)', () => {
    // AAAAAB== and AAAAAA== decode to the same four bytes: only the canonical text is accepted.
    expect(Buffer.from('AAAAAB==', 'base64')).toEqual(Buffer.from('AAAAAA==', 'base64'));
    expect(certificateFromClientCertHeader(':AAAAAB==:')).toEqual({ kind: 'malformed', detail: 'not canonical base64' });
    expect(certificateFromClientCertHeader(':AAAAAA==:')).toEqual({ kind: 'malformed', detail: 'not an X.509 certificate' });
  });
});

describe('bad input never throws (fast-check)', () => {
  // Fragments that reach every branch of the parsers: separators, quotes, escapes, percent-encoding, PEM armour.
  const fragment = fc.constantFrom(
    'Cert=', 'Hash=', 'By=', ';', ',', '=', '"', '\\', '%', '%0A', '%E0%A4', ':', ' ', '\t',
    '-----BEGIN CERTIFICATE-----', '-----END CERTIFICATE-----', 'MII', 'AAAA', '==',
  );
  const hostile = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.oneof(fragment, fc.string({ maxLength: 8 })), { maxLength: 30 }).map((parts) => parts.join('')),
    fc.constant(alice.urlEncodedPem).chain((pem) => fc.integer({ min: 0, max: pem.length }).map((i) => pem.slice(0, i))),
  );

  it('every source answers none, certificate or malformed for any header or peer value', () => {
    fc.assert(
      fc.property(hostile, (value) => {
        const req = request({ 'x-forwarded-client-cert': value, 'client-cert': value }, value);
        for (const source of ['peer', 'xfcc', 'client-cert'] as const) {
          expect(['none', 'certificate', 'malformed']).toContain(presentedCertificate(req, source).kind);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('checkCertificateBinding on any cnf (fast-check)', () => {
  it('passes or denies CertificateBindingMismatch, and passes a bound token only with its certificate', () => {
    const binding = compileCertificateBinding({ source: 'peer', required: false });
    const cnf = fc.oneof(fc.anything(), fc.record({ 'x5t#S256': fc.oneof(fc.anything(), fc.constant(alice.thumbprint)) }));
    fc.assert(
      fc.property(cnf, fc.constantFrom(undefined, alice.urlEncodedPem, bob.urlEncodedPem, 'junk'), (value, peer) => {
        let outcome: string;
        try {
          checkCertificateBinding(request({}, peer), { cnf: value }, binding);
          outcome = 'pass';
        } catch (err) {
          expect(err).toBeInstanceOf(AuthzError);
          outcome = (err as AuthzError).reason;
        }
        expect(['pass', 'CertificateBindingMismatch']).toContain(outcome);
        // A JSON claim is never undefined: a member holding undefined is absent.
        const bound = value !== null && typeof value === 'object' && (value as Record<string, unknown>)['x5t#S256'] !== undefined;
        if (bound && outcome === 'pass') expect(peer).toBe(alice.urlEncodedPem);
      }),
      { numRuns: 2000 },
    );
  });
});
