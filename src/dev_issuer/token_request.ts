// Parsing of dev issuer token requests. There is deliberately no client
// authentication: anyone who can reach the loopback port can mint tokens.
import type { IncomingMessage } from 'node:http';

const MAX_BODY_BYTES = 64 * 1024;

export class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenRequest {
  claims: Record<string, unknown>;
  alg?: string;
  expiresIn?: number;
}

export async function readTokenParams(req: IncomingMessage, query: string): Promise<Record<string, unknown>> {
  if (req.method === 'GET') return Object.fromEntries(new URLSearchParams(query));
  const body = await readBody(req);
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new TokenRequestError(400, 'request body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new TokenRequestError(400, 'JSON request body must be an object');
    }
    return parsed as Record<string, unknown>;
  }
  // curl -d sends form encoding; accept a missing content type the same way.
  if (contentType === '' || contentType === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(body));
  }
  throw new TokenRequestError(415, `unsupported content type "${contentType}"`);
}

export function parseTokenRequest(params: Record<string, unknown>, publishedAlgs: readonly string[]): TokenRequest {
  const request: TokenRequest = { claims: {} };
  const sub = optionalString(params, 'sub');
  if (sub !== undefined) request.claims['sub'] = sub;
  const aud = optionalString(params, 'aud');
  if (aud !== undefined) request.claims['aud'] = aud;

  // Microsoft Entra puts delegated scopes into `scp` as one space-separated string.
  const scope = optionalString(params, 'scope');
  const scopes = scope?.split(/\s+/).filter(Boolean) ?? [];
  if (scopes.length > 0) request.claims['scp'] = scopes.join(' ');

  const roles = parseRoles(params['roles']);
  if (roles.length > 0) request.claims['roles'] = roles;

  const expiresIn = params['expires_in'];
  if (expiresIn !== undefined && expiresIn !== '') {
    const seconds = Number(expiresIn);
    if (!Number.isSafeInteger(seconds) || seconds <= 0) {
      throw new TokenRequestError(400, 'expires_in must be a positive integer number of seconds');
    }
    request.expiresIn = seconds;
  }

  const alg = optionalString(params, 'alg');
  if (alg !== undefined) {
    if (!publishedAlgs.includes(alg)) {
      throw new TokenRequestError(400, `no published key for alg "${alg}" (available: ${publishedAlgs.join(', ')})`);
    }
    request.alg = alg;
  }
  return request;
}

function optionalString(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new TokenRequestError(400, `${name} must be a string`);
  return value;
}

function parseRoles(value: unknown): string[] {
  if (value === undefined) return [];
  // JSON callers may already have an array; form callers send "a,b,c".
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items || items.some((r) => typeof r !== 'string')) {
    throw new TokenRequestError(400, 'roles must be a comma-separated string or an array of strings');
  }
  return (items as string[]).map((r) => r.trim()).filter(Boolean);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Keep draining past the limit so the 413 can still be delivered on this connection.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) reject(new TokenRequestError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}
