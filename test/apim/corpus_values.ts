// The corpus's policy shapes: values from templates and named values, token locations, certificates, audiences from
// the request, <choose> branches, keys too short to use and XML typed by hand.
import {
  API,
  CERT_PRIVATE,
  ENTRA_HOSTS,
  ENTRA_V1,
  ENTRA_V2,
  entraV2Document,
  HS_SECRET,
  NAMED_VALUES_MISSING,
  nested,
  now,
  sign,
  STRANGER,
  T1,
  type CorpusCase,
} from './corpus_shared.js';

export const VALUE_CASES: readonly CorpusCase[] = [
  {
    file: 'c08-terraform-template.xml',
    summary: 'Terraform ${...} variables with no values: refused at each line',
    exit: 2,
    stderr: [
      NAMED_VALUES_MISSING(7, 'tenant_id', '<openid-config url>'),
      NAMED_VALUES_MISSING(9, 'api_client_id', '<audience>'),
      NAMED_VALUES_MISSING(12, 'tenant_id', '<issuer>'),
    ],
  },
  {
    file: 'c08-terraform-template.xml',
    summary: 'the same, filled in with --named-value',
    exit: 0,
    stderr: [],
    namedValues: { tenant_id: T1, api_client_id: API },
    hosts: ENTRA_HOSTS,
    setup: entraV2Document(T1, 'c08'),
    requests: [
      { label: 'a v2.0 token', token: (idp, b) => idp.sign('c08', ENTRA_V2(b, T1)), expect: 'allow' },
      {
        label: 'a v1.0 token',
        token: (idp, b) => idp.sign('c08', ENTRA_V1(b, T1, { aud: API })),
        expect: 'TokenIssuerNotAllowed',
      },
      {
        label: 'an expired one',
        token: (idp, b) => idp.sign('c08', ENTRA_V2(b, T1, { exp: now() - 120 })),
        expect: 'TokenExpired',
      },
    ],
  },
  {
    file: 'c09-named-values.xml',
    summary: 'APIM named values with no values: refused at each line',
    exit: 2,
    stderr: [
      NAMED_VALUES_MISSING(3, 'aad-tenant-id', '<openid-config url>'),
      NAMED_VALUES_MISSING(5, 'orders-api-client-id', '<audience>'),
      NAMED_VALUES_MISSING(9, 'orders-reader-role', '<value>'),
    ],
  },
  {
    file: 'c09-named-values.xml',
    summary: 'the same, filled in with --named-values',
    exit: 0,
    stderr: [],
    namedValues: { 'aad-tenant-id': T1, 'orders-api-client-id': API, 'orders-reader-role': 'Orders.Read' },
    hosts: ENTRA_HOSTS,
    setup: entraV2Document(T1, 'c09'),
    requests: [
      {
        label: 'a token with the role',
        token: (idp, b) => idp.sign('c09', ENTRA_V2(b, T1, { roles: ['Orders.Read'] })),
        expect: 'allow',
      },
      {
        label: 'with another role',
        token: (idp, b) => idp.sign('c09', ENTRA_V2(b, T1, { roles: ['Orders.Write'] })),
        expect: 'TokenClaimValueNotAllowed',
      },
      { label: 'with none', token: (idp, b) => idp.sign('c09', ENTRA_V2(b, T1)), expect: 'TokenClaimNotFound' },
    ],
  },
  {
    file: 'c11-form-token.xml',
    summary: 'a token read from the form body: refused; partial denies every request',
    exit: 2,
    stderr: [/^c11-form-token\.xml:3: <validate-jwt token-value>: policy expression @\(context\.Request\.Body\.As/],
    requests: [
      {
        label: 'a valid token in the Authorization header (where APIM never looked)',
        token: () => sign({ iss: 'https://issuer.example.com', aud: 'https://forms.example.com' }, HS_SECRET, 'HS256'),
        expect: 'TokenClaimNotFound',
      },
      { label: 'no token', expect: 'TokenNotPresent' },
    ],
  },
  {
    file: 'c12-certificates.xml',
    summary: 'certificate-id keys without --certificate: refused',
    exit: 2,
    stderr: [
      /^c12-certificates\.xml:5: <key certificate-id>: certificate "jwt-signer" .* --certificate "jwt-signer=FILE\.pem"/,
      /^c12-certificates\.xml:8: <key certificate-id>: certificate "jwt-signer" .* --certificate "jwt-signer=FILE\.pem"/,
    ],
  },
  {
    file: 'c12-certificates.xml',
    summary: 'the same with --certificate: signed and encrypted tokens',
    exit: 0,
    stderr: [],
    certificates: ['jwt-signer'],
    requests: [
      {
        label: "a token signed with the certificate's key",
        token: () => sign({ iss: 'https://sts.inhouse.example', aud: 'urn:inhouse:billing' }, CERT_PRIVATE),
        expect: 'allow',
      },
      {
        label: 'encrypted for it',
        token: async () =>
          nested(await sign({ iss: 'https://sts.inhouse.example', aud: 'urn:inhouse:billing' }, CERT_PRIVATE)),
        expect: 'allow',
      },
      {
        label: 'signed with another key',
        token: () => sign({ iss: 'https://sts.inhouse.example', aud: 'urn:inhouse:billing' }, STRANGER),
        expect: 'TokenSignatureInvalid',
      },
    ],
  },
  {
    file: 'c13-host-audience.xml',
    summary: 'the audience taken from the request host: refused with the fix',
    exit: 2,
    stderr: [
      /^c13-host-audience\.xml:5: <audience>: the audience is the request's host name, .* write one policy per host name, with match: \{ hosts: \[HOST\] \} and audiences: \[HOST\]/,
    ],
  },
  {
    file: 'c14-choose-method.xml',
    summary: 'reads and writes chosen by method: one policy per branch',
    exit: 0,
    stderr: [],
    hosts: { 'https://idp.shop.example': 'idp' },
    setup: (idp, b) =>
      idp.document('/c14/idp/.well-known/openid-configuration', () => b('idp'), '/c14/idp/keys', 'c14'),
    requests: [
      {
        label: 'GET with the read scope',
        method: 'GET',
        token: (idp, b) => idp.sign('c14', { iss: b('idp'), aud: 'api://orders', scp: 'orders.read profile' }),
        expect: 'allow',
      },
      {
        label: 'POST with it',
        method: 'POST',
        token: (idp, b) => idp.sign('c14', { iss: b('idp'), aud: 'api://orders', scp: 'orders.read profile' }),
        expect: 'TokenClaimValueNotAllowed',
      },
      {
        label: 'POST with the write scope',
        method: 'POST',
        token: (idp, b) => idp.sign('c14', { iss: b('idp'), aud: 'api://orders', scp: 'orders.write' }),
        expect: 'allow',
      },
      {
        label: 'HEAD with it',
        method: 'HEAD',
        token: (idp, b) => idp.sign('c14', { iss: b('idp'), aud: 'api://orders', scp: 'orders.write' }),
        expect: 'TokenClaimValueNotAllowed',
      },
    ],
  },
  {
    file: 'c15-choose-cors.xml',
    summary: 'CORS preflight let through unvalidated: refused; partial validates the preflight too',
    exit: 2,
    stderr: [
      /^c15-choose-cors\.xml:11: <validate-jwt>: inside <choose> \(line 10\): APIM sends requests that match the earlier <when> \(line 5\) there, and it runs no validation/,
    ],
    hosts: { 'https://idp.shop.example': 'idp' },
    setup: (idp, b) =>
      idp.document('/c15/idp/.well-known/openid-configuration', () => b('idp'), '/c15/idp/keys', 'c15'),
    requests: [
      {
        label: 'GET with a token',
        method: 'GET',
        token: (idp, b) => idp.sign('c15', { iss: b('idp'), aud: 'api://orders' }),
        expect: 'allow',
      },
      { label: 'a preflight without one', method: 'OPTIONS', expect: 'TokenNotPresent' },
    ],
  },
  {
    file: 'c16-choose-header.xml',
    summary: 'issuers chosen by a request header: refused',
    exit: 2,
    stderr: [
      /^c16-choose-header\.xml:4: <validate-jwt>: inside <choose> \(line 3\): the condition @\(context\.Request\.Headers\.GetValueOrDefault\("X-Client-Type", ""\) == "partner"\) is not a test of the HTTP method/,
      /^c16-choose-header\.xml:10: <validate-jwt>: inside <choose> \(line 9\): APIM sends requests that match the earlier <when> \(line 3\) there, and it runs its own validation/,
    ],
  },
  {
    file: 'c17-short-decryption-key.xml',
    summary: 'a 6-byte decryption key: refused at its line',
    exit: 2,
    stderr: [
      /^c17-short-decryption-key\.xml:7: <key>: tokengate validate would reject decryptionKeys\[0\]: decryption key: a symmetric key needs at least 16 bytes: no JWE algorithm uses fewer$/,
    ],
  },
  {
    file: 'c18-unquoted-attribute.xml',
    summary: 'an unquoted attribute value: one plain sentence',
    exit: 1,
    stderr: [
      /^c18-unquoted-attribute\.xml:2: not well-formed XML: the attribute value 401 is not in quotes: write name="value"$/,
    ],
  },
];
