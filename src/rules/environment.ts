import { Environment } from '@marcbachmann/cel-js';
import { RuleRequest, scopes } from './activation.js';

/**
 * Parse-time limits of the CEL library: a backstop under tokengate's own bound (src/rules/bound.ts), which names the
 * rule and gives a clearer message first.
 */
const LIMITS = { maxAstNodes: 1000, maxDepth: 32, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 8 };

/**
 * The one CEL environment of every rule: the variables of README "Authorization rules", typed so the checker can
 * refuse a misspelt field or a wrong operand at load, and the `scopes()` helper. `claims` is `map<string, dyn>`: the
 * payload's values have whatever JSON type the issuer chose, so they are checked per request. Created once: the
 * library documents an environment as expensive, a parsed expression as cheap to run.
 */
export const RULE_ENVIRONMENT = new Environment({ limits: LIMITS })
  .registerType('Request', {
    ctor: RuleRequest,
    fields: { method: 'string', path: 'string', host: 'string', headers: 'map<string, string>' },
  })
  .registerVariable('claims', 'map<string, dyn>')
  .registerVariable('request', 'Request')
  .registerVariable('route', 'map<string, string>')
  .registerVariable('policy', 'string')
  .registerFunction('scopes(): list<string>', scopes);
