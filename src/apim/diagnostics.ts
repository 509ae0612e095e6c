/** What the importer says about a policy: each finding with its line, as `FILE:LINE: <what>: message`. */
import { shorten } from './values.js';

export type Severity = 'error' | 'unmappable' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  readonly line: number | undefined;
  /** `<element>` or `<element attribute>`. */
  readonly what: string;
  readonly message: string;
  /** With allowPartial: what the importer did instead. */
  readonly action?: string;
}

/** `policy.xml:12: <audience>: why`, as the command prints it on stderr. */
export function formatDiagnostic(d: Diagnostic, source: string): string {
  const where = d.line === undefined ? source : `${source}:${d.line}`;
  switch (d.severity) {
    case 'error':
      return `${where}: ${d.what === 'XML' ? 'not well-formed XML' : 'error'}: ${d.message}`;
    case 'warning':
      return `${where}: warning: ${d.what}: ${d.message}`;
    case 'unmappable':
      return `${where}: ${d.what}: ${d.message}${d.action ? ` [--allow-partial: ${d.action}]` : ''}`;
  }
}

/** Collects the findings of one import; every mapping function reports through it. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly source: string,
    readonly allowPartial: boolean,
  ) {}

  warn(line: number | undefined, what: string, message: string): void {
    this.diagnostics.push({ severity: 'warning', line, what, message });
  }

  unmappable(line: number | undefined, what: string, why: string, action: string): void {
    this.diagnostics.push({
      severity: 'unmappable',
      line,
      what,
      message: why,
      ...(this.allowPartial ? { action } : {}),
    });
  }

  /** A value no token carries, naming what it stands for: the check it sits in denies until it is replaced. */
  placeholder(line: number, original: string): string {
    // `{tenantid}` is tokengate's issuer template (jwt/issuer_pattern.ts): quoted in a placeholder issuer, it would
    // make the placeholder a multi-tenant issuer. Written as `[tenantid]`, it stays a value no token carries.
    const quoted = shorten(original).replace(/\{(tenantid)\}/gi, '[$1]');
    return `<unmappable at ${this.source}:${line}: ${quoted}>`;
  }
}
