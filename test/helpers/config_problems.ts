import { buildRuntime } from '../../src/authz/runtime.js';
import { parseConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/**
 * What `tokengate validate` reports for the YAML: the reader's `path: message` problems, else the compile step's
 * (keys imported, sources bound, rules type-checked); [] when it loads. Anything but a ConfigError is rethrown.
 */
export function configProblems(yaml: string): readonly string[] {
  try {
    buildRuntime(parseConfigText(yaml, 'test'));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}
