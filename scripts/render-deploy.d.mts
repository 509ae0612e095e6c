// Types for scripts/render-deploy.mjs (plain JS so it runs without a build step).
export const SHIPPED_ENVOY: string;
export const DEPLOY_ENVOY: string;
export const POD_SOCKET: string;
export const READY_PORT: number;
export const READY_LISTENER: string;
export const ADMIN_CLUSTER: string;

export function renderDeployEnvoyConfig(shippedText: string, opts?: { socket?: string; readyPort?: number }): string;

export interface RewriteDeployEnvoyOptions {
  listenerPort?: number;
  /** Passed to renderEnvoyConfig (binds the ingress listener to this IP). */
  listenerAddress?: string;
  adminPort?: number;
  readyPort?: number;
  readyAddress?: string;
  upstreamPort?: number;
  upstreamGrpcPort?: number;
  tokengateSocket?: string;
}

export function rewriteDeployEnvoyConfig(text: string, opts: RewriteDeployEnvoyOptions): string;
