/** Reading single APIM attribute and element values: literals, policy expressions, named values. */

export type Literal = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly why: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** One line, at most 80 characters: how an expression is quoted in a message. */
export function shorten(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

export function isExpression(raw: string): boolean {
  return /^@[({]/.test(raw.trim());
}

const NAMED_VALUE = /\{\{[^{}]*\}\}/g;
/**
 * Template placeholders other tools fill in before a policy reaches APIM: `${name}` (Terraform, Bicep, envsubst) and
 * `{name}` (articles, format strings), one level of nesting allowed
 * (`{issuer - (ex: https://sts.windows.net/{tid}/)}`).
 * A `{` must be followed by a letter or `_`, so a regular expression's `{2}` is not one.
 */
const TEMPLATE = /\$\{[^{}]*\}|\{[A-Za-z_](?:[^{}]|\{[^{}]*\})*\}/g;

/** The named values (`{{name}}`) and template placeholders in a value, each once, in order. */
export function placeholdersIn(value: string): { named: string[]; templates: string[] } {
  const named = [...new Set(value.match(NAMED_VALUE) ?? [])];
  const templates = [...new Set(value.replace(NAMED_VALUE, ' ').match(TEMPLATE) ?? [])];
  return { named, templates };
}

/**
 * A value tokengate can take as it is, or why not: a policy expression needs APIM to run, and a named value or a
 * template placeholder is not a value yet (the importer fills `{{name}}`, `${name}` and `{name}` from --named-value
 * before it gets here, so what is left had none).
 */
export function literal(raw: string): Literal {
  const value = raw.trim();
  if (isExpression(value)) {
    return {
      ok: false,
      why:
        `policy expression ${shorten(value)} cannot be evaluated: tokengate has no policy expressions; write ` +
        `the value it stands for`,
    };
  }
  const { named, templates } = placeholdersIn(value);
  if (named.length > 0) {
    const name = named[0]!.slice(2, -2).trim();
    return {
      ok: false,
      why:
        `named value ${named.join(', ')} has no value: give it with --named-value "${name}=VALUE" or ` +
        `--named-values FILE`,
    };
  }
  if (templates.length > 0) {
    const name = /^\$?\{([\w.-]+)\}$/.exec(templates[0]!)?.[1];
    const fill = name ? `give it with --named-value "${name}=VALUE"` : 'write the value it stands for';
    return { ok: false, why: `template placeholder ${shorten(templates[0]!)} is not a value: ${fill}` };
  }
  return { ok: true, value };
}

export type TokenSource = { readonly kind: 'header' | 'query' | 'cookie'; readonly name: string };

const SOURCES: readonly [TokenSource['kind'], string][] = [
  ['header', String.raw`context\.Request\.Headers`],
  ['query', String.raw`context\.Request\.(?:Url|OriginalUrl)\.Query`],
  ['cookie', String.raw`context\.Request\.Cookies`],
];

/**
 * The plain `token-value` forms tokengate has a key for: `@(context.Request.Headers.GetValueOrDefault("X-Token"))`,
 * the same on `Url.Query` / `OriginalUrl.Query`, and on `Cookies`, optionally with `""` or `null` as the default.
 * Anything else (a `.Split(' ').Last()`, a variable, a literal token) is undefined.
 */
export function simpleTokenSource(raw: string): TokenSource | undefined {
  const value = raw.trim();
  for (const [kind, receiver] of SOURCES) {
    const re = new RegExp(
      String.raw`^@\(\s*${receiver}\s*\.\s*GetValueOrDefault\(\s*"([^"\\]+)"\s*(?:,\s*(?:""|null)\s*)?\)\s*\)$`,
    );
    const m = re.exec(value);
    if (m) return { kind, name: m[1]! };
  }
  return undefined;
}

/** APIM's clock-skew: seconds, or a .NET TimeSpan `[d.]hh:mm:ss`. Undefined when it is neither. */
export function clockSkewSeconds(value: string): number | undefined {
  if (/^\d+$/.test(value)) return Number(value);
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [, days, hours, minutes, seconds] = m;
  if (Number(minutes) > 59 || Number(seconds) > 59) return undefined;
  return Number(days ?? 0) * 86_400 + Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
}

export function booleanValue(value: string): boolean | undefined {
  const v = value.toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}
