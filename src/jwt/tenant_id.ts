/**
 * An Entra tenant (directory) id: a GUID in its 8-4-4-4-12 hex form (RFC 9562 §4), in either case. Entra names a
 * tenant by this id in `tid` and in its issuers, never by a domain name; anything else filling an issuer template
 * (`a/b`, `..`, `common`) is not a tenant.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isTenantId(text: string): boolean {
  return GUID.test(text);
}
