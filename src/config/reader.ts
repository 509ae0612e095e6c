/**
 * Small typed accessors for walking untrusted YAML data. Each records a `path: message` problem instead of
 * throwing, so `tokengate validate` can report every problem of a file in one run.
 */

export type Raw = Record<string, unknown>;

export class Problems {
  readonly list: string[] = [];

  add(path: string, message: string): void {
    this.list.push(`${path || '(root)'}: ${message}`);
  }
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

/** A mapping whose keys must all be in `allowed`; undefined (and a problem) when it is not a mapping. */
export function mapping(value: unknown, path: string, problems: Problems, allowed: readonly string[]): Raw | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.add(path, `must be a mapping, got ${describe(value)}`);
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.add(join(path, key), `unknown key (expected one of: ${allowed.join(', ')})`);
  }
  return value as Raw;
}

export function optionalMapping(
  o: Raw,
  key: string,
  path: string,
  problems: Problems,
  allowed: readonly string[],
): Raw | undefined {
  if (o[key] === undefined || o[key] === null) return undefined;
  return mapping(o[key], join(path, key), problems, allowed);
}

export function list(value: unknown, path: string, problems: Problems): unknown[] | undefined {
  if (!Array.isArray(value)) {
    problems.add(path, `must be a list, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

export function optionalList(o: Raw, key: string, path: string, problems: Problems): unknown[] | undefined {
  if (o[key] === undefined) return undefined;
  return list(o[key], join(path, key), problems);
}

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

export function requiredString(o: Raw, key: string, path: string, problems: Problems): string | undefined {
  const value = o[key];
  if (!isNonEmptyString(value)) {
    problems.add(join(path, key), value === undefined ? 'is required' : 'must be a non-empty string');
    return undefined;
  }
  return value;
}

export function optionalString(o: Raw, key: string, path: string, problems: Problems): string | undefined {
  if (o[key] === undefined) return undefined;
  return requiredString(o, key, path, problems);
}

/** A list of non-empty strings; `minItems` 1 rejects an empty list. */
export function stringList(
  o: Raw,
  key: string,
  path: string,
  problems: Problems,
  options: { minItems?: number } = {},
): string[] | undefined {
  const items = optionalList(o, key, path, problems);
  if (items === undefined) return undefined;
  const out: string[] = [];
  items.forEach((item, i) => {
    if (isNonEmptyString(item)) out.push(item);
    else problems.add(join(join(path, key), i), 'must be a non-empty string');
  });
  if (items.length < (options.minItems ?? 0)) problems.add(join(path, key), 'must not be empty');
  return out;
}

export function optionalBoolean(o: Raw, key: string, path: string, problems: Problems, fallback: boolean): boolean {
  const value = o[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    problems.add(join(path, key), `must be true or false, got ${describe(value)}`);
    return fallback;
  }
  return value;
}

export function optionalNumber(
  o: Raw,
  key: string,
  path: string,
  problems: Problems,
  range: { min: number; max: number; integer?: boolean },
): number | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  const ok = typeof value === 'number' && Number.isFinite(value) && (!range.integer || Number.isInteger(value));
  if (!ok || value < range.min || value > range.max) {
    const kind = range.integer ? 'an integer' : 'a number';
    problems.add(join(path, key), `must be ${kind} from ${range.min} to ${range.max}, got ${describe(value)}`);
    return undefined;
  }
  return value;
}

export function optionalEnum<T extends string>(
  o: Raw,
  key: string,
  path: string,
  problems: Problems,
  allowed: readonly T[],
): T | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    problems.add(join(path, key), `must be one of ${allowed.join(', ')}, got ${describe(value)}`);
    return undefined;
  }
  return value as T;
}

/** A list of mappings: each item is checked against `allowed` keys, then read by `read` (undefined = skipped). */
export function mappingList<T>(
  o: Raw,
  key: string,
  path: string,
  problems: Problems,
  allowed: readonly string[],
  read: (entry: Raw, itemPath: string) => T | undefined,
): T[] {
  const out: T[] = [];
  (optionalList(o, key, path, problems) ?? []).forEach((item, i) => {
    const itemPath = join(join(path, key), i);
    const entry = mapping(item, itemPath, problems, allowed);
    const value = entry ? read(entry, itemPath) : undefined;
    if (value !== undefined) out.push(value);
  });
  return out;
}
