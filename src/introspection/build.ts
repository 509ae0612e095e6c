import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import type { KeySource } from '../keys/key_source.js';
import { NO_EVENTS, type IntrospectionEvents } from './events.js';
import { Introspector } from './introspector.js';

export interface PolicyIntrospectors {
  /** By policy index; undefined for a policy without `introspection`. */
  readonly byPolicy: readonly (Introspector | undefined)[];
  /** Each distinct introspector once, by its settings. */
  readonly all: ReadonlyMap<string, Introspector>;
}

/**
 * One introspector per distinct `introspection` section, shared by the policies that write the same one, and taken
 * over from the previous runtime when its settings did not change (its cache and watchers with it). Reading the
 * credential files happens here, in the compile step `tokengate validate` runs too: a missing or unusable secret or
 * key fails the config with its path, never a request.
 */
export function buildIntrospectors(
  config: Config,
  previous: ReadonlyMap<string, Introspector> | undefined,
  events: IntrospectionEvents = NO_EVENTS,
  discoverySource: (policyIndex: number) => KeySource | undefined = () => undefined,
): PolicyIntrospectors {
  const all = new Map<string, Introspector>();
  const problems: string[] = [];
  const byPolicy = config.policies.map((policy, i) => {
    const spec = policy.validateJwt.introspection;
    if (!spec) return undefined;
    // An endpoint named by a discovery document comes from that document's key source, shared like the keys.
    const source = spec.endpoint === undefined ? discoverySource(i) : undefined;
    const id = JSON.stringify(spec);
    const existing = [all.get(id), previous?.get(id)].find((e) => e !== undefined && e.discoverySource === source);
    if (existing) {
      all.set(id, existing);
      return existing;
    }
    try {
      const created = new Introspector(spec, events, source);
      all.set(id, created);
      return created;
    } catch (err) {
      const file = spec.clientAuth.method === 'private_key_jwt' ? 'privateKeyJwt.keyFile' : 'clientSecretFile';
      problems.push(`policies[${i}].${policy.rulesKey}.introspection.${file}: ${(err as Error).message}`);
      return undefined;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return { byPolicy, all };
}
