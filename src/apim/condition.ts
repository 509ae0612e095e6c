/**
 * A `<when condition>` read as a tokengate `match`: tests of the HTTP method and of the original request path only,
 * combined with `||` (within one of them) and `&&` (a method set and a path set together), since that is what a
 * policy's match expresses exactly. Anything else is undefined, and the caller refuses it.
 *
 * - `context.Request.Method == "GET"` (either side), `context.Request.Method.Equals("GET")`: compared exactly, as
 *   tokengate compares methods (RFC 9110 §9.1: methods are case-sensitive), so only upper-case names are read;
 * - `context.Request.OriginalUrl.Path.StartsWith("/admin")`: the path as the client sent it, which is what Envoy
 *   asks tokengate about. `context.Request.Url.Path` is the path after APIM took the API's URL suffix away: it
 *   depends on APIM's API settings and is refused with that reason.
 */
export interface BranchMatch {
  readonly methods?: readonly string[];
  readonly pathPrefixes?: readonly string[];
}

export type ParsedCondition = { readonly match: BranchMatch } | { readonly why: string };

const ATOMS: readonly [RegExp, (m: RegExpExecArray) => BranchMatch][] = [
  [/^context\.Request\.Method=="([A-Z]+)"$/, (m) => ({ methods: [m[1]!] })],
  [/^"([A-Z]+)"==context\.Request\.Method$/, (m) => ({ methods: [m[1]!] })],
  [/^context\.Request\.Method\.Equals\("([A-Z]+)"\)$/, (m) => ({ methods: [m[1]!] })],
  [/^context\.Request\.OriginalUrl\.Path\.StartsWith\("(\/[^"\\]*)"\)$/, (m) => ({ pathPrefixes: [m[1]!] })],
];

const NOT_A_MATCH =
  'is not a test of the HTTP method (context.Request.Method == "GET") or of the path\'s start ' +
  '(context.Request.OriginalUrl.Path.StartsWith("/admin")), joined by || and &&, which is all a match expresses';

export function parseCondition(raw: string): ParsedCondition {
  const m = /^@\(([\s\S]*)\)$/.exec(raw.trim());
  if (!m) return { why: NOT_A_MATCH };
  if (/context\.Request\.Url\.Path/.test(m[1]!)) {
    return {
      why:
        "reads context.Request.Url.Path, the path after APIM removed the API's URL suffix, which tokengate does not " +
        'know: test context.Request.OriginalUrl.Path, the path as sent, or write match.pathPrefixes yourself',
    };
  }
  const match = parse(m[1]!);
  return match ? { match } : { why: NOT_A_MATCH };
}

function parse(expression: string): BranchMatch | undefined {
  const e = unwrap(expression.trim());
  const any = splitTopLevel(e, '||');
  if (any.length > 1) {
    const parts = any.map(parse);
    if (parts.some((p) => p === undefined)) return undefined;
    // One dimension only: "GET or a path under /admin" is two policies, not one match.
    const kinds = new Set(parts.map((p) => (p!.methods ? 'methods' : '') + (p!.pathPrefixes ? 'paths' : '')));
    if (kinds.size !== 1 || [...kinds][0] === 'methodspaths') return undefined;
    return [...kinds][0] === 'methods'
      ? { methods: [...new Set(parts.flatMap((p) => p!.methods!))] }
      : { pathPrefixes: [...new Set(parts.flatMap((p) => p!.pathPrefixes!))] };
  }
  const all = splitTopLevel(e, '&&');
  if (all.length > 1) {
    let acc: BranchMatch | undefined = {};
    for (const part of all) {
      const p = parse(part);
      acc = p && acc ? intersect(acc, p) : undefined;
    }
    return acc;
  }
  const compact = e.replace(/\s+/g, '');
  for (const [pattern, build] of ATOMS) {
    const hit = pattern.exec(compact);
    if (hit) return build(hit);
  }
  return undefined;
}

/** Both conditions at once; undefined when a match cannot say it (two path tests) or nothing passes. */
export function intersect(a: BranchMatch, b: BranchMatch): BranchMatch | undefined {
  if (a.pathPrefixes && b.pathPrefixes) return undefined;
  let methods = a.methods ?? b.methods;
  if (a.methods && b.methods) methods = a.methods.filter((x) => b.methods!.includes(x));
  if (methods && methods.length === 0) return undefined;
  const pathPrefixes = a.pathPrefixes ?? b.pathPrefixes;
  return { ...(methods ? { methods } : {}), ...(pathPrefixes ? { pathPrefixes } : {}) };
}

/** Whether no request can satisfy both: disjoint method sets, or path prefixes none of which starts another. */
export function disjoint(a: BranchMatch, b: BranchMatch): boolean {
  if (a.methods && b.methods && !a.methods.some((x) => b.methods!.includes(x))) return true;
  if (a.pathPrefixes && b.pathPrefixes) {
    return a.pathPrefixes.every((p) => b.pathPrefixes!.every((q) => !p.startsWith(q) && !q.startsWith(p)));
  }
  return false;
}

/** `(x)` → `x` when the parentheses enclose the whole expression. */
function unwrap(e: string): string {
  while (e.startsWith('(') && e.endsWith(')') && closingParen(e, 0) === e.length - 1) e = e.slice(1, -1).trim();
  return e;
}

function closingParen(e: string, open: number): number {
  let depth = 0;
  for (let i = open; i < e.length; i++) {
    if (e[i] === '"') i = skipString(e, i);
    else if (e[i] === '(') depth++;
    else if (e[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

function skipString(e: string, start: number): number {
  for (let i = start + 1; i < e.length; i++) {
    if (e[i] === '\\') i++;
    else if (e[i] === '"') return i;
  }
  return e.length;
}

/** The operands of `op` outside parentheses and string literals. */
function splitTopLevel(e: string, op: '||' | '&&'): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < e.length; i++) {
    const c = e[i];
    if (c === '"') i = skipString(e, i);
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && e.startsWith(op, i)) {
      parts.push(e.slice(start, i));
      start = i + op.length;
      i += op.length - 1;
    }
  }
  parts.push(e.slice(start));
  return parts.map((p) => p.trim());
}
