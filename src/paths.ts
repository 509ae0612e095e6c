import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the nearest directory above this file with a package.json. This file runs from src/ (vitest),
 * dist/ (tsc) or a chunk of dist/bundle/ (what ships, rolldown.config.mjs), each at its own depth.
 */
function packageRoot(from: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PACKAGE_ROOT = packageRoot(fileURLToPath(import.meta.url));
export const PROTO_DIR = join(PACKAGE_ROOT, 'proto');
