/**
 * APIM named values (`{{name}}`) and template placeholders (`${name}`, `{name}`) filled in from the command line
 * (`--named-value NAME=VALUE`, `--named-values FILE`) before anything is mapped, in every attribute value and text.
 * APIM substitutes named values before it evaluates a policy, so a value may itself be a policy expression; it then
 * goes through the same checks as if it had been written in the file.
 */
import { parse as parseYaml } from 'yaml';
import type { XmlElement } from './xml.js';

export type NamedValues = ReadonlyMap<string, string>;

/** `{{ name }}`, `${name}` or `{name}`: one pass, so a value is never substituted into again. */
const REFERENCE = /\{\{\s*([^{}]+?)\s*\}\}|\$\{([^{}]+)\}|\{([^{}]+)\}/g;

/** The tree with every reference to a given name replaced by its value, and the names that were used. */
export function substituteNamedValues(root: XmlElement, values: NamedValues): { root: XmlElement; used: Set<string> } {
  const used = new Set<string>();
  if (values.size === 0) return { root, used };
  const lower = new Map([...values].map(([k, v]) => [k.toLowerCase(), { name: k, value: v }]));
  const fill = (text: string) =>
    text.replace(REFERENCE, (whole, a?: string, b?: string, c?: string) => {
      const name = (a ?? b ?? c)!;
      // Exact first, then without case: `{{Tenant-Id}}` given as tenant-id is the same value, never another one.
      const hit = values.has(name) ? { name, value: values.get(name)! } : lower.get(name.toLowerCase());
      if (!hit) return whole;
      used.add(hit.name);
      return hit.value;
    });
  return { root: rebuild(root, undefined, fill), used };
}

function rebuild(el: XmlElement, parent: XmlElement | undefined, fill: (text: string) => string): XmlElement {
  const children: XmlElement[] = [];
  const copy: XmlElement = {
    name: el.name,
    line: el.line,
    attributes: el.attributes.map((a) => ({ ...a, value: fill(a.value) })),
    children,
    text: fill(el.text),
    parent,
  };
  for (const child of el.children) children.push(rebuild(child, copy, fill));
  return copy;
}

/** `NAME=VALUE` from the command line; the first `=` separates them, so a value may contain `=` (Base64). */
export function parseNamedValueArg(arg: string): { name: string; value: string } | undefined {
  const eq = arg.indexOf('=');
  if (eq <= 0) return undefined;
  const name = arg.slice(0, eq).trim();
  return name === '' ? undefined : { name, value: arg.slice(eq + 1) };
}

/** A YAML or JSON map of names to values (strings, numbers or booleans), or why it is not one. */
export function parseNamedValuesFile(text: string): Map<string, string> | { error: string } {
  let data: unknown;
  try {
    data = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    return { error: `not YAML or JSON: ${(err as Error).message.split('\n')[0]}` };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return { error: 'must be a map of named values, such as `tenant-id: 11111111-2222-3333-4444-555555555555`' };
  }
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(data)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return { error: `the value of "${name}" must be a string` };
    }
    out.set(name, String(value));
  }
  return out;
}
