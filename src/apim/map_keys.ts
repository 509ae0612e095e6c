/**
 * `<issuer-signing-keys>` and `<decryption-keys>`: Base64 text, `n` and `e`, or a `certificate-id` from APIM's
 * certificate store, which maps when the command line gives its PEM (`--certificate ID=FILE.pem`). Whether a key is
 * usable (length, type, a private key for decryption) is decided by tokengate's own compile step on the output,
 * so the importer and `tokengate validate` can never disagree.
 */
import type { MapContext } from './context.js';
import { attribute, childrenNamed, type XmlElement } from './xml.js';
import { literal } from './values.js';

export type Purpose = 'signing' | 'decryption';
type Key = Record<string, string>;

export function mapKeys(ctx: MapContext, el: XmlElement, container: string, purpose: Purpose): Key[] {
  const out: Key[] = [];
  const listKey = purpose === 'signing' ? 'issuerSigningKeys' : 'decryptionKeys';
  for (const c of childrenNamed(el, container)) {
    for (const key of c.children) {
      if (key.name !== 'key') {
        const why = `not a child element of ${container} (expected key)`;
        ctx.report.unmappable(key.line, `<${key.name}>`, why, 'left out');
        continue;
      }
      const mapped = mapKey(ctx, key, purpose);
      if (mapped) {
        ctx.origins.set(`${listKey}[${out.length}]`, { line: key.line, what: '<key>' });
        out.push(mapped);
      }
    }
  }
  return out;
}

function leftOut(purpose: Purpose): string {
  return purpose === 'signing'
    ? 'left out: tokens signed with this key are denied'
    : 'left out: tokens encrypted for this key are denied';
}

function mapKey(ctx: MapContext, key: XmlElement, purpose: Purpose): Key | undefined {
  const report = ctx.report;
  const gap = (line: number, what: string, why: string) => void report.unmappable(line, what, why, leftOut(purpose));
  for (const a of key.attributes) {
    if (!['id', 'certificate-id', 'n', 'e'].includes(a.name)) {
      gap(a.line, `<key ${a.name}>`, 'not an attribute of key (expected id, certificate-id, n, e)');
      return undefined;
    }
  }
  const certificate = attribute(key, 'certificate-id');
  const n = attribute(key, 'n');
  const e = attribute(key, 'e');
  const text = key.text.trim();
  const forms = [certificate && 'certificate-id', (n || e) && 'n/e', text && 'Base64 text'].filter(Boolean);
  if (forms.length > 1) {
    gap(key.line, '<key>', `gives ${forms.join(' and ')}: a key is exactly one of them`);
    return undefined;
  }
  let out: Key;
  if (certificate) {
    const pem = certificatePem(ctx, certificate.value, certificate.line, purpose);
    if (pem === undefined) return undefined;
    out = { pem };
  } else if (n || e) {
    if (purpose === 'decryption') {
      const why =
        'n and e are a public key, and decryption needs the private key: list it as decryptionKeys: [{ pem: ... }] ' +
        'or [{ jwk: ... }]';
      gap(key.line, '<key n e>', why);
      return undefined;
    }
    if (!n || !e) {
      gap(key.line, `<key ${n ? 'n' : 'e'}>`, 'n and e go together: give both');
      return undefined;
    }
    const nv = literal(n.value);
    const ev = literal(e.value);
    if (!nv.ok || !ev.ok) {
      gap(nv.ok ? e.line : n.line, nv.ok ? '<key e>' : '<key n>', !nv.ok ? nv.why : (ev as { why: string }).why);
      return undefined;
    }
    out = { n: nv.value, e: ev.value };
  } else if (text) {
    const v = literal(text);
    if (!v.ok) {
      gap(key.line, '<key>', v.why);
      return undefined;
    }
    out = { base64: v.value.replace(/\s+/g, '') };
  } else {
    gap(key.line, '<key>', 'is empty: give Base64 text, n and e, or certificate-id');
    return undefined;
  }
  const id = attribute(key, 'id');
  if (id) {
    const v = literal(id.value);
    if (v.ok) out.id = v.value;
    else report.unmappable(id.line, '<key id>', v.why, 'the key is kept without an id, and is tried for every token');
  }
  return out;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/**
 * The PEM block a certificate id stands for: a certificate or public key to verify signatures, a private key to
 * decrypt. A file may hold a chain or a certificate with its key (as APIM's .pfx upload does): the first block of the
 * right kind is taken. An encrypted private key is refused, since tokengate reads no passwords.
 */
function certificatePem(ctx: MapContext, raw: string, line: number, purpose: Purpose): string | undefined {
  const gap = (why: string) => void ctx.report.unmappable(line, '<key certificate-id>', why, leftOut(purpose));
  const v = literal(raw);
  if (!v.ok) return gap(v.why);
  const given = ctx.certificates.get(v.value);
  if (!given) {
    const export_ =
      purpose === 'signing'
        ? 'export the certificate (or its public key) as PEM'
        : 'export its private key as PEM (unencrypted)';
    return gap(
      `certificate "${v.value}" is in APIM's certificate store, which tokengate cannot read: ${export_} and give ` +
        `it with ` +
        `--certificate "${v.value}=FILE.pem"`,
    );
  }
  const blocks = [...given.pem.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, text: m[0] }));
  const wanted =
    purpose === 'signing'
      ? blocks.find((b) => b.label === 'CERTIFICATE' || b.label === 'PUBLIC KEY')
      : blocks.find((b) => /^(?:RSA |EC )?PRIVATE KEY$/.test(b.label));
  if (wanted) return `${wanted.text}\n`;
  if (purpose === 'decryption' && blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY')) {
    return gap(`${given.file} holds an encrypted private key: tokengate reads no passwords; give the key unencrypted`);
  }
  return gap(
    purpose === 'signing'
      ? `${given.file} holds no CERTIFICATE or PUBLIC KEY block: give the certificate that verifies the signatures`
      : `${given.file} holds no PRIVATE KEY block: decryption needs the private key (a certificate is public)`,
  );
}
