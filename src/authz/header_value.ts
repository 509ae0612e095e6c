/**
 * Control characters (everything below U+0020 but HTAB, and DEL) would let a claim smuggle a second header (CR/LF)
 * upstream, or split a line of an access log that prints it (%DYNAMIC_METADATA(...)%). RFC 9110 §5.5 allows none of
 * them in a field value. A value holding one is not forwarded at all: neither as a header nor as metadata.
 */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** `text`, or undefined when it holds a control character. */
export function safeText(text: string): string | undefined {
  return CONTROL_CHARACTERS.test(text) ? undefined : text;
}

/** A claim as a header value: strings as they are, lists joined by commas, objects as JSON; undefined if unsafe. */
export function headerValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value)) text = value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
  else text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return safeText(text);
}
