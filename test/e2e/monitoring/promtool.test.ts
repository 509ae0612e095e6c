// Issue 22 §2: the alert rules pass `promtool check rules`, Prometheus's own loader and checker (parse, PromQL,
// templates in annotations, duplicate names), both as the plain rules file and as the groups inside the generated
// PrometheusRule. promtool comes from scripts/install-promtool.sh (a Go build; `npm run test:e2e` runs it).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ROOT } from '../../helpers/paths.js';
import { goToolBin, runTool } from '../helpers/go_tool.js';

const MONITORING = join(ROOT, 'deploy/components/monitoring');
const RULES_FILE = join(MONITORING, 'tokengate.rules.yaml');
const PROMETHEUS_RULE_FILE = join(MONITORING, 'prometheusrule.yaml'); // scripts/render-monitoring.mjs makes it

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-promtool-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function checkRules(file: string) {
  return runTool(goToolBin('promtool'), ['check', 'rules', file]);
}

/** A rules file holding the PrometheusRule's spec.groups, as the operator hands them to Prometheus. */
function rulesOfPrometheusRule(): string {
  const rule = parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'));
  expect(rule.kind).toBe('PrometheusRule');
  const file = join(tmp, 'prometheusrule-groups.yaml');
  writeFileSync(file, stringify({ groups: rule.spec.groups }));
  return file;
}

describe('promtool check rules', () => {
  it('passes the plain rules file', () => {
    const r = checkRules(RULES_FILE);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes the rules inside the generated PrometheusRule', () => {
    const r = checkRules(rulesOfPrometheusRule());
    expect(r.status, r.output).toBe(0);
    const count = (text: string) => Number(/SUCCESS: (\d+) rules found/.exec(text)?.[1]);
    expect(count(r.output)).toBe(count(checkRules(RULES_FILE).output));
  });

  // The control: promtool really reads the file and fails on a rule Prometheus would refuse.
  it('fails on a rule with broken PromQL and on a bad annotation template', () => {
    const { groups } = parse(readFileSync(RULES_FILE, 'utf8'));
    const broken = structuredClone(groups);
    broken[0].rules[0].expr = 'sum by (source) (tokengate_key_source_usable';
    const brokenExpr = join(tmp, 'broken-expr.yaml');
    writeFileSync(brokenExpr, stringify({ groups: broken }));
    const r1 = checkRules(brokenExpr);
    expect(r1.status).not.toBe(0);
    expect(r1.output).toMatch(/unclosed left parenthesis|parse error/);

    const badTemplate = structuredClone(groups);
    badTemplate[0].rules[0].annotations.summary = '{{ $labels.source ';
    const brokenTemplate = join(tmp, 'broken-template.yaml');
    writeFileSync(brokenTemplate, stringify({ groups: badTemplate }));
    const r2 = checkRules(brokenTemplate);
    expect(r2.status).not.toBe(0);
    expect(r2.output).toMatch(/template/);
  });
});
