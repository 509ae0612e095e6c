// The shipped program: dist/cli.js (tsc's output) and everything it imports from node_modules in one ES module,
// dist/bundle/tokengate.mjs, plus a chunk per part only some commands or configs load (the CEL engine, tracing, the
// demo issuer, the APIM importer). Node 20 spends most of a sidecar's start resolving, reading and compiling ~500
// separate module files; one file readies in ~215 ms instead of ~295 and holds ~4 MiB less (bench/RESULTS.md,
// "Footprint"). Only Node's own modules stay outside.
import { defineConfig } from 'rolldown';

export default defineConfig({
  input: { tokengate: 'dist/cli.js' },
  platform: 'node',
  output: {
    dir: 'dist/bundle',
    cleanDir: true,
    format: 'esm',
    entryFileNames: '[name].mjs',
    chunkFileNames: '[name]-[hash].mjs',
    // Readable stack traces in logs: names are kept, nothing is minified.
    minify: false,
  },
  logLevel: 'warn',
});
