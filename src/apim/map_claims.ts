/** `<required-claims><claim name match separator><value>` → `requiredClaims`. */
import type { MapContext } from './context.js';
import type { ClaimRule } from './map_common.js';
import { attribute, childrenNamed, type XmlElement } from './xml.js';
import { literal } from './values.js';

export function requiredClaims(ctx: MapContext, el: XmlElement): ClaimRule[] {
  const out: ClaimRule[] = [];
  for (const c of childrenNamed(el, 'required-claims')) {
    for (const claim of c.children) {
      if (claim.name !== 'claim') {
        const why = 'not a child element of required-claims (expected claim)';
        ctx.report.unmappable(claim.line, `<${claim.name}>`, why, 'left out');
        continue;
      }
      out.push(mapClaim(ctx, claim));
    }
  }
  return out;
}

const NAME_PLACEHOLDER =
  'replaced by a placeholder claim no token carries, so this rule denies until you name the claim';

function mapClaim(ctx: MapContext, claim: XmlElement): ClaimRule {
  const report = ctx.report;
  for (const a of claim.attributes) {
    if (!['name', 'match', 'separator'].includes(a.name)) {
      report.unmappable(
        a.line,
        `<claim ${a.name}>`,
        'not an attribute of claim (expected name, match, separator)',
        'left out',
      );
    }
  }
  const nameAttr = attribute(claim, 'name');
  let name: string;
  if (!nameAttr) {
    report.unmappable(claim.line, '<claim>', 'has no name', NAME_PLACEHOLDER);
    name = report.placeholder(claim.line, 'claim without a name');
  } else {
    const v = literal(nameAttr.value);
    if (v.ok) name = v.value;
    else {
      report.unmappable(nameAttr.line, '<claim name>', v.why, NAME_PLACEHOLDER);
      name = report.placeholder(nameAttr.line, nameAttr.value);
    }
  }
  const rule: ClaimRule = { name, values: [] };
  const match = attribute(claim, 'match');
  if (match) {
    const v = literal(match.value);
    const value = v.ok ? v.value.toLowerCase() : undefined;
    if (value === 'all' || value === 'any') rule.match = value;
    else {
      const why = v.ok ? `"${v.value}" is neither all nor any` : v.why;
      report.unmappable(match.line, '<claim match>', why, 'left out: match: all, the strict default, applies');
    }
  }
  const separator = attribute(claim, 'separator');
  if (separator) {
    const v = literal(separator.value);
    // A separator is taken as it is: " " must stay a space.
    if (v.ok && separator.value.length > 0) rule.separator = separator.value;
    else
      report.unmappable(
        separator.line,
        '<claim separator>',
        v.ok ? 'is empty' : v.why,
        'left out: the claim is compared whole',
      );
  }
  for (const child of claim.children) {
    if (child.name !== 'value') {
      report.unmappable(child.line, `<${child.name}>`, 'not a child element of claim (expected value)', 'left out');
      continue;
    }
    const v = literal(child.text);
    if (v.ok) rule.values.push(v.value);
    else {
      const action = 'replaced by a placeholder no token carries, so this rule denies until you write the value';
      report.unmappable(child.line, '<value>', v.why, action);
      rule.values.push(report.placeholder(child.line, child.text));
    }
  }
  // Keys in the order tokengate's README writes them.
  return {
    name: literalClaimName(rule.name),
    ...(rule.match ? { match: rule.match } : {}),
    ...(rule.separator ? { separator: rule.separator } : {}),
    values: rule.values,
  };
}

/**
 * APIM compares a claim name as written; tokengate reads `a.b` as a path into nested claims when the token has no
 * top-level `a.b` (authz/claim_path.ts), and `/x` as a JSON Pointer. A name with a dot, a bracket or a leading `/`
 * is therefore written in the bracket form, `["a.b"]`, which names exactly that top-level claim.
 */
export function literalClaimName(name: string): string {
  return /[.[\]]|^\//.test(name) ? `[${JSON.stringify(name)}]` : name;
}
