// Where the repository is, from src/testkit (tests, through vitest) or dist/testkit (the bench and the soak).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
