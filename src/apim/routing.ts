/**
 * Which requests a validation inside `<choose>` applies to, as a tokengate `match`.
 *
 * APIM runs the first `<when>` whose condition holds, else `<otherwise>`. tokengate decides a request with the first
 * policy whose match holds, and the import keeps the file's order, so a branch becomes a policy with its condition
 * as its match, and `<otherwise>` one without: exactly APIM's choice, as long as each earlier branch also became a
 * policy (its requests stop there) or cannot overlap. An earlier branch without a validation let its requests through
 * unchecked; tokengate has no policy that allows without a token, and a match cannot say "not", so that is refused.
 */
import { disjoint, intersect, parseCondition, type BranchMatch } from './condition.js';
import { shorten } from './values.js';
import { attribute, type XmlElement } from './xml.js';

export type Routing =
  | { readonly kind: 'match'; readonly match: BranchMatch | undefined; readonly unmatchedChoose?: XmlElement }
  | { readonly kind: 'unmappable'; readonly line: number; readonly why: string };

const POLICY_ELEMENTS = ['validate-jwt', 'validate-azure-ad-token'];

export function containsPolicy(el: XmlElement): boolean {
  return POLICY_ELEMENTS.includes(el.name) || el.children.some(containsPolicy);
}

/** The match of every `<when>`/`<otherwise>` around `el`, outermost last, combined; or why it cannot be one. */
export function routingOf(el: XmlElement): Routing {
  let match: BranchMatch | undefined;
  let unmatchedChoose: XmlElement | undefined;
  for (let branch = el.parent; branch; branch = branch.parent) {
    const choose = branch.parent;
    if ((branch.name !== 'when' && branch.name !== 'otherwise') || choose?.name !== 'choose') continue;
    const own = branchMatch(branch, choose);
    if ('why' in own) return { kind: 'unmappable', line: own.line, why: own.why };
    if (own.match) {
      const both = match ? intersect(match, own.match) : own.match;
      if (!both) {
        const why = 'nested conditions that one match cannot express together (two path tests, or no common method)';
        return { kind: 'unmappable', line: branch.line, why };
      }
      match = both;
    }
    if (!choose.children.some((c) => c.name === 'otherwise')) unmatchedChoose ??= choose;
  }
  return { kind: 'match', match, ...(unmatchedChoose ? { unmatchedChoose } : {}) };
}

type Branch = { match: BranchMatch | undefined } | { line: number; why: string };

function branchMatch(branch: XmlElement, choose: XmlElement): Branch {
  const whens = choose.children.filter((c) => c.name === 'when');
  const index = branch.name === 'when' ? whens.indexOf(branch) : whens.length;
  const parsed = whens.map((w) => ({ when: w, condition: parseCondition(attribute(w, 'condition')?.value ?? '') }));
  let own: BranchMatch | undefined;
  if (branch.name === 'when') {
    const c = parsed[index]!.condition;
    const shown = shorten(attribute(branch, 'condition')?.value ?? '');
    if ('why' in c) return { line: branch.line, why: `the condition ${shown} ${c.why}` };
    own = c.match;
  }
  for (const earlier of parsed.slice(0, index)) {
    // An earlier branch with its own validation is an earlier policy: its requests never reach this one.
    if (containsPolicy(earlier.when) && 'match' in earlier.condition) continue;
    if (own && 'match' in earlier.condition && disjoint(own, earlier.condition.match)) continue;
    const validated = containsPolicy(earlier.when) ? 'runs its own validation' : 'runs no validation';
    return {
      line: branch.line,
      why:
        `APIM sends requests that match the earlier <when> (line ${earlier.when.line}) there, and it ${validated}; ` +
        'tokengate cannot leave them out of this policy (a match cannot say "not", and no policy allows without a ' +
        'token): ' +
        'route those requests around tokengate in Envoy (for example a route with ext_authz disabled), and this ' +
        'policy with a match of its own',
    };
  }
  return { match: own };
}
