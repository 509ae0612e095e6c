// The dev issuer's public shape: options, hooks, and what a running issuer offers.
import type { KeyObject } from 'node:crypto';
import type { IssuerFault } from './responses.js';

export type { IssuerFault } from './responses.js';

export interface DevIssuerOptions {
  host?: string;
  port?: number;
  allowNonLoopback?: boolean;
  algorithms?: string[];
  issuerPath?: string;
  defaultAudience?: string;
  cacheMaxAge?: number;
  hooks?: DevIssuerHooks;
}

/** Calls the issuer makes as things happen; each runs synchronously, so its clock reading is exact. */
export interface DevIssuerHooks {
  /** A key entered the key ring (generated or imported), before any JWKS response can list it. */
  keyAdded?(key: { kid: string; alg: string; privateKey: KeyObject; at: number }): void;
  /** A JWKS document is about to be written (no fault took the request), listing `kids`. */
  jwksServed?(served: { kids: string[]; at: number }): void;
  /** Asked for each request before the faults of setFault: a fault for this request alone, or undefined. */
  fault?(route: Route): IssuerFault | undefined;
}

export interface DevIssuer {
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly jwksUri: string;
  readonly tokenEndpoint: string;
  readonly port: number;
  readonly hits: { discovery: number; jwks: number; token: number };
  keys(): { kid: string; alg: string }[];
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
  addKey(alg: string, kid?: string): Promise<string>;
  /** Publishes an existing private key (PKCS#8 PEM), e.g. one whose tokens were signed beforehand. */
  importKey(alg: string, pem: string, kid?: string): Promise<string>;
  removeKey(kid: string): void;
  setFault(fault: IssuerFault | undefined, route?: FaultRoute): void;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface SignOptions {
  alg?: string;
  kid?: string | null;
  header?: Record<string, unknown>;
  expiresIn?: number;
  noDefaults?: boolean;
}

export type Route = 'discovery' | 'jwks' | 'token';
export type FaultRoute = Route | 'all';
