// Issue 17 §2: a validation inside <choose>/<when> on the HTTP method or the path becomes a policy with that match;
// a condition a match cannot express exactly is refused. The decisions themselves run end to end in corpus_e2e.
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatDiagnostic, importApimPolicy, type ImportResult } from '../../src/apim/import_apim.js';
import { parseCondition } from '../../src/apim/condition.js';
import { parseConfigText } from '../../src/config/load.js';

const KEY = 'k/9yGJ8romhH9efOXboQvJG71JAQ0xArjZGqAcQdB84=';
const validate = (aud: string) =>
  `<validate-jwt header-name="Authorization"><issuer-signing-keys><key>${KEY}</key></issuer-signing-keys>` +
  `<audiences><audience>${aud}</audience></audiences><issuers><issuer>https://idp.example.com</issuer></issuers></validate-jwt>`;

function importXml(xml: string, allowPartial = false): ImportResult {
  return importApimPolicy(xml, { source: 'policy.xml', name: 'api', allowPartial });
}
const lines = (r: ImportResult) => r.diagnostics.map((d) => formatDiagnostic(d, 'policy.xml'));
const matches = (r: ImportResult) => {
  expect(r.yaml, lines(r).join('\n')).toBeDefined();
  return (parseYaml(r.yaml!) as { policies: { name: string; match?: unknown }[] }).policies.map((p) => [
    p.name,
    p.match,
  ]);
};

describe('conditions a match expresses', () => {
  it.each([
    ['@(context.Request.Method == "GET")', { methods: ['GET'] }],
    ['@("DELETE" == context.Request.Method)', { methods: ['DELETE'] }],
    ['@(context.Request.Method.Equals("PUT"))', { methods: ['PUT'] }],
    ['@(context.Request.Method == "GET" || context.Request.Method == "HEAD")', { methods: ['GET', 'HEAD'] }],
    ['@(context.Request.OriginalUrl.Path.StartsWith("/admin"))', { pathPrefixes: ['/admin'] }],
    [
      '@(context.Request.OriginalUrl.Path.StartsWith("/a") || context.Request.OriginalUrl.Path.StartsWith("/b"))',
      { pathPrefixes: ['/a', '/b'] },
    ],
    [
      '@((context.Request.Method == "POST" || context.Request.Method == "PUT") && context.Request.OriginalUrl.Path.StartsWith("/orders"))',
      { methods: ['POST', 'PUT'], pathPrefixes: ['/orders'] },
    ],
  ])('%s', (condition, match) => {
    expect(parseCondition(condition)).toEqual({ match });
  });

  it.each([
    ['a header test', '@(context.Request.Headers.ContainsKey("X-Token"))'],
    ['a negation', '@(context.Request.Method != "OPTIONS")'],
    ['a lower-case method (methods are case-sensitive)', '@(context.Request.Method == "get")'],
    [
      'a method or a path (two policies, not one match)',
      '@(context.Request.Method == "GET" || context.Request.OriginalUrl.Path.StartsWith("/a"))',
    ],
    [
      'two path tests at once',
      '@(context.Request.OriginalUrl.Path.StartsWith("/a") && context.Request.OriginalUrl.Path.StartsWith("/a/b"))',
    ],
    ['an exact path', '@(context.Request.OriginalUrl.Path == "/health")'],
    ['a statement block', '@{ return context.Request.Method == "GET"; }'],
  ])('%s is not one', (_, condition) => {
    expect(parseCondition(condition)).toHaveProperty('why');
  });

  it('context.Request.Url.Path (after APIM removed the API suffix) is refused with that reason', () => {
    expect(parseCondition('@(context.Request.Url.Path.StartsWith("/admin"))')).toEqual({
      why: expect.stringMatching(/API's URL suffix.*OriginalUrl\.Path/),
    });
  });
});

describe('<choose> around validations', () => {
  it("each branch is a policy with its match, in file order, <otherwise> last without one: APIM's first-match choice", () => {
    const r = importXml(`<policies><inbound><choose>
  <when condition="@(context.Request.Method == &quot;GET&quot;)">${validate('api://read')}</when>
  <when condition="@(context.Request.OriginalUrl.Path.StartsWith(&quot;/admin&quot;))">${validate('api://admin')}</when>
  <otherwise>${validate('api://write')}</otherwise>
</choose></inbound></policies>`);
    expect(r.exitCode).toBe(0);
    expect(lines(r)).toEqual([]);
    expect(matches(r)).toEqual([
      ['api', { methods: ['GET'] }],
      ['api-2', { pathPrefixes: ['/admin'] }],
      ['api-3', undefined],
    ]);
    expect(parseConfigText(r.yaml!).policies.map((p) => p.match?.methods)).toEqual([['GET'], undefined, undefined]);
  });

  it('nested conditions combine: a method branch inside a path branch', () => {
    const r =
      importXml(`<choose><when condition="@(context.Request.OriginalUrl.Path.StartsWith(&quot;/orders&quot;))"><choose>
  <when condition="@(context.Request.Method == &quot;DELETE&quot;)">${validate('api://admin')}</when>
  <otherwise>${validate('api://orders')}</otherwise>
</choose></when><otherwise>${validate('api://rest')}</otherwise></choose>`);
    expect(matches(r)).toEqual([
      ['api', { methods: ['DELETE'], pathPrefixes: ['/orders'] }],
      ['api-2', { pathPrefixes: ['/orders'] }],
      ['api-3', undefined],
    ]);
  });

  it('a <when> without <otherwise>: the requests no branch selects are denied by tokengate, said in a warning', () => {
    const r = importXml(
      `<choose>\n<when condition="@(context.Request.Method == &quot;POST&quot;)">${validate('api://write')}</when>\n</choose>`,
    );
    expect(r.exitCode).toBe(0);
    expect(lines(r)).toEqual([
      'policy.xml:1: warning: <choose>: it has no <otherwise>: requests that match no <when> ran no validation in APIM; tokengate denies them (NoPolicyMatched) unless another policy matches them or their Envoy route skips ext_authz',
    ]);
  });

  it('an earlier branch that validates nothing (the CORS preflight pattern) cannot be left out: refused', () => {
    const xml = `<choose>\n<when condition="@(context.Request.Method == &quot;OPTIONS&quot;)"><return-response><set-status code="204" /></return-response></when>\n<otherwise>\n${validate('api://a')}</otherwise>\n</choose>`;
    const r = importXml(xml);
    expect(r.exitCode).toBe(2);
    expect(lines(r)).toEqual([
      expect.stringMatching(
        /^policy\.xml:4: <validate-jwt>: inside <choose> \(line 3\): APIM sends requests that match the earlier <when> \(line 2\) there, and it runs no validation; tokengate cannot leave them out/,
      ),
    ]);
    // With --allow-partial the policy checks every request routed to it: more is denied (the preflight), never less.
    expect(matches(importXml(xml, true))).toEqual([['api', undefined]]);
  });

  it('...unless the earlier branch cannot overlap this one', () => {
    const r = importXml(
      `<choose>\n<when condition="@(context.Request.Method == &quot;OPTIONS&quot;)"><return-response /></when>\n<when condition="@(context.Request.Method == &quot;GET&quot;)">${validate('api://a')}</when>\n</choose>`,
    );
    expect(r.exitCode).toBe(0);
    expect(matches(r)).toEqual([['api', { methods: ['GET'] }]]);
  });

  it('a condition no match expresses is refused at the validation, naming the condition', () => {
    const r = importXml(
      `<choose>\n<when condition="@(context.Request.Headers.ContainsKey(&quot;X-Token&quot;))">\n${validate('api://a')}</when>\n</choose>`,
    );
    expect(lines(r)).toEqual([
      'policy.xml:3: <validate-jwt>: inside <choose> (line 2): the condition @(context.Request.Headers.ContainsKey("X-Token")) is not a test of the HTTP method (context.Request.Method == "GET") or of the path\'s start (context.Request.OriginalUrl.Path.StartsWith("/admin")), joined by || and &&, which is all a match expresses',
    ]);
  });

  it('validations in different branches are not "several validations in one flow"; in one branch they are', () => {
    const r = importXml(
      `<choose><when condition="@(context.Request.Method == &quot;GET&quot;)">\n${validate('a')}\n${validate('b')}</when><otherwise>${validate('c')}</otherwise></choose>`,
    );
    expect(lines(r)).toEqual([
      expect.stringMatching(/^policy\.xml:3: <validate-jwt>: APIM runs this validation and the one at line 2 on the same requests/),
    ]);
  });
});
