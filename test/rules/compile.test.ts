// Rules are compiled and type-checked at load (issue 18 §2): every problem of every policy in one ConfigError, as
// `policies[i].rules[j].allow: message (column N)`, through the real compile step (parseConfigText + buildRuntime)
// and through `tokengate validate`. The static cost bound refuses what the CEL library would run without a limit.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { RULE_ENVIRONMENT } from '../../src/rules/environment.js';
import { MAX_NODES, checkBound, claimsRead, type CelNode } from '../../src/rules/ast.js';
import { scopesOf } from '../../src/rules/scopes.js';
import { loadRuleEngine, ruleEnvironment } from '../../src/rules/engine.js';
import { parseConfigText } from '../../src/config/load.js';
import { configProblems } from '../helpers/config_problems.js';

const SECRET = Buffer.alloc(32, 7).toString('base64');

function config(...policies: string[]): string {
  const body = policies.map(
    (rules, i) => `  - name: p${i}
    validateJwt: { issuerSigningKeys: [{ base64: "${SECRET}" }], audiences: [], issuers: [] }
${rules}`,
  );
  return `policies:\n${body.join('')}`;
}

/** The problems of loading (reading and compiling) the text, or [] when it loads. */
const problems = configProblems;

const rule = (allow: string, when?: string) =>
  `    rules:\n      - name: r\n        allow: ${JSON.stringify(allow)}\n${when === undefined ? '' : `        when: ${JSON.stringify(when)}\n`}`;

describe('the CEL engine is loaded only for a config with rules (start-up cost, issue 23)', () => {
  it('is not loaded by a config without rules, and compiling a rule before it is loaded is an error, not a pass', async () => {
    await loadRuleEngine(parseConfigText(config(''), 'test'));
    expect(() => ruleEnvironment()).toThrow(/before loadRuleEngine/);
    expect(() => problems(config(rule('true')))).toThrow(/the CEL engine is not loaded/);
  });

  it('is loaded by the first config with rules', async () => {
    await loadRuleEngine(parseConfigText(config(rule('true')), 'test'));
    expect(ruleEnvironment()).toBe(RULE_ENVIRONMENT);
  });
});

describe('CEL errors at load', () => {
  beforeAll(() => loadRuleEngine(parseConfigText(config(rule('true')), 'test')));

  it('a syntax error, an unknown variable, a type error, a misspelt request field: path, message, column', () => {
    expect(problems(config(rule('claims.a == ')))).toEqual(['policies[0].rules[0].allow: Unexpected token: EOF (column 13)']);
    expect(problems(config(rule('user.admin')))).toEqual(['policies[0].rules[0].allow: Unknown variable: user (column 1)']);
    expect(problems(config(rule('request.method + 1 == 2')))).toEqual([
      'policies[0].rules[0].allow: no such overload: string + int (column 1)',
    ]);
    expect(problems(config(rule('request.metod == "GET"')))).toEqual(['policies[0].rules[0].allow: No such key: metod (column 9)']);
    expect(problems(config(rule('true', 'request.method ==')))).toEqual(['policies[0].rules[0].when: Unexpected token: EOF (column 18)']);
  });

  it('a rule must be a condition: a string or a list is refused, a claim (dyn) is checked per request', () => {
    expect(problems(config(rule('"a" + claims.b')))).toEqual([
      'policies[0].rules[0].allow: must be a condition (bool), but is of type string (column 1)',
    ]);
    expect(problems(config(rule('scopes()')))).toEqual([
      'policies[0].rules[0].allow: must be a condition (bool), but is of type list<string> (column 1)',
    ]);
    expect(problems(config(rule('claims.admin')))).toEqual([]);
  });

  it('a multi-line expression gives the line and column', () => {
    expect(problems(config(rule('claims.a == "x" &&\n  nope')))).toEqual([
      'policies[0].rules[0].allow: Unknown variable: nope (line 2, column 3)',
    ]);
  });

  it('the static bound: nested comprehensions, matches(), and size are refused at load', () => {
    expect(problems(config(rule('claims.a.exists(x, claims.b.exists(y, x == y))')))).toEqual([
      'policies[0].rules[0].allow: exists() inside another comprehension: nested comprehensions are refused (their cost multiplies) (column 20)',
    ]);
    // Chained comprehensions run one after the other: linear, allowed.
    expect(problems(config(rule('claims.a.filter(x, x != "").exists(y, y == "z")')))).toEqual([]);
    expect(problems(config(rule('claims.a.matches("^(a+)+$")')))).toEqual([
      'policies[0].rules[0].allow: matches() is not available: regular expressions run on a backtracking engine here, not RE2 (column 1)',
    ]);
    // 70 × (==, ., claims, 1) and 69 ||.
    const big = Array.from({ length: 70 }, (_, i) => `claims.c${i} == 1`).join(' || ');
    expect(problems(config(rule(big)))).toEqual([`policies[0].rules[0].allow: has 349 nodes, more than the ${MAX_NODES} a rule may have (column 1)`]);
  });

  it('every problem of every policy at once, with the shape problems of rules', () => {
    const text = config(
      rule('nope'),
      `    rulesDefault: deny\n    rules:\n      - { name: a, allow: true }\n      - { name: a, allow: "x ==", mode: audit }\n      - { name: c, when: "true" }\n`,
      '    rulesDefault: strict\n',
    );
    expect(problems(text)).toEqual([
      "policies[1].rules[0].allow: must be a CEL expression in a string (quote it: 'true')",
      'policies[1].rules[1].name: duplicate rule name "a"',
      'policies[1].rules[1].mode: must be one of enforce, report-only, got string "audit"',
      'policies[1].rules[2].allow: is required: the CEL condition the request must meet',
      'policies[2].rulesDefault: must be one of allow, deny, got string "strict"',
    ]);
    // Shape problems stop the load before compiling; once the shape is right, all CEL problems are listed together.
    expect(problems(config(rule('nope'), rule('true', 'x ==')))).toEqual([
      'policies[0].rules[0].allow: Unknown variable: nope (column 1)',
      'policies[1].rules[0].when: Unexpected token: EOF (column 5)',
    ]);
    expect(problems(config('    rulesDefault: deny\n'))).toEqual([
      'policies[0].rulesDefault: deny needs rules: without any, every request would be refused',
    ]);
  });

  it('tokengate validate prints them and exits 1', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tokengate-rules-')), 'tokengate.yaml');
    writeFileSync(file, config(rule('"orders.read" in scope()')));
    const result = await promisify(execFile)(process.execPath, ['dist/cli.js', 'validate', file]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      // Like a key that cannot be imported, a rule problem is found by the compile step, after the file was read.
      `invalid configuration:\n  policies[0].rules[0].allow: found no matching overload for 'scope()' (column 18)\n`,
    );
  });
});

describe('what a rule reads', () => {
  const ast = (text: string) => RULE_ENVIRONMENT.parse(text).ast as unknown as CelNode;

  it('claims chains (longest only), bracket keys, has(), and scopes()', () => {
    const { reads, scopes } = claimsRead(
      ast('has(claims.realm_access.roles) && "x" in claims.realm_access.roles && claims["https://e.com/r"][0] == 1'),
    );
    expect(reads.map((r) => r.text)).toEqual(['claims.realm_access.roles', 'claims["https://e.com/r"]']);
    expect(reads[1]!.segments).toEqual(['https://e.com/r']);
    expect(scopes).toBe(false);
    expect(claimsRead(ast('"a" in scopes() && request.method == "GET"'))).toEqual({ reads: [], scopes: true });
  });

  it('checkBound counts every node', () => {
    expect(checkBound(ast('true'))).toBeUndefined();
    const terms = (n: number) => Array.from({ length: n }, () => 'true').join(' && ');
    // n literals and n - 1 operators.
    expect(checkBound(ast(terms(100)))).toBeUndefined();
    expect(checkBound(ast(terms(101)))).toEqual({ message: `has 201 nodes, more than the ${MAX_NODES} a rule may have`, start: 0 });
  });
});

describe('scopes()', () => {
  it('scp or scope, a space-separated string or an array, both merged, without duplicates or empty items', () => {
    expect(scopesOf({ scp: 'a b  c' })).toEqual(['a', 'b', 'c']);
    expect(scopesOf({ scope: 'a b' })).toEqual(['a', 'b']);
    expect(scopesOf({ scp: ['a', 'b', 3, null, ''] })).toEqual(['a', 'b']);
    expect(scopesOf({ scp: 'a', scope: ['a', 'd'] })).toEqual(['a', 'd']);
    expect(scopesOf({ scp: { a: 1 } })).toEqual([]);
    expect(scopesOf({})).toEqual([]);
  });
});
