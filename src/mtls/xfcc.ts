import { fromPem, malformed, NO_CERTIFICATE, type PresentedCertificate } from './certificate.js';

/**
 * The client certificate in Envoy's `x-forwarded-client-cert` header, as a proxy that terminated TLS in front of
 * Envoy set it (Envoy docs, "x-forwarded-client-cert"; on that proxy `forward_client_cert_details: SANITIZE_SET`
 * and `set_current_client_cert_details: { cert: true }`).
 *
 * Format: elements separated by `,` (one per proxy that appended one), each a `;`-separated list of `key=value`
 * pairs; keys are case-insensitive; a value holding `,`, `;` or `=` is double-quoted, with `\"` for a quote inside.
 * `Cert=` is the URL-encoded PEM of the client certificate; `Hash=` the hex SHA-256 of its DER.
 *
 * Doubt denies: more than one element (which one is the client's depends on the proxies, so it is not guessed),
 * a pair without `=`, an unterminated quote, `Cert` twice, no `Cert` beside other fields, a `Hash` that is not the
 * certificate's. An absent or empty header, or an empty `Cert=` alone, is no certificate.
 */
export function certificateFromXfcc(header: string | undefined): PresentedCertificate {
  if (header === undefined || header.trim() === '') return NO_CERTIFICATE;
  const elements = split(header, ',');
  if (elements === undefined) return malformed('x-forwarded-client-cert: unterminated quoted value');
  if (elements.length !== 1) return malformed('x-forwarded-client-cert: more than one element');
  const fields = new Map<string, string>();
  for (const pair of split(elements[0]!, ';') ?? []) {
    const eq = indexOutsideQuotes(pair, '=');
    if (eq <= 0) return malformed('x-forwarded-client-cert: a field without key=value');
    const key = pair.slice(0, eq).trim().toLowerCase();
    // By, Subject, URI, DNS and Chain are not read; Cert and Hash may appear once each.
    if ((key === 'cert' || key === 'hash') && fields.has(key))
      return malformed(`x-forwarded-client-cert: ${key} given twice`);
    const value = unquote(pair.slice(eq + 1).trim());
    if (value === undefined) return malformed('x-forwarded-client-cert: a badly quoted value');
    fields.set(key, value);
  }
  const cert = fields.get('cert');
  const hash = fields.get('hash');
  if (cert === undefined) return malformed('x-forwarded-client-cert: no Cert field (set_current_client_cert_details)');
  // nginx's `Cert=$ssl_client_escaped_cert` is empty when the client sent no certificate: none, not malformed.
  if (cert === '' && hash === undefined) return NO_CERTIFICATE;
  let pem: string;
  try {
    pem = decodeURIComponent(cert);
  } catch {
    return malformed('x-forwarded-client-cert: Cert is not URL-encoded');
  }
  const certificate = fromPem(pem);
  if (certificate.kind === 'certificate' && hash !== undefined && hash.toLowerCase() !== certificate.sha256Hex)
    return malformed('x-forwarded-client-cert: Hash is not the SHA-256 of Cert');
  return certificate;
}

/** Splits on `separator` outside double quotes; undefined when a quote is left open. */
function split(text: string, separator: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (quoted) return undefined;
  parts.push(text.slice(start));
  return parts;
}

function indexOutsideQuotes(text: string, char: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === char) return i;
  }
  return -1;
}

/** `"a\"b"` → `a"b`; a bare value is taken as it is; undefined for a quote that does not wrap the whole value. */
function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return value.includes('"') ? undefined : value;
  if (value.length < 2 || !value.endsWith('"')) return undefined;
  const inner = value.slice(1, -1);
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '\\') {
      if (i + 1 >= inner.length) return undefined;
      out += inner[++i];
    } else if (c === '"') return undefined;
    else out += c;
  }
  return out;
}
