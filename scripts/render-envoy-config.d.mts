// Types for scripts/render-envoy-config.mjs (plain JS so it runs without a build step).
export interface RenderEnvoyConfigOptions {
  listenerPort?: number;
  /** IP the ingress listener binds (the shipped file says 0.0.0.0); tests use 127.0.0.1. */
  listenerAddress?: string;
  adminPort?: number;
  /** Mutually exclusive with tokengateSocket. */
  tokengatePort?: number;
  upstreamPort?: number;
  upstreamGrpcPort?: number;
  /** Replace the tokengate endpoint's socket_address with `pipe: { path }` (Unix domain socket). */
  tokengateSocket?: string;
}

export function renderEnvoyConfig(text: string, opts?: RenderEnvoyConfigOptions): string;
