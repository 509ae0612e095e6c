// The Go tools of the e2e tier that scripts/install-*.sh build into the per-machine tools cache (promtool, helm):
// $<NAME>_BIN (`npm run test:e2e` sets it after installing the tool), else the binary in the cache ($GO_TOOLS_BIN from
// scripts/tools.sh). Never skips: a missing tool fails loudly, naming the script that installs it.
import { accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../helpers/paths.js';

export function goToolBin(name: 'promtool' | 'helm'): string {
  const variable = `${name.toUpperCase()}_BIN`;
  const cached = () => {
    const script = 'source "$0" && printf "%s\\n" "$GO_TOOLS_BIN"';
    const dir = spawnSync('bash', ['-c', script, join(ROOT, 'scripts/tools.sh')], { encoding: 'utf8' }).stdout?.trim();
    return dir ? join(dir, name) : name;
  };
  const bin = process.env[variable] || cached();
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `${name} not found at ${bin}: run \`npm run test:e2e\` (it builds ${name} with scripts/install-${name}.sh), or set ${variable}`,
    );
  }
  return bin;
}

/** Runs a tool; its exit status and its output (stdout then stderr). */
export function runTool(bin: string, args: string[], cwd = ROOT): { status: number | null; stdout: string; output: string } {
  const r = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}
