// checkClaims on its own: RFC 7519 §4.1.4 (exp), §4.1.5 (nbf), §4.1.6 (iat), §4.1.1 (iss), §4.1.3 (aud),
// RFC 8725 §3.8 (exact issuer) and §3.9 (audience), and APIM validate-jwt's required-claims rules. Policies come from
// YAML through the real compile step (parseConfigText + buildRuntime), so each case is true to what config produces.
import { describe, expect, it } from 'vitest';
import { checkClaims } from '../../src/authz/claims.js';
import type { CompiledPolicy } from '../../src/authz/policy.js';
import { buildRuntime } from '../../src/authz/runtime.js';
import { parseConfigText } from '../../src/config/load.js';
import { AuthzError } from '../../src/errors.js';

const NOW = 1_700_000_000;
const NOW_MS = NOW * 1000;
const ISSUER = 'https://idp.example.com/';
const AUDIENCE = 'api://orders';
/** A 32-byte HMAC secret: any key source will do, claims never look at it. */
const SECRET = Buffer.alloc(32, 7).toString('base64');
const TEMPLATE = 'https://login.microsoftonline.com/{tenantid}/v2.0';
const T1 = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const T2 = 'f8cdef31-a31e-4b4a-93e4-5f571e91255a';
const entra = (tenant: string) => `https://login.microsoftonline.com/${tenant}/v2.0`;

type Rules = Record<string, unknown>;

/** The first policy of a config whose validateJwt section is BASE with `rules` over it (JSON is YAML 1.2 flow). */
function policy(rules: Rules = {}): CompiledPolicy {
  const validateJwt = { issuerSigningKeys: [{ base64: SECRET }], audiences: [AUDIENCE], issuers: [ISSUER], ...rules };
  return compile(`validateJwt: ${JSON.stringify(validateJwt)}`);
}

function compile(section: string): CompiledPolicy {
  return buildRuntime(parseConfigText(`policies:\n  - name: p\n    ${section}\n`)).policies[0]!;
}

/** A payload that passes BASE: right issuer and audience, exp an hour ahead. */
function token(claims: Rules = {}): Rules {
  return { iss: ISSUER, aud: AUDIENCE, exp: NOW + 3600, ...claims };
}

/** 'ok', or the denial as "reason claim". */
function outcome(payload: Rules, p: CompiledPolicy, nowMs = NOW_MS): string {
  try {
    checkClaims(payload, p, nowMs);
    return 'ok';
  } catch (err) {
    if (err instanceof AuthzError) return `${err.reason} ${err.claim}`;
    throw err;
  }
}

describe('exp (RFC 7519 §4.1.4) and nbf (§4.1.5) with clockSkew', () => {
  const strict = policy();
  const skewed = policy({ clockSkew: 30 });

  it('without skew, exp == now is expired and exp a moment later is not', () => {
    expect(outcome(token({ exp: NOW }), strict)).toBe('TokenExpired exp');
    expect(outcome(token({ exp: NOW - 1 }), strict)).toBe('TokenExpired exp');
    expect(outcome(token({ exp: NOW + 0.001 }), strict)).toBe('ok');
    expect(outcome(token({ exp: NOW + 1 }), strict)).toBe('ok');
  });

  it('with clockSkew 30, exp == now - 30 is expired and exp just after it is allowed', () => {
    expect(outcome(token({ exp: NOW - 30 }), skewed)).toBe('TokenExpired exp');
    expect(outcome(token({ exp: NOW - 31 }), skewed)).toBe('TokenExpired exp');
    expect(outcome(token({ exp: NOW - 29.999 }), skewed)).toBe('ok');
    expect(outcome(token({ exp: NOW - 1 }), skewed)).toBe('ok');
  });

  it('nbf up to now + skew is valid; a moment later is TokenNotYetValid', () => {
    expect(outcome(token({ nbf: NOW }), strict)).toBe('ok');
    expect(outcome(token({ nbf: NOW + 0.001 }), strict)).toBe('TokenNotYetValid nbf');
    expect(outcome(token({ nbf: NOW + 30 }), skewed)).toBe('ok');
    expect(outcome(token({ nbf: NOW + 30.001 }), skewed)).toBe('TokenNotYetValid nbf');
  });

  it('a NumericDate that is not a non-negative number is JwtInvalid, never read as absent (fail closed)', () => {
    for (const name of ['exp', 'nbf', 'iat']) {
      for (const value of [String(NOW + 3600), null, -1, true, [NOW + 3600], {}]) {
        expect(outcome(token({ [name]: value }), strict), `${name}: ${JSON.stringify(value)}`).toBe(
          `JwtInvalid ${name}`,
        );
      }
    }
  });

  it('iat alone bounds nothing (§4.1.6 is informational): a future iat passes without maxLifetime', () => {
    expect(outcome(token({ iat: NOW + 86_400 }), strict)).toBe('ok');
  });

  it('the time checks run first: an expired token with a wrong issuer and audience is TokenExpired', () => {
    expect(outcome({ iss: 'https://evil.example/', aud: 'x', exp: NOW - 5 }, strict)).toBe('TokenExpired exp');
  });
});

describe('requireExpirationTime', () => {
  it('defaults to true: a token without exp is JwtInvalid on exp', () => {
    const { exp: _, ...noExp } = token();
    expect(outcome(noExp, policy())).toBe('JwtInvalid exp');
  });

  it('false lets a token without exp through, but a present exp is still checked', () => {
    const lenient = policy({ requireExpirationTime: false });
    const { exp: _, ...noExp } = token();
    expect(outcome(noExp, lenient)).toBe('ok');
    expect(outcome(token({ exp: NOW - 1 }), lenient)).toBe('TokenExpired exp');
  });
});

describe('maxLifetime', () => {
  const capped = policy({ maxLifetime: 3600 });

  it('without iat or nbf the lifetime runs from now: exactly maxLifetime passes, a second more does not', () => {
    expect(outcome(token({ exp: NOW + 3600 }), capped)).toBe('ok');
    expect(outcome(token({ exp: NOW + 3601 }), capped)).toBe('JwtInvalid exp');
  });

  it('runs from a past iat, or from nbf when both are present', () => {
    expect(outcome(token({ iat: NOW - 100, exp: NOW + 3500 }), capped)).toBe('ok');
    expect(outcome(token({ iat: NOW - 100, exp: NOW + 3501 }), capped)).toBe('JwtInvalid exp');
    expect(outcome(token({ iat: NOW - 10_000, nbf: NOW - 100, exp: NOW + 3500 }), capped)).toBe('ok');
  });

  it('a future iat or nbf does not shorten the lifetime: it runs from now at the latest', () => {
    // exp - iat would be 3000 s, within the cap; the token is usable from now, for 4000 s.
    expect(outcome(token({ iat: NOW + 1000, exp: NOW + 4000 }), capped)).toBe('JwtInvalid exp');
    expect(outcome(token({ iat: NOW + 1000, exp: NOW + 3600 }), capped)).toBe('ok');
    const skewed = policy({ maxLifetime: 3600, clockSkew: 2000 });
    expect(outcome(token({ nbf: NOW + 1000, exp: NOW + 4000 }), skewed)).toBe('JwtInvalid exp');
  });

  it('needs exp even when requireExpirationTime is false', () => {
    const { exp: _, ...noExp } = token();
    expect(outcome(noExp, policy({ maxLifetime: 3600, requireExpirationTime: false }))).toBe('JwtInvalid exp');
  });
});

describe('issuers: exact strings (RFC 7519 §4.1.1, RFC 8725 §3.8)', () => {
  const p = policy({ issuers: [ISSUER, 'https://other.example.com'] });

  it('accepts each listed issuer exactly', () => {
    expect(outcome(token({ iss: ISSUER }), p)).toBe('ok');
    expect(outcome(token({ iss: 'https://other.example.com' }), p)).toBe('ok');
  });

  it('a trailing slash, a case change, a prefix or a missing or non-string iss is TokenIssuerNotAllowed', () => {
    const wrong = [
      'https://idp.example.com',
      'HTTPS://IDP.EXAMPLE.COM/',
      'https://idp.example.com/x',
      'https://other.example.com/',
      '',
    ];
    for (const iss of [...wrong, undefined, null, 5, [ISSUER], { iss: ISSUER }]) {
      expect(outcome(token({ iss }), p), JSON.stringify(iss)).toBe('TokenIssuerNotAllowed iss');
    }
  });

  it('issuers: [] accepts any issuer, even none, on purpose', () => {
    const any = policy({ issuers: [] });
    expect(outcome(token({ iss: 'https://anyone.example/' }), any)).toBe('ok');
    expect(outcome(token({ iss: undefined }), any)).toBe('ok');
  });
});

describe("issuer templates: {tenantid} filled by the token's tid", () => {
  const p = policy({ issuers: [TEMPLATE], allowedTenants: [T1, T2] });
  const tenant = (iss: string, tid: unknown) => outcome(token({ iss, tid }), p);

  it("accepts the template filled with the token's own tid", () => {
    expect(tenant(entra(T1), T1)).toBe('ok');
    expect(tenant(entra(T2), T2)).toBe('ok');
  });

  it('compares only the tenant segment without case, in iss or in tid', () => {
    expect(tenant(entra(T1.toUpperCase()), T1)).toBe('ok');
    expect(tenant(entra(T1), T1.toUpperCase())).toBe('ok');
  });

  it('compares prefix and suffix exactly', () => {
    for (const iss of [
      `https://LOGIN.microsoftonline.com/${T1}/v2.0`,
      `http://login.microsoftonline.com/${T1}/v2.0`,
      `https://login.microsoftonline.com/${T1}/V2.0`,
      `https://login.microsoftonline.com/${T1}/v2.0/`,
      `https://login.microsoftonline.com/${T1}/v2`,
      `https://login.microsoftonline.com/x/${T1}/v2.0`,
      `https://login.microsoftonline.com.evil.example/${T1}/v2.0`,
    ]) {
      expect(tenant(iss, T1), iss).toBe('TokenIssuerNotAllowed iss');
    }
  });

  it("a tid other than the issuer's tenant, or no tid, fills nothing", () => {
    expect(tenant(entra(T1), T2)).toBe('TokenIssuerNotAllowed iss');
    expect(tenant(entra(T1), undefined)).toBe('TokenIssuerNotAllowed iss');
  });

  it('a tid that is not a GUID is denied, even when iss is filled with it and allowedTenants is "*"', () => {
    const anyTenant = policy({ issuers: [TEMPLATE], allowedTenants: '*' });
    const bad: unknown[] = ['common', 'organizations', `{${T1}}`, `${T1}x`, '..', 'a/b', 5, null, [T1], { tid: T1 }];
    for (const tid of bad) {
      const iss = typeof tid === 'string' ? entra(tid) : entra(T1);
      expect(outcome(token({ iss, tid }), anyTenant), JSON.stringify(tid)).toBe('TokenIssuerNotAllowed iss');
    }
  });

  it('allowedTenants lists the tenants that may fill the template; "*" lets any GUID in', () => {
    const onlyT1 = policy({ issuers: [TEMPLATE], allowedTenants: [T1] });
    expect(outcome(token({ iss: entra(T1), tid: T1 }), onlyT1)).toBe('ok');
    expect(outcome(token({ iss: entra(T2), tid: T2 }), onlyT1)).toBe('TokenIssuerNotAllowed iss');
    const anyTenant = policy({ issuers: [TEMPLATE], allowedTenants: '*' });
    expect(outcome(token({ iss: entra(T2), tid: T2 }), anyTenant)).toBe('ok');
  });

  it('allowedTenants written in upper case still matches (the config reader lowers it)', () => {
    const upper = policy({ issuers: [TEMPLATE], allowedTenants: [T1.toUpperCase()] });
    expect(outcome(token({ iss: entra(T1), tid: T1 }), upper)).toBe('ok');
  });

  it('the placeholder is recognised in any case, and exact issuers beside it need no tid', () => {
    const mixed = policy({
      issuers: ['https://login.microsoftonline.com/{TenantId}/v2.0', ISSUER],
      allowedTenants: [T1],
    });
    expect(outcome(token({ iss: entra(T1), tid: T1 }), mixed)).toBe('ok');
    expect(outcome(token({ iss: ISSUER }), mixed)).toBe('ok');
    expect(outcome(token({ iss: entra(T2), tid: T2 }), mixed)).toBe('TokenIssuerNotAllowed iss');
  });
});

describe('audiences (RFC 7519 §4.1.3, RFC 8725 §3.9)', () => {
  const p = policy({ audiences: [AUDIENCE, 'api://billing'] });

  it('a string or a list with one allowed audience passes', () => {
    expect(outcome(token({ aud: AUDIENCE }), p)).toBe('ok');
    expect(outcome(token({ aud: ['api://other', 'api://billing'] }), p)).toBe('ok');
  });

  it('no allowed audience, an empty list or no aud is TokenAudienceNotAllowed', () => {
    for (const aud of ['api://other', 'API://ORDERS', `${AUDIENCE}/`, ['api://other'], [], undefined]) {
      expect(outcome(token({ aud }), p), JSON.stringify(aud)).toBe('TokenAudienceNotAllowed aud');
    }
  });

  it('an aud that is neither a string nor a list of strings is JwtInvalid', () => {
    for (const aud of [5, true, null, { aud: AUDIENCE }, [AUDIENCE, 5], [[AUDIENCE]]]) {
      expect(outcome(token({ aud }), p), JSON.stringify(aud)).toBe('JwtInvalid aud');
    }
  });

  it('audiences: [] accepts any audience, or none, on purpose', () => {
    const any = policy({ audiences: [] });
    expect(outcome(token({ aud: 'api://whatever' }), any)).toBe('ok');
    expect(outcome(token({ aud: undefined }), any)).toBe('ok');
  });

  it('audiences: [] still refuses an aud that is neither a string nor a list of strings (RFC 7519 §4.1.3)', () => {
    const any = policy({ audiences: [] });
    expect(outcome(token({ aud: 5 }), any)).toBe('JwtInvalid aud');
    expect(outcome(token({ aud: [AUDIENCE, 5] }), any)).toBe('JwtInvalid aud');
  });
});

describe('clientApplicationIds (validateAzureAdToken): azp, else appid', () => {
  const azure = {
    tenantId: T1,
    clientApplicationIds: ['client-a'],
    backendApplicationIds: ['backend'],
  };
  const p = compile(`validateAzureAdToken: ${JSON.stringify(azure)}`);
  const claims = (extra: Rules) => outcome({ iss: entra(T1), aud: 'backend', exp: NOW + 600, ...extra }, p);

  it('accepts an allowed azp (v2 tokens) or, with no azp, an allowed appid (v1 tokens)', () => {
    expect(claims({ azp: 'client-a' })).toBe('ok');
    expect(claims({ appid: 'client-a' })).toBe('ok');
  });

  it('azp is read first: a wrong azp is denied even beside an allowed appid', () => {
    expect(claims({ azp: 'client-b', appid: 'client-a' })).toBe('TokenClaimValueNotAllowed azp');
  });

  it('neither claim, or another client, is TokenClaimValueNotAllowed on azp', () => {
    expect(claims({})).toBe('TokenClaimValueNotAllowed azp');
    expect(claims({ appid: 'client-b' })).toBe('TokenClaimValueNotAllowed azp');
    expect(claims({ azp: 'CLIENT-A' })).toBe('TokenClaimValueNotAllowed azp');
    expect(claims({ azp: ['client-a'] })).toBe('TokenClaimValueNotAllowed azp');
  });

  it('a non-string azp is no client id and never falls back to an allowed appid', () => {
    expect(claims({ azp: ['client-a'], appid: 'client-a' })).toBe('TokenClaimValueNotAllowed azp');
    expect(claims({ azp: null, appid: 'client-a' })).toBe('TokenClaimValueNotAllowed azp');
  });
});

describe('requiredClaims', () => {
  const rule = (r: Rules) => policy({ requiredClaims: [r] });

  it('match all (the default) needs every value; match any needs one', () => {
    const all = rule({ name: 'roles', values: ['admin', 'reader'] });
    expect(outcome(token({ roles: ['reader', 'x', 'admin'] }), all)).toBe('ok');
    expect(outcome(token({ roles: ['admin'] }), all)).toBe('TokenClaimValueNotAllowed roles');
    const any = rule({ name: 'roles', match: 'any', values: ['admin', 'reader'] });
    expect(outcome(token({ roles: ['reader'] }), any)).toBe('ok');
    expect(outcome(token({ roles: ['writer'] }), any)).toBe('TokenClaimValueNotAllowed roles');
    expect(outcome(token({ roles: [] }), any)).toBe('TokenClaimValueNotAllowed roles');
  });

  it('a string is one value unless a separator is set; empty pieces are dropped', () => {
    const whole = rule({ name: 'scp', values: ['write'] });
    expect(outcome(token({ scp: 'read write' }), whole)).toBe('TokenClaimValueNotAllowed scp');
    expect(outcome(token({ scp: 'write' }), whole)).toBe('ok');
    const split = rule({ name: 'scp', separator: ' ', values: ['read', 'write'] });
    expect(outcome(token({ scp: 'read write' }), split)).toBe('ok');
    expect(outcome(token({ scp: '  write   read ' }), split)).toBe('ok');
    expect(outcome(token({ scp: 'readwrite' }), split)).toBe('TokenClaimValueNotAllowed scp');
    const comma = rule({ name: 'groups', separator: ',', values: ['b'] });
    expect(outcome(token({ groups: 'a,b' }), comma)).toBe('ok');
    expect(outcome(token({ groups: 'a, b' }), comma)).toBe('TokenClaimValueNotAllowed groups');
  });

  it('list items are not split by the separator', () => {
    const split = rule({ name: 'scp', separator: ' ', values: ['read'] });
    expect(outcome(token({ scp: ['read write'] }), split)).toBe('TokenClaimValueNotAllowed scp');
  });

  it('numbers and booleans compare as text, alone or in a list; objects in a list are ignored', () => {
    const level = rule({ name: 'level', values: [3] });
    expect(outcome(token({ level: 3 }), level)).toBe('ok');
    expect(outcome(token({ level: '3' }), level)).toBe('ok');
    expect(outcome(token({ level: [1, 3] }), level)).toBe('ok');
    expect(outcome(token({ level: 4 }), level)).toBe('TokenClaimValueNotAllowed level');
    const verified = rule({ name: 'email_verified', values: [true] });
    expect(outcome(token({ email_verified: true }), verified)).toBe('ok');
    expect(outcome(token({ email_verified: false }), verified)).toBe('TokenClaimValueNotAllowed email_verified');
    const admin = rule({ name: 'roles', values: ['admin'] });
    expect(outcome(token({ roles: [{ name: 'admin' }, 'admin'] }), admin)).toBe('ok');
    expect(outcome(token({ roles: [{ name: 'admin' }] }), admin)).toBe('TokenClaimValueNotAllowed roles');
    expect(outcome(token({ roles: { admin: true } }), admin)).toBe('TokenClaimValueNotAllowed roles');
  });

  it('a missing or null claim is TokenClaimNotFound; with no values, presence is enough', () => {
    const present = rule({ name: 'sub' });
    expect(outcome(token({ sub: 'alice' }), present)).toBe('ok');
    expect(outcome(token({ sub: { any: 'shape' } }), present)).toBe('ok');
    expect(outcome(token(), present)).toBe('TokenClaimNotFound sub');
    expect(outcome(token({ sub: null }), present)).toBe('TokenClaimNotFound sub');
    expect(outcome(token(), rule({ name: 'roles', values: ['admin'] }))).toBe('TokenClaimNotFound roles');
  });

  it('a claim named like an Object.prototype member is not satisfied by the prototype', () => {
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect(outcome(token(), rule({ name })), name).toBe(`TokenClaimNotFound ${name}`);
    }
    expect(outcome(token({ constructor: 'x' }), rule({ name: 'constructor', values: ['x'] }))).toBe('ok');
  });

  it('a rule on aud fails as TokenAudienceNotAllowed, also when aud is missing', () => {
    // The reader lets an aud rule stand in for the audiences list (undefined: JSON.stringify leaves the key out).
    const p = policy({ audiences: undefined, requiredClaims: [{ name: 'aud', values: ['api://x'] }] });
    expect(outcome(token({ aud: ['api://x', 'api://y'] }), p)).toBe('ok');
    expect(outcome(token({ aud: 'api://y' }), p)).toBe('TokenAudienceNotAllowed aud');
    expect(outcome(token({ aud: undefined }), p)).toBe('TokenAudienceNotAllowed aud');
  });

  it('rules are checked in order, after iss and aud: the first failing one is reported', () => {
    const p = policy({ requiredClaims: [{ name: 'a', values: ['1'] }, { name: 'b' }] });
    expect(outcome(token({ b: 'x' }), p)).toBe('TokenClaimNotFound a');
    expect(outcome(token({ a: '1' }), p)).toBe('TokenClaimNotFound b');
    expect(outcome(token({ aud: 'api://other' }), p)).toBe('TokenAudienceNotAllowed aud');
  });
});
