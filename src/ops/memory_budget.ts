import { getHeapStatistics } from 'node:v8';
import { DEFAULT_TOKEN_CACHE } from '../authz/token_cache.js';
import type { Config } from '../config/types.js';

/**
 * The bounded caches a config asks for, against the V8 heap they must fit in. The image caps the heap
 * (`--max-old-space-size` in NODE_OPTIONS, Dockerfile) so that a sidecar's memory stays flat; the caches are bounded
 * by bytes, but several introspection policies or a large DPoP replay cache can together ask for more than the cap
 * holds, and V8 ends a process that runs out of heap. Said at start and on every reload, before it happens under load.
 */

/** Caches may take at most this share of the heap limit; the rest is the process's own working set. */
const SHARE = 0.5;

export interface CacheBudget {
  readonly cacheBytes: number;
  readonly heapLimitBytes: number;
  /** Which caches, for the message. */
  readonly parts: readonly string[];
}

export function cacheBudget(config: Config, heapLimitBytes = getHeapStatistics().heap_size_limit): CacheBudget {
  const parts = [`token cache ${mib(DEFAULT_TOKEN_CACHE.maxBytes)}`];
  let cacheBytes = DEFAULT_TOKEN_CACHE.maxBytes;
  for (const policy of config.policies) {
    const introspection = policy.validateJwt.introspection;
    if (introspection) {
      cacheBytes += introspection.cacheMaxBytes;
      parts.push(`policies "${policy.name}" introspection cache ${mib(introspection.cacheMaxBytes)}`);
    }
    const replay = policy.dpop?.replay;
    if (replay?.store === 'memory') {
      cacheBytes += replay.maxBytes;
      parts.push(`policies "${policy.name}" DPoP replay cache ${mib(replay.maxBytes)}`);
    }
  }
  return { cacheBytes, heapLimitBytes, parts };
}

/** A sentence for the log when the caches could outgrow the heap; undefined when they fit. */
export function budgetWarning(budget: CacheBudget): string | undefined {
  if (budget.cacheBytes <= budget.heapLimitBytes * SHARE) return undefined;
  return (
    `the bounded caches may hold ${mib(budget.cacheBytes)} (${budget.parts.join(', ')}), more than half of the ` +
    `V8 heap limit of ${mib(budget.heapLimitBytes)}: full caches could end the process. Raise --max-old-space-size ` +
    `(NODE_OPTIONS, with the pod's memory limit) or lower cacheMaxBytes / replay.maxBytes`
  );
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
