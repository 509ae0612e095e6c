// What the importer writes where APIM left a check out (said in a warning), and what it cannot map (a gap at its
// line; with --allow-partial, filled so that the policy fails closed).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { importApimPolicy, formatDiagnostic, type ImportResult } from '../../src/apim/import_apim.js';
import { parseConfigText } from '../../src/config/load.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'apim');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

function importXml(xml: string, options: { name?: string; allowPartial?: boolean } = {}): ImportResult {
  return importApimPolicy(xml, { source: 'policy.xml', name: options.name ?? 'api', allowPartial: options.allowPartial });
}

/** The stderr lines of a result, as the command prints them. */
function lines(result: ImportResult): string[] {
  return result.diagnostics.map((d) => formatDiagnostic(d, 'policy.xml'));
}

/** The body (validateJwt or validateAzureAdToken) of each imported policy, read back from the YAML text. */
function bodies(result: ImportResult): Record<string, unknown>[] {
  expect(result.yaml, lines(result).join('\n')).toBeDefined();
  const doc = parseYaml(result.yaml!) as { policies: Record<string, unknown>[] };
  return doc.policies.map((p) => (p.validateJwt ?? p.validateAzureAdToken) as Record<string, unknown>);
}

// --- Mappings with a note ------------------------------------------------------------------------------------------

describe('what APIM leaves unchecked stays unchecked, said out loud', () => {
  it('no <audiences> and no <issuers> (and no openid-config): audiences: [] and issuers: [] with a warning each', () => {
    const result = importXml('<validate-jwt header-name="Authorization">\n<issuer-signing-keys><key>k/9yGJ8romhH9efOXboQvJG71JAQ0xArjZGqAcQdB84=</key></issuer-signing-keys>\n</validate-jwt>');
    expect(result.exitCode).toBe(0);
    expect(bodies(result)[0]).toMatchObject({ audiences: [], issuers: [] });
    expect(lines(result)).toEqual([
      'policy.xml:1: warning: <validate-jwt>: no <audiences>: the original policy did not check the token\'s audience, so the import keeps that with `audiences: []` (any audience); add your API\'s audience',
      'policy.xml:1: warning: <validate-jwt>: no <issuers> and no <openid-config>: the original policy did not check the token\'s issuer, so the import keeps that with `issuers: []` (any issuer); add your issuer',
    ]);
    expect(() => parseConfigText(result.yaml!)).not.toThrow();
  });

  it('no <issuers> with an openid-config: the document\'s issuer is checked, as in APIM; no warning', () => {
    const result = importXml(fixture('validate-jwt-query.xml'));
    expect(bodies(result)[0]).not.toHaveProperty('issuers');
    expect(lines(result)).toEqual([]);
  });

  it('no <audiences> but a required claim "aud": audiences: [] beside it, and a note', () => {
    const result = importXml('<validate-jwt header-name="Authorization"><openid-config url="https://idp.example.com/.well-known/openid-configuration" /><required-claims><claim name="aud"><value>api://a</value></claim></required-claims></validate-jwt>');
    expect(bodies(result)[0]).toMatchObject({ audiences: [], requiredClaims: [{ name: 'aud', values: ['api://a'] }] });
    expect(lines(result)).toEqual([
      'policy.xml:1: warning: <validate-jwt>: no <audiences>: the audience is checked only by the required claim "aud", as in APIM; wrote `audiences: []` beside it',
    ]);
  });

  it('require-scheme on a custom header is not carried over, since APIM ignores it there', () => {
    const result = importXml('<validate-jwt header-name="X-Token"\n  require-scheme="Bearer"><openid-config url="https://idp.example.com/.well-known/openid-configuration" /><audiences><audience>a</audience></audiences></validate-jwt>');
    expect(bodies(result)[0]).toEqual({ headerName: 'X-Token', openidConfig: [{ url: 'https://idp.example.com/.well-known/openid-configuration' }], audiences: ['a'] });
    expect(lines(result)).toEqual([
      'policy.xml:2: warning: <validate-jwt require-scheme>: APIM ignores require-scheme unless the token is in the Authorization header, so it is not carried over (tokengate would enforce it)',
    ]);
  });

  it('an Entra v1 discovery URL gets the issuer its document names (test/apim/import_discovery.test.ts has the rest)', () => {
    const tenant = '11111111-2222-3333-4444-555555555555';
    const v1 = importXml(`<validate-jwt header-name="Authorization"><openid-config url="https://login.microsoftonline.com/${tenant}/.well-known/openid-configuration" /><audiences><audience>api://a</audience></audiences></validate-jwt>`);
    expect(bodies(v1)[0]!.openidConfig).toEqual([
      { url: `https://login.microsoftonline.com/${tenant}/.well-known/openid-configuration`, issuer: `https://sts.windows.net/${tenant}/` },
    ]);
    expect(lines(v1)).toEqual([]);
  });

  it('openid-config validate-connectivity is not needed: tokengate checks its key sources at start', () => {
    const result = importXml('<validate-jwt header-name="Authorization">\n<openid-config url="https://idp.example.com/.well-known/openid-configuration" validate-connectivity="true" />\n<audiences><audience>a</audience></audiences></validate-jwt>');
    expect(result.exitCode).toBe(0);
    expect(bodies(result)[0]!.openidConfig).toEqual([{ url: 'https://idp.example.com/.well-known/openid-configuration' }]);
    expect(lines(result)).toEqual([
      'policy.xml:2: warning: <openid-config validate-connectivity>: not needed: tokengate fetches every openidConfig at start and is not ready (/readyz, gRPC health) until it has keys',
    ]);
  });

  it('a DOCTYPE is refused', () => {
    const result = importXml('<!DOCTYPE x [<!ENTITY a "aaaa">]>\n<validate-jwt header-name="&a;" />');
    expect(result.exitCode).toBe(1);
    expect(lines(result)).toEqual(['policy.xml:1: not well-formed XML: a DOCTYPE is not part of an APIM policy']);
  });

  it('clock-skew as a TimeSpan, booleans in any case', () => {
    const result = importXml('<validate-jwt header-name="Authorization" clock-skew="00:02:30" require-expiration-time="False"><openid-config url="https://idp.example.com/.well-known/openid-configuration" /><audiences><audience>a</audience></audiences></validate-jwt>');
    expect(bodies(result)[0]).toMatchObject({ clockSkew: 150, requireExpirationTime: false });
  });
});

// --- Unmappable pieces -----------------------------------------------------------------------------------------------

describe('unmappable pieces', () => {
  it('are each reported with their line, and nothing is printed (exit 2)', () => {
    const result = importXml(fixture('unmappable.xml'));
    expect(result.exitCode).toBe(2);
    expect(result.yaml).toBeUndefined();
    expect(lines(result)).toEqual([
      'policy.xml:4: <validate-jwt token-value>: policy expression @(context.Request.Headers.GetValueOrDefault("Authorization", "").Split(\' \').L... cannot be evaluated: tokengate has no policy expressions; only a plain header, query parameter or cookie read (context.Request.Headers/Url.Query/Cookies.GetValueOrDefault("name")) maps, to headerName, queryParameterName or cookieName',
      'policy.xml:5: <validate-jwt clock-skew>: named value {{jwt-clock-skew}} has no value: give it with --named-value "jwt-clock-skew=VALUE" or --named-values FILE',
      'policy.xml:6: <validate-jwt require-expiration-time>: policy expression @(context.Deployment.Region == "West Europe") cannot be evaluated: tokengate has no policy expressions; write the value it stands for',
      'policy.xml:7: <openid-config url>: named value {{aad-tenant-id}} has no value: give it with --named-value "aad-tenant-id=VALUE" or --named-values FILE',
      'policy.xml:9: <key certificate-id>: certificate "my-rsa-cert" is in APIM\'s certificate store, which tokengate cannot read: export the certificate (or its public key) as PEM and give it with --certificate "my-rsa-cert=FILE.pem"',
      'policy.xml:10: <key>: named value {{jwt-signing-key}} has no value: give it with --named-value "jwt-signing-key=VALUE" or --named-values FILE',
      'policy.xml:14: <key certificate-id>: certificate "my-encryption-cert" is in APIM\'s certificate store, which tokengate cannot read: export its private key as PEM (unencrypted) and give it with --certificate "my-encryption-cert=FILE.pem"',
      'policy.xml:17: <audience>: the audience is the request\'s host name, which APIM evaluates per request; tokengate has no request-host audience rule: write one policy per host name, with match: { hosts: [HOST] } and audiences: [HOST] (one policy listing every host would let a token issued for one host in at another)',
      'policy.xml:21: <value>: named value {{admin-group-id}} has no value: give it with --named-value "admin-group-id=VALUE" or --named-values FILE',
    ]);
  });

  it('with allowPartial: the rest is printed, failing closed (placeholders for list values, strict defaults, fewer keys)', () => {
    const result = importXml(fixture('unmappable.xml'), { allowPartial: true });
    expect(result.exitCode).toBe(0);
    expect(bodies(result)[0]).toEqual({
      issuerSigningKeys: [{ base64: 'k/9yGJ8romhH9efOXboQvJG71JAQ0xArjZGqAcQdB84=', id: 'hs1' }],
      audiences: ['<unmappable at policy.xml:17: @(context.Request.OriginalUrl.Host)>'],
      // The issuer came from the unmappable discovery document: `issuers: []` would accept any.
      issuers: ['<unmappable at policy.xml:7: issuer of https://login.microsoftonline.com/{{aad-tenant-id}}/v2.0/.well-know...>'],
      requiredClaims: [
        { name: 'groups', match: 'all', values: ['<unmappable at policy.xml:21: {{admin-group-id}}>'] },
        // The token location: a claim no token carries, in the bracket form that names exactly that claim.
        { name: expect.stringMatching(/^\["<unmappable at policy\.xml:4: token location token-value=.*>"\]$/), values: [] },
      ],
    });
    expect(lines(result).map((l) => l.replace(/^.*\[--allow-partial: (.*)\]$/, '$1'))).toEqual([
      'the token location is left out, and a required claim no token carries is added: every request is denied until you write where the token is (reading the Authorization header instead could let in a token APIM never looked at)',
      'left out: no clock skew (clockSkew: 0), the strict default',
      "left out: tokengate's strict default requireExpirationTime: true applies",
      'left out: its keys are missing, and its issuer is not accepted (issuers is a placeholder if no document is left)',
      'left out: tokens signed with this key are denied',
      'left out: tokens signed with this key are denied',
      'left out: tokens encrypted for this key are denied',
      'replaced by a placeholder no token carries, so this check denies until you write the value',
      'replaced by a placeholder no token carries, so this rule denies until you write the value',
    ]);
    const policy = parseConfigText(result.yaml!).policies[0]!.validateJwt;
    expect(policy.requireExpirationTime).toBe(true);
    expect(policy.clockSkewSeconds).toBe(0);
    expect(policy.token).toEqual({ kind: 'header', name: 'authorization', scheme: 'Bearer' });
  });

  it('unknown attributes and elements are unmappable: they may be checks tokengate would silently skip', () => {
    const result = importXml('<validate-jwt header-name="Authorization" require-signed-token="true">\n<audiences><audience>a</audience></audiences>\n<allowed-algorithms />\n</validate-jwt>');
    expect(result.exitCode).toBe(2);
    expect(lines(result)).toEqual([
      'policy.xml:1: <validate-jwt require-signed-token>: not an attribute of validate-jwt (expected one of: header-name, query-parameter-name, token-value, failed-validation-httpcode, failed-validation-error-message, require-expiration-time, require-scheme, require-signed-tokens, clock-skew, output-token-variable-name)',
      "policy.xml:1: warning: <validate-jwt>: no <issuers> and no <openid-config>: the original policy did not check the token's issuer, so the import keeps that with `issuers: []` (any issuer); add your issuer",
      'policy.xml:3: <allowed-algorithms>: not a child element of validate-jwt (expected one of: openid-config, issuer-signing-keys, decryption-keys, audiences, issuers, required-claims)',
    ]);
  });

  it('validate-azure-ad-token: a tenant named by domain, no client application ids, n/e as a decryption key', () => {
    const result = importXml(
      '<validate-azure-ad-token tenant-id="contoso.onmicrosoft.com">\n<audiences><audience>api://a</audience></audiences>\n<decryption-keys><key n="abc" e="AQAB" /></decryption-keys>\n</validate-azure-ad-token>',
      { allowPartial: true },
    );
    expect(lines(result)).toEqual([
      'policy.xml:1: <validate-azure-ad-token tenant-id>: "contoso.onmicrosoft.com" is not a tenant id: tokengate needs the directory (tenant) id, a GUID, because Entra\'s issuer names the tenant by id (Entra admin center, Overview, Tenant ID) [--allow-partial: replaced by a placeholder: tokengate validate rejects the policy until you write the tenant id]',
      'policy.xml:1: <validate-azure-ad-token>: no <client-application-ids>: APIM then accepts a token from any client application of the tenant, and tokengate is stricter, it always checks the caller (azp or appid): list the client application ids that may call, or write a validateJwt policy with the tenant\'s openidConfig and issuers to accept any client on purpose (docs/entra-id.md) [--allow-partial: clientApplicationIds is left out, and tokengate validate rejects the policy until you add it]',
      'policy.xml:3: <key n e>: n and e are a public key, and decryption needs the private key: list it as decryptionKeys: [{ pem: ... }] or [{ jwk: ... }] [--allow-partial: left out: tokens encrypted for this key are denied]',
    ]);
    expect(bodies(result)[0]).toEqual({ tenantId: '<unmappable at policy.xml:1: contoso.onmicrosoft.com>', audiences: ['api://a'] });
  });
});
