/**
 * The path a policy is chosen by: `:path` normalised as RFC 3986 §6.2.2 and as Envoy's `normalize_path` followed by
 * `merge_slashes` would leave it, so that `/public/../admin`, `/public/%2e%2e/admin` and `//admin` are judged as
 * `/admin`, whatever Envoy in front of tokengate is configured to do. A path that cannot be normalised without a
 * guess is refused rather than guessed at (fail closed).
 *
 * Only the part before the first `?` is normalised; the query is kept byte for byte, as Envoy's PathUtil keeps it,
 * because query-string token extraction reads it.
 */

/** Why a path cannot be normalised unambiguously. */
export type PathProblem =
  | 'encoded-slash'
  | 'backslash'
  | 'fragment'
  | 'bad-percent-encoding'
  | 'dot-segment-parameter'
  | 'dot-dot-after-empty-segment'
  | 'not-origin-form';

export interface PathInvalid {
  readonly problem: PathProblem;
  /** For logs and `explain`: what was found, never the query (which can carry a token). */
  readonly detail: string;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const HASH = 0x23;
const QUESTION = 0x3f;

/**
 * Returns the normalised path followed by the original query (from the first `?`, unchanged), or why the path
 * cannot be normalised. A path with no `%`, `\`, `#`, `//` or `/.` is already normal and is returned as the same
 * string, without allocating: that is nearly every request, and this runs on every check.
 */
export function normalizePath(target: string): string | PathInvalid {
  let end = target.length;
  let plain = true;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === QUESTION) {
      end = i;
      break;
    }
    if (c === PERCENT || c === BACKSLASH || c === HASH) plain = false;
    else if (c === SLASH) {
      const next = target.charCodeAt(i + 1);
      if (next === SLASH || next === DOT) plain = false;
    }
  }
  if (plain) return target;
  const path = target.slice(0, end);
  const normalised = normalizePathPart(path);
  if (typeof normalised !== 'string') return normalised;
  return normalised === path ? target : normalised + target.slice(end);
}

function normalizePathPart(path: string): string | PathInvalid {
  // RFC 9110 §4.1 / RFC 3986 §3.5: a fragment is never part of a request target. An upstream may cut the path at
  // '#' while we would not (or the reverse), so a raw '#' before the query is ambiguous.
  if (path.includes('#')) return invalid('fragment', 'a raw "#" in the path');
  // A backslash is not a separator in RFC 3986, but Envoy's normalize_path (Chromium's canonicaliser), browsers and
  // some servers turn it into '/': which one the upstream does cannot be known, so refuse it.
  if (path.includes('\\')) return invalid('backslash', 'a raw backslash in the path');
  const decoded = decodeUnreserved(path);
  if (typeof decoded !== 'string') return decoded;
  // Only a path in origin-form (RFC 9112 §3.2.1) has segments to normalise; "*" and "" never reach here.
  if (!decoded.startsWith('/')) return invalid('not-origin-form', 'the path does not start with "/"');
  return removeDotSegments(decoded);
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * RFC 3986 §6.2.2.1 and §6.2.2.2: a percent-encoded unreserved character (ALPHA DIGIT - . _ ~) is decoded, so
 * `%2e%2e` becomes a dot segment as it does in Envoy; every other percent-encoding is kept, its hex upper-cased.
 * An encoded slash or backslash (%2F, %5C) is data inside a segment for RFC 3986 but a separator for many
 * servers (and for Envoy with path_with_escaped_slashes_action UNESCAPE_*): ambiguous, so refused.
 */
function decodeUnreserved(path: string): string | PathInvalid {
  if (!path.includes('%')) return path;
  let out = '';
  let from = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', from)) {
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return invalid('bad-percent-encoding', `"%" at offset ${i} is not followed by two hex digits`);
    const byte = Number.parseInt(hex, 16);
    if (byte === SLASH || byte === BACKSLASH) {
      return invalid('encoded-slash', `an encoded ${byte === SLASH ? 'slash' : 'backslash'} (%${hex}) in the path`);
    }
    out += path.slice(from, i) + (isUnreserved(byte) ? String.fromCharCode(byte) : `%${hex.toUpperCase()}`);
    from = i + 3;
  }
  return out + path.slice(from);
}

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d ||
    byte === DOT ||
    byte === 0x5f ||
    byte === 0x7e
  );
}

/**
 * RFC 3986 §5.2.4 remove_dot_segments, then Envoy's merge_slashes (Envoy applies normalize_path first). Two
 * refusals where servers disagree:
 * - `..` right after an empty segment: dots first gives `/a//../b` → `/a/b` (Envoy), slashes first gives `/b`
 *   (nginx with merge_slashes on). Which the upstream does cannot be known.
 * - `..;x` or `.;x`: Tomcat and Spring drop `;` path parameters and then treat the segment as a dot segment, while
 *   RFC 3986 and Envoy see an ordinary segment: the classic `/public/..;/admin` bypass.
 */
const DOT_SEGMENT_WITH_PARAMETERS = /^\.\.?;/;

function removeDotSegments(path: string): string | PathInvalid {
  const segments = path.split('/');
  const out: string[] = [];
  // segments[0] is the empty string before the leading '/'.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') {
        if (out.length > 0 && out[out.length - 1] === '') {
          return invalid('dot-dot-after-empty-segment', 'a ".." segment right after an empty segment ("//..")');
        }
        out.pop();
      }
      // `/a/b/..` is `/a/`: a dot segment at the end leaves the trailing slash (RFC 3986 §5.2.4 step 2).
      if (last) out.push('');
      continue;
    }
    if (DOT_SEGMENT_WITH_PARAMETERS.test(segment)) {
      return invalid('dot-segment-parameter', 'a dot segment with ";" parameters ("..;")');
    }
    out.push(segment);
  }
  const joined = `/${out.join('/')}`;
  return joined.includes('//') ? joined.replace(/\/{2,}/g, '/') : joined;
}

function invalid(problem: PathProblem, detail: string): PathInvalid {
  return { problem, detail };
}
