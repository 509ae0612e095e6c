// Preloaded into a tokengate child (`node --import`): on exit, writes to the file TOKENGATE_MODULE_PROBE names the
// modules the process loaded: the ids in Node's CommonJS cache, and for each file of the bundle it imported (what
// ships, rolldown.config.mjs) the modules inside it, which the bundler marks with a `// <path>.js` line each. So an
// OpenTelemetry SDK module is seen whether it was required or bundled into a chunk.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const out = process.env.TOKENGATE_MODULE_PROBE;
if (out) {
  const urls = `${out}.urls`;
  appendFileSync(urls, '');
  register(new URL('./module_probe_hooks.mjs', import.meta.url), { data: { urls } });
  process.on('exit', () => {
    const ids = Object.keys(require.cache);
    const files = [...new Set(readFileSync(urls, 'utf8').split('\n').filter((u) => u.startsWith('file:')))];
    for (const file of files.map((u) => fileURLToPath(u)).filter((f) => f.includes('/dist/bundle/') && existsSync(f))) {
      // Paths relative to the package root; node_modules may be elsewhere (a fresh clone's shared install), so any path.
      for (const [, id] of readFileSync(file, 'utf8').matchAll(/^\/\/ (\S+\.[cm]?js)$/gm)) ids.push(`/${id}`);
    }
    writeFileSync(out, JSON.stringify(ids));
  });
}
