/**
 * `tokengate import-apim`: APIM `validate-jwt` / `validate-azure-ad-token` policies → tokengate YAML policies.
 *
 * Every attribute and child element of both policies has a mapping (README "From validate-jwt to tokengate").
 * What cannot be mapped — a policy expression, an APIM named value, a certificate from APIM's store — is reported
 * with its line. By default nothing is printed then (exit 2). With `allowPartial` the rest is printed, and the
 * gaps are filled so that the policy fails closed, never open:
 *
 * - a value in a list that narrows who gets in (audience, issuer, claim value, application id, tenant id) becomes
 *   a placeholder that no token carries, so that check denies until someone writes the real value;
 * - a key is left out: tokengate then has fewer keys, never more, and a token signed with it is denied;
 * - a scalar setting is left out, and tokengate's default applies, which is the strict one (expiration required,
 *   signed tokens required, no clock skew, claim match `all`).
 */
import { issuerImpliedBy } from '../net/discovery_url.js';
import { Document } from 'yaml';
import { parsePolicyXml, XmlSyntaxError, type XmlAttribute, type XmlElement } from './xml.js';
import { booleanValue, clockSkewSeconds, isGuid, literal, shorten, simpleTokenSource } from './values.js';

export type Severity = 'error' | 'unmappable' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  readonly line: number | undefined;
  /** `<element>` or `<element attribute>`. */
  readonly what: string;
  readonly message: string;
  /** With allowPartial: what the importer did instead. */
  readonly action?: string;
}

export interface ImportOptions {
  /** The file name used in messages, e.g. `policy.xml`. */
  readonly source: string;
  /** The tokengate policy name; several policies are named NAME, NAME-2, NAME-3... */
  readonly name: string;
  readonly allowPartial?: boolean;
}

export type ImportedPolicy = { name: string } & ({ validateJwt: Record<string, unknown> } | { validateAzureAdToken: Record<string, unknown> });

export interface ImportResult {
  readonly policies: readonly ImportedPolicy[];
  readonly diagnostics: readonly Diagnostic[];
  /** The YAML document; undefined when nothing may be printed (an error, or unmappable pieces without allowPartial). */
  readonly yaml: string | undefined;
  /** 0: imported (warnings allowed); 1: not an importable document; 2: unmappable pieces without allowPartial. */
  readonly exitCode: 0 | 1 | 2;
}

export const FORWARD_PAYLOAD_HEADER = 'x-jwt-payload';

const POLICY_ELEMENTS = ['validate-jwt', 'validate-azure-ad-token'];
const LOCATION_ATTRIBUTES = ['header-name', 'query-parameter-name', 'token-value'];
const JWT_ATTRIBUTES = [
  ...LOCATION_ATTRIBUTES,
  'failed-validation-httpcode',
  'failed-validation-error-message',
  'require-expiration-time',
  'require-scheme',
  'require-signed-tokens',
  'clock-skew',
  'output-token-variable-name',
];
const JWT_ELEMENTS = ['openid-config', 'issuer-signing-keys', 'decryption-keys', 'audiences', 'issuers', 'required-claims'];
const AZURE_ATTRIBUTES = [
  'tenant-id',
  ...LOCATION_ATTRIBUTES,
  'authentication-endpoint',
  'failed-validation-httpcode',
  'failed-validation-error-message',
  'output-token-variable-name',
];
const AZURE_ELEMENTS = ['client-application-ids', 'backend-application-ids', 'audiences', 'required-claims', 'decryption-keys'];
const ENTRA_DISCOVERY = /^https:\/\/login\.microsoftonline\.com\/([^/]+)(\/v2\.0)?\/\.well-known\/openid-configuration$/i;

/** Imports every validate-jwt / validate-azure-ad-token element of an APIM policy document (or a bare element). */
export function importApimPolicy(xml: string, options: ImportOptions): ImportResult {
  const allowPartial = options.allowPartial ?? false;
  let root: XmlElement;
  try {
    root = parsePolicyXml(xml);
  } catch (err) {
    if (!(err instanceof XmlSyntaxError)) throw err;
    return failed({ severity: 'error', line: err.line, what: 'XML', message: err.message.replace(/^(XML error|malformed XML): /, '') });
  }
  const elements = findPolicyElements(root);
  if (elements.length === 0) {
    return failed({
      severity: 'error',
      line: undefined,
      what: 'policy',
      message: 'no <validate-jwt> or <validate-azure-ad-token> element found: there is nothing to import',
    });
  }
  const mapper = new Mapper(options.source, allowPartial);
  const policies = elements.map((el, i) => {
    const name = i === 0 ? options.name : `${options.name}-${i + 1}`;
    if (i > 0) {
      mapper.warn(
        el.line,
        `<${el.name}>`,
        `APIM runs every validation its flow reaches, tokengate decides a request with one policy: this one is policy "${name}"; send requests to it with match or Envoy's context_extensions, or merge it into "${options.name}"`,
      );
    }
    const condition = enclosingCondition(el);
    if (condition) {
      mapper.warn(
        el.line,
        `<${el.name}>`,
        `inside <${condition.name}${condition.attr ? ` condition="${shorten(condition.attr)}"` : ''}> (line ${condition.line}): APIM runs it only when the condition holds; tokengate applies policy "${name}" to every request routed to it`,
      );
    }
    return el.name === 'validate-jwt'
      ? { name, validateJwt: mapper.validateJwt(el) }
      : { name, validateAzureAdToken: mapper.validateAzureAdToken(el) };
  });
  // In file order, as a compiler lists them; the sort is stable, so one line keeps the order its checks ran in.
  const diagnostics = [...mapper.diagnostics].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const unmappable = diagnostics.some((d) => d.severity === 'unmappable');
  if (unmappable && !allowPartial) return { policies, diagnostics, yaml: undefined, exitCode: 2 };
  return { policies, diagnostics, yaml: toYaml(policies, diagnostics, options.source), exitCode: 0 };
}

function failed(diagnostic: Diagnostic): ImportResult {
  return { policies: [], diagnostics: [diagnostic], yaml: undefined, exitCode: 1 };
}

/** `policy.xml:12: <audience>: why`, as the command prints it on stderr. */
export function formatDiagnostic(d: Diagnostic, source: string): string {
  const where = d.line === undefined ? source : `${source}:${d.line}`;
  switch (d.severity) {
    case 'error':
      return `${where}: ${d.what === 'XML' ? 'not well-formed XML' : 'error'}: ${d.message}`;
    case 'warning':
      return `${where}: warning: ${d.what}: ${d.message}`;
    case 'unmappable':
      return `${where}: ${d.what}: ${d.message}${d.action ? ` [--allow-partial: ${d.action}]` : ''}`;
  }
}

/** The policy name a file suggests: `orders-api.policy.xml` → `orders-api-policy`. */
export function defaultPolicyName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? '';
  const name = base
    .replace(/\.xml$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name || 'imported';
}

function findPolicyElements(el: XmlElement): XmlElement[] {
  if (POLICY_ELEMENTS.includes(el.name)) return [el];
  return el.children.flatMap(findPolicyElements);
}

function enclosingCondition(el: XmlElement): { name: string; line: number; attr: string | undefined } | undefined {
  for (let p = el.parent; p; p = p.parent) {
    if (p.name === 'when' || p.name === 'otherwise') return { name: p.name, line: p.line, attr: attributeValue(p, 'condition') };
  }
  return undefined;
}

function attribute(el: XmlElement, name: string): XmlAttribute | undefined {
  return el.attributes.find((a) => a.name === name);
}

function attributeValue(el: XmlElement, name: string): string | undefined {
  return attribute(el, name)?.value;
}

function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

type Placeholder = string;

class Mapper {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly source: string,
    private readonly allowPartial: boolean,
  ) {}

  warn(line: number, what: string, message: string): void {
    this.diagnostics.push({ severity: 'warning', line, what, message });
  }

  unmappable(line: number, what: string, why: string, action: string): void {
    this.diagnostics.push({ severity: 'unmappable', line, what, message: why, ...(this.allowPartial ? { action } : {}) });
  }

  /** A value no token carries, naming what it stands for: the check it sits in denies until it is replaced. */
  placeholder(line: number, original: string): Placeholder {
    return `<unmappable at ${this.source}:${line}: ${shorten(original)}>`;
  }

  // --- the two policies ---------------------------------------------------------------------------------------

  validateJwt(el: XmlElement): Record<string, unknown> {
    this.checkNames(el, JWT_ATTRIBUTES, JWT_ELEMENTS);
    const out: Record<string, unknown> = {};
    const location = this.tokenLocation(el, out);
    if (location === 'none') {
      this.warn(el.line, '<validate-jwt>', 'none of header-name, query-parameter-name, token-value is set (APIM requires one): tokengate reads the Authorization header');
    }
    this.requireScheme(el, out, location);
    this.failedValidation(el, out);
    this.boolean(el, 'require-expiration-time', 'requireExpirationTime', out);
    this.boolean(el, 'require-signed-tokens', 'requireSignedTokens', out);
    this.clockSkew(el, out);

    const openid = this.openidConfig(el);
    if (openid.mapped.length > 0) out.openidConfig = openid.mapped;
    const signingKeys = this.keys(el, 'issuer-signing-keys', 'signing');
    if (signingKeys.length > 0) out.issuerSigningKeys = signingKeys;
    const decryptionKeys = this.keys(el, 'decryption-keys', 'decryption');
    if (decryptionKeys.length > 0) out.decryptionKeys = decryptionKeys;
    const claims = this.requiredClaims(el);

    const audiences = this.list(el, 'audiences', 'audience');
    if (audiences === undefined) {
      out.audiences = [];
      const audClaim = claims.find((c) => c.name === 'aud');
      this.warn(
        el.line,
        '<validate-jwt>',
        audClaim
          ? 'no <audiences>: the audience is checked only by the required claim "aud", as in APIM; wrote `audiences: []` beside it'
          : 'no <audiences>: the original policy did not check the token\'s audience, so the import keeps that with `audiences: []` (any audience); add your API\'s audience',
      );
    } else out.audiences = audiences;

    const issuers = this.list(el, 'issuers', 'issuer');
    if (issuers !== undefined) out.issuers = issuers;
    else if (openid.mapped.length === 0 && openid.unmapped.length > 0) {
      // The issuer came from the unmappable discovery document: `issuers: []` would accept any issuer.
      out.issuers = openid.unmapped.map((u) => this.placeholder(u.line, `issuer of ${u.url}`));
    } else if (openid.mapped.length === 0) {
      out.issuers = [];
      this.warn(
        el.line,
        '<validate-jwt>',
        'no <issuers> and no <openid-config>: the original policy did not check the token\'s issuer, so the import keeps that with `issuers: []` (any issuer); add your issuer',
      );
    }
    this.bindStaticKeys(el, out, openid.mapped, signingKeys);
    if (claims.length > 0) out.requiredClaims = claims;
    this.outputTokenVariable(el, out);
    return out;
  }

  /**
   * APIM lets every key of a policy sign for every issuer it accepts; tokengate binds keys to issuers (RFC 8725 §3.8),
   * so beside a discovery document each static key needs `issuers`. The import keeps APIM's trust, said out loud.
   */
  private bindStaticKeys(el: XmlElement, out: Record<string, unknown>, openid: Record<string, string>[], keys: Record<string, unknown>[]): void {
    if (openid.length === 0 || keys.length === 0) return;
    const issuers = Array.isArray(out.issuers) && out.issuers.length > 0
      ? (out.issuers as string[])
      : openid.map((o) => o.issuer ?? impliedOr(o.url!));
    for (const key of keys) key.issuers = issuers;
    this.warn(
      el.line,
      '<issuer-signing-keys>',
      `APIM lets these keys sign for every issuer of the policy, and so does the import (each key gets issuers: [${issuers.join(', ')}]); ` +
        'tokengate verifies a token only with its own issuer\'s keys: narrow each key\'s issuers to the one it belongs to',
    );
  }

  validateAzureAdToken(el: XmlElement): Record<string, unknown> {
    this.checkNames(el, AZURE_ATTRIBUTES, AZURE_ELEMENTS);
    const out: Record<string, unknown> = {};
    const tenant = attribute(el, 'tenant-id');
    if (!tenant) {
      this.unmappable(el.line, '<validate-azure-ad-token>', 'tenant-id is missing (APIM requires it): tokengate needs the directory (tenant) id', 'tenantId is left out, and tokengate validate rejects the policy until you add it');
    } else {
      const v = literal(tenant.value);
      if (!v.ok) {
        this.unmappable(tenant.line, '<validate-azure-ad-token tenant-id>', v.why, 'replaced by a placeholder: tokengate validate rejects the policy until you write the tenant id');
        out.tenantId = this.placeholder(tenant.line, tenant.value);
      } else if (!isGuid(v.value)) {
        this.unmappable(
          tenant.line,
          '<validate-azure-ad-token tenant-id>',
          `"${v.value}" is not a tenant id: tokengate needs the directory (tenant) id, a GUID, because Entra's issuer names the tenant by id (Entra admin center, Overview, Tenant ID)`,
          'replaced by a placeholder: tokengate validate rejects the policy until you write the tenant id',
        );
        out.tenantId = this.placeholder(tenant.line, v.value);
      } else out.tenantId = v.value;
    }
    const endpoint = attribute(el, 'authentication-endpoint');
    if (endpoint) {
      const v = literal(endpoint.value);
      if (v.ok) out.authority = v.value.replace(/\/+$/, '');
      else this.unmappable(endpoint.line, '<validate-azure-ad-token authentication-endpoint>', v.why, 'left out: keys come from the public cloud, https://login.microsoftonline.com, so tokens of another cloud are denied');
    }
    this.tokenLocation(el, out);
    this.failedValidation(el, out);

    const clients = this.list(el, 'client-application-ids', 'application-id');
    if (clients === undefined) {
      this.unmappable(
        el.line,
        '<validate-azure-ad-token>',
        'no <client-application-ids>: APIM then accepts a token from any client application of the tenant, tokengate always checks the caller (azp or appid): list the client application ids that may call',
        'clientApplicationIds is left out, and tokengate validate rejects the policy until you add it',
      );
    } else out.clientApplicationIds = clients;
    const backends = this.list(el, 'backend-application-ids', 'application-id');
    if (backends !== undefined) out.backendApplicationIds = backends;
    const audiences = this.list(el, 'audiences', 'audience');
    if (audiences !== undefined) out.audiences = audiences;
    if (backends === undefined && audiences === undefined) {
      this.unmappable(
        el.line,
        '<validate-azure-ad-token>',
        'no <backend-application-ids> and no <audiences>: tokengate needs one of them, so that a token issued for another application of the tenant never passes: add the backend application\'s client id',
        'tokengate validate rejects the policy until you add backendApplicationIds or audiences',
      );
    }
    const claims = this.requiredClaims(el);
    if (claims.length > 0) out.requiredClaims = claims;
    const decryptionKeys = this.keys(el, 'decryption-keys', 'decryption');
    if (decryptionKeys.length > 0) out.decryptionKeys = decryptionKeys;
    this.outputTokenVariable(el, out);
    return out;
  }

  // --- attributes ---------------------------------------------------------------------------------------------

  /** Attributes and child elements the policy reference does not list: a typo, or a newer APIM check. */
  private checkNames(el: XmlElement, attributes: readonly string[], elements: readonly string[]): void {
    for (const a of el.attributes) {
      if (!attributes.includes(a.name)) {
        this.unmappable(a.line, `<${el.name} ${a.name}>`, `not an attribute of ${el.name} (expected one of: ${attributes.join(', ')})`, 'left out');
      }
    }
    for (const c of el.children) {
      if (!elements.includes(c.name)) {
        this.unmappable(c.line, `<${c.name}>`, `not a child element of ${el.name} (expected one of: ${elements.join(', ')})`, 'left out');
      }
    }
  }

  /** header-name, query-parameter-name or token-value → headerName, queryParameterName or cookieName. */
  private tokenLocation(el: XmlElement, out: Record<string, unknown>): 'none' | 'authorization' | 'other' | 'unmapped' {
    const given = LOCATION_ATTRIBUTES.map((n) => attribute(el, n)).filter((a): a is XmlAttribute => a !== undefined);
    if (given.length === 0) return 'none';
    if (given.length > 1) {
      this.unmappable(
        given[1]!.line,
        `<${el.name} ${given[1]!.name}>`,
        `set only one of header-name, query-parameter-name, token-value (this policy sets ${given.map((a) => a.name).join(' and ')})`,
        'token location left out: tokengate reads the Authorization header',
      );
      return 'unmapped';
    }
    const a = given[0]!;
    const what = `<${el.name} ${a.name}>`;
    const leftOut = 'left out: tokengate reads the Authorization header, and still validates the token fully';
    if (a.name === 'token-value') {
      const source = simpleTokenSource(a.value);
      if (!source) {
        const v = literal(a.value);
        const why = v.ok
          ? 'a fixed token value cannot be mapped: tokengate reads the token from the request'
          : `${v.why.replace(/; write the value it stands for$/, '')}; only a plain header, query parameter or cookie read (context.Request.Headers/Url.Query/Cookies.GetValueOrDefault("name")) maps, to headerName, queryParameterName or cookieName`;
        this.unmappable(a.line, what, why, leftOut);
        return 'unmapped';
      }
      const key = { header: 'headerName', query: 'queryParameterName', cookie: 'cookieName' }[source.kind];
      out[key] = source.name;
      return source.kind === 'header' && source.name.toLowerCase() === 'authorization' ? 'authorization' : 'other';
    }
    const v = literal(a.value);
    if (!v.ok) {
      this.unmappable(a.line, what, v.why, leftOut);
      return 'unmapped';
    }
    if (a.name === 'header-name') {
      out.headerName = v.value;
      return v.value.toLowerCase() === 'authorization' ? 'authorization' : 'other';
    }
    out.queryParameterName = v.value;
    return 'other';
  }

  private requireScheme(el: XmlElement, out: Record<string, unknown>, location: ReturnType<Mapper['tokenLocation']>): void {
    const a = attribute(el, 'require-scheme');
    if (!a) return;
    const v = literal(a.value);
    if (!v.ok) {
      this.unmappable(a.line, '<validate-jwt require-scheme>', v.why, 'left out: tokengate requires the Bearer scheme in the Authorization header');
      return;
    }
    if (location === 'other') {
      // APIM: "When using a custom header (header-name), the configured required scheme (require-scheme) will be ignored."
      this.warn(a.line, '<validate-jwt require-scheme>', 'APIM ignores require-scheme unless the token is in the Authorization header, so it is not carried over (tokengate would enforce it)');
      return;
    }
    out.requireScheme = v.value;
  }

  private failedValidation(el: XmlElement, out: Record<string, unknown>): void {
    const code = attribute(el, 'failed-validation-httpcode');
    if (code) {
      const v = literal(code.value);
      const n = v.ok && /^\d+$/.test(v.value) ? Number(v.value) : undefined;
      if (!v.ok) this.unmappable(code.line, `<${el.name} failed-validation-httpcode>`, v.why, 'left out: denials use 401 or 403, as tokengate decides');
      else if (n === undefined || n < 400 || n > 599) {
        this.unmappable(code.line, `<${el.name} failed-validation-httpcode>`, `"${v.value}" is not an HTTP status tokengate can deny with (400..599)`, 'left out: denials use 401 or 403, as tokengate decides');
      } else out.failedValidationHttpCode = n;
    }
    const message = attribute(el, 'failed-validation-error-message');
    if (message) {
      // A message is text, not a check: a {{named value}} in it is still unmappable, tokengate cannot fill it in.
      const v = literal(message.value);
      if (v.ok) out.failedValidationErrorMessage = message.value;
      else this.unmappable(message.line, `<${el.name} failed-validation-error-message>`, v.why, 'left out: denials carry tokengate\'s default message');
    }
  }

  private boolean(el: XmlElement, attr: string, key: string, out: Record<string, unknown>): void {
    const a = attribute(el, attr);
    if (!a) return;
    const v = literal(a.value);
    const b = v.ok ? booleanValue(v.value) : undefined;
    if (b === undefined) {
      this.unmappable(a.line, `<${el.name} ${attr}>`, v.ok ? `"${v.value}" is neither true nor false` : v.why, `left out: tokengate's strict default ${key}: true applies`);
    } else out[key] = b;
  }

  private clockSkew(el: XmlElement, out: Record<string, unknown>): void {
    const a = attribute(el, 'clock-skew');
    if (!a) return;
    const v = literal(a.value);
    const seconds = v.ok ? clockSkewSeconds(v.value) : undefined;
    if (seconds === undefined || seconds > 86_400) {
      this.unmappable(
        a.line,
        `<${el.name} clock-skew>`,
        v.ok ? `"${v.value}" is not a number of seconds (or hh:mm:ss) up to one day` : v.why,
        'left out: no clock skew (clockSkew: 0), the strict default',
      );
    } else out.clockSkew = seconds;
  }

  private outputTokenVariable(el: XmlElement, out: Record<string, unknown>): void {
    const a = attribute(el, 'output-token-variable-name');
    if (!a) return;
    out.forwardPayloadHeader = FORWARD_PAYLOAD_HEADER;
    this.warn(
      a.line,
      `<${el.name} output-token-variable-name>`,
      `tokengate has no context variables: the validated token's payload goes upstream as base64url JSON in the header ${FORWARD_PAYLOAD_HEADER} (forwardPayloadHeader: ${FORWARD_PAYLOAD_HEADER}); what read context.Variables["${a.value}"] must read that header instead, or take single claims with outputClaimsToHeaders`,
    );
  }

  // --- child elements -----------------------------------------------------------------------------------------

  private openidConfig(el: XmlElement): { mapped: Record<string, string>[]; unmapped: { line: number; url: string }[] } {
    const mapped: Record<string, string>[] = [];
    const unmapped: { line: number; url: string }[] = [];
    const hasIssuers = childrenNamed(el, 'issuers').length > 0;
    for (const c of childrenNamed(el, 'openid-config')) {
      for (const a of c.attributes) {
        if (a.name === 'validate-connectivity') {
          this.warn(a.line, '<openid-config validate-connectivity>', 'not needed: tokengate fetches every openidConfig at start and is not ready (/readyz, gRPC health) until it has keys');
        } else if (a.name !== 'url') {
          this.unmappable(a.line, `<openid-config ${a.name}>`, 'not an attribute of openid-config (expected url)', 'left out');
        }
      }
      const url = attribute(c, 'url');
      if (!url) {
        this.unmappable(c.line, '<openid-config>', 'has no url', 'left out');
        continue;
      }
      const v = literal(url.value);
      if (!v.ok) {
        this.unmappable(
          url.line,
          '<openid-config url>',
          v.why,
          hasIssuers ? 'left out: its keys are missing, so tokens it signed are denied' : 'left out: its keys are missing, and issuers is a placeholder no token carries',
        );
        unmapped.push({ line: url.line, url: url.value });
        continue;
      }
      mapped.push(this.entraDiscovery(v.value, url.line));
    }
    return { mapped, unmapped };
  }

  /**
   * tokengate checks that a discovery document names the issuer its URL promises. Entra's v1 document names
   * https://sts.windows.net/{tenant-id}/, which is written out; a tenant named by domain cannot be.
   */
  private entraDiscovery(url: string, line: number): Record<string, string> {
    const m = ENTRA_DISCOVERY.exec(url);
    if (!m) return { url };
    const tenant = m[1]!;
    if (['common', 'organizations', 'consumers'].includes(tenant.toLowerCase())) {
      this.warn(
        line,
        '<openid-config url>',
        `the multi-tenant "${tenant}" document names a template issuer ({tenantid}), which tokengate does not take from discovery: set issuers to https://login.microsoftonline.com/{tenantid}/v2.0 with allowedTenants (see docs/migrating-from-apim.md)`,
      );
    } else if (!isGuid(tenant)) {
      this.warn(
        line,
        '<openid-config url>',
        `Entra's discovery document names the tenant by id, and tokengate checks that issuer against the URL: write the tenant id (a GUID) instead of "${tenant}", or the keys will not load`,
      );
    } else if (!m[2]) return { url, issuer: `https://sts.windows.net/${tenant.toLowerCase()}/` };
    return { url };
  }

  /** `<audiences><audience>`-like lists; undefined when the container is absent or empty. */
  private list(el: XmlElement, container: string, item: string): string[] | undefined {
    const containers = childrenNamed(el, container);
    const values: string[] = [];
    for (const c of containers) {
      for (const child of c.children) {
        if (child.name !== item) {
          this.unmappable(child.line, `<${child.name}>`, `not a child element of ${container} (expected ${item})`, 'left out');
          continue;
        }
        const v = literal(child.text);
        if (v.ok && v.value === '') {
          this.unmappable(child.line, `<${item}>`, 'is empty', 'left out');
        } else if (v.ok) values.push(v.value);
        else {
          this.unmappable(child.line, `<${item}>`, v.why, 'replaced by a placeholder no token carries, so this check denies until you write the value');
          values.push(this.placeholder(child.line, child.text));
        }
      }
    }
    return values.length > 0 ? values : undefined;
  }

  private keys(el: XmlElement, container: string, purpose: 'signing' | 'decryption'): Record<string, string>[] {
    const out: Record<string, string>[] = [];
    const leftOut = purpose === 'signing' ? 'left out: tokens signed with this key are denied' : 'left out: tokens encrypted for this key are denied';
    for (const c of childrenNamed(el, container)) {
      for (const key of c.children) {
        if (key.name !== 'key') {
          this.unmappable(key.line, `<${key.name}>`, `not a child element of ${container} (expected key)`, 'left out');
          continue;
        }
        const mapped = this.key(key, purpose, leftOut);
        if (mapped) out.push(mapped);
      }
    }
    return out;
  }

  private key(key: XmlElement, purpose: 'signing' | 'decryption', leftOut: string): Record<string, string> | undefined {
    for (const a of key.attributes) {
      if (!['id', 'certificate-id', 'n', 'e'].includes(a.name)) {
        this.unmappable(a.line, `<key ${a.name}>`, 'not an attribute of key (expected id, certificate-id, n, e)', leftOut);
        return undefined;
      }
    }
    const id = attribute(key, 'id');
    const certificate = attribute(key, 'certificate-id');
    const n = attribute(key, 'n');
    const e = attribute(key, 'e');
    const text = key.text.trim();
    const forms = [certificate && 'certificate-id', (n || e) && 'n/e', text && 'Base64 text'].filter(Boolean);
    if (forms.length > 1) {
      this.unmappable(key.line, '<key>', `gives ${forms.join(' and ')}: a key is exactly one of them`, leftOut);
      return undefined;
    }
    const out: Record<string, string> = {};
    if (certificate) {
      const instead = purpose === 'signing'
        ? 'export the certificate (or its public key) as PEM and list it as issuerSigningKeys: [{ pem: ... }]'
        : 'export its private key as PEM and list it as decryptionKeys: [{ pem: ... }]';
      this.unmappable(certificate.line, '<key certificate-id>', `certificate "${certificate.value}" is in APIM's certificate store, which tokengate cannot read: ${instead}`, leftOut);
      return undefined;
    }
    if (n || e) {
      if (purpose === 'decryption') {
        this.unmappable(key.line, '<key n e>', 'n and e are a public key, and decryption needs the private key: list it as decryptionKeys: [{ pem: ... }] or [{ jwk: ... }]', leftOut);
        return undefined;
      }
      if (!n || !e) {
        this.unmappable(key.line, `<key ${n ? 'n' : 'e'}>`, 'n and e go together: give both', leftOut);
        return undefined;
      }
      const nv = literal(n.value);
      if (!nv.ok) {
        this.unmappable(n.line, '<key n>', nv.why, leftOut);
        return undefined;
      }
      const ev = literal(e.value);
      if (!ev.ok) {
        this.unmappable(e.line, '<key e>', ev.why, leftOut);
        return undefined;
      }
      out.n = nv.value;
      out.e = ev.value;
    } else if (text) {
      const v = literal(text);
      if (!v.ok) {
        this.unmappable(key.line, '<key>', v.why, leftOut);
        return undefined;
      }
      out.base64 = v.value.replace(/\s+/g, '');
    } else {
      this.unmappable(key.line, '<key>', 'is empty: give Base64 text, n and e, or certificate-id', leftOut);
      return undefined;
    }
    if (id) {
      const v = literal(id.value);
      if (v.ok) out.id = v.value;
      else this.unmappable(id.line, '<key id>', v.why, 'the key is kept without an id, and is tried for every token');
    }
    return out;
  }

  private requiredClaims(el: XmlElement): { name: string; match?: string; separator?: string; values: string[] }[] {
    const out: { name: string; match?: string; separator?: string; values: string[] }[] = [];
    for (const c of childrenNamed(el, 'required-claims')) {
      for (const claim of c.children) {
        if (claim.name !== 'claim') {
          this.unmappable(claim.line, `<${claim.name}>`, 'not a child element of required-claims (expected claim)', 'left out');
          continue;
        }
        out.push(this.claim(claim));
      }
    }
    return out;
  }

  private claim(claim: XmlElement): { name: string; match?: string; separator?: string; values: string[] } {
    for (const a of claim.attributes) {
      if (!['name', 'match', 'separator'].includes(a.name)) {
        this.unmappable(a.line, `<claim ${a.name}>`, 'not an attribute of claim (expected name, match, separator)', 'left out');
      }
    }
    const nameAttr = attribute(claim, 'name');
    let name: string;
    if (!nameAttr) {
      this.unmappable(claim.line, '<claim>', 'has no name', 'replaced by a placeholder claim no token carries, so this rule denies until you name the claim');
      name = this.placeholder(claim.line, 'claim without a name');
    } else {
      const v = literal(nameAttr.value);
      if (v.ok) name = v.value;
      else {
        this.unmappable(nameAttr.line, '<claim name>', v.why, 'replaced by a placeholder claim no token carries, so this rule denies until you name the claim');
        name = this.placeholder(nameAttr.line, nameAttr.value);
      }
    }
    const rule: { name: string; match?: string; separator?: string; values: string[] } = { name, values: [] };
    const match = attribute(claim, 'match');
    if (match) {
      const v = literal(match.value);
      const value = v.ok ? v.value.toLowerCase() : undefined;
      if (value === 'all' || value === 'any') rule.match = value;
      else this.unmappable(match.line, '<claim match>', v.ok ? `"${v.value}" is neither all nor any` : v.why, 'left out: match: all, the strict default, applies');
    }
    const separator = attribute(claim, 'separator');
    if (separator) {
      const v = literal(separator.value);
      // A separator is taken as it is: " " must stay a space.
      if (v.ok && separator.value.length > 0) rule.separator = separator.value;
      else this.unmappable(separator.line, '<claim separator>', v.ok ? 'is empty' : v.why, 'left out: the claim is compared whole');
    }
    for (const child of claim.children) {
      if (child.name !== 'value') {
        this.unmappable(child.line, `<${child.name}>`, 'not a child element of claim (expected value)', 'left out');
        continue;
      }
      const v = literal(child.text);
      if (v.ok) rule.values.push(v.value);
      else {
        this.unmappable(child.line, '<value>', v.why, 'replaced by a placeholder no token carries, so this rule denies until you write the value');
        rule.values.push(this.placeholder(child.line, child.text));
      }
    }
    // Keys in the order tokengate's README writes them.
    return { name: rule.name, ...(rule.match ? { match: rule.match } : {}), ...(rule.separator ? { separator: rule.separator } : {}), values: rule.values };
  }
}

function toYaml(policies: readonly ImportedPolicy[], diagnostics: readonly Diagnostic[], source: string): string {
  const doc = new Document({ policies });
  const notes = diagnostics.map((d) => ` ${formatDiagnostic(d, source)}`);
  doc.commentBefore = [
    ` Imported from ${source} by \`tokengate import-apim\`. Check it with \`tokengate validate\`;`,
    ' roll it out with `mode: report-only` first (docs/migrating-from-apim.md).',
    ...(notes.length > 0 ? ['', ...notes] : []),
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}

/** The issuer a discovery URL implies, or the URL itself when none is (then validate asks for the issuer). */
function impliedOr(url: string): string {
  const implied = issuerImpliedBy(url);
  return 'issuer' in implied ? implied.issuer : url;
}
