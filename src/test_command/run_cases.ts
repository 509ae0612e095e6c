import { readFileSync } from 'node:fs';
import { authorize } from '../authz/authorize.js';
import type { Decision } from '../authz/decision.js';
import type { CompiledPolicy } from '../authz/policy.js';
import { hostWithoutPort, type AuthzRequest } from '../authz/request.js';
import { buildRuntime, type Runtime } from '../authz/runtime.js';
import { selectPolicy } from '../authz/select_policy.js';
import { parseConfigText } from '../config/load.js';
import type { TokenLocation } from '../config/types.js';
import type { Expectation, TestCase, TestFile } from './test_file.js';
import { ThrowawayKeys } from './throwaway_keys.js';
import { loadRuleEngine } from '../rules/engine.js';

/** What the pipeline decided for a case. */
export interface Outcome {
  readonly decision: 'allow' | 'deny' | 'would_deny';
  readonly reason: string | null;
  readonly policy: string | null;
  readonly status: number;
  readonly detail: string | null;
  readonly upstreamHeaders: Readonly<Record<string, string>>;
}

export interface CaseResult {
  readonly name: string;
  readonly passed: boolean;
  /** One line per expectation the outcome does not meet. */
  readonly failures: readonly string[];
  readonly expected: Expectation;
  readonly actual: Outcome;
}

/** Lifetime of a signed case's token unless its claims set `exp`. */
const LIFETIME_SECONDS = 3600;

/**
 * Runs every case of a test file through the real pipeline (the config's compile step, selectPolicy, authorize), with
 * each policy's key sources replaced by throwaway keys: nothing is fetched and no server is started.
 */
export async function runTestFile(file: TestFile, nowMs = Date.now()): Promise<CaseResult[]> {
  let text = readFileSync(file.config, 'utf8');
  for (const [name, value] of Object.entries(file.variables)) text = text.replaceAll(`\${${name}}`, value);
  const config = parseConfigText(text, file.config);
  await loadRuleEngine(config);
  const built = buildRuntime(config);
  const keys = new ThrowawayKeys();
  const policies = built.policies.map((p) => keys.substitute(p));
  // Key sources are built but never started: the runtime's remote sources stay idle.
  const runtime: Runtime = { ...built, policies, byName: new Map(policies.map((p) => [p.name, p])) };
  const results: CaseResult[] = [];
  for (const testCase of file.cases) results.push(await runCase(testCase, runtime, keys, nowMs));
  return results;
}

async function runCase(c: TestCase, runtime: Runtime, keys: ThrowawayKeys, nowMs: number): Promise<CaseResult> {
  let req = request(c);
  let policy: CompiledPolicy | undefined;
  try {
    policy = selectPolicy(req, runtime.policies, runtime.byName);
  } catch {
    // No policy: authorize below denies the request with the reason selectPolicy gave.
  }
  if (policy && c.token === 'signed') {
    const token = await keys.sign(policy, claimsFor(c, policy, nowMs / 1000));
    req = withToken(req, policy.token, token);
  }
  const actual = outcome(await authorize(req, runtime, { deadlineMs: 1000, nowMs }));
  const failures = compare(c.expect, actual);
  return { name: c.name, passed: failures.length === 0, failures, expected: c.expect, actual };
}

function request(c: TestCase): AuthzRequest {
  const method = c.request.method ?? 'GET';
  const path = c.request.path ?? '/';
  const host = c.request.host ?? 'localhost';
  return {
    method,
    path,
    host: hostWithoutPort(host),
    headers: { ':authority': host, ':method': method, ':path': path, ...c.request.headers },
    contextExtensions: c.request.route,
    requestId: undefined,
    clientCertificate: c.request.clientCertificate,
  };
}

/** iss, aud, iat and exp that the policy accepts, under the case's own claims (null removes one). */
function claimsFor(c: TestCase, policy: CompiledPolicy, now: number): Record<string, unknown> {
  const defaults: Record<string, unknown> = { iat: Math.floor(now), exp: Math.floor(now) + LIFETIME_SECONDS };
  const iss = issuerFor(policy, c.claims.tid);
  if (iss !== undefined) defaults.iss = iss;
  const aud = policy.audiences.values().next().value;
  if (aud !== undefined) defaults.aud = aud;
  const claims: Record<string, unknown> = { ...defaults, ...c.claims };
  if (c.boundTo !== undefined) claims.cnf = { ...(claims.cnf as object | undefined), 'x5t#S256': c.boundTo };
  return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== null));
}

/** The policy's first exact issuer, else its first `{tenantid}` template filled with the case's `tid`. */
function issuerFor(policy: CompiledPolicy, tid: unknown): string | undefined {
  const accepted = policy.acceptedIssuers();
  if (!accepted) return undefined;
  const exact = accepted.exact.values().next().value;
  if (exact !== undefined) return exact;
  const template = accepted.templates[0];
  return template && typeof tid === 'string' ? `${template.prefix}${tid}${template.suffix}` : undefined;
}

/** The token where the selected policy reads it. */
function withToken(req: AuthzRequest, location: TokenLocation, token: string): AuthzRequest {
  const headers = { ...req.headers };
  let path = req.path;
  if (location.kind === 'header') headers[location.name] = location.scheme ? `${location.scheme} ${token}` : token;
  else if (location.kind === 'cookie') {
    headers.cookie = `${headers.cookie ? `${headers.cookie}; ` : ''}${location.name}=${token}`;
  } else {
    path = `${path}${path.includes('?') ? '&' : '?'}${location.name}=${encodeURIComponent(token)}`;
    headers[':path'] = path;
  }
  return { ...req, path, headers };
}

function outcome(decision: Decision): Outcome {
  if (!decision.allowed) {
    const { reason, policy, httpStatus, detail } = decision;
    return { decision: 'deny', reason, policy: policy?.name ?? null, status: httpStatus, detail, upstreamHeaders: {} };
  }
  return {
    decision: decision.wouldDeny ? 'would_deny' : 'allow',
    reason: decision.wouldDeny?.reason ?? null,
    policy: decision.policy.name,
    status: 200,
    detail: decision.wouldDeny?.detail ?? null,
    upstreamHeaders: Object.fromEntries(decision.upstreamHeaders.map((h) => [h.key, h.value])),
  };
}

function compare(expected: Expectation, actual: Outcome): string[] {
  const failures: string[] = [];
  const check = (what: string, want: unknown, got: unknown) => {
    if (want !== undefined && want !== got) failures.push(`${what}: expected ${String(want)}, got ${String(got)}`);
  };
  check('decision', expected.decision, actual.decision);
  check('reason', expected.reason, actual.reason);
  check('policy', expected.policy, actual.policy);
  check('status', expected.status, actual.status);
  for (const [name, value] of Object.entries(expected.upstreamHeaders)) {
    check(`upstream header ${name}`, value, actual.upstreamHeaders[name]);
  }
  return failures;
}
