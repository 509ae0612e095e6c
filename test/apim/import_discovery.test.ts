// Issue 17 §2: discovery documents in the shapes real issuers publish, imported so that the policy can load their
// keys (or refused, exit 2, with the fix); Entra's token versions; a placeholder tenant imports to the same shape as
// a tenant id. The end-to-end runs of these shapes are in corpus_e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatDiagnostic, importApimPolicy, type ImportResult } from '../../src/apim/import_apim.js';
import { parseConfigText } from '../../src/config/load.js';

const T = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const T2 = '11111111-2222-4333-8444-555555555555';
const CLIENT = '8f1c4f06-5c6e-4f7b-9a54-1f8f4d2f1a11';

function importXml(
  xml: string,
  options: { allowPartial?: boolean; namedValues?: Record<string, string> } = {},
): ImportResult {
  return importApimPolicy(xml, {
    source: 'policy.xml',
    name: 'api',
    allowPartial: options.allowPartial,
    namedValues: new Map(Object.entries(options.namedValues ?? {})),
  });
}

const lines = (r: ImportResult) => r.diagnostics.map((d) => formatDiagnostic(d, 'policy.xml'));
const body = (r: ImportResult) => {
  expect(r.yaml, lines(r).join('\n')).toBeDefined();
  return (parseYaml(r.yaml!) as { policies: { validateJwt: Record<string, unknown> }[] }).policies[0]!.validateJwt;
};

/** A validate-jwt with one openid-config, the audience `aud` and the given <issuers>. */
function policy(url: string, issuers: string[] = [], aud = CLIENT): string {
  const list =
    issuers.length > 0 ? `\n  <issuers>${issuers.map((i) => `<issuer>${i}</issuer>`).join('')}</issuers>` : '';
  return `<validate-jwt header-name="Authorization">
  <openid-config url="${url.replaceAll('&', '&amp;')}" />
  <audiences><audience>${aud}</audience></audiences>${list}
</validate-jwt>`;
}

describe('discovery shapes whose issuer the URL implies', () => {
  it.each([
    ['Auth0 (the document adds a terminating "/")', 'https://dev-x1.eu.auth0.com/.well-known/openid-configuration'],
    [
      'RFC 8414 appended (Okta custom authorization server)',
      'https://dev-1.okta.com/oauth2/default/.well-known/oauth-authorization-server',
    ],
    ['RFC 8414 inserted', 'https://as.example.com/.well-known/oauth-authorization-server/tenant1'],
    ['Keycloak realm', 'https://sso.example.com/realms/shop/.well-known/openid-configuration'],
  ])('%s: the URL alone, no warning, and tokengate validate accepts it', (_, url) => {
    const r = importXml(policy(url));
    expect(r.exitCode).toBe(0);
    expect(lines(r)).toEqual([]);
    expect(body(r).openidConfig).toEqual([{ url }]);
  });

  it("an Entra tenant document gets its issuer written out: v2 on the authority, v1 on the cloud's v1 host", () => {
    const v2 = body(importXml(policy(`https://login.microsoftonline.com/${T}/v2.0/.well-known/openid-configuration`)));
    expect(v2.openidConfig).toEqual([
      {
        url: `https://login.microsoftonline.com/${T}/v2.0/.well-known/openid-configuration`,
        issuer: `https://login.microsoftonline.com/${T}/v2.0`,
      },
    ]);
    const cn = body(
      importXml(
        policy(`https://login.partner.microsoftonline.cn/${T}/.well-known/openid-configuration`, [], 'api://x'),
      ),
    );
    expect(cn.openidConfig).toEqual([
      {
        url: `https://login.partner.microsoftonline.cn/${T}/.well-known/openid-configuration`,
        issuer: `https://sts.chinacloudapi.cn/${T}/`,
      },
    ]);
  });

  it('a stand-in tenant (TENANT_ID, tenant, MY-TENANT) imports to exactly the shape of a tenant id, with a warning', () => {
    for (const v of ['', '/v2.0']) {
      const guid = importXml(policy(`https://login.microsoftonline.com/${T}${v}/.well-known/openid-configuration`));
      for (const standIn of ['TENANT_ID', 'tenant', 'MY-TENANT']) {
        const r = importXml(
          policy(`https://login.microsoftonline.com/${standIn}${v}/.well-known/openid-configuration`),
        );
        expect(r.exitCode).toBe(0);
        expect(lines(r)).toEqual([
          expect.stringMatching(
            new RegExp(`^policy\\.xml:2: warning: <openid-config url>: "${standIn}" stands where Entra's tenant id`),
          ),
        ]);
        // Filled in afterwards (sed, envsubst, Helm), it is the tenant id's policy, issuer line included.
        expect(parseYaml(r.yaml!.replaceAll(standIn, T)).policies).toEqual(parseYaml(guid.yaml!).policies);
      }
    }
  });

  it("a template tenant ({tenant}, ${TENANT}, {{tenant}}) is a gap; filled with --named-value it is the tenant id's policy", () => {
    const guid = importXml(
      policy(`https://login.microsoftonline.com/${T}/.well-known/openid-configuration`, [], 'api://x'),
    );
    for (const [tpl, name] of [
      ['{tenant}', 'tenant'],
      ['${TENANT}', 'TENANT'],
      ['{{tenant}}', 'tenant'],
      ['{TenantId}', 'TenantId'],
    ] as const) {
      const xml = policy(`https://login.microsoftonline.com/${tpl}/.well-known/openid-configuration`, [], 'api://x');
      const gap = importXml(xml);
      expect(gap.exitCode).toBe(2);
      expect(lines(gap).join('\n')).toMatch(
        /<openid-config url>: (named value|template placeholder) .* --named-value "/,
      );
      // {TenantId} is not read as tokengate's {tenantid} template: no multi-tenant message.
      expect(lines(gap).join('\n')).not.toMatch(/allowedTenants|multi-tenant/);
      const filled = importXml(xml, { namedValues: { [name]: T } });
      expect(filled.exitCode).toBe(0);
      expect(parseYaml(filled.yaml!).policies).toEqual(parseYaml(guid.yaml!).policies);
    }
  });
});

describe('discovery shapes whose issuer the URL does not imply', () => {
  const B2C_QUERY =
    'https://contoso.b2clogin.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1_susi';
  const B2C_PATH =
    'https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi/v2.0/.well-known/openid-configuration';
  const B2C_ISSUER = `https://contoso.b2clogin.com/${T}/v2.0/`;

  it.each([B2C_QUERY, B2C_PATH])(
    "Azure AD B2C (%s): the one <issuer> becomes the entry's issuer, said in a warning",
    (url) => {
      const r = importXml(policy(url, [B2C_ISSUER]));
      expect(r.exitCode).toBe(0);
      expect(body(r).openidConfig).toEqual([{ url, issuer: B2C_ISSUER }]);
      expect(lines(r)).toEqual([
        expect.stringMatching(
          /^policy\.xml:2: warning: <openid-config url>: the issuer cannot be read from this URL \(.*\): the import takes the one in <issuers>, https:\/\/contoso\.b2clogin\.com\/.*OpenID Connect Discovery 1\.0 §4\.3/,
        ),
      ]);
    },
  );

  it('B2C without <issuers>, or with several that could be its own: refused (exit 2) with the fix; partial fails closed', () => {
    for (const issuers of [[], [B2C_ISSUER, `https://contoso.b2clogin.com/${T2}/v2.0/`]]) {
      const r = importXml(policy(B2C_PATH, issuers));
      expect(r.exitCode).toBe(2);
      expect(lines(r)).toEqual([
        expect.stringMatching(
          /^policy\.xml:2: <openid-config url>: the issuer cannot be read from this URL .* add its "issuer" value as the only <issuer>/,
        ),
      ]);
    }
    const partial = importXml(policy(B2C_PATH), { allowPartial: true });
    expect(partial.exitCode).toBe(0);
    // The document names its real issuer, not the placeholder: its keys never load, and no token passes.
    expect(body(partial).openidConfig).toEqual([
      { url: B2C_PATH, issuer: expect.stringMatching(/^<unmappable at policy\.xml:2: issuer of /) },
    ]);
    expect(() => parseConfigText(partial.yaml!)).not.toThrow();
  });

  it("an Entra tenant named by domain takes the <issuer> of its document's shape (v2 here), not the v1 one beside it", () => {
    const url = 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration';
    const v2 = `https://login.microsoftonline.com/${T}/v2.0`;
    const r = importXml(policy(url, [`https://sts.windows.net/${T}/`, v2]));
    expect(r.exitCode).toBe(0);
    expect(body(r).openidConfig).toEqual([{ url, issuer: v2 }]);
  });
});

describe('Entra common and organizations', () => {
  it.each([
    [
      'common v2.0',
      'https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration',
      'https://login.microsoftonline.com/{tenantid}/v2.0',
      `https://login.microsoftonline.com/${T}/v2.0`,
    ],
    [
      'organizations v2.0',
      'https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration',
      'https://login.microsoftonline.com/{tenantid}/v2.0',
      `https://login.microsoftonline.com/${T}/v2.0`,
    ],
    [
      'common v1',
      'https://login.microsoftonline.com/common/.well-known/openid-configuration',
      'https://sts.windows.net/{tenantid}/',
      `https://sts.windows.net/${T}/`,
    ],
  ])('%s with <issuers>: the template issuer on the entry, the tenants from <issuers>', (_, url, template, issuer) => {
    const r = importXml(policy(url, [issuer]));
    expect(r.exitCode).toBe(0);
    expect(lines(r)).toEqual([]);
    expect(body(r)).toMatchObject({ openidConfig: [{ url, issuer: template }], issuers: [issuer] });
    expect(body(r)).not.toHaveProperty('allowedTenants');
  });

  it("without <issuers>: refused, since no tenant list exists in APIM's policy; partial writes an allowedTenants no tenant matches", () => {
    const url = 'https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration';
    const r = importXml(policy(url));
    expect(r.exitCode).toBe(2);
    expect(lines(r)).toEqual([
      'policy.xml:2: <openid-config url>: the "organizations" document names the v2 issuer template https://login.microsoftonline.com/{tenantid}/v2.0, and no <issuers> say which tenants may call: list each tenant\'s issuer in <issuers>, or write allowedTenants: [TENANT_ID, ...] beside the policy ("*" for any Entra tenant, on purpose)',
    ]);
    const partial = importXml(policy(url), { allowPartial: true });
    expect(body(partial).allowedTenants).toEqual(['<unmappable at policy.xml:2: tenants allowed by organizations>']);
    expect(parseConfigText(partial.yaml!).policies[0]!.validateJwt.allowedTenants).toEqual([
      '<unmappable at policy.xml:2: tenants allowed by organizations>',
    ]);
  });

  it('validate-azure-ad-token tenant-id="common": refused for the same reason', () => {
    const xml = `<validate-azure-ad-token tenant-id="common"><client-application-ids><application-id>${CLIENT}</application-id></client-application-ids><backend-application-ids><application-id>${CLIENT}</application-id></backend-application-ids></validate-azure-ad-token>`;
    expect(lines(importXml(xml))).toEqual([
      expect.stringMatching(
        /^policy\.xml:1: <validate-azure-ad-token tenant-id>: "common" accepts tokens of many tenants/,
      ),
    ]);
    const partial = importXml(xml, { allowPartial: true });
    expect(partial.exitCode).toBe(0);
    expect(parseConfigText(partial.yaml!).policies[0]!.validateJwt.issuers).toContain(
      'https://login.microsoftonline.com/{tenantid}/v2.0',
    );
  });
});

describe('Entra token versions: warned when audiences and issuers cannot both match one', () => {
  const V2_URL = `https://login.microsoftonline.com/${T}/v2.0/.well-known/openid-configuration`;
  const withClaim = (aud: string, claimAud: string, issuer: string) => `<validate-jwt header-name="Authorization">
  <openid-config url="${V2_URL}" />
  <audiences><audience>${aud}</audience></audiences>
  <issuers><issuer>${issuer}</issuer></issuers>
  <required-claims><claim name="aud"><value>${claimAud}</value></claim></required-claims>
</validate-jwt>`;

  it('the article filled in as published (audience api://id, required aud = id): no single aud passes both', () => {
    const r = importXml(withClaim(`api://${CLIENT}`, CLIENT, `https://login.microsoftonline.com/${T}/v2.0`));
    expect(r.exitCode).toBe(0);
    expect(lines(r)).toEqual([
      'policy.xml:1: warning: <validate-jwt>: no single aud value passes both <audiences> and the required claim "aud", and Entra issues aud as one string: no token passes; keep one audience, the one your tokens carry (v2.0: the client id; v1.0: the resource requested)',
    ]);
  });

  it('only v2 issuers with only an Application ID URI audience: no token of either version passes', () => {
    const r = importXml(policy(V2_URL, [], `api://${CLIENT}`));
    expect(lines(r)).toEqual([
      expect.stringMatching(
        /^policy\.xml:1: warning: <validate-jwt>: the issuers accept only Entra v2\.0 tokens, whose aud is the API's client id .* api:\/\//,
      ),
    ]);
  });

  it.each([
    ['v2 issuer, client id audience', withClaim(CLIENT, CLIENT, `https://login.microsoftonline.com/${T}/v2.0`)],
    [
      'v1 issuer, Application ID URI audience',
      withClaim(`api://${CLIENT}`, `api://${CLIENT}`, `https://sts.windows.net/${T}/`),
    ],
    [
      'v1 issuer, client id audience (a v1 token for the resource requested by id)',
      withClaim(CLIENT, CLIENT, `https://sts.windows.net/${T}/`),
    ],
    ['a non-Entra issuer', policy('https://idp.example.com/.well-known/openid-configuration', [], 'api://x')],
  ])('%s: no warning', (_, xml) => {
    expect(lines(importXml(xml))).toEqual([]);
  });
});
