/** The attributes and lists validate-jwt and validate-azure-ad-token share: token location, responses, audiences. */
import type { MapContext, Out } from './context.js';
import { literalClaimName } from './map_claims.js';
import { attribute, childrenNamed, type XmlAttribute, type XmlElement } from './xml.js';
import { booleanValue, clockSkewSeconds, literal, simpleTokenSource } from './values.js';

export const FORWARD_PAYLOAD_HEADER = 'x-jwt-payload';
export const LOCATION_ATTRIBUTES = ['header-name', 'query-parameter-name', 'token-value'];

export type ClaimRule = { name: string; match?: string; separator?: string; values: string[] };
export type Location = 'none' | 'authorization' | 'other' | 'unmapped';

/** Attributes and child elements the policy reference does not list: a typo, or a newer APIM check. */
export function checkNames(
  ctx: MapContext,
  el: XmlElement,
  attributes: readonly string[],
  elements: readonly string[],
): void {
  for (const a of el.attributes) {
    if (!attributes.includes(a.name)) {
      const why = `not an attribute of ${el.name} (expected one of: ${attributes.join(', ')})`;
      ctx.report.unmappable(a.line, `<${el.name} ${a.name}>`, why, 'left out');
    }
  }
  for (const c of el.children) {
    if (!elements.includes(c.name)) {
      const why = `not a child element of ${el.name} (expected one of: ${elements.join(', ')})`;
      ctx.report.unmappable(c.line, `<${c.name}>`, why, 'left out');
    }
  }
}

const FAIL_CLOSED_LOCATION =
  'the token location is left out, and a required claim no token carries is added: every request is denied until you ' +
  'write where the token is (reading the Authorization header instead could let in a token APIM never looked at)';

/**
 * header-name, query-parameter-name or token-value → headerName, queryParameterName or cookieName. When the location
 * cannot be mapped, tokengate must still read the token from somewhere, and any place it reads could hold a token
 * APIM never looked at (a cookie-reading policy knows nothing of the Authorization header). So with --allow-partial
 * the policy also gets a required claim named by a placeholder: no token carries it, so every request is denied,
 * whatever it sends where, until someone writes the location. A header "no request carries" would not do: a client
 * can send any header.
 */
export function tokenLocation(ctx: MapContext, el: XmlElement, out: Out, failClosed: ClaimRule[]): Location {
  const location = mapTokenLocation(ctx, el, out);
  if (location.kind === 'unmapped') {
    const name = ctx.report.placeholder(location.line, `token location ${location.original}`);
    failClosed.push({ name: literalClaimName(name), values: [] });
  }
  return location.kind;
}

function mapTokenLocation(
  ctx: MapContext,
  el: XmlElement,
  out: Out,
): { kind: Exclude<Location, 'unmapped'> } | { kind: 'unmapped'; line: number; original: string } {
  const given = LOCATION_ATTRIBUTES.map((n) => attribute(el, n)).filter((a): a is XmlAttribute => a !== undefined);
  if (given.length === 0) return { kind: 'none' };
  if (given.length > 1) {
    const why =
      `set only one of header-name, query-parameter-name, token-value (this policy sets ` +
      `${given.map((a) => a.name).join(' and ')})`;
    ctx.report.unmappable(given[1]!.line, `<${el.name} ${given[1]!.name}>`, why, FAIL_CLOSED_LOCATION);
    return { kind: 'unmapped', line: given[1]!.line, original: given.map((a) => a.name).join(' and ') };
  }
  const a = given[0]!;
  const what = `<${el.name} ${a.name}>`;
  const unmapped = (why: string) => {
    ctx.report.unmappable(a.line, what, why, FAIL_CLOSED_LOCATION);
    return { kind: 'unmapped' as const, line: a.line, original: `${a.name}="${a.value}"` };
  };
  if (a.name === 'token-value') {
    const source = simpleTokenSource(a.value);
    if (!source) {
      const v = literal(a.value);
      if (v.ok) return unmapped('a fixed token value cannot be mapped: tokengate reads the token from the request');
      return unmapped(
        `${v.why.replace(/; write the value it stands for$/, '')}; only a plain header, query parameter or cookie ` +
          `read ` +
          '(context.Request.Headers/Url.Query/Cookies.GetValueOrDefault("name")) maps, to headerName, ' +
          'queryParameterName or cookieName',
      );
    }
    const key = { header: 'headerName', query: 'queryParameterName', cookie: 'cookieName' }[source.kind];
    out[key] = source.name;
    return {
      kind: source.kind === 'header' && source.name.toLowerCase() === 'authorization' ? 'authorization' : 'other',
    };
  }
  const v = literal(a.value);
  if (!v.ok) return unmapped(v.why);
  if (a.name === 'header-name') {
    out.headerName = v.value;
    return { kind: v.value.toLowerCase() === 'authorization' ? 'authorization' : 'other' };
  }
  out.queryParameterName = v.value;
  return { kind: 'other' };
}

/** APIM enforces a scheme only when require-scheme is set, and ignores it on a custom header. */
export function requireScheme(ctx: MapContext, el: XmlElement, out: Out, location: Location): void {
  const a = attribute(el, 'require-scheme');
  if (!a) return;
  const v = literal(a.value);
  if (!v.ok) {
    const action = 'left out: tokengate requires the Bearer scheme in the Authorization header';
    ctx.report.unmappable(a.line, '<validate-jwt require-scheme>', v.why, action);
    return;
  }
  if (location === 'other') {
    // APIM: "When using a custom header (header-name), the configured required scheme (require-scheme) will be
    // ignored."
    ctx.report.warn(
      a.line,
      '<validate-jwt require-scheme>',
      'APIM ignores require-scheme unless the token is in the Authorization header, so it is not carried over ' +
        '(tokengate would enforce it)',
    );
    return;
  }
  out.requireScheme = v.value;
}

export function failedValidation(ctx: MapContext, el: XmlElement, out: Out): void {
  const code = attribute(el, 'failed-validation-httpcode');
  if (code) {
    const v = literal(code.value);
    const n = v.ok && /^\d+$/.test(v.value) ? Number(v.value) : undefined;
    const action = 'left out: denials use 401 or 403, as tokengate decides';
    if (!v.ok) ctx.report.unmappable(code.line, `<${el.name} failed-validation-httpcode>`, v.why, action);
    else if (n === undefined || n < 400 || n > 599) {
      const why = `"${v.value}" is not an HTTP status tokengate can deny with (400..599)`;
      ctx.report.unmappable(code.line, `<${el.name} failed-validation-httpcode>`, why, action);
    } else out.failedValidationHttpCode = n;
  }
  const message = attribute(el, 'failed-validation-error-message');
  if (message) {
    // A message is text, not a check: a {{named value}} in it is still unmappable, tokengate cannot fill it in.
    const v = literal(message.value);
    if (v.ok) out.failedValidationErrorMessage = message.value;
    else {
      const action = "left out: denials carry tokengate's default message";
      ctx.report.unmappable(message.line, `<${el.name} failed-validation-error-message>`, v.why, action);
    }
  }
}

export function booleanAttribute(ctx: MapContext, el: XmlElement, attr: string, key: string, out: Out): void {
  const a = attribute(el, attr);
  if (!a) return;
  const v = literal(a.value);
  const b = v.ok ? booleanValue(v.value) : undefined;
  if (b === undefined) {
    const why = v.ok ? `"${v.value}" is neither true nor false` : v.why;
    ctx.report.unmappable(
      a.line,
      `<${el.name} ${attr}>`,
      why,
      `left out: tokengate's strict default ${key}: true applies`,
    );
  } else out[key] = b;
}

export function clockSkew(ctx: MapContext, el: XmlElement, out: Out): void {
  const a = attribute(el, 'clock-skew');
  if (!a) return;
  const v = literal(a.value);
  const seconds = v.ok ? clockSkewSeconds(v.value) : undefined;
  if (seconds === undefined || seconds > 86_400) {
    const why = v.ok ? `"${v.value}" is not a number of seconds (or hh:mm:ss) up to one day` : v.why;
    ctx.report.unmappable(
      a.line,
      `<${el.name} clock-skew>`,
      why,
      'left out: no clock skew (clockSkew: 0), the strict default',
    );
  } else out.clockSkew = seconds;
}

export function outputTokenVariable(ctx: MapContext, el: XmlElement, out: Out): void {
  const a = attribute(el, 'output-token-variable-name');
  if (!a) return;
  out.forwardPayloadHeader = FORWARD_PAYLOAD_HEADER;
  ctx.report.warn(
    a.line,
    `<${el.name} output-token-variable-name>`,
    `tokengate has no context variables: the validated token's payload goes upstream as base64url JSON in the ` +
      `header ${FORWARD_PAYLOAD_HEADER} ` +
      `(forwardPayloadHeader: ${FORWARD_PAYLOAD_HEADER}); what read context.Variables["${a.value}"] must read that ` +
      `header instead, ` +
      'or take single claims with outputClaimsToHeaders',
  );
}

/** An audience APIM computes from the request's host name: tokengate compares audiences with fixed values only. */
const HOST_AUDIENCE = /context\.Request\.(?:Original)?Url\.Host/;

/** `<audiences><audience>`-like lists; undefined when the container is absent or empty. */
export function list(
  ctx: MapContext,
  el: XmlElement,
  container: string,
  item: string,
  key?: string,
): string[] | undefined {
  const values: string[] = [];
  for (const c of childrenNamed(el, container)) {
    for (const child of c.children) {
      if (child.name !== item) {
        ctx.report.unmappable(
          child.line,
          `<${child.name}>`,
          `not a child element of ${container} (expected ${item})`,
          'left out',
        );
        continue;
      }
      if (key && !ctx.origins.has(key)) ctx.origins.set(key, { line: child.line, what: `<${item}>` });
      const v = literal(child.text);
      if (v.ok && v.value === '') {
        ctx.report.unmappable(child.line, `<${item}>`, 'is empty', 'left out');
      } else if (v.ok) values.push(v.value);
      else {
        const why = item === 'audience' && HOST_AUDIENCE.test(child.text) ? HOST_AUDIENCE_WHY : v.why;
        const action = 'replaced by a placeholder no token carries, so this check denies until you write the value';
        ctx.report.unmappable(child.line, `<${item}>`, why, action);
        values.push(ctx.report.placeholder(child.line, child.text));
      }
    }
  }
  return values.length > 0 ? values : undefined;
}

const HOST_AUDIENCE_WHY =
  "the audience is the request's host name, which APIM evaluates per request; tokengate has no request-host audience " +
  'rule: write one policy per host name, with match: { hosts: [HOST] } and audiences: [HOST] (one policy listing ' +
  'every ' +
  'host would let a token issued for one host in at another)';
