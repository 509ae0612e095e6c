/** The request's headers as the pipeline reads them, and which names came more than once. */
export interface HeaderMap {
  /** Lower-case names; a repeated header's values joined with a comma, as Envoy joins them for the gRPC check. */
  readonly headers: Record<string, string>;
  readonly repeated: ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * A record of headers: its prototype has no prototype, so no header name (`__proto__`, `constructor`, `toString`) can
 * reach Object.prototype, and, unlike Object.create(null), V8 keeps it a fast object with a shape of its own.
 */
const HeaderRecord = function HeaderRecord() {} as unknown as new () => Record<string, string>;
HeaderRecord.prototype = Object.create(null) as object;

/**
 * Header names the proxies send on every check and the pipeline reads, as string literals (which V8 keeps
 * internalized): a property keyed by one is stored without looking the name up in V8's string table first. A name
 * read off the wire is a new string each time; matched here by length and content, it is replaced by its literal.
 */
const COMMON_NAMES = [
  'host',
  'authorization',
  'user-agent',
  'accept',
  'content-length',
  'content-type',
  'connection',
  'cookie',
  'dpop',
  'x-request-id',
  'x-original-uri',
  'x-original-method',
  'x-forwarded-host',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-proto',
  'x-forwarded-for',
  'x-real-ip',
  'x-forwarded-client-cert',
  'client-cert',
  'traceparent',
  'tracestate',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-internal',
];
const COMMON_BY_LENGTH: (string[] | undefined)[] = [];
for (const name of COMMON_NAMES) (COMMON_BY_LENGTH[name.length] ??= []).push(name);

/** The literal of a common header name (`name` lower-case), or undefined for any other name. */
export function commonHeaderName(name: string): string | undefined {
  const candidates = COMMON_BY_LENGTH[name.length];
  if (candidates !== undefined) for (const known of candidates) if (known === name) return known;
  return undefined;
}

/**
 * Builds a header map one field at a time (the request parser adds each as it reads it). Every field line counts:
 * a repeated `Authorization` is kept as both values joined, so two tokens are seen as two and refused
 * (extract_token.ts), where a parser that kept only the first would judge one token and the upstream could read
 * another.
 */
export class HeaderMapBuilder {
  private readonly headers = new HeaderRecord();
  private repeated: Set<string> | undefined;

  /** `name` lower-case. */
  add(name: string, value: string): void {
    const seen = this.headers[name];
    if (seen === undefined) this.headers[name] = value;
    else {
      this.headers[name] = `${seen},${value}`;
      (this.repeated ??= new Set()).add(name);
    }
  }

  build(): HeaderMap {
    return { headers: this.headers, repeated: this.repeated ?? NONE };
  }
}

/** From name, value, name, value… (names in any case). */
export function headerMap(raw: readonly string[]): HeaderMap {
  const builder = new HeaderMapBuilder();
  for (let i = 0; i + 1 < raw.length; i += 2) builder.add(raw[i]!.toLowerCase(), raw[i + 1]!);
  return builder.build();
}
