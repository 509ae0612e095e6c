import type { Config } from '../config/types.js';

type Engine = typeof import('./environment.js');

let engine: Engine | undefined;

/**
 * Loads the CEL library when a config has rules. Importing it costs ~20 ms of start-up (issue 23's ready time),
 * which a config without rules should not pay; every path that compiles a config awaits this first, and a reload
 * that adds the first rules loads it then.
 */
export async function loadRuleEngine(config: Config): Promise<void> {
  if (engine === undefined && config.policies.some((p) => p.rules.length > 0))
    engine = await import('./environment.js');
}

/** The CEL environment of every rule; rules are compiled only after loadRuleEngine saw them. */
export function ruleEnvironment(): Engine['RULE_ENVIRONMENT'] {
  if (engine === undefined)
    throw new Error('rules compiled before loadRuleEngine(config): the CEL engine is not loaded');
  return engine.RULE_ENVIRONMENT;
}
