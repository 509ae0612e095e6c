import { authorize } from './authz/authorize.js';
import type { Decision } from './authz/decision.js';
import { hostWithoutPort, type AuthzRequest } from './authz/request.js';
import { buildRuntime, retireRuntime, startRuntime } from './authz/runtime.js';
import type { TraceStep } from './authz/trace.js';
import type { Config } from './config/types.js';
import { loadRuleEngine } from './rules/engine.js';

export interface ExplainRequest {
  readonly token: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly contextExtensions: Readonly<Record<string, string>>;
  /** The client certificate as Envoy sends it (URL-encoded PEM), for certificate-bound tokens (RFC 8705). */
  readonly clientCertificate?: string | undefined;
}

export interface Explanation {
  readonly steps: readonly TraceStep[];
  readonly decision: 'allow' | 'deny' | 'would_deny';
  readonly policy: string | null;
  readonly reason: string | null;
  /** For would_deny: whether the report-only one was the policy or one of its rules. */
  readonly reportOnly: 'policy' | 'rule' | null;
  readonly httpStatus: number;
  readonly responseHeaders: Readonly<Record<string, string>>;
  readonly upstreamHeaders: Readonly<Record<string, string>>;
  readonly headersToRemove: readonly string[];
  readonly body: string | null;
}

/**
 * Runs one request through the same pipeline the server uses (same runtime, same authorize, same response
 * builder), recording every step. Key sources are fetched once, as the server would at start.
 */
export async function explain(config: Config, request: ExplainRequest): Promise<Explanation> {
  await loadRuleEngine(config);
  const runtime = buildRuntime(config);
  startRuntime(runtime);
  try {
    await Promise.all([...runtime.sources.values()].map((s) => s.firstFetch()));
    const steps: TraceStep[] = [];
    const req = toRequest(request, config);
    const decision = await authorize(req, runtime, {
      deadlineMs: config.keys.fetchTimeoutSeconds * 1000 + 1000,
      trace: (step) => steps.push(step),
    });
    return describe(steps, decision);
  } finally {
    retireRuntime(runtime, undefined);
  }
}

function toRequest(request: ExplainRequest, config: Config): AuthzRequest {
  const headers: Record<string, string> = {
    ':authority': request.host,
    ':method': request.method,
    ':path': request.path,
    ...Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
  if (request.token !== undefined) {
    // Put the token where the selected policy looks for it: the first policy's location when a policy can't be
    // known yet.
    const named = request.contextExtensions.policy;
    const policy = config.policies.find((p) => p.name === named) ?? config.policies[0];
    const location = policy?.validateJwt.token ?? { kind: 'header', name: 'authorization', scheme: 'Bearer' };
    // RFC 9449 §7.1: with a DPoP proof (`--header dpop=PROOF`), the token goes as `DPoP <token>`.
    if (location.kind === 'header') {
      const scheme = headers.dpop !== undefined ? 'DPoP' : location.scheme;
      headers[location.name] = scheme ? `${scheme} ${request.token}` : request.token;
    } else if (location.kind === 'cookie') headers.cookie = `${location.name}=${request.token}`;
    else
      headers[':path'] =
        `${request.path}${request.path.includes('?') ? '&' : '?'}${location.name}=${encodeURIComponent(request.token)}`;
  }
  return {
    method: request.method.toUpperCase(),
    path: headers[':path']!,
    host: hostWithoutPort(request.host),
    headers,
    contextExtensions: request.contextExtensions,
    requestId: headers['x-request-id'],
    clientCertificate: request.clientCertificate,
    // What a client behind Envoy's TLS listener presents; DPoP's htu is built from them.
    scheme: headers[':scheme'] ?? 'https',
    authority: request.host,
  };
}

function describe(steps: readonly TraceStep[], decision: Decision): Explanation {
  const pairs = (list: readonly { key: string; value: string }[]) =>
    Object.fromEntries(list.map((h) => [h.key, h.value]));
  if (!decision.allowed) {
    return {
      steps,
      decision: 'deny',
      policy: decision.policy?.name ?? null,
      reason: decision.reason,
      reportOnly: null,
      httpStatus: decision.httpStatus,
      responseHeaders: pairs(decision.responseHeaders),
      upstreamHeaders: {},
      headersToRemove: [],
      body: decision.body,
    };
  }
  return {
    steps,
    decision: decision.wouldDeny ? 'would_deny' : 'allow',
    policy: decision.policy.name,
    reason: decision.wouldDeny?.reason ?? null,
    reportOnly: decision.wouldDeny ? (decision.policy.mode === 'report-only' ? 'policy' : 'rule') : null,
    httpStatus: 200,
    responseHeaders: {},
    upstreamHeaders: pairs(decision.upstreamHeaders),
    headersToRemove: [...decision.headersToRemove],
    body: null,
  };
}

/** The human-readable form: one line per check, then the decision. */
export function formatExplanation(e: Explanation): string {
  const width = Math.max(9, ...e.steps.map((s) => s.step.length));
  const lines = e.steps.map((s) => `${s.ok ? 'ok  ' : 'FAIL'}  ${s.step.padEnd(width)}  ${s.detail}`);
  lines.push('');
  if (e.decision === 'deny') {
    lines.push(`decision: DENY ${e.httpStatus} (${e.reason}) by policy ${e.policy ?? '(none)'}`);
    for (const [k, v] of Object.entries(e.responseHeaders)) lines.push(`  response header ${k}: ${v}`);
    lines.push(`  body: ${e.body}`);
  } else {
    lines.push(
      e.decision === 'allow'
        ? `decision: ALLOW by policy ${e.policy}`
        : e.reportOnly === 'rule'
          ? `decision: ALLOW by policy ${e.policy} (a report-only rule would deny: ${e.reason})`
          : `decision: ALLOW (report-only policy ${e.policy} would deny: ${e.reason})`,
    );
    for (const [k, v] of Object.entries(e.upstreamHeaders)) lines.push(`  upstream header ${k}: ${v}`);
    for (const k of e.headersToRemove) lines.push(`  upstream header removed: ${k}`);
  }
  return `${lines.join('\n')}\n`;
}
