// Preloaded into a tokengate child (`node --import`): on exit, writes the module ids in Node's CommonJS cache to the
// file TOKENGATE_MODULE_PROBE names. The OpenTelemetry packages are CommonJS (no "exports" map, "main" only), so an
// `import` of any of them from tokengate's ES modules lands in this cache.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const out = process.env.TOKENGATE_MODULE_PROBE;
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify(Object.keys(require.cache))));
