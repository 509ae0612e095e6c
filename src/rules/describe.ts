import { claimAt } from '../jwt/claim_path.js';
import type { CompiledRule } from './compile.js';
import { scopesFor } from './activation.js';

const SHOWN_LENGTH = 120;

/**
 * `claims.roles = ["Admin"], scopes() = ["orders.read"]`: what `explain` and a denial's detail show of the claims a
 * rule read. Values are JSON, cut short: a claim can be long, and the detail goes into logs.
 */
export function describeReads(rule: CompiledRule, claims: Readonly<Record<string, unknown>>): string {
  const parts = rule.reads.map((r) => `${r.text} = ${shown(claimAt(claims, r.segments))}`);
  if (rule.readsScopes) parts.push(`scopes() = ${shown(scopesFor(claims))}`);
  return parts.join(', ');
}

function shown(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > SHOWN_LENGTH ? `${text.slice(0, SHOWN_LENGTH)}…` : text;
}
