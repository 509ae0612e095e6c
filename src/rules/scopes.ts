/**
 * The token's scopes as one list, whichever claim and shape the issuer uses: `scope` as a space-delimited string
 * (RFC 8693 §4.2, RFC 9068 §2.2.3), `scp` as a string (Entra ID) or an array of strings (Okta, some Keycloak
 * mappers).
 * Both claims are read when both are present; an element that is not a string is no scope.
 */
export function scopesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const out = new Set<string>();
  for (const name of ['scp', 'scope']) {
    const value = Object.hasOwn(claims, name) ? claims[name] : undefined;
    const items: unknown[] = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : [];
    for (const scope of items) if (typeof scope === 'string' && scope !== '') out.add(scope);
  }
  return [...out];
}
