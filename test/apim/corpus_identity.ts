// The corpus's identity-provider shapes: discovery documents as Auth0, Azure AD B2C, Okta and Entra ID publish them,
// tenants written as stand-ins, templates or multi-tenant endpoints, and validate-azure-ad-token.
import {
  API,
  ENTRA_HOSTS,
  ENTRA_V1,
  ENTRA_V2,
  entraV2Document,
  T1,
  T2,
  T3,
  type CorpusCase,
} from './corpus_shared.js';

export const IDENTITY_CASES: readonly CorpusCase[] = [
  {
    file: 'c01-auth0.xml',
    summary: 'Auth0: the document names its issuer with a terminating "/"',
    exit: 0,
    stderr: [],
    hosts: { 'https://dev-shop.eu.auth0.com': 'auth0' },
    setup: (idp, b) =>
      idp.document('/c01/auth0/.well-known/openid-configuration', () => `${b('auth0')}/`, '/c01/auth0/jwks', 'c01'),
    requests: [
      {
        label: 'a token with the permission',
        token: (idp, b) =>
          idp.sign('c01', { iss: `${b('auth0')}/`, aud: 'https://api.shop.example', permissions: ['read:orders'] }),
        expect: 'allow',
      },
      {
        label: 'without it',
        token: (idp, b) =>
          idp.sign('c01', { iss: `${b('auth0')}/`, aud: 'https://api.shop.example', permissions: ['write:orders'] }),
        expect: 'TokenClaimValueNotAllowed',
      },
      {
        label: 'for another API',
        token: (idp, b) =>
          idp.sign('c01', { iss: `${b('auth0')}/`, aud: 'https://other.example', permissions: ['read:orders'] }),
        expect: 'TokenAudienceNotAllowed',
      },
      {
        label: 'an issuer without the "/"',
        token: (idp, b) =>
          idp.sign('c01', { iss: b('auth0'), aud: 'https://api.shop.example', permissions: ['read:orders'] }),
        expect: 'TokenIssuerNotAllowed',
      },
      { label: 'no token', expect: 'TokenNotPresent' },
    ],
  },
  {
    file: 'c02-b2c-user-flow.xml',
    summary: 'Azure AD B2C user flow in the query: the issuer comes from <issuers>',
    exit: 0,
    stderr: [
      /^c02-b2c-user-flow\.xml:4: warning: <openid-config url>: the issuer cannot be read from this URL .*: the import takes the one in <issuers>, https:\/\/shopb2c\.b2clogin\.com\//,
    ],
    hosts: { 'https://shopb2c.b2clogin.com': 'b2c' },
    setup: (idp, b) =>
      idp.document(
        '/c02/b2c/shopb2c.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1_signupsignin',
        () => `${b('b2c')}/${T1}/v2.0/`,
        '/c02/b2c/keys',
        'c02',
      ),
    requests: [
      {
        label: 'a token of the user flow',
        token: (idp, b) => idp.sign('c02', { iss: `${b('b2c')}/${T1}/v2.0/`, aud: API }),
        expect: 'allow',
      },
      {
        label: 'another tenant',
        token: (idp, b) => idp.sign('c02', { iss: `${b('b2c')}/${T2}/v2.0/`, aud: API }),
        expect: 'deny',
      },
      {
        label: 'a key the document does not list',
        token: (idp, b) => idp.sign('c02-other', { iss: `${b('b2c')}/${T1}/v2.0/`, aud: API }),
        expect: 'deny',
      },
    ],
  },
  {
    file: 'c03-b2c-custom-policy.xml',
    summary: 'Azure AD B2C custom policy without <issuers>: refused; partial denies',
    exit: 2,
    stderr: [
      /^c03-b2c-custom-policy\.xml:4: <openid-config url>: the issuer cannot be read from this URL \(Azure AD B2C .*\), and there are no <issuers> to take it from: .*add its "issuer" value as the only <issuer>/,
    ],
    hosts: { 'https://shopb2c.b2clogin.com': 'b2c' },
    setup: (idp, b) =>
      idp.document(
        '/c03/b2c/shopb2c.onmicrosoft.com/B2C_1A_SIGNUP_SIGNIN/v2.0/.well-known/openid-configuration',
        () => `${b('b2c')}/${T1}/v2.0/`,
        '/c03/b2c/keys',
        'c03',
      ),
    requests: [
      {
        label: 'a valid B2C token',
        token: (idp, b) => idp.sign('c03', { iss: `${b('b2c')}/${T1}/v2.0/`, aud: API }),
        expect: 'deny',
      },
    ],
  },
  {
    file: 'c04-okta-custom-server.xml',
    summary: 'Okta custom authorization server (RFC 8414 metadata, appended form)',
    exit: 0,
    stderr: [],
    hosts: { 'https://dev-4242.okta.com': 'okta' },
    setup: (idp, b) =>
      idp.document(
        '/c04/okta/oauth2/default/.well-known/oauth-authorization-server',
        () => `${b('okta')}/oauth2/default`,
        '/c04/okta/keys',
        'c04',
      ),
    requests: [
      {
        label: 'a token with the scope',
        token: (idp, b) =>
          idp.sign('c04', { iss: `${b('okta')}/oauth2/default`, aud: 'api://default', scp: ['orders.read'] }),
        expect: 'allow',
      },
      {
        label: 'another scope',
        token: (idp, b) =>
          idp.sign('c04', { iss: `${b('okta')}/oauth2/default`, aud: 'api://default', scp: ['orders.write'] }),
        expect: 'TokenClaimValueNotAllowed',
      },
    ],
  },
  {
    file: 'c05-entra-common-two-tenants.xml',
    summary: 'Entra common v2.0 document, two tenants listed in <issuers>',
    exit: 0,
    stderr: [],
    hosts: ENTRA_HOSTS,
    setup: (idp, b) =>
      idp.document(
        '/c05/login/common/v2.0/.well-known/openid-configuration',
        () => `${b('login')}/{tenantid}/v2.0`,
        '/c05/login/common/keys',
        'c05',
        `${b('login')}/{tenantid}/v2.0`,
      ),
    requests: [
      { label: 'the first tenant', token: (idp, b) => idp.sign('c05', ENTRA_V2(b, T1)), expect: 'allow' },
      { label: 'the second', token: (idp, b) => idp.sign('c05', ENTRA_V2(b, T2)), expect: 'allow' },
      {
        label: 'a tenant not listed',
        token: (idp, b) => idp.sign('c05', ENTRA_V2(b, T3)),
        expect: 'TokenIssuerNotAllowed',
      },
      {
        label: 'another API',
        token: (idp, b) => idp.sign('c05', ENTRA_V2(b, T1, { aud: T3 })),
        expect: 'TokenAudienceNotAllowed',
      },
    ],
  },
  {
    file: 'c06-entra-organizations.xml',
    summary: 'Entra organizations v2.0 without <issuers>: refused; partial denies every tenant',
    exit: 2,
    stderr: [
      /^c06-entra-organizations\.xml:4: <openid-config url>: the "organizations" document names the v2 issuer template https:\/\/login\.microsoftonline\.com\/\{tenantid\}\/v2\.0, and no <issuers> say which tenants may call/,
    ],
    hosts: ENTRA_HOSTS,
    setup: (idp, b) =>
      idp.document(
        '/c06/login/organizations/v2.0/.well-known/openid-configuration',
        () => `${b('login')}/{tenantid}/v2.0`,
        '/c06/login/keys',
        'c06',
      ),
    requests: [{ label: 'a token of any tenant', token: (idp, b) => idp.sign('c06', ENTRA_V2(b, T1)), expect: 'deny' }],
  },
  {
    file: 'c07-entra-v1-stand-in-tenant.xml',
    summary: 'Entra v1.0 with a stand-in tenant replaced at deployment: the shape of a tenant id',
    exit: 0,
    stderr: [
      /^c07-entra-v1-stand-in-tenant\.xml:4: warning: <openid-config url>: "TENANT_ID" stands where Entra's tenant id \(a GUID\) goes/,
    ],
    edit: (yaml) => yaml.replaceAll('TENANT_ID', T1),
    hosts: ENTRA_HOSTS,
    setup: (idp, b) =>
      idp.document(
        `/c07/login/${T1}/.well-known/openid-configuration`,
        () => `${b('sts')}/${T1}/`,
        '/c07/login/keys',
        'c07',
      ),
    requests: [
      {
        label: 'a v1.0 token (iss on the v1 host, aud the Application ID URI)',
        token: (idp, b) => idp.sign('c07', ENTRA_V1(b, T1, { aud: 'api://orders-api' })),
        expect: 'allow',
      },
      {
        label: 'a v2.0 token',
        token: (idp, b) => idp.sign('c07', ENTRA_V2(b, T1, { aud: 'api://orders-api' })),
        expect: 'TokenIssuerNotAllowed',
      },
    ],
  },
  {
    file: 'c10-article-as-published.xml',
    summary: 'the Entra article filled in as its examples suggest: imported with a warning that no token passes',
    exit: 0,
    stderr: [
      /^c10-article-as-published\.xml:3: warning: <validate-jwt>: no single aud value passes both <audiences> and the required claim "aud"/,
    ],
    hosts: ENTRA_HOSTS,
    setup: entraV2Document(T1, 'c10'),
    requests: [
      { label: 'a v2.0 token', token: (idp, b) => idp.sign('c10', ENTRA_V2(b, T1)), expect: 'TokenIssuerNotAllowed' },
      { label: 'a v1.0 token', token: (idp, b) => idp.sign('c10', ENTRA_V1(b, T1)), expect: 'TokenAudienceNotAllowed' },
    ],
  },
  {
    file: 'c19-azure-ad-token.xml',
    summary: 'validate-azure-ad-token, endpoint without https://: v1.0 and v2.0 tokens of the tenant',
    exit: 0,
    stderr: [],
    // The authority is an origin: the test issuer's own. Outside Microsoft's hosts the v1 issuer is the authority's
    // unless v1IssuerOrigin says otherwise, so the test says what sts.windows.net is here.
    hosts: { 'https://login.microsoftonline.com': '/' },
    edit: (yaml, b) => yaml.replace('      authority:', `      v1IssuerOrigin: ${b('sts')}\n      authority:`),
    setup: async (idp, b) => {
      await idp.document(
        `/${T1}/v2.0/.well-known/openid-configuration`,
        (o) => `${o}/${T1}/v2.0`,
        '/c19/v2/keys',
        'c19v2',
      );
      await idp.document(
        `/${T1}/.well-known/openid-configuration`,
        () => `${b('sts')}/${T1}/`,
        '/c19/v1/keys',
        'c19v1',
      );
    },
    requests: [
      {
        label: 'a v2.0 token',
        token: (idp) => idp.sign('c19v2', { ...ENTRA_V2(() => idp.origin, T1) }),
        expect: 'allow',
      },
      { label: 'a v1.0 token', token: (idp, b) => idp.sign('c19v1', ENTRA_V1(b, T1)), expect: 'allow' },
      {
        label: 'another calling application',
        token: (idp) =>
          idp.sign(
            'c19v2',
            ENTRA_V2(() => idp.origin, T1, { azp: T3 }),
          ),
        expect: 'TokenClaimValueNotAllowed',
      },
    ],
  },
  {
    file: 'c20-azure-ad-organizations.xml',
    summary: 'validate-azure-ad-token for any organization: refused',
    exit: 2,
    stderr: [
      /^c20-azure-ad-organizations\.xml:2: <validate-azure-ad-token tenant-id>: "organizations" accepts tokens of many tenants, and the policy does not say which/,
    ],
  },
  {
    file: 'c21-bicep-format-tenant.xml',
    summary: 'a Bicep {TenantId}: a gap, never a multi-tenant template',
    exit: 2,
    stderr: [
      /^c21-bicep-format-tenant\.xml:3: <openid-config url>: template placeholder \{TenantId\} is not a value: give it with --named-value "TenantId=VALUE"$/,
    ],
  },
  {
    file: 'c21-bicep-format-tenant.xml',
    summary: 'the same, filled in with --named-value',
    exit: 0,
    stderr: [],
    namedValues: { TenantId: T1 },
    hosts: ENTRA_HOSTS,
    setup: entraV2Document(T1, 'c21'),
    requests: [{ label: 'a v2.0 token', token: (idp, b) => idp.sign('c21', ENTRA_V2(b, T1)), expect: 'allow' }],
  },
];
