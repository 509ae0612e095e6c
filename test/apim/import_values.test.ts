// Issue 17 §2: values the importer cannot take as written (named values, template placeholders, certificates,
// expressions), what fills them in (--named-value, --named-values, --certificate), and every written URL and key
// checked by tokengate's own compile step, reported at its line.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatDiagnostic, importApimPolicy, type ImportResult } from '../../src/apim/import_apim.js';
import { parseNamedValueArg, parseNamedValuesFile } from '../../src/apim/named_values.js';
import { plainXmlMessage } from '../../src/apim/xml.js';
import { buildRuntime } from '../../src/authz/runtime.js';
import { parseConfigText } from '../../src/config/load.js';

const BUNDLE = readFileSync(
  join(import.meta.dirname, '..', 'fixtures', 'apim', 'certs', 'jwt-signer.bundle.pem'),
  'utf8',
);
const KEY = 'k/9yGJ8romhH9efOXboQvJG71JAQ0xArjZGqAcQdB84=';

function importXml(
  xml: string,
  options: { allowPartial?: boolean; namedValues?: Record<string, string>; certificates?: Record<string, string> } = {},
): ImportResult {
  return importApimPolicy(xml, {
    source: 'policy.xml',
    name: 'api',
    allowPartial: options.allowPartial,
    namedValues: new Map(Object.entries(options.namedValues ?? {})),
    certificates: new Map(
      Object.entries(options.certificates ?? {}).map(([id, pem]) => [id, { file: `${id}.pem`, pem }]),
    ),
  });
}

const lines = (r: ImportResult) => r.diagnostics.map((d) => formatDiagnostic(d, 'policy.xml'));
const body = (r: ImportResult) => {
  expect(r.yaml, lines(r).join('\n')).toBeDefined();
  return (parseYaml(r.yaml!) as { policies: Record<string, Record<string, unknown>>[] }).policies[0]!.validateJwt!;
};
/** The whole compile step, as `tokengate validate` runs it. */
const validates = (yaml: string) => void buildRuntime(parseConfigText(yaml));

const jwt = (inner: string, attrs = 'header-name="Authorization"') =>
  `<validate-jwt ${attrs}>\n${inner}\n<audiences><audience>api://a</audience></audiences>\n<issuers><issuer>https://idp.example.com</issuer></issuers>\n</validate-jwt>`;

describe('template placeholders are gaps, as named values are', () => {
  it.each([
    [
      '${openid-config-url}',
      '<openid-config url="${openid-config-url}" />',
      'template placeholder ${openid-config-url} is not a value: give it with --named-value "openid-config-url=VALUE"',
    ],
    [
      '{jwt_signing_key}',
      '<issuer-signing-keys><key>{jwt_signing_key}</key></issuer-signing-keys>',
      'template placeholder {jwt_signing_key} is not a value: give it with --named-value "jwt_signing_key=VALUE"',
    ],
    [
      '${SigningKey}',
      '<issuer-signing-keys><key>${SigningKey}</key></issuer-signing-keys>',
      'template placeholder ${SigningKey} is not a value: give it with --named-value "SigningKey=VALUE"',
    ],
    [
      'an article placeholder',
      '<openid-config url="https://login.microsoftonline.com/{aad-tenant}/v2.0/.well-known/openid-configuration" />',
      'template placeholder {aad-tenant} is not a value: give it with --named-value "aad-tenant=VALUE"',
    ],
  ])('%s: exit 2, its line and the option that fills it', (_, inner, why) => {
    const r = importXml(jwt(inner));
    expect(r.exitCode).toBe(2);
    expect(lines(r)).toEqual([expect.stringContaining(`policy.xml:2: `)]);
    expect(lines(r)[0]).toContain(why);
  });

  it("a placeholder with spaces and nesting (the article's issuer) is one gap, with no option to fill it", () => {
    const r = importXml(
      jwt('', 'header-name="Authorization"').replace(
        'https://idp.example.com',
        '{issuer-value - (ex: https://sts.windows.net/{tenant id}/)}',
      ),
    );
    expect(lines(r)).toEqual([
      'policy.xml:4: <issuer>: template placeholder {issuer-value - (ex: https://sts.windows.net/{tenant id}/)} is not a value: write the value it stands for',
    ]);
  });

  it('a regular expression quantifier or plain braces that are no placeholder are values', () => {
    const r = importXml(
      jwt(
        `<issuer-signing-keys><key>${KEY}</key></issuer-signing-keys><required-claims><claim name="code"><value>a{2}</value></claim></required-claims>`,
      ),
    );
    expect(r.exitCode).toBe(0);
  });
});

describe('--named-value and --named-values', () => {
  const XML = jwt(
    '<issuer-signing-keys><key id="{{key-id}}">{{signing-key}}</key></issuer-signing-keys>',
    'header-name="{{Token-Header}}"',
  );

  it('fill {{name}} before mapping (names compared without case when not exact); what is written is checked like the rest', () => {
    const r = importXml(XML, { namedValues: { 'key-id': 'k1', 'signing-key': KEY, 'token-header': 'X-Token' } });
    expect(r.exitCode).toBe(0);
    expect(lines(r)).toEqual([]);
    expect(body(r)).toMatchObject({ headerName: 'X-Token', issuerSigningKeys: [{ base64: KEY, id: 'k1' }] });
    validates(r.yaml!);
  });

  it('one still missing is a gap at its line; one the policy does not use is a warning (a misspelt name)', () => {
    const r = importXml(XML, { namedValues: { 'key-id': 'k1', 'token-header': 'X-Token', 'signing-kye': KEY } });
    expect(lines(r)).toEqual([
      'policy.xml: warning: --named-value signing-kye: the policy does not use it (a misspelt name?)',
      'policy.xml:2: <key>: named value {{signing-key}} has no value: give it with --named-value "signing-key=VALUE" or --named-values FILE',
    ]);
  });

  it('a value that is a policy expression (APIM allows it) is unmappable, like one written in the file', () => {
    const r = importXml(XML, {
      namedValues: { 'key-id': 'k1', 'signing-key': KEY, 'token-header': '@(DateTime.Now.ToString())' },
    });
    expect(lines(r)).toEqual([
      expect.stringMatching(
        /^policy\.xml:1: <validate-jwt header-name>: policy expression @\(DateTime\.Now\.ToString\(\)\) cannot be evaluated/,
      ),
    ]);
  });

  it("a value that fails tokengate's checks is reported at the line that used it, without the value", () => {
    const r = importXml(XML, { namedValues: { 'key-id': 'k1', 'signing-key': 'AAAA', 'token-header': 'X-Token' } });
    expect(r.exitCode).toBe(2);
    expect(lines(r)).toEqual([
      'policy.xml:2: <key>: tokengate validate would reject issuerSigningKeys[0]: a symmetric key needs at least 16 bytes',
    ]);
  });

  it('the command line forms: NAME=VALUE (a value may hold =), and a YAML or JSON map', () => {
    expect(parseNamedValueArg(`key=${KEY}`)).toEqual({ name: 'key', value: KEY });
    expect(parseNamedValueArg('=x')).toBeUndefined();
    expect(parseNamedValueArg('novalue')).toBeUndefined();
    expect(parseNamedValuesFile('tenant-id: 72f988bf-86f1-41af-91ab-2d7cd011db47\nskew: 120\n')).toEqual(
      new Map([
        ['tenant-id', '72f988bf-86f1-41af-91ab-2d7cd011db47'],
        ['skew', '120'],
      ]),
    );
    expect(parseNamedValuesFile('{"a": "b"}')).toEqual(new Map([['a', 'b']]));
    expect(parseNamedValuesFile('- a\n- b\n')).toEqual({
      error: expect.stringMatching(/must be a map of named values/),
    });
    expect(parseNamedValuesFile('a: { b: c }')).toEqual({ error: 'the value of "a" must be a string' });
    expect(parseNamedValuesFile('a: [')).toEqual({ error: expect.stringMatching(/^not YAML or JSON: /) });
  });
});

describe('--certificate ID=FILE.pem', () => {
  const XML = jwt(
    '<issuer-signing-keys><key certificate-id="jwt-signer" /></issuer-signing-keys>\n<decryption-keys><key certificate-id="jwt-signer" /></decryption-keys>',
  );

  it('maps certificate-id to the certificate for signing and to the private key for decryption, from one bundle', () => {
    const r = importXml(XML, { certificates: { 'jwt-signer': BUNDLE } });
    expect(r.exitCode).toBe(0);
    const out = body(r);
    expect((out.issuerSigningKeys as { pem: string }[])[0]!.pem).toMatch(
      /^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/,
    );
    expect((out.decryptionKeys as { pem: string }[])[0]!.pem).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[\s\S]*-----END PRIVATE KEY-----\n$/,
    );
    validates(r.yaml!);
  });

  it('a file without the block a purpose needs is a gap that says which; an encrypted key is refused', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const encrypted = privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    }) as string;
    expect(lines(importXml(XML, { certificates: { 'jwt-signer': spki } }))).toEqual([
      'policy.xml:3: <key certificate-id>: jwt-signer.pem holds no PRIVATE KEY block: decryption needs the private key (a certificate is public)',
    ]);
    expect(lines(importXml(XML, { certificates: { 'jwt-signer': encrypted } }))).toEqual([
      'policy.xml:2: <key certificate-id>: jwt-signer.pem holds no CERTIFICATE or PUBLIC KEY block: give the certificate that verifies the signatures',
      'policy.xml:3: <key certificate-id>: jwt-signer.pem holds an encrypted private key: tokengate reads no passwords; give the key unencrypted',
    ]);
  });

  it('an unknown id names the option that supplies it', () => {
    expect(lines(importXml(XML))[0]).toBe(
      'policy.xml:2: <key certificate-id>: certificate "jwt-signer" is in APIM\'s certificate store, which tokengate cannot read: export the certificate (or its public key) as PEM and give it with --certificate "jwt-signer=FILE.pem"',
    );
  });
});

describe('every key and URL is checked as tokengate validate checks it', () => {
  it('a 4-byte symmetric decryption key (no JWE algorithm uses it) is refused at its line', () => {
    const r = importXml(
      jwt(
        `<issuer-signing-keys><key>${KEY}</key></issuer-signing-keys>\n<decryption-keys><key id="enc">${randomBytes(4).toString('base64')}</key></decryption-keys>`,
      ),
    );
    expect(r.exitCode).toBe(2);
    expect(lines(r)).toEqual([
      'policy.xml:3: <key>: tokengate validate would reject decryptionKeys[0]: decryption key: a symmetric key needs at least 16 bytes: no JWE algorithm uses fewer',
    ]);
  });

  it('a URL that is not https is a gap; partial leaves it out and says validate then refuses the policy', () => {
    const xml = jwt('<openid-config url="http://idp.example.com/.well-known/openid-configuration" />');
    expect(lines(importXml(xml))).toEqual([
      'policy.xml:2: <openid-config url>: "http://idp.example.com/.well-known/openid-configuration" is not an https URL: tokengate fetches keys over https only',
    ]);
    const partial = importXml(xml, { allowPartial: true });
    expect(partial.exitCode).toBe(0);
    expect(lines(partial)[0]).toBe(
      'policy.xml:1: <validate-jwt>: tokengate validate would reject the policy: needs at least one key source: openidConfig, jwksUri or issuerSigningKeys [--allow-partial: written as it is: tokengate validate rejects the file until you fix it]',
    );
  });

  it('authentication-endpoint without https:// gets the scheme, and validates', () => {
    const xml = `<validate-azure-ad-token tenant-id="72f988bf-86f1-41af-91ab-2d7cd011db47" authentication-endpoint="login.microsoftonline.us/">
<client-application-ids><application-id>8f1c4f06-5c6e-4f7b-9a54-1f8f4d2f1a11</application-id></client-application-ids>
<audiences><audience>api://orders</audience></audiences></validate-azure-ad-token>`;
    const r = importXml(xml);
    expect(r.exitCode).toBe(0);
    expect(
      (parseYaml(r.yaml!) as { policies: { validateAzureAdToken: { authority: string } }[] }).policies[0]!
        .validateAzureAdToken.authority,
    ).toBe('https://login.microsoftonline.us');
    validates(r.yaml!);
  });
});

describe('--allow-partial with a token location it cannot map denies every request', () => {
  it.each([
    ['a form field', '@(context.Request.Body.As<IDictionary<string, string>>(preserveContent: true)["access_token"])'],
    ['a context variable', '@((string)context.Variables["token"])'],
    [
      'the Authorization header cut by hand',
      '@(context.Request.Headers.GetValueOrDefault("Authorization","").Split(\' \').Last())',
    ],
  ])('%s: a required claim no token carries is added', (_, expression) => {
    const r = importXml(
      jwt(
        `<issuer-signing-keys><key>${KEY}</key></issuer-signing-keys>`,
        `token-value="${expression.replaceAll('"', '&quot;')}"`,
      ),
      { allowPartial: true },
    );
    expect(r.exitCode).toBe(0);
    const claims = parseConfigText(r.yaml!).policies[0]!.validateJwt.requiredClaims;
    expect(claims).toEqual([
      {
        name: expect.stringMatching(/^\["<unmappable at policy\.xml:1: token location token-value=/),
        match: 'all',
        separator: undefined,
        values: [],
      },
    ]);
  });
});

describe('XML errors in one plain sentence', () => {
  it.each([
    ['attribute "1" missed quot(")!!', 'the attribute value 1 is not in quotes: write name="value"'],
    ['attribute space is required"b"!!', 'attribute b needs a space after its value'],
    ["element parse error: Error: attribute value no end '\"' match", 'an attribute value has no closing "'],
    ['Opening and ending tag mismatch: "a" != "tokengate-import-root"', '<a> is never closed'],
    ['entity not found:&foo;', '&foo; is not an XML entity: write &amp; for a literal &'],
    ['something new @#[line:3,col:1]', 'the XML is not well-formed here (the parser says: something new)'],
  ])('%s → %s', (raw, plain) => {
    expect(plainXmlMessage(raw)).toBe(plain);
  });

  it('with FILE:LINE', () => {
    expect(
      lines(importXml('<policies>\n<validate-jwt header-name=Authorization>\n</validate-jwt></policies>')),
    ).toEqual([
      'policy.xml:2: not well-formed XML: the attribute value Authorization is not in quotes: write name="value"',
    ]);
  });
});
