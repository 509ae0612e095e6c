/** An issuer such as `https://login.microsoftonline.com/{tenantid}/v2.0`: the token's tenant fills the placeholder. */
export const TENANT_PLACEHOLDER = /\{tenantid\}/i;

export interface IssuerTemplate {
  readonly prefix: string;
  readonly suffix: string;
}

/** `prefix{tenantid}suffix` split at its one placeholder; undefined for a plain issuer (or a malformed template). */
export function issuerTemplate(issuer: string): IssuerTemplate | undefined {
  const parts = issuer.split(TENANT_PLACEHOLDER);
  if (parts.length !== 2) return undefined;
  return { prefix: parts[0]!, suffix: parts[1]! };
}

/**
 * The tenant segment `iss` puts in the template's place, or undefined when `iss` does not have the template's shape.
 * Prefix and suffix compare exactly, as a plain issuer does (RFC 8725 §3.8): only the tenant is left to the caller.
 */
export function tenantOf(template: IssuerTemplate, iss: string): string | undefined {
  const { prefix, suffix } = template;
  if (iss.length <= prefix.length + suffix.length || !iss.startsWith(prefix) || !iss.endsWith(suffix)) return undefined;
  const tenant = iss.slice(prefix.length, iss.length - suffix.length);
  return tenant.includes('/') ? undefined : tenant;
}

/** A matcher for a list of issuers, plain or templated: exact comparison, templates by shape. */
export function issuerMatcher(issuers: readonly string[]): (iss: string) => boolean {
  const exact = new Set<string>();
  const templates: IssuerTemplate[] = [];
  for (const issuer of issuers) {
    const template = issuerTemplate(issuer);
    if (template) templates.push(template);
    else exact.add(issuer);
  }
  return (iss) => exact.has(iss) || templates.some((t) => tenantOf(t, iss) !== undefined);
}
