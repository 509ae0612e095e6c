/**
 * The imported YAML through tokengate's own compile step, as `tokengate validate` runs it (config read, keys imported,
 * key sources bound; nothing started): every URL and key the importer writes is checked by the code that will use it,
 * so an import can never pass with a value the server refuses. Each problem is reported at the XML line it came from.
 */
import { buildRuntime } from '../authz/runtime.js';
import { parseConfigText } from '../config/load.js';
import { ConfigError } from '../errors.js';
import type { Origin } from './context.js';
import type { Diagnostic } from './diagnostics.js';

export interface CheckedPolicy {
  /** The policy element's own line, where a problem without a more precise origin is reported. */
  readonly line: number;
  readonly element: string;
  readonly origins: ReadonlyMap<string, Origin>;
}

export interface CompileProblem {
  readonly diagnostic: Diagnostic;
  /** The policy it belongs to (its index), if it names one. */
  readonly policy: number | undefined;
  /** Traced to the XML that wrote the key, rather than reported at the policy element. */
  readonly precise: boolean;
}

const PROBLEM = /^policies\[(\d+)\]\.(?:validateJwt|validateAzureAdToken)(?:\.([^:]*))?: ([\s\S]*)$/;

/** The problems `tokengate validate` would report for `yaml`; empty when it would accept it. */
export function checkImportedYaml(
  yaml: string,
  policies: readonly CheckedPolicy[],
  allowPartial: boolean,
): CompileProblem[] {
  let problems: readonly string[];
  try {
    buildRuntime(parseConfigText(yaml, 'import'));
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems = err.problems;
  }
  return problems.map((problem) => {
    const m = PROBLEM.exec(problem);
    const index = m ? Number(m[1]) : undefined;
    const policy = index === undefined ? undefined : policies[index];
    const origin = policy ? originOf(policy, m![2]) : undefined;
    const diagnostic: Diagnostic = {
      severity: 'unmappable',
      line: origin?.line ?? policy?.line,
      what: origin?.what ?? (policy ? `<${policy.element}>` : 'policy'),
      message: `tokengate validate would reject ${m?.[2] ?? 'the policy'}: ${m ? m[3] : problem}`,
      ...(allowPartial ? { action: 'written as it is: tokengate validate rejects the file until you fix it' } : {}),
    };
    return { diagnostic, policy: index, precise: origin !== undefined };
  });
}

/** The origin of the longest prefix of `path` the mapping recorded: `openidConfig[0].url` → `openidConfig[0]`. */
function originOf(policy: CheckedPolicy, path: string | undefined): Origin | undefined {
  let p = path;
  while (p) {
    const origin = policy.origins.get(p);
    if (origin !== undefined) return origin;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
  return undefined;
}
