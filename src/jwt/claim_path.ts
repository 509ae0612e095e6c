/**
 * A path into a token's claims, as `requiredClaims[].name`, `outputClaimsToHeaders[].claim` and rules name a claim:
 *
 * - a plain name: `roles`, or dotted into nested objects: `realm_access.roles`;
 * - a JSON Pointer (RFC 6901), starting with `/`: `/https:~1~1example.com~1roles`, where `~1` is `/` and `~0` is `~`;
 * - brackets, for names holding dots or slashes: `["https://example.com/roles"]`, `resource_access["my-app"].roles`.
 *
 * A plain name that is a top-level claim as it stands is that claim, before any dot splits it: a namespaced claim
 * such as `https://example.com/roles` keeps meaning what it meant before paths existed. Only when the token has no
 * such top-level claim is the name read as a dotted path. Each step reads an own property of a JSON object (never
 * the prototype: `constructor` is no claim) or, for a decimal segment, an element of an array.
 */
export interface ClaimPath {
  /** As written in the config, for messages and `explain`. */
  readonly text: string;
  /** The steps from the payload; one step for a plain top-level name. */
  readonly segments: readonly string[];
  /** The value at the path, or undefined when any step is missing. */
  read(claims: Readonly<Record<string, unknown>>): unknown;
}

/** The path, or a message saying why `text` is not one (a config problem, reported at load). */
export function parseClaimPath(text: string): ClaimPath | { readonly error: string } {
  if (text.length === 0) return { error: 'must not be empty' };
  if (text.startsWith('/')) return pointer(text);
  if (text.includes('[')) return brackets(text);
  const segments = text.split('.');
  if (segments.length > 1 && segments.some((s) => s.length === 0)) {
    return { error: `"${text}" has an empty segment: write names that contain dots as ["a.b"] or /a.b` };
  }
  return dotted(text, segments);
}

/** For names already checked by parseClaimPath: throws on a path that would have been a config problem. */
export function compileClaimPath(text: string): ClaimPath {
  const path = parseClaimPath(text);
  if ('error' in path) throw new Error(`claim path ${text}: ${path.error}`);
  return path;
}

/** RFC 6901 §3-4: `/`-separated reference tokens, `~1` decoded before `~0`. */
function pointer(text: string): ClaimPath | { error: string } {
  const segments: string[] = [];
  for (const token of text.slice(1).split('/')) {
    if (/~(?![01])/.test(token)) {
      return { error: `"${text}": ~ must be followed by 0 or 1 in a JSON Pointer (RFC 6901 §3)` };
    }
    segments.push(token.replaceAll('~1', '/').replaceAll('~0', '~'));
  }
  return steps(text, segments);
}

const NAME = /^[^.[\]"]+/;

/** `a.b["c.d"][0]`: bare names joined by dots, or JSON strings (or indexes) in brackets. */
function brackets(text: string): ClaimPath | { error: string } {
  const segments: string[] = [];
  let rest = text;
  let first = true;
  while (rest.length > 0) {
    if (rest.startsWith('[')) {
      const step = bracketStep(rest);
      if (!step) return { error: `"${text}": expected ["name"] or [index] at "${rest}"` };
      segments.push(step.segment);
      rest = rest.slice(step.length);
    } else {
      if (!first) {
        if (!rest.startsWith('.')) return { error: `"${text}": expected . or [ at "${rest}"` };
        rest = rest.slice(1);
      }
      const name = NAME.exec(rest)?.[0];
      if (!name) return { error: `"${text}": expected a name at "${rest}"` };
      segments.push(name);
      rest = rest.slice(name.length);
    }
    first = false;
  }
  return steps(text, segments);
}

/** `["a.b"]` (a JSON string) or `[3]`, at the start of `rest`. */
function bracketStep(rest: string): { segment: string; length: number } | undefined {
  const index = /^\[(0|[1-9]\d{0,8})\]/.exec(rest);
  if (index) return { segment: index[1]!, length: index[0].length };
  const quoted = /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest);
  if (!quoted) return undefined;
  try {
    return { segment: JSON.parse(`"${quoted[1]}"`) as string, length: quoted[0].length };
  } catch {
    return undefined;
  }
}

/** A plain name: an exact top-level claim first, else its dotted segments. */
function dotted(text: string, segments: readonly string[]): ClaimPath {
  if (segments.length === 1) return steps(text, segments);
  const nested = steps(text, segments);
  return {
    text,
    segments,
    read: (claims) => (Object.hasOwn(claims, text) ? claims[text] : nested.read(claims)),
  };
}

function steps(text: string, segments: readonly string[]): ClaimPath {
  if (segments.length === 1) {
    const name = segments[0]!;
    return { text, segments, read: (claims) => (Object.hasOwn(claims, name) ? claims[name] : undefined) };
  }
  return { text, segments, read: (claims) => claimAt(claims, segments) };
}

/** The value at exactly these segments (no top-level-first reading), or undefined: for rules' `explain`. */
export function claimAt(claims: Readonly<Record<string, unknown>>, segments: readonly string[]): unknown {
  let value: unknown = claims;
  for (const segment of segments) {
    value = step(value, segment);
    if (value === undefined) return undefined;
  }
  return value;
}

const INDEX = /^(0|[1-9]\d{0,8})$/;

function step(value: unknown, segment: string): unknown {
  if (Array.isArray(value)) return INDEX.test(segment) ? value[Number(segment)] : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  // hasOwn: a path through "constructor" or "__proto__" must not reach Object.prototype.
  return Object.hasOwn(value, segment) ? (value as Record<string, unknown>)[segment] : undefined;
}
