import { AuthzError } from '../errors.js';
import { normalizePath } from './normalize_path.js';
import type { CompiledPolicy } from './policy.js';
import type { AuthzRequest } from './request.js';
import type { Trace } from './trace.js';

/** Envoy's per-route context_extensions key that names a policy directly. */
export const POLICY_EXTENSION_KEY = 'policy';

/**
 * The route's context_extensions name wins; otherwise the first policy whose match holds for the normalised path
 * (RFC 3986 §6.2.2, §5.2.4; see normalize_path.ts), so `/public/../admin` is judged by the policy of `/admin` even
 * when the Envoy in front does not normalise. Normalising here, where every check passes, rather than where a
 * request is built means no builder (gRPC edge, `explain`, tests) can forget it. `req.path` itself stays as sent:
 * token extraction reads its query.
 */
export function selectPolicy(
  req: AuthzRequest,
  policies: readonly CompiledPolicy[],
  byName: ReadonlyMap<string, CompiledPolicy>,
  trace?: Trace,
): CompiledPolicy {
  const target = normalizePath(req.path);
  // Checked before the route's name too, although the path then chooses nothing: fail closed. An ambiguous path is
  // an attack or a broken client, and what the upstream will make of it is unknowable, whatever the policy says.
  // It is refused in report-only mode too, since the policy is not yet known when the path is judged.
  if (typeof target !== 'string') {
    throw new AuthzError('PathInvalid', `path ${shown(req.path)} cannot be normalised unambiguously: ${target.detail}`);
  }
  const named = Object.hasOwn(req.contextExtensions, POLICY_EXTENSION_KEY)
    ? req.contextExtensions[POLICY_EXTENSION_KEY]
    : undefined;
  if (named !== undefined) {
    const policy = byName.get(named);
    if (!policy) {
      throw new AuthzError('PolicyNotFound', `the route names policy "${named}", which the config does not define`);
    }
    const detail = `${policy.name}: named by the route's context_extensions policy=${named}`;
    trace?.({ step: 'policy', ok: true, detail });
    return policy;
  }
  // A copy only when normalising changed something: policy.matches reads `path`, and nearly every path is normal.
  const matched = target === req.path ? req : { ...req, path: target };
  if (matched !== req) trace?.({ step: 'path', ok: true, detail: `${shown(req.path)} is matched as ${shown(target)}` });
  for (const policy of policies) {
    if (policy.matches(matched)) {
      const detail = `${policy.name}: first policy whose match holds (${policy.describeMatch})`;
      trace?.({ step: 'policy', ok: true, detail });
      return policy;
    }
  }
  throw new AuthzError('NoPolicyMatched', `no policy matches ${req.method} ${req.host}${shown(target)}`);
}

const SHOWN_LENGTH = 256;

/** The path for logs and traces: never the query, which can carry a token; cut short, since it can be 1 MiB. */
function shown(target: string): string {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  return path.length > SHOWN_LENGTH ? `${path.slice(0, SHOWN_LENGTH)}…` : path;
}
