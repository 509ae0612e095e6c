import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { importApimPolicy, defaultPolicyName, formatDiagnostic, type ImportResult } from '../../src/apim/import_apim.js';
import { parsePolicyXml, protectExpressions, type XmlElement } from '../../src/apim/xml.js';
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

// --- Round trip: every attribute and child element in the fixtures appears in the output ----------------------------

// APIM's policy reference (learn.microsoft.com/azure/api-management/validate-jwt-policy and
// validate-azure-ad-token-policy): the attributes and child elements tokengate maps. `certificate-id` is the one
// form without a mapping; the unmappable tests cover it.
const JWT_ATTRIBUTES = [
  'header-name', 'query-parameter-name', 'token-value', 'failed-validation-httpcode', 'failed-validation-error-message',
  'require-expiration-time', 'require-scheme', 'require-signed-tokens', 'clock-skew', 'output-token-variable-name',
];
const JWT_ELEMENTS = ['openid-config', 'issuer-signing-keys', 'decryption-keys', 'audiences', 'issuers', 'required-claims'];
const AZURE_ATTRIBUTES = [
  'tenant-id', 'header-name', 'query-parameter-name', 'token-value', 'authentication-endpoint', 'failed-validation-httpcode',
  'failed-validation-error-message', 'output-token-variable-name',
];
const AZURE_ELEMENTS = ['client-application-ids', 'backend-application-ids', 'audiences', 'required-claims', 'decryption-keys'];

/** What each attribute must become, computed from the raw XML value independently of the importer. */
const ATTRIBUTE_EXPECTATIONS: Record<string, (raw: string) => Record<string, unknown>> = {
  'header-name': (v) => ({ headerName: v }),
  'query-parameter-name': (v) => ({ queryParameterName: v }),
  'token-value': (v) => {
    const m = /^@\(context\.Request\.(Headers|Url\.Query|Cookies)\.GetValueOrDefault\("([^"]+)"/.exec(v);
    if (!m) throw new Error(`fixture token-value ${v} is not a plain form`);
    return { [{ Headers: 'headerName', 'Url.Query': 'queryParameterName', Cookies: 'cookieName' }[m[1]!]!]: m[2] };
  },
  'failed-validation-httpcode': (v) => ({ failedValidationHttpCode: Number(v) }),
  'failed-validation-error-message': (v) => ({ failedValidationErrorMessage: v }),
  'require-expiration-time': (v) => ({ requireExpirationTime: v === 'true' }),
  'require-scheme': (v) => ({ requireScheme: v }),
  'require-signed-tokens': (v) => ({ requireSignedTokens: v === 'true' }),
  'clock-skew': (v) => ({ clockSkew: Number(v) }),
  'output-token-variable-name': () => ({ forwardPayloadHeader: 'x-jwt-payload' }),
  'tenant-id': (v) => ({ tenantId: v }),
  'authentication-endpoint': (v) => ({ authority: v.replace(/\/+$/, '') }),
};

const text = (el: XmlElement) => el.text.trim();
const attr = (el: XmlElement, name: string) => el.attributes.find((a) => a.name === name)?.value;
const texts = (el: XmlElement) => el.children.map(text);
const keyOf = (k: XmlElement) => {
  const id = attr(k, 'id');
  const body = attr(k, 'n') !== undefined ? { n: attr(k, 'n'), e: attr(k, 'e') } : { base64: text(k) };
  return id === undefined ? body : { ...body, id };
};

const FULL_ISSUERS = ['https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0', 'https://idp.example.com'];

/** What each child element must become. */
const ELEMENT_EXPECTATIONS: Record<string, (els: XmlElement[]) => Record<string, unknown>> = {
  // An Entra document's issuer is written out (the v2 one is {authority}/{tenant}/v2.0); any other URL implies its own.
  'openid-config': (els) => ({
    openidConfig: els.map((el) => {
      const url = attr(el, 'url')!;
      const entra = /^(https:\/\/login\.microsoftonline\.com\/[^/]+\/v2\.0)\/\.well-known\/openid-configuration$/.exec(url);
      return entra ? { url, issuer: entra[1] } : { url };
    }),
  }),
  // Beside a discovery document each key also gets `issuers` (see the full fixture below).
  'issuer-signing-keys': (els) => ({ issuerSigningKeys: els.flatMap((el) => el.children.map((k) => expect.objectContaining(keyOf(k)))) }),
  'decryption-keys': (els) => ({ decryptionKeys: els.flatMap((el) => el.children.map(keyOf)) }),
  audiences: (els) => ({ audiences: els.flatMap(texts) }),
  issuers: (els) => ({ issuers: els.flatMap(texts) }),
  'client-application-ids': (els) => ({ clientApplicationIds: els.flatMap(texts) }),
  'backend-application-ids': (els) => ({ backendApplicationIds: els.flatMap(texts) }),
  'required-claims': (els) => ({
    requiredClaims: els.flatMap((el) =>
      el.children.map((c) => ({
        name: attr(c, 'name'),
        ...(attr(c, 'match') !== undefined ? { match: attr(c, 'match') } : {}),
        ...(attr(c, 'separator') !== undefined ? { separator: attr(c, 'separator') } : {}),
        values: texts(c),
      })),
    ),
  }),
};

function policyElements(el: XmlElement): XmlElement[] {
  return ['validate-jwt', 'validate-azure-ad-token'].includes(el.name) ? [el] : el.children.flatMap(policyElements);
}

/** Asserts key by key that every attribute and child element of each policy element appears in the output. */
function expectRoundTrip(file: string): { attributes: Set<string>; elements: Set<string> } {
  const xml = fixture(file);
  const elements = policyElements(parsePolicyXml(xml));
  const result = importXml(xml);
  expect(result.exitCode, lines(result).join('\n')).toBe(0);
  const out = bodies(result);
  expect(out).toHaveLength(elements.length);
  const seen = { attributes: new Set<string>(), elements: new Set<string>() };
  elements.forEach((el, i) => {
    const expected: Record<string, unknown> = {};
    for (const a of el.attributes) {
      seen.attributes.add(a.name);
      const expectation = ATTRIBUTE_EXPECTATIONS[a.name];
      expect(expectation, `${file}: no expectation for attribute ${a.name}`).toBeDefined();
      for (const [key, value] of Object.entries(expectation!(a.value))) {
        expect(out[i]![key], `${file}: ${el.name} ${a.name}="${a.value}" → ${key}`).toEqual(value);
        expected[key] = value;
      }
    }
    for (const name of new Set(el.children.map((c) => c.name))) {
      seen.elements.add(name);
      const expectation = ELEMENT_EXPECTATIONS[name];
      expect(expectation, `${file}: no expectation for element ${name}`).toBeDefined();
      for (const [key, value] of Object.entries(expectation!(el.children.filter((c) => c.name === name)))) {
        expect(out[i]![key], `${file}: <${name}> → ${key}`).toEqual(value);
        expected[key] = value;
      }
    }
    // Nothing else: no key the XML did not ask for (defaults stay tokengate's).
    expect(Object.keys(out[i]!).sort(), `${file}: keys of policy ${i + 1}`).toEqual(Object.keys(expected).sort());
  });
  return seen;
}

describe('round trip: every attribute and child element maps to its key', () => {
  it('validate-jwt: the fixtures hold every mappable attribute and element, and each appears in the output', () => {
    const attributes = new Set<string>();
    const elements = new Set<string>();
    for (const file of ['validate-jwt-full.xml', 'validate-jwt-query.xml', 'validate-jwt-token-value.xml']) {
      const seen = expectRoundTrip(file);
      seen.attributes.forEach((a) => attributes.add(a));
      seen.elements.forEach((e) => elements.add(e));
    }
    expect([...attributes].sort()).toEqual([...JWT_ATTRIBUTES].sort());
    expect([...elements].sort()).toEqual([...JWT_ELEMENTS].sort());
  });

  it('validate-azure-ad-token: likewise', () => {
    const attributes = new Set<string>();
    const elements = new Set<string>();
    for (const file of ['validate-azure-ad-token-full.xml', 'validate-azure-ad-token-locations.xml']) {
      const seen = expectRoundTrip(file);
      seen.attributes.forEach((a) => attributes.add(a));
      seen.elements.forEach((e) => elements.add(e));
    }
    expect([...attributes].sort()).toEqual([...AZURE_ATTRIBUTES].sort());
    expect([...elements].sort()).toEqual([...AZURE_ELEMENTS].sort());
  });

  it('the full validate-jwt fixture gives exactly this YAML, which tokengate validate accepts', () => {
    const result = importXml(fixture('validate-jwt-full.xml'), { name: 'orders' });
    expect(lines(result)).toEqual([
      expect.stringMatching(/^policy\.xml:\d+: warning: <issuer-signing-keys>: APIM lets these keys sign for every issuer of the policy, .*narrow each key's issuers/),
      'policy.xml:15: warning: <validate-jwt output-token-variable-name>: tokengate has no context variables: the validated token\'s payload goes upstream as base64url JSON in the header x-jwt-payload (forwardPayloadHeader: x-jwt-payload); what read context.Variables["jwt"] must read that header instead, or take single claims with outputClaimsToHeaders',
    ]);
    expect(parseYaml(result.yaml!)).toEqual({
      policies: [
        {
          name: 'orders',
          validateJwt: {
            headerName: 'Authorization',
            requireScheme: 'Bearer',
            failedValidationHttpCode: 403,
            failedValidationErrorMessage: 'Access denied: the token is missing or invalid.',
            requireExpirationTime: false,
            requireSignedTokens: true,
            clockSkew: 120,
            openidConfig: [
              {
                url: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration',
                issuer: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0',
              },
              { url: 'https://idp.example.com/.well-known/openid-configuration' },
            ],
            // APIM's trust, kept: each key may sign for every issuer of the policy (with a warning to narrow it).
            issuerSigningKeys: [
              { base64: 'k/9yGJ8romhH9efOXboQvJG71JAQ0xArjZGqAcQdB84=', id: 'hs1', issuers: FULL_ISSUERS },
              { n: expect.stringMatching(/^kxvz79/), e: 'AQAB', id: 'rsa1', issuers: FULL_ISSUERS },
            ],
            decryptionKeys: [{ base64: 'HZvb/T7JvggJDYQpRo1gW3ee8RxmYbMSZtmL3IebvXA=', id: 'enc1' }],
            audiences: ['api://orders', 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'],
            issuers: ['https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0', 'https://idp.example.com'],
            requiredClaims: [
              { name: 'scp', match: 'any', separator: ' ', values: ['orders.read', 'orders.write'] },
              { name: 'roles', match: 'all', values: ['Orders.Reader'] },
            ],
            forwardPayloadHeader: 'x-jwt-payload',
          },
        },
      ],
    });
    const policy = parseConfigText(result.yaml!).policies[0]!;
    expect(policy.name).toBe('orders');
    expect(policy.validateJwt).toMatchObject({
      token: { kind: 'header', name: 'authorization', scheme: 'Bearer' },
      clockSkewSeconds: 120,
      requireExpirationTime: false,
      failedValidationHttpCode: 403,
      forwardPayloadHeader: 'x-jwt-payload',
    });
    expect(policy.validateJwt.issuerSigningKeys.map((k) => k.form)).toEqual(['symmetric', 'rsa']);
    expect(policy.validateJwt.decryptionKeys.map((k) => k.form)).toEqual(['symmetric']);
  });

  it('every other fixture imports to a config tokengate validate accepts', () => {
    for (const file of ['validate-jwt-query.xml', 'validate-jwt-token-value.xml', 'validate-azure-ad-token-full.xml', 'validate-azure-ad-token-locations.xml']) {
      const result = importXml(fixture(file));
      expect(() => parseConfigText(result.yaml!, file), file).not.toThrow();
    }
  });

  it('the validate-azure-ad-token fixture gives this validateAzureAdToken object', () => {
    // Asserted on the emitted structure, independent of how tokengate expands validateAzureAdToken.
    const result = importXml(fixture('validate-azure-ad-token-full.xml'), { name: 'entra' });
    expect(parseYaml(result.yaml!)).toEqual({
      policies: [
        {
          name: 'entra',
          validateAzureAdToken: {
            tenantId: '11111111-2222-3333-4444-555555555555',
            authority: 'https://login.microsoftonline.com',
            headerName: 'Authorization',
            failedValidationHttpCode: 401,
            failedValidationErrorMessage: 'Unauthorized. Access token is missing or invalid.',
            clientApplicationIds: ['cccccccc-0000-0000-0000-000000000001', 'cccccccc-0000-0000-0000-000000000002'],
            backendApplicationIds: ['bbbbbbbb-0000-0000-0000-000000000001'],
            audiences: ['api://orders'],
            requiredClaims: [
              { name: 'roles', match: 'any', values: ['Orders.Reader', 'Orders.Admin'] },
              { name: 'scp', match: 'all', separator: ' ', values: ['orders.read'] },
            ],
            decryptionKeys: [{ base64: 'HZvb/T7JvggJDYQpRo1gW3ee8RxmYbMSZtmL3IebvXA=', id: 'enc1' }],
            forwardPayloadHeader: 'x-jwt-payload',
          },
        },
      ],
    });
  });
});

// --- Input shapes ----------------------------------------------------------------------------------------------------

describe('input shapes', () => {
  const BARE = `<validate-jwt header-name="Authorization">
  <openid-config url="https://idp.example.com/.well-known/openid-configuration" />
  <audiences><audience>api://a</audience></audiences>
</validate-jwt>`;

  it('a bare element, a <fragment>, and a full policy document import alike', () => {
    const expected = [{ headerName: 'Authorization', openidConfig: [{ url: 'https://idp.example.com/.well-known/openid-configuration' }], audiences: ['api://a'] }];
    expect(bodies(importXml(BARE))).toEqual(expected);
    expect(bodies(importXml(`<fragment>\n${BARE}\n</fragment>`))).toEqual(expected);
    expect(bodies(importXml(`<?xml version="1.0" encoding="utf-8"?>\n<policies><inbound><base />${BARE}</inbound><outbound /></policies>`))).toEqual(expected);
  });

  it('several validate elements become NAME, NAME-2, ... with a warning that tokengate picks one per request', () => {
    const result = importXml(`<policies><inbound>\n${BARE}\n${BARE}\n</inbound></policies>`, { name: 'orders' });
    expect((parseYaml(result.yaml!) as { policies: { name: string }[] }).policies.map((p) => p.name)).toEqual(['orders', 'orders-2']);
    expect(lines(result)).toEqual([
      'policy.xml:6: warning: <validate-jwt>: APIM runs every validation its flow reaches, tokengate decides a request with one policy: this one is policy "orders-2"; send requests to it with match or Envoy\'s context_extensions, or merge it into "orders"',
    ]);
  });

  it('validate elements in the branches of a <choose> on method and path become policies with that match', () => {
    const result = importXml(fixture('validate-jwt-token-value.xml'));
    expect(lines(result)).toEqual([]);
    const doc = parseYaml(result.yaml!) as { policies: { name: string; match?: unknown }[] };
    expect(doc.policies.map((p) => [p.name, p.match])).toEqual([
      ['api', { methods: ['GET', 'HEAD'] }],
      ['api-2', { pathPrefixes: ['/reports'] }],
      ['api-3', undefined],
    ]);
  });

  it('raw quotes, && and < inside policy expressions parse, as APIM accepts them, and line numbers stay true', () => {
    const xml = '<a x="@(b("c") && d < e)">\n<!-- @(" -->\n<v>@{ return "<x>"; }</v><w>@(a &amp;&amp; b)</w></a>';
    expect(protectExpressions(xml)).toBe(
      '<a x="@(b(&quot;c&quot;) &amp;&amp; d &lt; e)">\n<!-- @(" -->\n<v>@{ return &quot;&lt;x&gt;&quot;; }</v><w>@(a &amp;&amp; b)</w></a>',
    );
    const root = parsePolicyXml(xml).children[0]!;
    expect(root.attributes[0]!.value).toBe('@(b("c") && d < e)');
    expect(root.children.map((c) => [c.text, c.line])).toEqual([['@{ return "<x>"; }', 3], ['@(a && b)', 3]]);
  });

  it('not well-formed XML is an error with its line; a document without a validate element is an error', () => {
    const broken = importXml('<policies>\n<inbound>\n<validate-jwt>\n</inbound>\n</policies>');
    expect(broken.exitCode).toBe(1);
    expect(broken.yaml).toBeUndefined();
    expect(lines(broken)).toEqual(['policy.xml:3: not well-formed XML: <validate-jwt> is not closed before </inbound>']);
    const empty = importXml('<policies><inbound><base /><rate-limit calls="5" renewal-period="60" /></inbound></policies>');
    expect(empty.exitCode).toBe(1);
    expect(lines(empty)).toEqual(['policy.xml: error: no <validate-jwt> or <validate-azure-ad-token> element found: there is nothing to import']);
  });

  it('derives the policy name from the file name', () => {
    expect(defaultPolicyName('apis/Orders API.policy.xml')).toBe('orders-api-policy');
    expect(defaultPolicyName('/tmp/backend-app.xml')).toBe('backend-app');
    expect(defaultPolicyName('.xml')).toBe('imported');
  });
});

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
      'left out: its keys are missing, and issuers is a placeholder no token carries',
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
