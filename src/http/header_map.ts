/** The request's headers as the pipeline reads them, and which names came more than once. */
export interface HeaderMap {
  /** Lower-case names; a repeated header's values joined with a comma, as Envoy joins them for the gRPC check. */
  readonly headers: Record<string, string>;
  readonly repeated: ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Builds the header map from node's rawHeaders, not from `req.headers`: node keeps only the first of a repeated
 * `Authorization` (and of a few others), which would judge one token where the upstream may read another. Joined,
 * two tokens are seen as two and refused (extract_token.ts). The map has no prototype, so no header name can
 * reach Object.prototype.
 */
export function headerMap(raw: readonly string[]): HeaderMap {
  const headers = Object.create(null) as Record<string, string>;
  let repeated: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else {
      headers[name] = `${seen},${value}`;
      (repeated ??= new Set()).add(name);
    }
  }
  return { headers, repeated: repeated ?? NONE };
}
