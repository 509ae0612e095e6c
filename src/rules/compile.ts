import type { Config, PolicyConfig, RuleConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { checkBound, claimsRead, type CelNode, type ClaimRead } from './ast.js';
import type { RuleActivation } from './activation.js';
import { ruleEnvironment } from './engine.js';

/** A parsed, type-checked expression: run it with the activation of one request. */
export type RuleProgram = (activation: RuleActivation) => unknown;

export interface CompiledRule {
  readonly name: string;
  readonly mode: 'enforce' | 'report-only';
  /** undefined: the rule governs every request of its policy. */
  readonly when: RuleProgram | undefined;
  readonly allow: RuleProgram;
  /** The claims `when` and `allow` read, and whether they call scopes(): what `explain` and a denial show. */
  readonly reads: readonly ClaimRead[];
  readonly readsScopes: boolean;
}

/** A policy's rules, compiled once per config load. */
export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  /** rulesDefault: deny — a request no rule governs is refused. */
  readonly strict: boolean;
}

/** Compiled rule sets by policy config: a config object is compiled once, however often it is asked for. */
const compiled = new WeakMap<PolicyConfig, RuleSet | undefined>();

/**
 * Compiles and type-checks every rule of every policy, so that `tokengate validate` and a reload report all their
 * problems at once, as `policies[2].rules[0].allow: message (column N)`. Throws ConfigError listing them.
 */
export function compileAllRules(config: Config): void {
  const problems: string[] = [];
  config.policies.forEach((policy, i) => {
    if (compiled.has(policy)) return;
    const set = compilePolicyRules(policy, `policies[${i}]`, problems);
    if (set !== null) compiled.set(policy, set);
  });
  if (problems.length > 0) throw new ConfigError(problems);
}

/** The policy's compiled rules (undefined: none), compiled now if compileAllRules has not seen this config. */
export function ruleSetOf(policy: PolicyConfig): RuleSet | undefined {
  if (compiled.has(policy)) return compiled.get(policy);
  const problems: string[] = [];
  const set = compilePolicyRules(policy, `policy ${policy.name}`, problems);
  if (set === null) throw new ConfigError(problems);
  compiled.set(policy, set);
  return set;
}

/** null when any rule has a problem (listed in `problems`). */
function compilePolicyRules(policy: PolicyConfig, path: string, problems: string[]): RuleSet | undefined | null {
  if (policy.rules.length === 0 && policy.rulesDefault === 'allow') return undefined;
  const before = problems.length;
  const rules = policy.rules.map((rule, j) => compileRule(rule, `${path}.rules[${j}]`, problems));
  if (problems.length > before) return null;
  return { rules: rules as CompiledRule[], strict: policy.rulesDefault === 'deny' };
}

function compileRule(rule: RuleConfig, path: string, problems: string[]): CompiledRule | undefined {
  const when = rule.when === undefined ? undefined : compileExpression(rule.when, `${path}.when`, problems);
  const allow = compileExpression(rule.allow, `${path}.allow`, problems);
  if (!allow || (rule.when !== undefined && !when)) return undefined;
  const reads = new Map([...(when?.reads ?? []), ...allow.reads].map((r) => [r.text, r]));
  return {
    name: rule.name,
    mode: rule.mode,
    when: when?.program,
    allow: allow.program,
    reads: [...reads.values()],
    readsScopes: (when?.scopes ?? false) || allow.scopes,
  };
}

interface CompiledExpression {
  readonly program: RuleProgram;
  readonly reads: readonly ClaimRead[];
  readonly scopes: boolean;
}

/** Parse (syntax, library limits), bound (ast.ts), type-check (variables, fields, overloads, a bool result). */
function compileExpression(text: string, path: string, problems: string[]): CompiledExpression | undefined {
  const fail = (message: string, start: number | undefined) => {
    problems.push(`${path}: ${message} (${position(text, start ?? 0)})`);
    return undefined;
  };
  const environment = ruleEnvironment();
  let parsed: ReturnType<typeof environment.parse>;
  try {
    parsed = environment.parse(text);
  } catch (err) {
    return fail(summary(err), (err as { range?: { start: number } }).range?.start);
  }
  const ast = parsed.ast as unknown as CelNode;
  const bound = checkBound(ast);
  if (bound) return fail(bound.message, bound.start);
  const checked = parsed.check();
  if (!checked.valid) return fail(summary(checked.error), checked.error?.range?.start);
  // dyn: a claim used as a condition (`claims.admin`); whether it is a bool is known per request only.
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return fail(`must be a condition (bool), but is of type ${checked.type}`, 0);
  }
  const { reads, scopes } = claimsRead(ast);
  return { program: parsed as RuleProgram, reads, scopes };
}

/** The library's message without its source excerpt (the config path and column say where). */
export function summary(err: unknown): string {
  const e = err as { summary?: unknown; message?: unknown } | undefined;
  const text = typeof e?.summary === 'string' ? e.summary : typeof e?.message === 'string' ? e.message : String(err);
  return text.split('\n')[0]!;
}

/** `column N` (1-based) for a one-line expression, `line L, column N` within a multi-line one. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return text.includes('\n') ? `line ${line}, column ${column}` : `column ${column}`;
}
