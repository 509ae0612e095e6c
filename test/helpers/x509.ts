import { randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * X.509 v3 certificates (RFC 5280 §4.1) built with node:crypto alone: P-256 keys, ecdsa-with-SHA256 signatures. The
 * default test tier runs on a machine with nothing but Node.js, so no openssl CLI; node can parse certificates but not
 * make them, hence this small DER writer (X.690 §8) for the few fields a CA and its leaf certificates need.
 */

export interface CertificateRequest {
  readonly subject: string;
  readonly publicKey: KeyObject;
  /** The signer: the CA's name and private key; the subject's own for a self-signed CA. */
  readonly issuer: string;
  readonly issuerKey: KeyObject;
  readonly ca?: boolean;
  /** Leaf certificates: TLS client or server use (RFC 5280 §4.2.1.12), and the server's names (§4.2.1.6). */
  readonly usage?: 'clientAuth' | 'serverAuth';
  readonly serverNames?: readonly string[];
  readonly validDays: number;
}

/** The certificate's DER. */
export function makeCertificate(req: CertificateRequest): Buffer {
  const algorithm = seq(oid('1.2.840.10045.4.3.2')); // ecdsa-with-SHA256, no parameters (RFC 5758 §3.2)
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(randomBytes(8)),
    algorithm,
    name(req.issuer),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + req.validDays * 86_400_000))),
    name(req.subject),
    req.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...extensions(req))),
  );
  // node's ECDSA signature is DER (r, s) by default: the form X.509's BIT STRING carries (RFC 5480 §2.2).
  const signature = sign('sha256', tbs, req.issuerKey);
  return seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
}

export function certificatePem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

function extensions(req: CertificateRequest): Buffer[] {
  if (req.ca) {
    return [
      extension('2.5.29.19', true, seq(tlv(0x01, Buffer.from([0xff])))), // basicConstraints cA TRUE
      extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x01, 0x06]))), // keyUsage keyCertSign, cRLSign
    ];
  }
  const usage = req.usage === 'serverAuth' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2';
  const out = [
    extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))), // keyUsage digitalSignature
    extension('2.5.29.37', false, seq(oid(usage))),
  ];
  if (req.serverNames?.length) out.push(extension('2.5.29.17', false, seq(...req.serverNames.map(generalName))));
  return out;
}

/** subjectAltName entries: an IPv4 address as iPAddress [7], anything else as dNSName [2]. */
function generalName(n: string): Buffer {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(n)) return tlv(0x87, Buffer.from(n.split('.').map(Number)));
  return tlv(0x82, Buffer.from(n, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

/** A Name with one CN (RFC 5280 §4.1.2.4). */
function name(cn: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

function utcTime(d: Date): Buffer {
  const s = d.toISOString(); // 2026-12-06T22:14:54.123Z → 261206221454Z
  return tlv(
    0x17,
    Buffer.from(
      `${s.slice(2, 4)}${s.slice(5, 7)}${s.slice(8, 10)}${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}Z`,
    ),
  );
}

/** A positive INTEGER from big-endian bytes: leading zeros dropped, one added when the top bit is set. */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const body = bytes.subarray(i);
  return tlv(0x02, body[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), body]) : body);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 + n, inner);

function tlv(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else {
    const lenBytes: number[] = [];
    for (let v = len; v > 0; v >>>= 8) lenBytes.unshift(v & 0xff);
    header = [tag, 0x80 | lenBytes.length, ...lenBytes];
  }
  return Buffer.concat([Buffer.from(header), content]);
}
