/**
 * Whether any token Entra issues can pass a policy's issuers and audiences together. Entra's access tokens come in
 * two versions (Microsoft identity platform, "Access tokens"), and each has one `iss` and a single-string `aud`:
 * - v2.0: `iss` `https://login.microsoftonline.com/{tenant}/v2.0` (per cloud), `aud` the API's client id, a GUID;
 * - v1.0: `iss` `https://sts.windows.net/{tenant}/` (per cloud), `aud` whatever resource the client asked for, the
 *   Application ID URI or the client id.
 * A policy whose issuers allow only one version and whose audiences only the other's `aud` validates, loads its keys,
 * and denies every token: the import says so. Policies with any non-Entra issuer are not judged.
 */
import { ENTRA_V1_ISSUER_ORIGINS } from '../net/discovery_url.js';
import type { Reporter } from './diagnostics.js';
import type { ClaimRule } from './map_common.js';
import { isGuid } from './values.js';

const V2_ISSUER = /^https:\/\/login\.(?:microsoftonline\.(?:com|us)|partner\.microsoftonline\.cn)\/[^/]+\/v2\.0$/;

type Version = 'v1' | 'v2';

function versionOf(issuer: string): Version | undefined {
  if (V2_ISSUER.test(issuer)) return 'v2';
  const m = /^(https:\/\/[^/]+)\/[^/]+\/$/.exec(issuer);
  return m && ENTRA_V1_ISSUER_ORIGINS.has(m[1]!) ? 'v1' : undefined;
}

/**
 * `issuers`: the policy's accepted issuers (or those its documents name); `audiences`: empty for any. Placeholders
 * (`<unmappable ...>`) are skipped: they are reported already.
 */
export function checkTokenVersions(
  report: Reporter,
  line: number,
  issuers: readonly string[],
  audiences: readonly string[],
  claims: readonly ClaimRule[],
): void {
  const real = issuers.filter((i) => !i.startsWith('<unmappable'));
  const versions = real.map(versionOf);
  if (real.length === 0 || versions.some((v) => v === undefined)) return;
  const auds = acceptedAud(
    audiences.filter((a) => !a.startsWith('<unmappable')),
    claims,
  );
  if (auds !== 'any' && auds.length === 0) {
    report.warn(
      line,
      '<validate-jwt>',
      'no single aud value passes both <audiences> and the required claim "aud", and Entra issues aud as one string: ' +
        'no token passes; keep one audience, the one your tokens carry (v2.0: the client id; v1.0: the resource ' +
        'requested)',
    );
    return;
  }
  const has = new Set(versions as Version[]);
  // A v2.0 aud is a client id: a GUID, or a stand-in for one (BACKEND_APP_CLIENT_ID); an Application ID URI has a
  // scheme.
  const v2 = has.has('v2') && (auds === 'any' || auds.some((a) => isGuid(a) || !a.includes(':')));
  const v1 = has.has('v1');
  if (v1 || v2) return;
  const shown = (auds as string[]).join(', ');
  report.warn(
    line,
    '<validate-jwt>',
    `the issuers accept only Entra v2.0 tokens, whose aud is the API's client id (a GUID), and the audiences ` +
      `accept only ${shown}: ` +
      'no token Entra issues passes; put the client id in <audiences>, or (for v1.0 tokens, whose aud is the ' +
      'resource ' +
      'requested) accept the v1 issuer https://sts.windows.net/{tenant}/ and its document',
  );
}

/** The aud values a single-string aud may have: `audiences` (or any) narrowed by every required claim on aud. */
function acceptedAud(audiences: readonly string[], claims: readonly ClaimRule[]): string[] | 'any' {
  let accepted: string[] | 'any' = audiences.length > 0 ? [...audiences] : 'any';
  for (const rule of claims.filter((c) => c.name === 'aud')) {
    const values = new Set(rule.values);
    // match all over several values needs aud to hold them all, which one string cannot (without a separator).
    const single = rule.match === 'any' || values.size <= 1 || rule.separator !== undefined ? [...values] : [];
    if (values.size === 0) continue;
    accepted = accepted === 'any' ? single : accepted.filter((a) => single.includes(a));
  }
  return accepted;
}
