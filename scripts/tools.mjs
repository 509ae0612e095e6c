// Where scripts/tools.sh puts the external tools, for node scripts (the bench). It asks that file, so the rule
// (the per-machine tools cache outside the clone) is written once. Installs nothing.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOOLS_SH = join(dirname(fileURLToPath(import.meta.url)), 'tools.sh');

/** { envoy, goBin }: the cached venv's envoy console script and the Go tools' GOBIN (neither need exist). */
export function toolPaths() {
  const script = 'source "$0" && printf "%s\\n%s\\n" "$ENVOY_VENV/bin/envoy" "$GO_TOOLS_BIN"';
  const [envoy, goBin] = execFileSync('bash', ['-c', script, TOOLS_SH], { encoding: 'utf8' }).split('\n');
  return { envoy, goBin };
}
