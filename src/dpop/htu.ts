import { normalizePath } from '../authz/normalize_path.js';
import type { AuthzRequest } from '../authz/request.js';

/**
 * RFC 9449 §4.3 step 9: the proof's `htu` must equal the request's URI "without query and fragment", compared after
 * syntax- and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3). Both sides go through the same two steps, so
 * they are compared in one form: WHATWG URL for the origin (lower-case scheme and host, default port dropped) and
 * normalize_path.ts for the path (dot segments, percent-encoding case, unreserved characters decoded), the one the
 * policy was chosen by.
 */

/** `origin + path` of the request as the client addressed it, or why it cannot be known. */
export function requestHtu(req: AuthzRequest, externalOrigin: string | undefined): string | { problem: string } {
  const q = req.path.indexOf('?');
  const path = normalizePath(q === -1 ? req.path : req.path.slice(0, q));
  if (typeof path !== 'string') return { problem: `the request path cannot be normalised (${path.problem})` };
  if (externalOrigin !== undefined) return externalOrigin + path;
  // Without the scheme we would have to guess it; a proxy that hides it needs dpop.externalOrigin.
  if (req.scheme !== 'http' && req.scheme !== 'https') {
    return { problem: `the request's scheme is ${req.scheme === undefined ? 'unknown' : 'not http(s)'}` };
  }
  const origin = originOf(`${req.scheme}://${req.authority ?? ''}`);
  if (origin === undefined) return { problem: "the request's :authority is not a host" };
  return origin + path;
}

/** The proof's `htu`, normalised the same way; undefined when it is not an absolute http(s) URI. */
export function proofHtu(htu: string): string | undefined {
  if (htu.length > MAX_HTU_LENGTH) return undefined;
  let url: URL;
  try {
    url = new URL(htu);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  // Credentials in a URI are no part of the resource (RFC 9110 §4.2.4); a proof carrying them is refused.
  if (url.username !== '' || url.password !== '') return undefined;
  const path = normalizePath(url.pathname);
  return typeof path === 'string' ? url.origin + path : undefined;
}

const MAX_HTU_LENGTH = 8192;

function originOf(text: string): string | undefined {
  try {
    const url = new URL(text);
    // An authority with a path, userinfo or query smuggled in is not an authority.
    if (url.pathname !== '/' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      return undefined;
    }
    if (url.hostname === '') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
