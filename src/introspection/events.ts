/** How a call ended: the answer, or the fault that stood in for one. */
export type IntrospectionResult =
  | 'active'
  | 'inactive'
  | 'timeout'
  | 'network'
  | 'http_status'
  | 'client_auth'
  | 'too_large'
  | 'invalid_json'
  | 'invalid_response'
  | 'discovery';

/** What introspectors report, for metrics and logs; the app wires it to Prometheus (src/introspection/metrics.ts). */
export interface IntrospectionEvents {
  call(endpoint: string, result: IntrospectionResult, seconds: number): void;
  cache(endpoint: string, hit: boolean): void;
  /** A watched secret or key file could not be reloaded; the previous credential stays in use. */
  credentialReloadFailed(endpoint: string, message: string): void;
}

export const NO_EVENTS: IntrospectionEvents = {
  call: () => undefined,
  cache: () => undefined,
  credentialReloadFailed: () => undefined,
};

/** The endpoint as metrics and /readyz name it: origin and path, without a query that might carry anything. */
export function endpointLabel(endpoint: string): string {
  const url = new URL(endpoint);
  return `${url.origin}${url.pathname}`;
}
