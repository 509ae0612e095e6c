import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './paths.js';

/** ENVOY_BIN, else the venv console script from scripts/install-envoy.sh. Never skips: a missing Envoy fails loudly. */
export function envoyBin(): string {
  const bin = process.env.ENVOY_BIN || join(ROOT, '.tools/envoy-venv/bin/envoy');
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`envoy binary not found at ${bin}: run scripts/install-envoy.sh (or set ENVOY_BIN)`);
  }
  return bin;
}

/** `envoy --mode validate -c FILE`: its exit status and output. */
export function envoyValidate(file: string): { status: number | null; output: string } {
  const r = spawnSync(envoyBin(), ['--mode', 'validate', '-c', file, '--log-level', 'warn'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
