import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/**
 * ENVOY_BIN (`npm run test:e2e` sets it after installing Envoy), else the cached venv's envoy that
 * scripts/envoy-path.sh names (scripts/tools.sh holds the one rule for where tools live).
 * Never skips: a missing Envoy fails loudly.
 */
export function envoyBin(): string {
  const bin =
    process.env.ENVOY_BIN ||
    spawnSync('bash', [join(ROOT, 'scripts/envoy-path.sh')], { encoding: 'utf8' }).stdout?.split('\n')[0] ||
    'envoy';
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`envoy binary not found at ${bin}: run \`npm run test:e2e\` (it installs Envoy), or set ENVOY_BIN`);
  }
  return bin;
}

/** `envoy --mode validate -c FILE`: its exit status and output. */
export function envoyValidate(file: string): { status: number | null; output: string } {
  const args = ['--mode', 'validate', '-c', file, '--log-level', 'warn'];
  const r = spawnSync(envoyBin(), args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
