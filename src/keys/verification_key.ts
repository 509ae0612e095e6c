import type { KeyObject } from 'node:crypto';
import { jwsAlgorithm, type KeyType } from '../jwt/algorithms.js';
import { issuerTemplate, tenantOf } from '../jwt/issuer_pattern.js';
import { isTenantId } from '../jwt/tenant_id.js';
import { ENTRA_V1_ISSUER_ORIGINS } from '../net/discovery_url.js';

export type { KeyType };

/** A key ready to verify signatures: imported once when it is loaded, never per request. */
export interface VerificationKey {
  readonly kid: string | undefined;
  /** The JWK's `alg`, when the publisher pinned one: the token's `alg` must then equal it. */
  readonly alg: string | undefined;
  readonly type: KeyType;
  readonly key: KeyObject;
  /**
   * The JWK's `issuer` member, which Entra's multi-tenant JWKS carry
   * (`https://login.microsoftonline.com/{tenantid}/v2.0`):
   * the key signs only for that issuer, its template filled with the token's `tid`.
   */
  readonly issuer?: string | undefined;
}

/** Whether `key` may verify `alg`: the key's family (JWS_ALGORITHMS), and the JWK's own `alg` when it pins one. */
export function keyFitsAlgorithm(key: VerificationKey, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  return jwsAlgorithm(alg)?.keyTypes.includes(key.type) ?? false;
}

/**
 * Microsoft's multi-tenant guidance: a key that names an `issuer` (Entra's JWKS do) verifies only tokens of that
 * issuer, `{tenantid}` replaced by the token's `tid`. Entra signs a tenant's v1 and v2 tokens with the same keys, so
 * a v1 token of the same tenant (`https://sts.windows.net/{tid}/`, or its cloud's v1 host) fits a v2 key issuer too.
 * Keys without the member pass.
 */
export function keyIssuerFits(key: VerificationKey, payload: Readonly<Record<string, unknown>>): boolean {
  if (key.issuer === undefined) return true;
  const iss = payload.iss;
  if (typeof iss !== 'string') return false;
  const template = issuerTemplate(key.issuer);
  let tenant: string | undefined;
  if (template) {
    const tid = payload.tid;
    if (typeof tid !== 'string' || !isTenantId(tid)) return false;
    if (tenantOf(template, iss)?.toLowerCase() === tid.toLowerCase()) return true;
    tenant = tid;
  } else {
    if (iss === key.issuer) return true;
    tenant = key.issuer.split('/').find((segment) => isTenantId(segment));
  }
  return tenant !== undefined && isEntraV1Issuer(iss, tenant);
}

function isEntraV1Issuer(iss: string, tenant: string): boolean {
  const match = /^(https:\/\/[^/]+)\/([^/]+)\/$/.exec(iss);
  return match !== null && ENTRA_V1_ISSUER_ORIGINS.has(match[1]!) && match[2]!.toLowerCase() === tenant.toLowerCase();
}
