import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { DENY_REASONS } from '../errors.js';
import { readCaseCertificate } from './case_certificate.js';
import {
  Problems,
  join,
  mapping,
  mappingList,
  optionalEnum,
  optionalMapping,
  optionalNumber,
  optionalString,
  requiredString,
  type Raw,
} from '../config/reader.js';

/** A request of a case: every field optional, defaults from the file's `defaults`, then built-in ones. */
export interface CaseRequest {
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly host: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Envoy's context_extensions: `policy` names a policy as a route would. */
  readonly route: Readonly<Record<string, string>>;
  /** `clientCert: FILE`: the TLS client certificate, as Envoy passes it on (URL-encoded PEM). */
  readonly clientCertificate?: string | undefined;
}

export interface Expectation {
  readonly decision: 'allow' | 'deny' | 'would_deny';
  readonly reason: string | undefined;
  readonly policy: string | undefined;
  readonly status: number | undefined;
  /** Upstream headers the allow must set, with these values. */
  readonly upstreamHeaders: Readonly<Record<string, string>>;
}

export interface TestCase {
  readonly name: string;
  /** Claims to sign, over the file's default claims; a null value removes a claim. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** `none`: the request carries no token. */
  readonly token: 'signed' | 'none';
  readonly request: CaseRequest;
  readonly expect: Expectation;
  /** `boundTo: FILE`: the token is certificate-bound to it, `cnf["x5t#S256"]` its thumbprint (RFC 8705 §3.1). */
  readonly boundTo?: string | undefined;
}

export interface TestFile {
  readonly file: string;
  /** The config under test, resolved against the test file's directory. */
  readonly config: string;
  /** `${NAME}` in the config text is replaced by these, as `tokengate demo` fills `${ISSUER}`. */
  readonly variables: Readonly<Record<string, string>>;
  readonly cases: readonly TestCase[];
}

const FILE_KEYS = ['config', 'variables', 'defaults', 'cases'];
const CASE_KEYS = ['name', 'claims', 'token', 'request', 'expect', 'boundTo'];
const REQUEST_KEYS = ['method', 'path', 'host', 'headers', 'route', 'clientCert'];
const EXPECT_KEYS = ['decision', 'reason', 'policy', 'status', 'upstreamHeaders'];

/** Reads and checks a test file; throws an Error listing every `path: message` problem. */
export function readTestFile(file: string, configOverride?: string): TestFile {
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message.split('\n')[0]).join('; ')}`);
  const problems = new Problems();
  const root = mapping(doc.toJS({ maxAliasCount: 100 }) ?? {}, '', problems, FILE_KEYS) ?? {};
  const config = configOverride ?? requiredString(root, 'config', '', problems);
  const variables = stringMap(root, 'variables', '', problems);
  const defaults = optionalMapping(root, 'defaults', '', problems, ['claims', 'request']) ?? {};
  const defaultClaims = freeMapping(defaults, 'claims', 'defaults', problems) ?? {};
  const certificate = (o: Raw, key: string, at: string) => readCaseCertificate(o, key, at, dirname(file), problems);
  const defaultRequest = readRequest(defaults, 'defaults', problems, undefined, certificate);
  if (root.cases === undefined) problems.add('cases', 'is required: list the cases to run');
  const cases = mappingList(root, 'cases', '', problems, CASE_KEYS, (c, path) => {
    const name = requiredString(c, 'name', path, problems);
    const claims = { ...defaultClaims, ...(freeMapping(c, 'claims', path, problems) ?? {}) };
    const token = optionalEnum(c, 'token', path, problems, ['signed', 'none'] as const) ?? 'signed';
    const request = readRequest(c, path, problems, defaultRequest, certificate);
    const expected = readExpect(c, path, problems);
    const boundTo = certificate(c, 'boundTo', path)?.thumbprint;
    return name && expected ? { name, claims, token, request, expect: expected, boundTo } : undefined;
  });
  if (problems.list.length > 0) throw new Error(`${file}: invalid test file:\n  ${problems.list.join('\n  ')}`);
  const configPath = configOverride ?? resolve(dirname(file), config!);
  return { file, config: configPath, variables, cases };
}

function readRequest(
  o: Raw,
  path: string,
  problems: Problems,
  base: CaseRequest | undefined,
  certificate: (o: Raw, key: string, at: string) => { urlEncodedPem: string } | undefined,
): CaseRequest {
  const r = optionalMapping(o, 'request', path, problems, REQUEST_KEYS) ?? {};
  const at = join(path, 'request');
  const headers = stringMap(r, 'headers', at, problems);
  return {
    method: optionalString(r, 'method', at, problems)?.toUpperCase() ?? base?.method,
    path: optionalString(r, 'path', at, problems) ?? base?.path,
    host: optionalString(r, 'host', at, problems) ?? base?.host,
    headers: { ...base?.headers, ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) },
    route: { ...base?.route, ...stringMap(r, 'route', at, problems) },
    clientCertificate: certificate(r, 'clientCert', at)?.urlEncodedPem ?? base?.clientCertificate,
  };
}

function readExpect(c: Raw, path: string, problems: Problems): Expectation | undefined {
  if (c.expect === undefined) {
    problems.add(join(path, 'expect'), 'is required: at least { decision: allow | deny | would_deny }');
    return undefined;
  }
  const e = optionalMapping(c, 'expect', path, problems, EXPECT_KEYS) ?? {};
  const at = join(path, 'expect');
  const decision = optionalEnum(e, 'decision', at, problems, ['allow', 'deny', 'would_deny'] as const);
  if (e.decision === undefined) problems.add(join(at, 'decision'), 'is required: allow, deny or would_deny');
  const reason = optionalString(e, 'reason', at, problems);
  if (reason !== undefined && !(DENY_REASONS as readonly string[]).includes(reason)) {
    problems.add(join(at, 'reason'), `unknown reason "${reason}" (expected one of ${DENY_REASONS.join(', ')})`);
  }
  const status = optionalNumber(e, 'status', at, problems, { min: 100, max: 599, integer: true });
  const policy = optionalString(e, 'policy', at, problems);
  const upstreamHeaders = stringMap(e, 'upstreamHeaders', at, problems);
  if (!decision) return undefined;
  return { decision, reason, policy, status, upstreamHeaders };
}

/** A mapping of strings (numbers and booleans as text, as YAML gives them unquoted). */
function stringMap(o: Raw, key: string, path: string, problems: Problems): Record<string, string> {
  const m = freeMapping(o, key, path, problems);
  if (!m) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else problems.add(join(join(path, key), k), 'must be a string');
  }
  return out;
}

/** A mapping whose keys are data (claims, headers), not config keys. */
function freeMapping(o: Raw, key: string, path: string, problems: Problems): Raw | undefined {
  const value = o[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.add(join(path, key), 'must be a mapping');
    return undefined;
  }
  return value as Raw;
}
