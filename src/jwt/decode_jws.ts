import { AuthzError } from '../errors.js';

/** Tokens larger than this are refused before any parsing (Entra tokens are 1.5-3 KiB; 16 KiB is generous). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

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
  const parts = token.split('.');
  if (parts.length === 5) throw invalid('token is encrypted (JWE); this policy accepts signed tokens (JWS) only');
  if (parts.length !== 3) throw invalid(`token has ${parts.length} parts; a JWS has 3`);
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  if (!BASE64URL.test(headerSegment) || !BASE64URL.test(payloadSegment)) throw invalid('token header or payload is not base64url');
  if (signatureSegment !== '' && !BASE64URL.test(signatureSegment)) throw invalid('token signature is not base64url');

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
    signingInput: Buffer.from(`${headerSegment}.${payloadSegment}`, 'latin1'),
    signature: Buffer.from(signatureSegment, 'base64url'),
    alg,
    kid,
  };
}

function parseObject(segment: string, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(Buffer.from(segment, 'base64url')));
  } catch {
    throw invalid(`token ${what} is not UTF-8 JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`token ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * RFC 7515 §4.1.11: a recipient must reject a token whose `crit` names an extension it does not understand.
 * We understand none that is allowed in a JWT: `b64: false` (RFC 7797) is forbidden for JWTs, as jose rules too.
 */
function checkCritical(header: Record<string, unknown>): void {
  if (header.crit !== undefined) {
    const crit = header.crit;
    if (!Array.isArray(crit) || crit.length === 0 || crit.some((c) => typeof c !== 'string' || header[c] === undefined)) {
      throw invalid('token header "crit" is malformed');
    }
    for (const name of crit) {
      if (name !== 'b64') throw invalid(`token header "crit" names an unsupported extension "${name}"`);
    }
    if (header.b64 !== true) throw invalid('unencoded payloads (b64: false) are not allowed in a JWT');
  }
}

function invalid(message: string): AuthzError {
  return new AuthzError('JwtInvalid', message);
}
