import { Problems, join, mappingList, optionalEnum, requiredString, type Raw } from '../config/reader.js';
import type { RuleConfig } from '../config/types.js';

/** The policy keys this module reads. */
export const RULES_KEYS = ['rules', 'rulesDefault'] as const;

const RULE_KEYS = ['name', 'when', 'allow', 'mode'];

/**
 * A policy's `rules` and `rulesDefault`, as written: the shape only. The expressions are compiled and type-checked
 * with the rest of the policy (src/rules/compile.ts), where `tokengate validate` reports their CEL errors.
 */
export function readPolicyRules(
  o: Raw,
  path: string,
  problems: Problems,
): { rules: RuleConfig[]; rulesDefault: 'allow' | 'deny' } {
  const names = new Set<string>();
  const rules = mappingList(o, 'rules', path, problems, RULE_KEYS, (r, itemPath) => {
    const name = requiredString(r, 'name', itemPath, problems);
    if (name !== undefined && names.has(name)) problems.add(join(itemPath, 'name'), `duplicate rule name "${name}"`);
    if (name !== undefined) names.add(name);
    const allow = expression(r, 'allow', itemPath, problems);
    if (r.allow === undefined) {
      problems.add(join(itemPath, 'allow'), 'is required: the CEL condition the request must meet');
    }
    const when = r.when === undefined ? undefined : expression(r, 'when', itemPath, problems);
    const mode = optionalEnum(r, 'mode', itemPath, problems, ['enforce', 'report-only'] as const) ?? 'enforce';
    return name !== undefined && allow !== undefined ? { name, when, allow, mode } : undefined;
  });
  const rulesDefault = optionalEnum(o, 'rulesDefault', path, problems, ['allow', 'deny'] as const) ?? 'allow';
  if (rulesDefault === 'deny' && o.rules === undefined) {
    problems.add(join(path, 'rulesDefault'), 'deny needs rules: without any, every request would be refused');
  }
  return { rules, rulesDefault };
}

/** A CEL expression: YAML must hand it over as a string (an unquoted `true` arrives as a boolean). */
function expression(r: Raw, key: string, itemPath: string, problems: Problems): string | undefined {
  const value = r[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    problems.add(join(itemPath, key), `must be a CEL expression in a string (quote it: '${String(value)}')`);
    return undefined;
  }
  if (value.trim() === '') {
    problems.add(join(itemPath, key), 'must not be empty');
    return undefined;
  }
  return value;
}
