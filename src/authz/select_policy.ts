import { AuthzError } from '../errors.js';
import type { CompiledPolicy } from './policy.js';
import type { AuthzRequest } from './request.js';
import type { Trace } from './trace.js';

/** Envoy's per-route context_extensions key that names a policy directly. */
export const POLICY_EXTENSION_KEY = 'policy';

/** The route's context_extensions name wins; otherwise the first policy whose match holds. */
export function selectPolicy(
  req: AuthzRequest,
  policies: readonly CompiledPolicy[],
  byName: ReadonlyMap<string, CompiledPolicy>,
  trace?: Trace,
): CompiledPolicy {
  const named = Object.hasOwn(req.contextExtensions, POLICY_EXTENSION_KEY) ? req.contextExtensions[POLICY_EXTENSION_KEY] : undefined;
  if (named !== undefined) {
    const policy = byName.get(named);
    if (!policy) throw new AuthzError('PolicyNotFound', `the route names policy "${named}", which the config does not define`);
    trace?.({ step: 'policy', ok: true, detail: `${policy.name}: named by the route's context_extensions policy=${named}` });
    return policy;
  }
  for (const policy of policies) {
    if (policy.matches(req)) {
      trace?.({ step: 'policy', ok: true, detail: `${policy.name}: first policy whose match holds (${policy.describeMatch})` });
      return policy;
    }
  }
  throw new AuthzError('NoPolicyMatched', `no policy matches ${req.method} ${req.host}${req.path.split('?')[0]}`);
}
