/**
 * `<openid-config url>` → `openidConfig` entries, in every shape real issuers publish (see net/discovery_url.ts).
 *
 * tokengate checks that a discovery document names the issuer its entry expects (OpenID Connect Discovery 1.0 §4.3),
 * and APIM does not: it takes the keys of any document and compares `iss` with `<issuers>` only. So for each URL the
 * import must know the issuer its document names, or the policy validates and never loads a key:
 * - the URL implies it (OIDC Discovery §4, RFC 8414 §3, an Entra tenant's v1 and v2 documents): the URL alone, and
 *   for Entra's documents with `issuer:` too, since Entra's rules decide it (`https://sts.windows.net/{tenant}/`);
 * - Entra `common` / `organizations` name a `{tenantid}` template, which tokengate accepts only with the tenants it
 *   lets in: `<issuers>` (each tenant's own issuer) say so, or the import refuses (`allowedTenants` placeholder);
 * - the URL implies none (Azure AD B2C, a tenant named by domain, `consumers`, any other path): the one `<issuer>`
 *   that can be the document's is written as `issuer:`, or the import refuses.
 */
import { ENTRA_V1_ISSUER_ORIGINS, entraV1IssuerOrigin, issuerImpliedBy } from '../net/discovery_url.js';
import { isLoopbackHost } from '../net/loopback.js';
import { TENANT_PLACEHOLDER } from '../jwt/issuer_pattern.js';
import type { MapContext } from './context.js';
import { attribute, childrenNamed, type XmlElement } from './xml.js';
import { isGuid, literal, shorten } from './values.js';

export type OpenIdEntry = { url: string; issuer?: string };

export interface Discovery {
  readonly entries: OpenIdEntry[];
  /** The issuer each entry's document names (a `{tenantid}` template for Entra's multi-tenant documents). */
  readonly named: string[];
  /** URLs that could not be mapped (a named value, a policy expression): their keys are missing. */
  readonly unmapped: { line: number; url: string }[];
  /** Set when a multi-tenant document's template is the policy's issuer and no `<issuers>` say which tenants. */
  readonly allowedTenants?: string[];
}

const ENTRA_PATH = /^\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/;

export function mapOpenIdConfig(ctx: MapContext, el: XmlElement, issuers: readonly string[] | undefined): Discovery {
  const out: { -readonly [K in keyof Discovery]: Discovery[K] } = { entries: [], named: [], unmapped: [] };
  for (const c of childrenNamed(el, 'openid-config')) {
    for (const a of c.attributes) {
      if (a.name === 'validate-connectivity') {
        const why =
          'not needed: tokengate fetches every openidConfig at start and is not ready (/readyz, gRPC health) until ' +
          'it has keys';
        ctx.report.warn(a.line, '<openid-config validate-connectivity>', why);
      } else if (a.name !== 'url') {
        ctx.report.unmappable(
          a.line,
          `<openid-config ${a.name}>`,
          'not an attribute of openid-config (expected url)',
          'left out',
        );
      }
    }
    const url = attribute(c, 'url');
    if (!url) {
      ctx.report.unmappable(c.line, '<openid-config>', 'has no url', 'left out');
      continue;
    }
    const v = literal(url.value);
    const why = v.ok ? notAKeyUrl(v.value) : v.why;
    if (!v.ok || why !== undefined) {
      const action = issuers
        ? 'left out: its keys are missing, so tokens it signed are denied'
        : 'left out: its keys are missing, and its issuer is not accepted (issuers is a placeholder if no document ' +
          'is left)';
      ctx.report.unmappable(url.line, '<openid-config url>', why ?? '', action);
      out.unmapped.push({ line: url.line, url: url.value });
      continue;
    }
    const entry = mapEntry(ctx, v.value, url.line, issuers, out);
    ctx.origins.set(`openidConfig[${out.entries.length}]`, { line: url.line, what: '<openid-config url>' });
    out.entries.push(entry);
  }
  return out;
}

/** Why a URL is not one tokengate fetches keys from (the same rule as `tokengate validate`), or undefined. */
function notAKeyUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `"${shorten(url)}" is not a URL`;
  }
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)))
    return undefined;
  return `"${shorten(url)}" is not an https URL: tokengate fetches keys over https only`;
}

function mapEntry(
  ctx: MapContext,
  url: string,
  line: number,
  issuers: readonly string[] | undefined,
  out: { named: string[]; allowedTenants?: string[] },
): OpenIdEntry {
  const implied = issuerImpliedBy(url);
  const entra = entraDocument(url);
  if ('issuer' in implied) {
    const issuer = implied.issuer;
    out.named.push(issuer);
    if (TENANT_PLACEHOLDER.test(issuer)) multiTenant(ctx, url, line, issuer, issuers, out);
    else if (entra && !isGuid(entra.tenant)) {
      ctx.report.warn(
        line,
        '<openid-config url>',
        `"${entra.tenant}" stands where Entra's tenant id (a GUID) goes: the import writes the same policy as for a ` +
          'tenant id, so replacing it before you deploy (sed, envsubst, Helm) gives a working policy',
      );
    }
    // Entra's issuers follow rules of Entra's own (a v1 document names a host of its cloud's table, sts.windows.net;
    // common names a template): written out, so the file says what the document must name, whatever the tenant text.
    return entra ? { url, issuer } : { url };
  }
  const chosen = documentIssuerFrom(url, entra, issuers);
  if (chosen !== undefined) {
    ctx.report.warn(
      line,
      '<openid-config url>',
      `the issuer cannot be read from this URL (${implied.unknown}): the import takes the one in <issuers>, ` +
        `${chosen}; ` +
        "tokengate uses the document's keys only if it names exactly that issuer (OpenID Connect Discovery 1.0 §4.3)",
    );
    out.named.push(chosen);
    return { url, issuer: chosen };
  }
  const several = (issuers?.length ?? 0) > 1;
  ctx.report.unmappable(
    line,
    '<openid-config url>',
    `the issuer cannot be read from this URL (${implied.unknown}), ` +
      (several
        ? "and <issuers> lists several that could be its document's"
        : 'and there are no <issuers> to take it from') +
      ': tokengate uses the keys of a document only if it names the issuer it expects (OpenID Connect Discovery ' +
      '1.0 §4.3); ' +
      'open the URL, and add its "issuer" value as the only <issuer> (or write it as issuer: on the entry)',
    'written with a placeholder issuer: the document names another, so its keys never load and every token is ' +
      'denied until you write it',
  );
  const placeholder = ctx.report.placeholder(line, `issuer of ${url}`);
  out.named.push(placeholder);
  return { url, issuer: placeholder };
}

/** An Entra authority's tenant document: its tenant segment, and whether it is the v2 one. */
function entraDocument(url: string): { tenant: string; v2: boolean; origin: string; v1Origin: string } | undefined {
  const parsed = new URL(url);
  const v1Origin = entraV1IssuerOrigin(parsed.hostname);
  const m = v1Origin && parsed.search === '' ? ENTRA_PATH.exec(parsed.pathname) : null;
  return m ? { tenant: m[1]!, v2: m[2] !== undefined, origin: parsed.origin, v1Origin: v1Origin! } : undefined;
}

/**
 * The `<issuer>` a document whose URL implies no issuer must name: for an Entra tenant named by domain, the one issuer
 * of that document's shape (`{authority}/{tenant id}/v2.0`, or the v1 host's `/{tenant id}/`); otherwise the one on
 * the URL's host, or the only issuer there is. Anything less certain is the user's to say.
 */
function documentIssuerFrom(
  url: string,
  entra: ReturnType<typeof entraDocument>,
  issuers: readonly string[] | undefined,
): string | undefined {
  const real = (issuers ?? []).filter((i) => !i.startsWith('<unmappable'));
  const one = (list: readonly string[]) => (list.length === 1 ? list[0] : undefined);
  if (entra) {
    const shape = entra.v2
      ? (i: string) =>
          i.startsWith(`${entra.origin}/`) && i.endsWith('/v2.0') && isGuid(i.slice(entra.origin.length + 1, -5))
      : (i: string) =>
          i.startsWith(`${entra.v1Origin}/`) && i.endsWith('/') && isGuid(i.slice(entra.v1Origin.length + 1, -1));
    return one(real.filter(shape));
  }
  const origin = new URL(url).origin;
  return one(real.filter((i) => i.startsWith(`${origin}/`) || i === origin)) ?? one(real);
}

/**
 * `common` / `organizations`: the document names `…/{tenantid}/…`, which APIM compares as written. `<issuers>` then
 * decide which tenants get in (each tenant's issuer); without them the import cannot know, and tokengate will not
 * guess: a template without `allowedTenants` is refused, and `"*"` would let every Entra tenant in.
 */
function multiTenant(
  ctx: MapContext,
  url: string,
  line: number,
  template: string,
  issuers: readonly string[] | undefined,
  out: { allowedTenants?: string[] },
): void {
  const kind = ENTRA_V1_ISSUER_ORIGINS.has(new URL(template.replace(TENANT_PLACEHOLDER, 'x')).origin) ? 'v1' : 'v2';
  if (issuers !== undefined) return;
  const tenant = /\/(common|organizations)\//i.exec(url)?.[1] ?? 'multi-tenant';
  ctx.report.unmappable(
    line,
    '<openid-config url>',
    `the "${tenant}" document names the ${kind} issuer template ${template}, and no <issuers> say which tenants ` +
      `may call: ` +
      'list each tenant\'s issuer in <issuers>, or write allowedTenants: [TENANT_ID, ...] beside the policy ("*" ' +
      'for any ' +
      'Entra tenant, on purpose)',
    'allowedTenants is a placeholder no tenant id matches, so every token is denied until you list the tenants',
  );
  out.allowedTenants = [ctx.report.placeholder(line, `tenants allowed by ${tenant}`)];
}
