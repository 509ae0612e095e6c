/**
 * What tokengate reads from a parsed CEL expression (the library's AST: nodes with `op`, `args` and a source range):
 * its static cost bound, checked at load, and the claims it reads, which `explain` shows with their values.
 */
export interface CelNode {
  readonly op: string;
  readonly args: unknown;
  readonly start: number;
}

/**
 * The static bound a rule must stay within, since the library has no runtime cost limit. Every operation but a
 * comprehension costs at most linear time in its operands, and an operand is at most the token (16 KiB, so a list
 * of at most ~8k elements) or a literal; a comprehension over a claim list runs its body once per element. With at
 * most MAX_NODES nodes and comprehensions never nested, one evaluation does at most about MAX_NODES × 8k steps.
 * `matches()` is refused: the library runs it with JavaScript's backtracking RegExp, not RE2, so a pattern like
 * `(a+)+$` could take exponential time on a claim an attacker shapes.
 */
export const MAX_NODES = 200;
export const MAX_COMPREHENSION_NESTING = 1;
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const REFUSED_FUNCTIONS: Readonly<Record<string, string>> = {
  matches: 'matches() is not available: regular expressions run on a backtracking engine here, not RE2',
};

function isNode(value: unknown): value is CelNode {
  return typeof value === 'object' && value !== null && typeof (value as CelNode).op === 'string';
}

/** The sub-expressions of a node, whatever its operator (its args hold nodes, lists of nodes, or map entries). */
export function children(node: CelNode): CelNode[] {
  if (node.op === 'value' || node.op === 'id') return [];
  const out: CelNode[] = [];
  const visit = (value: unknown): void => {
    if (isNode(value)) out.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
  };
  visit(node.args);
  return out;
}

/** The called function's name, for `call` (f(x)) and `rcall` (x.f()) nodes. */
function calledName(node: CelNode): string | undefined {
  return (node.op === 'call' || node.op === 'rcall') && Array.isArray(node.args) ? String(node.args[0]) : undefined;
}

export interface BoundProblem {
  readonly message: string;
  /** Offset in the expression. */
  readonly start: number;
}

/** The first way the expression leaves the static bound, if any. */
export function checkBound(root: CelNode): BoundProblem | undefined {
  let nodes = 0;
  let problem: BoundProblem | undefined;
  const walk = (node: CelNode, nesting: number): void => {
    if (problem) return;
    nodes++;
    const name = calledName(node);
    if (name !== undefined && Object.hasOwn(REFUSED_FUNCTIONS, name)) {
      problem = { message: REFUSED_FUNCTIONS[name]!, start: node.start };
      return;
    }
    const comprehension = node.op === 'rcall' && name !== undefined && COMPREHENSIONS.has(name);
    const depth = comprehension ? nesting + 1 : nesting;
    if (depth > MAX_COMPREHENSION_NESTING) {
      const message = `${name}() inside another comprehension: nested comprehensions are refused`;
      problem = { message: `${message} (their cost multiplies)`, start: node.start };
      return;
    }
    // A comprehension's receiver runs once, outside it: `l.filter(...).exists(...)` is two passes, not nested ones.
    const receiver = comprehension && Array.isArray(node.args) ? node.args[1] : undefined;
    for (const child of children(node)) walk(child, child === receiver ? nesting : depth);
  };
  walk(root, 0);
  if (problem) return problem;
  if (nodes > MAX_NODES) return { message: `has ${nodes} nodes, more than the ${MAX_NODES} a rule may have`, start: 0 };
  return undefined;
}

/** A claim an expression reads: `claims.realm_access.roles` as segments, and as written for `explain`. */
export interface ClaimRead {
  readonly text: string;
  readonly segments: readonly string[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The segments of `claims.a["b"].c`, or undefined when the node is not such a chain. */
function claimChain(node: CelNode): string[] | undefined {
  if (node.op === 'id') return node.args === 'claims' ? [] : undefined;
  if (!Array.isArray(node.args) || !isNode(node.args[0])) return undefined;
  const inner = claimChain(node.args[0]);
  if (inner === undefined) return undefined;
  const key = node.args[1];
  if (node.op === '.' && typeof key === 'string') return [...inner, key];
  const literal = isNode(key) && key.op === 'value' && typeof key.args === 'string' ? key.args : undefined;
  if (node.op === '[]' && literal !== undefined) return [...inner, literal];
  return undefined;
}

/** The claims the expression reads (longest paths only), and whether it calls scopes(). */
export function claimsRead(root: CelNode): { reads: ClaimRead[]; scopes: boolean } {
  const reads = new Map<string, ClaimRead>();
  let scopes = false;
  const walk = (node: CelNode): void => {
    const chain = node.op === 'id' ? undefined : claimChain(node);
    if (chain !== undefined && chain.length > 0) {
      const text = `claims${chain.map((s) => (IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`)).join('')}`;
      reads.set(text, { text, segments: chain });
      return;
    }
    if (calledName(node) === 'scopes') scopes = true;
    for (const child of children(node)) walk(child);
  };
  walk(root);
  return { reads: [...reads.values()], scopes };
}
