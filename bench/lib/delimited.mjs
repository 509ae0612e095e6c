// Count-delimited protobuf files (ghz -B): each message preceded by its length as a varint.

/** The varint encoding of a message length. */
export function varint(n) {
  const bytes = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** The messages of a count-delimited buffer, at most `limit` of them. */
export function readDelimited(buf, limit = Infinity) {
  const out = [];
  let pos = 0;
  while (pos < buf.length && out.length < limit) {
    let len = 0;
    let shift = 0;
    let byte;
    do {
      byte = buf[pos++];
      len += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** The first `k` messages of a count-delimited buffer, still delimited (a prefix of the file). */
export function delimitedPrefix(buf, k) {
  const messages = readDelimited(buf, k);
  const last = messages.at(-1);
  return last ? buf.subarray(0, last.byteOffset - buf.byteOffset + last.length) : buf.subarray(0, 0);
}
