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

  it('several validations in one flow are refused: APIM requires both, tokengate decides with one policy', () => {
    const xml = `<policies><inbound>\n${BARE}\n${BARE}\n</inbound></policies>`;
    const refused = importXml(xml, { name: 'orders' });
    expect(refused.exitCode).toBe(2);
    expect(lines(refused)).toEqual([
      'policy.xml:6: <validate-jwt>: APIM runs this validation and the one at line 2 on the same requests, so a token must pass both; tokengate decides a request with one policy: merge them into one policy with both sets of checks',
    ]);
    // With --allow-partial they become NAME, NAME-2, each with a required claim no token carries: neither alone
    // (which would let in what the other refuses) decides any request.
    const partial = parseConfigText(importXml(xml, { name: 'orders', allowPartial: true }).yaml!).policies;
    expect(partial.map((p) => p.name)).toEqual(['orders', 'orders-2']);
    for (const p of partial) {
      expect(p.validateJwt.requiredClaims).toEqual([
        { name: expect.stringMatching(/^\["<unmappable at policy\.xml:[26]: another validation runs on the same requests: merge them>"\]$/), match: 'all', separator: undefined, values: [] },
      ]);
    }
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
