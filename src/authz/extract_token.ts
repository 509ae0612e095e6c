import type { TokenLocation } from '../config/types.js';
import { AuthzError } from '../errors.js';
import type { AuthzRequest } from './request.js';
import type { Trace } from './trace.js';

/** Takes the token from where the policy says it is: a header (with or without a scheme), a query parameter or a cookie. */
export function extractToken(req: AuthzRequest, location: TokenLocation, trace?: Trace): string {
  const token = location.kind === 'header' ? fromHeader(req, location.name, location.scheme)
    : location.kind === 'query' ? fromQuery(req.path, location.name)
    : fromCookie(Object.hasOwn(req.headers, 'cookie') ? req.headers.cookie : undefined, location.name);
  trace?.({ step: 'token', ok: true, detail: `found in ${describe(location)} (${token.length} characters)` });
  return token;
}

function describe(location: TokenLocation): string {
  if (location.kind === 'header') return `header ${location.name}${location.scheme ? ` with scheme ${location.scheme}` : ''}`;
  return `${location.kind === 'query' ? 'query parameter' : 'cookie'} ${location.name}`;
}

function fromHeader(req: AuthzRequest, name: string, scheme: string | undefined): string {
  const value = Object.hasOwn(req.headers, name) ? req.headers[name] : undefined;
  if (value === undefined || value.trim() === '') throw new AuthzError('TokenNotPresent', `no ${name} header`);
  // Envoy joins repeated headers with a comma, and a JWT never contains one: two tokens are ambiguous, refuse both.
  if (value.includes(',')) throw new AuthzError('JwtInvalid', `${name} header carries more than one value`);
  if (scheme === undefined) return value.trim();
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const given = space === -1 ? trimmed : trimmed.slice(0, space);
  if (given.toLowerCase() !== scheme.toLowerCase()) {
    throw new AuthzError('TokenSchemeInvalid', `${name} header is not "${scheme} <token>"`);
  }
  // "Bearer " and "Bearer" carry no token (trailing white space is not part of a field value, RFC 9110 §5.5):
  // RFC 6750 §3.1 answers a request without a token with a bare challenge, not error="invalid_token".
  if (space === -1) throw new AuthzError('TokenNotPresent', `${name} header has the ${scheme} scheme but no token`);
  return trimmed.slice(space + 1).trim();
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
