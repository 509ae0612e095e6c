/** What the pipeline needs of a request, as plain data: the gRPC edge and `tokengate explain` both build it. */
export interface AuthzRequest {
  readonly method: string;
  /** The request path including the query string, as Envoy sends `:path`. */
  readonly path: string;
  /** The `:authority`, lower-case, without a port. */
  readonly host: string;
  /** Lower-case header names. Envoy joins repeated headers with a comma. */
  readonly headers: Readonly<Record<string, string>>;
  readonly contextExtensions: Readonly<Record<string, string>>;
  readonly requestId: string | undefined;
  /** The URL scheme the client used (`:scheme`, Envoy's attributes.request.http.scheme); DPoP's `htu` needs it. */
  readonly scheme?: string | undefined;
  /** The `:authority` as sent, port included (`host` drops it); DPoP's `htu` needs it. */
  readonly authority?: string | undefined;
  /** The downstream TLS peer's certificate as Envoy sends it (URL-encoded PEM); undefined without one. */
  readonly clientCertificate?: string | undefined;
}

/** `api.example.com:8443` → `api.example.com`; `[::1]:80` → `[::1]`. */
export function hostWithoutPort(authority: string): string {
  const lower = authority.toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end === -1 ? lower : lower.slice(0, end + 1);
  }
  const colon = lower.indexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}
