import { AuthzError } from '../errors.js';
import { normalizePath } from '../authz/normalize_path.js';
import type { AuthzRequest } from '../authz/request.js';
import type { Trace } from '../authz/trace.js';
import { describeReads } from './describe.js';
import { RuleRequest, withClaims, type RuleActivation } from './activation.js';
import { summary, type CompiledRule, type RuleSet } from './compile.js';

type Claims = Readonly<Record<string, unknown>>;

/**
 * Runs a policy's rules for one request whose token passed every other check. Every rule whose `when` holds (or that
 * has no `when`) must `allow`; an enforced rule that does not — false, not a bool, or an evaluation error — throws
 * RuleDenied (RFC 6750 §3.1: a valid token without the rights needed, so 403 insufficient_scope). Nothing here
 * allows on an error. Returns the detail of the first report-only rule that would have denied, if any.
 */
export function applyRules(
  set: RuleSet,
  policyName: string,
  req: AuthzRequest,
  claims: Claims,
  trace?: Trace,
): string | undefined {
  const request = ruleRequest(req);
  const activation: RuleActivation = { claims, request, route: req.contextExtensions, policy: policyName };
  return withClaims(claims, () => {
    let governed = false;
    let wouldDeny: string | undefined;
    for (const rule of set.rules) {
      const verdict = judge(rule, activation);
      if (verdict === 'not governed') {
        trace?.({ step: `rule ${rule.name}`, ok: true, detail: `when is false: not governed${reads(rule, claims)}` });
        continue;
      }
      governed = true;
      if (verdict === 'allowed') {
        const when = rule.when ? 'when holds, ' : '';
        trace?.({ step: `rule ${rule.name}`, ok: true, detail: `${when}allow is true${reads(rule, claims)}` });
        continue;
      }
      const detail = `rule ${rule.name}: ${verdict}${reads(rule, claims)}`;
      if (rule.mode === 'enforce') throw new AuthzError('RuleDenied', detail, { step: `rule ${rule.name}` });
      trace?.({ step: `rule ${rule.name}`, ok: false, detail: `report-only, would deny: ${detail}` });
      wouldDeny ??= detail;
    }
    if (!governed && set.strict) {
      throw new AuthzError('RuleDenied', 'no rule governs this request (rulesDefault: deny)', { step: 'rules' });
    }
    const passed = 'no rule governs this request: passed on (rulesDefault: allow)';
    if (!governed) trace?.({ step: 'rules', ok: true, detail: passed });
    return wouldDeny;
  });
}

/** 'allowed', 'not governed', or why the rule denies. */
function judge(rule: CompiledRule, activation: RuleActivation): string {
  if (rule.when) {
    const held = run(rule.when, activation);
    if (held === false) return 'not governed';
    if (held !== true) return `when ${held.error}`;
  }
  const allowed = run(rule.allow, activation);
  if (allowed === true) return 'allowed';
  return allowed === false ? 'allow is false' : `allow ${allowed.error}`;
}

/** A bool, or why there is none. Never throws: the library's errors, and any other, become a denial's detail. */
function run(program: (a: RuleActivation) => unknown, activation: RuleActivation): boolean | { error: string } {
  let value: unknown;
  try {
    value = program(activation);
  } catch (err) {
    return { error: `could not be evaluated: ${evaluationError(err)}` };
  }
  if (typeof value === 'boolean') return value;
  const type = typeof value === 'object' ? (Array.isArray(value) ? 'a list' : 'a map') : typeof value;
  return { error: `gave ${type}, not a bool` };
}

/** Error codes whose message holds types only, never a value: `no such overload: dyn<string> > int`. */
const TYPE_ONLY = new Set(['no_such_overload', 'no_matching_overload']);

/**
 * What went wrong, without the values involved: the library puts values into some messages (`No such key: <a header
 * value>`, `Invalid duration string: <a claim>`), and a denial's detail is logged, so a token in a header must not
 * get there. The error code and the part of the expression that failed (config text) say enough.
 */
function evaluationError(err: unknown): string {
  type CelError = { code?: unknown; range?: { start: number; end: number }; node?: { input?: unknown } };
  const { code, range, node } = err as CelError;
  if (typeof code !== 'string') return `internal error (${err instanceof Error ? err.name : typeof err})`;
  if (TYPE_ONLY.has(code)) return summary(err);
  const source = typeof node?.input === 'string' && range ? node.input.slice(range.start, range.end) : undefined;
  return `${code.replaceAll('_', ' ')}${source === undefined ? '' : `: ${source}`}`;
}

/** The request as rules see it: the path normalised as the policy was chosen (selectPolicy refused any other). */
function ruleRequest(req: AuthzRequest): RuleRequest {
  const normalised = normalizePath(req.path);
  const target = typeof normalised === 'string' ? normalised : req.path;
  const q = target.indexOf('?');
  return new RuleRequest(req.method, q === -1 ? target : target.slice(0, q), req.host, req.headers);
}

/** The claims a rule read and their values; built only for a trace or a denial. */
function reads(rule: CompiledRule, claims: Claims): string {
  const text = describeReads(rule, claims);
  return text === '' ? '' : `; read ${text}`;
}
