/**
 * `tokengate import-apim`: APIM `validate-jwt` / `validate-azure-ad-token` policies → tokengate YAML policies.
 *
 * Every attribute and child element of both policies has a mapping (README "From validate-jwt to tokengate").
 * What cannot be mapped — a policy expression, a named value or template placeholder with no value given, a
 * certificate without its PEM, a discovery document whose issuer is unknown, a condition no match expresses — is
 * reported with its line. By default nothing is printed then (exit 2). With `allowPartial` the rest is printed, and
 * the gaps are filled so that the policy fails closed, never open:
 *
 * - a value in a list that narrows who gets in (audience, issuer, claim value, application id, tenant) becomes a
 *   placeholder that no token carries, so that check denies until someone writes the real value;
 * - a key is left out: tokengate then has fewer keys, never more, and a token signed with it is denied;
 * - a token location becomes a required claim no token carries: every request is denied;
 * - a scalar setting is left out, and tokengate's default applies, which is the strict one (expiration required,
 *   signed tokens required, no clock skew, claim match `all`).
 *
 * Whatever is printed has been through tokengate's own compile step (check_output.ts).
 */
import { Document } from 'yaml';
import { checkImportedYaml, type CheckedPolicy } from './check_output.js';
import type { Certificate, MapContext } from './context.js';
import { Reporter, formatDiagnostic, type Diagnostic } from './diagnostics.js';
import type { BranchMatch } from './condition.js';
import { mapValidateAzureAdToken } from './map_azure_ad.js';
import { literalClaimName } from './map_claims.js';
import { mapValidateJwt } from './map_validate_jwt.js';
import { substituteNamedValues, type NamedValues } from './named_values.js';
import { routingOf } from './routing.js';
import { parsePolicyXml, XmlSyntaxError, type XmlElement } from './xml.js';

export { formatDiagnostic, type Diagnostic, type Severity } from './diagnostics.js';
export { FORWARD_PAYLOAD_HEADER } from './map_common.js';

export interface ImportOptions {
  /** The file name used in messages, e.g. `policy.xml`. */
  readonly source: string;
  /** The tokengate policy name; several policies are named NAME, NAME-2, NAME-3... */
  readonly name: string;
  readonly allowPartial?: boolean;
  /** `--named-value` / `--named-values`: filled in for `{{name}}`, `${name}` and `{name}` before mapping. */
  readonly namedValues?: NamedValues;
  /** `--certificate ID=FILE.pem`: the PEM each APIM certificate id stands for. */
  readonly certificates?: ReadonlyMap<string, Certificate>;
}

export type ImportedPolicy = { name: string; match?: BranchMatch } & (
  { validateJwt: Record<string, unknown> } | { validateAzureAdToken: Record<string, unknown> }
);

export interface ImportResult {
  readonly policies: readonly ImportedPolicy[];
  readonly diagnostics: readonly Diagnostic[];
  /** The YAML document; undefined when nothing may be printed (an error, or unmappable pieces without allowPartial). */
  readonly yaml: string | undefined;
  /** 0: imported (warnings allowed); 1: not an importable document; 2: unmappable pieces without allowPartial. */
  readonly exitCode: 0 | 1 | 2;
}

const POLICY_ELEMENTS = ['validate-jwt', 'validate-azure-ad-token'];

/** Imports every validate-jwt / validate-azure-ad-token element of an APIM policy document (or a bare element). */
export function importApimPolicy(xml: string, options: ImportOptions): ImportResult {
  const allowPartial = options.allowPartial ?? false;
  let parsed: XmlElement;
  try {
    parsed = parsePolicyXml(xml);
  } catch (err) {
    if (!(err instanceof XmlSyntaxError)) throw err;
    return failed({ severity: 'error', line: err.line, what: 'XML', message: err.message });
  }
  const report = new Reporter(options.source, allowPartial);
  const values = options.namedValues ?? new Map<string, string>();
  const { root, used } = substituteNamedValues(parsed, values);
  for (const name of values.keys()) {
    if (!used.has(name))
      report.warn(undefined, `--named-value ${name}`, 'the policy does not use it (a misspelt name?)');
  }
  const elements = findPolicyElements(root);
  if (elements.length === 0) {
    return failed({
      severity: 'error',
      line: undefined,
      what: 'policy',
      message: 'no <validate-jwt> or <validate-azure-ad-token> element found: there is nothing to import',
    });
  }
  const checked: CheckedPolicy[] = [];
  const policyGaps: boolean[] = [];
  const warnedChooses = new Set<XmlElement>();
  const runTogether = new Set<XmlElement>();
  const policies = elements.map((el, i): ImportedPolicy => {
    const name = i === 0 ? options.name : `${options.name}-${i + 1}`;
    const before = report.diagnostics.length;
    const together = elements.slice(0, i).filter((earlier) => !exclusive(earlier, el));
    if (together.length > 0) {
      report.unmappable(
        el.line,
        `<${el.name}>`,
        `APIM runs this validation and the one at line ${together[0]!.line} on the same requests, so a token must ` +
          `pass both; tokengate decides a request with one policy: merge them into one policy with both sets of checks`,
        `"${name}" and the policies it runs with get a required claim no token carries: every request they decide ` +
          'is denied until you merge them',
      );
      for (const e of [el, ...together]) runTogether.add(e);
    }
    const match = routeOf(report, el, warnedChooses);
    const ctx: MapContext = { report, certificates: options.certificates ?? new Map(), origins: new Map() };
    checked.push({ line: el.line, element: el.name, origins: ctx.origins });
    const head = { name, ...(match ? { match } : {}) };
    const policy: ImportedPolicy =
      el.name === 'validate-jwt'
        ? { ...head, validateJwt: mapValidateJwt(ctx, el) }
        : { ...head, validateAzureAdToken: mapValidateAzureAdToken(ctx, el) };
    policyGaps.push(report.diagnostics.slice(before).some((d) => d.severity === 'unmappable'));
    return policy;
  });
  elements.forEach((el, i) => {
    if (runTogether.has(el)) failClosedTogether(report, el, policies[i]!);
  });
  const compiled = checkImportedYaml(toYaml(policies, [], options.source), checked, allowPartial);
  // What tokengate validate says about a gap already reported is said once. A problem of the whole policy (no key
  // source left) beside a gap is its consequence: shown only when the YAML is printed, to say validate will refuse it.
  const gapLines = new Set(report.diagnostics.filter((d) => d.severity === 'unmappable').map((d) => d.line));
  const news = compiled.filter(
    (p) =>
      !gapLines.has(p.diagnostic.line) &&
      (p.precise || allowPartial || !(p.policy !== undefined && policyGaps[p.policy])),
  );
  const diagnostics = sortByLine([...report.diagnostics, ...news.map((p) => p.diagnostic)]);
  const unmappable = diagnostics.some((d) => d.severity === 'unmappable');
  if (unmappable && !allowPartial) return { policies, diagnostics, yaml: undefined, exitCode: 2 };
  return { policies, diagnostics, yaml: toYaml(policies, diagnostics, options.source), exitCode: 0 };
}

function failed(diagnostic: Diagnostic): ImportResult {
  return { policies: [], diagnostics: [diagnostic], yaml: undefined, exitCode: 1 };
}

/** In file order, as a compiler lists them; the sort is stable, so one line keeps the order its checks ran in. */
function sortByLine(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/**
 * APIM requires a token to pass every validation its flow reaches; tokengate cannot require two policies of one
 * request. Any one of them alone would let in tokens another refuses, so with --allow-partial each gets a required
 * claim no token carries (as for a token location it cannot map): the requests they decide are all denied.
 */
function failClosedTogether(report: Reporter, el: XmlElement, policy: ImportedPolicy): void {
  const body = 'validateJwt' in policy ? policy.validateJwt : policy.validateAzureAdToken;
  const claims = (body.requiredClaims as unknown[] | undefined) ?? [];
  const name = report.placeholder(el.line, 'another validation runs on the same requests: merge them');
  body.requiredClaims = [...claims, { name: literalClaimName(name), values: [] }];
}

/** The match of a validation inside `<choose>`, reporting what a match cannot express (routing.ts). */
function routeOf(report: Reporter, el: XmlElement, warnedChooses: Set<XmlElement>): BranchMatch | undefined {
  const routing = routingOf(el);
  if (routing.kind === 'unmappable') {
    report.unmappable(
      el.line,
      `<${el.name}>`,
      `inside <choose> (line ${routing.line}): ${routing.why}`,
      'written without a match: the policy checks every request routed to it, also those APIM let through unvalidated',
    );
    return undefined;
  }
  const choose = routing.unmatchedChoose;
  if (choose && !warnedChooses.has(choose)) {
    warnedChooses.add(choose);
    report.warn(
      choose.line,
      '<choose>',
      'it has no <otherwise>: requests that match no <when> ran no validation in APIM; tokengate denies them ' +
        '(NoPolicyMatched) unless another policy matches them or their Envoy route skips ext_authz',
    );
  }
  return routing.match;
}

/** `orders-api.policy.xml` → `orders-api-policy`: the policy name a file suggests. */
export function defaultPolicyName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? '';
  const name = base
    .replace(/\.xml$/i, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name || 'imported';
}

function findPolicyElements(el: XmlElement): XmlElement[] {
  if (POLICY_ELEMENTS.includes(el.name)) return [el];
  return el.children.flatMap(findPolicyElements);
}

/** Whether APIM can never run both: they sit in different branches of one `<choose>`. */
function exclusive(a: XmlElement, b: XmlElement): boolean {
  const ancestors = (el: XmlElement) => {
    const out: XmlElement[] = [];
    for (let p: XmlElement | undefined = el; p; p = p.parent) out.push(p);
    return out;
  };
  const left = ancestors(a);
  const right = ancestors(b);
  const common = left.find((x) => right.includes(x));
  if (common?.name !== 'choose') return false;
  const below = (chain: XmlElement[]) => chain[chain.indexOf(common) - 1];
  return below(left) !== below(right);
}

function toYaml(policies: readonly ImportedPolicy[], diagnostics: readonly Diagnostic[], source: string): string {
  const doc = new Document({ policies });
  const notes = diagnostics.map((d) => ` ${formatDiagnostic(d, source)}`);
  doc.commentBefore = [
    ` Imported from ${source} by \`tokengate import-apim\`. Check it with \`tokengate validate\`;`,
    ' roll it out with `mode: report-only` first (docs/migrating-from-apim.md).',
    ...(notes.length > 0 ? ['', ...notes] : []),
  ].join('\n');
  return doc.toString({ lineWidth: 0 });
}
