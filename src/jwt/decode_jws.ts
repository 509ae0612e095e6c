import { AuthzError } from '../errors.js';

/** Tokens larger than this are refused before any parsing (Entra tokens are 1.5-3 KiB; 16 KiB is generous). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** header.payload.signature, each base64url; the signature may be empty (alg none). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Whether text has the shape of a compact JWS (what a decrypted JWE holds when it wraps a signed token). */
export function isCompactJws(text: string): boolean {
  return COMPACT_JWS.test(text);
}
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Deepest nesting of objects and arrays accepted in a header or payload. Real tokens nest 2-5 levels (Keycloak's
 * `realm_access.roles`, `authorization.permissions[].scopes`); anything far deeper is hostile, and recursive code
 * downstream (JSON.stringify of claims, loggers) should never see it.
 */
export const MAX_JSON_DEPTH = 32;

/** A compact JWS split and parsed, not yet verified. */
export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The base64url payload segment as received (forwarded upstream as-is by forwardPayloadHeader). */
  readonly payloadSegment: string;
  /** `header.payload`: the bytes the signature covers. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
  readonly alg: string;
  readonly kid: string | undefined;
}

/** Splits and parses a compact JWS (RFC 7515 §7.1). Anything malformed is JwtInvalid. */
export function decodeJws(token: string): DecodedJws {
  if (token.length > MAX_TOKEN_LENGTH) throw invalid(`token is longer than ${MAX_TOKEN_LENGTH} characters`);
  // One regular expression over the whole token is about 3× cheaper than splitting it and testing each part; a
  // token that fails it goes through malformed() for a specific message.
  if (!isCompactJws(token)) throw malformed(token);
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  const headerSegment = token.slice(0, firstDot);
  const payloadSegment = token.slice(firstDot + 1, secondDot);
  const signatureSegment = token.slice(secondDot + 1);
  // Buffer.from(…, 'base64url') silently drops a dangling last character and ignores non-zero padding bits, so
  // `sig`, `sig + "A"` and `sig` with its last character's spare bits changed would all verify: one signed token,
  // many accepted strings (jose's decoder rejects the dangling character). Accept only the canonical encoding.
  if (
    !canonicalBase64url(headerSegment) ||
    !canonicalBase64url(payloadSegment) ||
    !canonicalBase64url(signatureSegment)
  ) {
    throw invalid('token segment is not canonical base64url');
  }

  const header = parseObject(headerSegment, 'header');
  const payload = parseObject(payloadSegment, 'payload');
  const alg = header.alg;
  if (typeof alg !== 'string' || alg.length === 0) throw invalid('token header has no "alg"');
  const kid = header.kid;
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
    throw invalid('token header "kid" must be a non-empty string');
  }
  checkCritical(header);
  return {
    header,
    payload,
    payloadSegment,
    signingInput: Buffer.from(token.slice(0, secondDot), 'latin1'),
    signature: Buffer.from(signatureSegment, 'base64url'),
    alg,
    kid,
  };
}

/** Why a token is not a compact JWS, in the words of the first rule it breaks. */
function malformed(token: string): AuthzError {
  const parts = token.split('.');
  if (parts.length === 5) return invalid('token is encrypted (JWE); this policy accepts signed tokens (JWS) only');
  if (parts.length !== 3) return invalid(`token has ${parts.length} parts; a JWS has 3`);
  if (!BASE64URL.test(parts[0]!) || !BASE64URL.test(parts[1]!))
    return invalid('token header or payload is not base64url');
  return invalid('token signature is not base64url');
}

function parseObject(segment: string, what: 'header' | 'payload'): Record<string, unknown> {
  let text: string;
  let value: unknown;
  try {
    text = utf8.decode(Buffer.from(segment, 'base64url'));
    value = JSON.parse(text);
  } catch {
    throw invalid(`token ${what} is not UTF-8 JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`token ${what} is not a JSON object`);
  // JSON.parse keeps the last of duplicate members. RFC 7515 §4 and RFC 7519 §4 let a parser do that only if every
  // consumer does the same; an upstream reading the forwarded payload first-wins would see a different `aud` or `exp`
  // than we checked. Reject instead: the member names written in the text must all survive parsing.
  if (scanJson(text, what) !== countMembers(value)) throw invalid(`token ${what} has duplicate member names`);
  return value as Record<string, unknown>;
}

/**
 * One pass over JSON text that JSON.parse has accepted: returns the number of object members (every `:` outside a
 * string separates one), and throws on nesting deeper than MAX_JSON_DEPTH or an escaped NUL (`\u0000`) in any
 * string. Linear and allocation-free; strings, the bulk of a token, are skipped with indexOf.
 */
function scanJson(text: string, what: string): number {
  if (text.includes('\\u0000') && ESCAPED_NUL.test(text)) throw invalid(`token ${what} contains a NUL character`);
  let members = 0;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: jump to its closing quote, the first one not escaped by an odd run of backslashes.
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && text.charCodeAt(end - 1) === 0x5c) {
        let backslashes = 1;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) break; // unreachable for text JSON.parse accepted
      i = end;
    } else if (c === 0x3a) {
      members++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) throw invalid(`token ${what} nests deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return members;
}

/** A `\u0000` escape: backslash-u after an even run of backslashes (so not an escaped backslash then "u0000"). */
const ESCAPED_NUL = /(?:^|[^\\])(?:\\\\)*\\u0000/;

/** The number of members of every object in a parsed JSON value (iterative: depth is bounded already, but cheaply). */
function countMembers(root: object): number {
  let count = 0;
  const stack: object[] = [root];
  while (stack.length > 0) {
    const value = stack.pop()!;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item !== null && typeof item === 'object') stack.push(item);
      }
    } else {
      // for-in over a JSON.parse result: own enumerable keys only (including an own "__proto__" member).
      for (const key in value) {
        count++;
        const item: unknown = (value as Record<string, unknown>)[key];
        if (item !== null && typeof item === 'object') stack.push(item);
      }
    }
  }
  return count;
}

const BASE64URL_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++)
  BASE64URL_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/** Unpadded base64url whose length is possible and whose last character carries no stray bits (RFC 4648 §3.5). */
function canonicalBase64url(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = BASE64URL_VALUE[segment.charCodeAt(segment.length - 1)]!;
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/**
 * RFC 7515 §4.1.11: a recipient must reject a token whose `crit` names an extension it does not understand.
 * We understand none that is allowed in a JWT: `b64: false` (RFC 7797) is forbidden for JWTs, as jose rules too.
 */
function checkCritical(header: Record<string, unknown>): void {
  // RFC 7797 §6: `b64` must be listed in `crit`. A `b64: false` outside it would have the payload read as base64url
  // by one verifier and as raw bytes by another; refused whatever the value (stricter than jose, which reads it).
  if (header.b64 !== undefined && header.b64 !== true && header.crit === undefined) {
    throw invalid(
      'token header "b64" must be listed in "crit" (RFC 7797 §6), and unencoded payloads are not allowed in a JWT',
    );
  }
  if (header.crit !== undefined) {
    const crit = header.crit;
    if (
      !Array.isArray(crit) ||
      crit.length === 0 ||
      crit.some((c) => typeof c !== 'string' || !Object.hasOwn(header, c) || header[c] === undefined)
    ) {
      throw invalid('token header "crit" is malformed');
    }
    // RFC 7515 §4.1.11: producers must not list a name twice (jose's JWS verifier lets it through).
    if (new Set(crit).size !== crit.length) throw invalid('token header "crit" lists a name twice');
    for (const name of crit) {
      if (name !== 'b64') throw invalid(`token header "crit" names an unsupported extension "${name}"`);
    }
    if (header.b64 !== true) throw invalid('unencoded payloads (b64: false) are not allowed in a JWT');
  }
}

function invalid(message: string): AuthzError {
  return new AuthzError('JwtInvalid', message);
}
