// The dev issuer's answers: JSON documents, method errors, and the faults a test or the soak injects.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export type IssuerFault =
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'delay'; ms: number }
  | { kind: 'body'; body: string; contentType?: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'hang' };

export function validateFault(fault: IssuerFault): void {
  if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 200 && fault.status <= 599)) {
    throw new Error(`dev issuer: fault status must be an integer in 200..599, got ${fault.status}`);
  }
  if (fault.kind === 'delay' && !(Number.isFinite(fault.ms) && fault.ms >= 0)) {
    throw new Error(`dev issuer: fault delay must be a non-negative number of ms, got ${fault.ms}`);
  }
}

export function applyFault(fault: Exclude<IssuerFault, { kind: 'delay' }>, res: ServerResponse): void {
  const noStore = { 'cache-control': 'no-store' };
  switch (fault.kind) {
    case 'status':
      if (fault.body === undefined) sendJson(res, fault.status, { error: 'injected_fault' }, 'no-store');
      else send(res, fault.status, fault.body, { 'content-type': 'text/plain; charset=utf-8', ...noStore });
      return;
    case 'body':
      send(res, 200, fault.body, { 'content-type': fault.contentType ?? 'application/json', ...noStore });
      return;
    case 'redirect':
      send(res, 302, '', { location: fault.location, ...noStore });
      return;
    case 'hang':
      // Leave the request open; stop()/close() destroy the socket.
      return;
  }
}

export function sendMethodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendJson(res, 405, { error: 'method_not_allowed' }, 'no-store');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, cacheControl: string): void {
  send(res, status, JSON.stringify(body), { 'content-type': 'application/json', 'cache-control': cacheControl });
}

function send(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders): void {
  // The client may be gone (stop() mid-delay), or a failure hit after headers went out.
  if (res.destroyed) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
