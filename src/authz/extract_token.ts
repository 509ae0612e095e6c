import type { TokenLocation } from '../config/types.js';
import { AuthzError } from '../errors.js';
import type { AuthzRequest } from './request.js';
import type { Trace } from './trace.js';

/**
 * Tokens verified before. The token cache holds only compact JWSs that verified (decode_jws.ts: base64url segments
 * and dots, all of them b64token characters), so a token it holds needs no b64token check: the regular expression,
 * over a token of ~1 KB the costliest step of a cached check, is not run on it again. Pure: the same string gets the
 * same answer either way.
 */
export interface KnownTokens {
  /** Whether this exact token is cached; may say no for one that is. */
  holds(token: string): boolean;
}

/**
 * Takes the token from where the policy says it is: a header (with or without a scheme), a query parameter or a
 * cookie.
 */
export function extractToken(req: AuthzRequest, location: TokenLocation, trace?: Trace, known?: KnownTokens): string {
  const token =
    location.kind === 'header'
      ? fromHeader(req, location.name, location.scheme, known)
      : location.kind === 'query'
        ? fromQuery(req.path, location.name)
        : fromCookie(Object.hasOwn(req.headers, 'cookie') ? req.headers.cookie : undefined, location.name);
  trace?.({ step: 'token', ok: true, detail: `found in ${describe(location)} (${token.length} characters)` });
  return token;
}

/**
 * RFC 9449 §7.1: under a policy with `dpop:`, the Authorization header may carry `DPoP <token>` as well as the
 * policy's scheme (Bearer); which one came decides whether a proof is checked (src/dpop/check_dpop.ts).
 */
export function extractDpopToken(
  req: AuthzRequest,
  location: TokenLocation,
  trace?: Trace,
  known?: KnownTokens,
): { token: string; scheme: string | undefined } {
  if (location.kind !== 'header' || location.scheme === undefined) {
    return { token: extractToken(req, location, trace, known), scheme: undefined };
  }
  const dpop = schemeOf(req, location.name)?.toLowerCase() === 'dpop';
  const scheme = dpop ? 'DPoP' : location.scheme;
  const token = fromHeader(req, location.name, scheme, known);
  trace?.({ step: 'token', ok: true, detail: `found in header ${location.name} with scheme ${scheme}` });
  return { token, scheme };
}

/** The scheme an Authorization-style header starts with: up to the first SP, after OWS. */
function schemeOf(req: AuthzRequest, name: string): string | undefined {
  const value = Object.hasOwn(req.headers, name) ? trimOws(req.headers[name]!) : '';
  const space = value.indexOf(' ');
  return space === -1 ? value : value.slice(0, space);
}

function describe(location: TokenLocation): string {
  if (location.kind === 'header')
    return `header ${location.name}${location.scheme ? ` with scheme ${location.scheme}` : ''}`;
  return `${location.kind === 'query' ? 'query parameter' : 'cookie'} ${location.name}`;
}

/**
 * RFC 6750 §2.1: credentials = scheme 1*SP b64token. Only SP and HTAB may surround the header value (OWS, RFC 9110
 * §5.5): String.prototype.trim() would also strip U+00A0, U+3000, U+2028, U+FEFF and the rest of Unicode's spaces,
 * and let a token pass that no strict parser upstream would read the same way.
 */
function fromHeader(req: AuthzRequest, name: string, scheme: string | undefined, known?: KnownTokens): string {
  const value = trimOws(Object.hasOwn(req.headers, name) ? req.headers[name]! : '');
  if (value === '') throw new AuthzError('TokenNotPresent', `no ${name} header`);
  // Envoy joins repeated headers with a comma, and a JWT never contains one: two tokens are ambiguous, refuse both.
  if (value.includes(',')) throw new AuthzError('JwtInvalid', `${name} header carries more than one value`);
  if (scheme === undefined) return b64token(value, name, known);
  const space = value.indexOf(' ');
  // The scheme runs to the first SP. Any other character there (HTAB, U+00A0, U+FEFF…) makes it another scheme.
  const given = space === -1 ? value : value.slice(0, space);
  if (given.toLowerCase() !== scheme.toLowerCase()) {
    throw new AuthzError('TokenSchemeInvalid', `${name} header is not "${scheme} <token>"`);
  }
  // "Bearer " and "Bearer" carry no token (trailing white space is not part of a field value, RFC 9110 §5.5):
  // RFC 6750 §3.1 answers a request without a token with a bare challenge, not error="invalid_token".
  if (space === -1) throw new AuthzError('TokenNotPresent', `${name} header has the ${scheme} scheme but no token`);
  let start = space + 1;
  while (value.charCodeAt(start) === SP) start++;
  return b64token(value.slice(start), name, known);
}

const SP = 0x20;
const HTAB = 0x09;
/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=". Every JWS and JWE fits. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** What follows the scheme (or the whole value of a header without one) must be a b64token; else it is malformed. */
function b64token(text: string, name: string, known: KnownTokens | undefined): string {
  if (known?.holds(text)) return text;
  if (!B64TOKEN.test(text)) throw new AuthzError('JwtInvalid', `${name} header: the token is not a b64token`);
  return text;
}

/** Strips SP and HTAB only, at both ends (RFC 9110 §5.6.3 OWS). A loop: a regular expression would backtrack. */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === SP || code === HTAB;
}

function fromQuery(path: string, name: string): string {
  const q = path.indexOf('?');
  if (q === -1) throw new AuthzError('TokenNotPresent', `no query parameter ${name}`);
  const values = new URLSearchParams(path.slice(q + 1).split('#')[0]).getAll(name);
  if (values.length === 0 || values[0] === '') throw new AuthzError('TokenNotPresent', `no query parameter ${name}`);
  if (values.length > 1) throw new AuthzError('JwtInvalid', `query parameter ${name} is given more than once`);
  return values[0]!;
}

function fromCookie(header: string | undefined, name: string): string {
  if (typeof header !== 'string') header = undefined;
  const found: string[] = [];
  for (const part of header?.split(/[;,]/) ?? []) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) found.push(part.slice(eq + 1).trim());
  }
  if (found.length === 0 || found[0] === '') throw new AuthzError('TokenNotPresent', `no cookie ${name}`);
  if (found.length > 1) throw new AuthzError('JwtInvalid', `cookie ${name} is given more than once`);
  return found[0]!;
}
