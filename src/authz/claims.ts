import { AuthzError } from '../errors.js';
import { tenantOf, type IssuerTemplate } from '../jwt/issuer_pattern.js';
import { isTenantId } from '../jwt/tenant_id.js';
import type { CompiledClaimRule, CompiledPolicy } from './policy.js';
import type { Trace } from './trace.js';

type Payload = Readonly<Record<string, unknown>>;

/** Time, issuer, audience and required-claim rules, in validate-jwt's order. Throws AuthzError on the first failure. */
export function checkClaims(payload: Payload, policy: CompiledPolicy, nowMs: number, trace?: Trace): void {
  checkTimes(payload, policy, nowMs / 1000, trace);
  checkIssuer(payload, policy, trace);
  checkAudience(payload, policy, trace);
  checkClientApplication(payload, policy, trace);
  for (const rule of policy.requiredClaims) checkRequiredClaim(payload, rule, trace);
}

function numericDate(payload: Payload, name: 'exp' | 'nbf' | 'iat'): number | undefined {
  const value = Object.hasOwn(payload, name) ? payload[name] : undefined;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new AuthzError('JwtInvalid', `claim ${name} must be a non-negative number (NumericDate)`, { claim: name });
  }
  return value;
}

function checkTimes(payload: Payload, policy: CompiledPolicy, now: number, trace?: Trace): void {
  const skew = policy.clockSkewSeconds;
  const exp = numericDate(payload, 'exp');
  const nbf = numericDate(payload, 'nbf');
  const iat = numericDate(payload, 'iat');
  // Formatted only for a message or a trace: a passing check on the hot path builds no strings.
  const skewNote = () => `now ${Math.floor(now)}, clock skew ${skew}s`;
  if (exp === undefined) {
    if (policy.requireExpirationTime)
      throw new AuthzError('JwtInvalid', 'token has no exp and the policy requires one', { claim: 'exp' });
    trace?.({ step: 'exp', ok: true, detail: 'absent, allowed (requireExpirationTime: false)' });
  } else {
    if (exp <= now - skew)
      throw new AuthzError('TokenExpired', `token expired at ${exp} (${skewNote()})`, { claim: 'exp' });
    trace?.({ step: 'exp', ok: true, detail: `${exp}, expires in ${Math.round(exp - now)}s (${skewNote()})` });
  }
  if (nbf !== undefined) {
    if (nbf > now + skew)
      throw new AuthzError('TokenNotYetValid', `token not valid before ${nbf} (${skewNote()})`, { claim: 'nbf' });
    trace?.({ step: 'nbf', ok: true, detail: `${nbf} (${skewNote()})` });
  }
  if (iat !== undefined) trace?.({ step: 'iat', ok: true, detail: `${iat}` });
  const maxLifetime = policy.maxLifetimeSeconds;
  if (maxLifetime !== undefined) {
    if (exp === undefined) throw new AuthzError('JwtInvalid', 'maxLifetime needs an exp claim', { claim: 'exp' });
    // The token is usable from now at the latest, whatever iat/nbf claim: a future iat must not shorten the lifetime.
    const lifetime = exp - Math.min(nbf ?? iat ?? now, now);
    if (lifetime > maxLifetime) {
      throw new AuthzError(
        'JwtInvalid',
        `token lifetime ${Math.round(lifetime)}s exceeds maxLifetime ${maxLifetime}s`,
        { claim: 'exp' },
      );
    }
  }
}

export function checkIssuer(payload: Payload, policy: CompiledPolicy, trace?: Trace): void {
  const accepted = policy.acceptedIssuers();
  if (!accepted) {
    trace?.({ step: 'iss', ok: true, detail: 'any issuer (issuers: [])' });
    return;
  }
  const iss = payload.iss;
  if (typeof iss === 'string' && accepted.exact.has(iss)) {
    trace?.({ step: 'iss', ok: true, detail: `${iss} is allowed` });
    return;
  }
  if (typeof iss === 'string' && accepted.templates.length > 0) {
    const tenant = tenantIssuer(iss, payload.tid, policy, accepted.templates);
    if (tenant) {
      const { template: t, tid } = tenant;
      trace?.({ step: 'iss', ok: true, detail: `${iss} matches ${t.prefix}{tenantid}${t.suffix} with tid ${tid}` });
      return;
    }
  }
  const allowed = [...accepted.exact, ...accepted.templates.map((t) => `${t.prefix}{tenantid}${t.suffix}`)];
  throw new AuthzError(
    'TokenIssuerNotAllowed',
    `issuer ${JSON.stringify(iss ?? null)} is not one of [${allowed.join(', ')}]`,
    { claim: 'iss' },
  );
}

interface TenantIssuer {
  readonly template: IssuerTemplate;
  /** Lower case. */
  readonly tid: string;
}

/**
 * The `{tenantid}` template `iss` fills with the token's `tid`, if any. Prefix and suffix compare exactly, as a plain
 * issuer does (RFC 8725 §3.8: the issuer is an exact string); only the tenant segment compares without case, since
 * Entra GUIDs appear in either case. A `tid` that is not a GUID is no tenant at all (`a/b` or `..` would turn the
 * template into another issuer's URL), and is denied whatever allowedTenants says.
 */
function tenantIssuer(
  iss: string,
  tid: unknown,
  policy: CompiledPolicy,
  templates: readonly IssuerTemplate[],
): TenantIssuer | undefined {
  if (tid === undefined) return undefined;
  if (typeof tid !== 'string' || !isTenantId(tid)) {
    const type = Array.isArray(tid) ? 'array' : typeof tid;
    const shown = typeof tid === 'string' ? JSON.stringify(tid) : `of type ${type}`;
    const detail = `tid ${shown} is not a tenant id (a GUID), so it fills no issuer template`;
    throw new AuthzError('TokenIssuerNotAllowed', detail, { claim: 'iss' });
  }
  const lower = tid.toLowerCase();
  const template = templates.find((t) => tenantOf(t, iss)?.toLowerCase() === lower);
  if (!template) return undefined;
  if (policy.allowedTenants && !policy.allowedTenants.has(lower)) {
    throw new AuthzError('TokenIssuerNotAllowed', `tenant ${lower} is not in allowedTenants`, { claim: 'iss' });
  }
  return { template, tid: lower };
}

/** validate-azure-ad-token's client application check: `azp` in v2 tokens, `appid` in v1 tokens. */
function checkClientApplication(payload: Payload, policy: CompiledPolicy, trace?: Trace): void {
  if (!policy.clientApplicationIds) return;
  // azp when the token has one (v2), else appid (v1): a non-string azp is no client id and never falls back to appid.
  const named = Object.hasOwn(payload, 'azp') ? payload.azp : payload.appid;
  const client = typeof named === 'string' ? named : undefined;
  if (client === undefined || !policy.clientApplicationIds.has(client)) {
    throw new AuthzError(
      'TokenClaimValueNotAllowed',
      `client application ${JSON.stringify(client ?? null)} (azp/appid) is not one of ` +
        `[${[...policy.clientApplicationIds].join(', ')}]`,
      { claim: 'azp' },
    );
  }
  trace?.({ step: 'claim azp', ok: true, detail: `client application ${client} is allowed` });
}

function audienceValues(payload: Payload): string[] | undefined {
  const aud = payload.aud;
  if (aud === undefined) return undefined;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return aud as string[];
  throw new AuthzError('JwtInvalid', 'claim aud must be a string or a list of strings', { claim: 'aud' });
}

function checkAudience(payload: Payload, policy: CompiledPolicy, trace?: Trace): void {
  // RFC 7519 §4.1.3: aud is a string or an array of strings; a malformed one is refused even when any audience goes.
  const auds = audienceValues(payload) ?? [];
  if (policy.audiences.size === 0) return;
  if (!auds.some((a) => policy.audiences.has(a))) {
    throw new AuthzError(
      'TokenAudienceNotAllowed',
      `audience [${auds.join(', ')}] is not one of [${[...policy.audiences].join(', ')}]`,
      { claim: 'aud' },
    );
  }
  trace?.({ step: 'aud', ok: true, detail: `[${auds.join(', ')}] includes an allowed audience` });
}

/** A claim's values: a string (split by the separator when one is set), or a list; numbers and booleans as text. */
function claimValues(value: unknown, separator: string | undefined): string[] | undefined {
  if (typeof value === 'string')
    return separator === undefined ? [value] : value.split(separator).filter((v) => v !== '');
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) {
    return value.flatMap((v) =>
      typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? [String(v)] : [],
    );
  }
  return undefined;
}

function checkRequiredClaim(payload: Payload, rule: CompiledClaimRule, trace?: Trace): void {
  const isAudience = rule.name === 'aud';
  // The path reads own properties only: a rule on "constructor" must not be satisfied by Object.prototype.
  const raw = rule.path.read(payload);
  if (raw === undefined || raw === null) {
    throw new AuthzError(
      isAudience ? 'TokenAudienceNotAllowed' : 'TokenClaimNotFound',
      `required claim ${rule.name} is missing`,
      { claim: rule.name },
    );
  }
  const seen = claimValues(raw, rule.separator);
  if (rule.values.length === 0) {
    trace?.({ step: `claim ${rule.name}`, ok: true, detail: 'present' });
    return;
  }
  const has = new Set(seen ?? []);
  const ok = rule.match === 'all' ? rule.values.every((v) => has.has(v)) : rule.values.some((v) => has.has(v));
  const detail = () => `needs ${rule.match} of [${rule.values.join(', ')}], token has [${[...has].join(', ')}]`;
  if (!ok) {
    throw new AuthzError(
      isAudience ? 'TokenAudienceNotAllowed' : 'TokenClaimValueNotAllowed',
      `claim ${rule.name}: ${detail()}`,
      { claim: rule.name },
    );
  }
  trace?.({ step: `claim ${rule.name}`, ok: true, detail: detail() });
}
