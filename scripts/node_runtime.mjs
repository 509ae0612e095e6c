#!/usr/bin/env node
// The Node runtime tokengate runs with, defined in one place: the image's Dockerfile. Its ENTRYPOINT holds the node
// flags (everything between `node` and the script) and its ENV instructions the memory settings (MALLOC_*, and
// NODE_OPTIONS, which a Deployment may override beside its memory limit), and
// everything that starts tokengate to measure or demonstrate it reads them from there: `npm start` (through this
// file), the soak (scripts/soak), the footprint and the bench (bench/). So every figure describes what the image runs.
//
//   node scripts/node_runtime.mjs                     # print the flags and environment as JSON
//   node scripts/node_runtime.mjs dist/bundle/tokengate.mjs demo    # run node with them (what `npm start` does)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Dockerfile instructions, continuation lines joined: [{ cmd, args }]. */
function instructions(text) {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => /^\s*([A-Z]+)\s+(.*)$/.exec(line))
    .filter(Boolean)
    .map(([, cmd, args]) => ({ cmd, args: args.trim() }));
}

/**
 * { flags, script, env } of the image: flags and the script from the exec-form ENTRYPOINT ["node", ...flags,
 * "dist/...js", ...] (the script is the bundle, rolldown.config.mjs), env the
 * MALLOC_* variables (glibc reads them at process start: they cannot be set from inside) and NODE_OPTIONS of its ENV
 * instructions.
 */
export function imageNodeRuntime(dockerfile = join(ROOT, 'Dockerfile')) {
  const all = instructions(readFileSync(dockerfile, 'utf8'));
  const entrypoint = all.filter((i) => i.cmd === 'ENTRYPOINT').at(-1);
  if (!entrypoint) throw new Error(`${dockerfile}: no ENTRYPOINT`);
  const argv = JSON.parse(entrypoint.args);
  const script = argv.findIndex((arg) => /^dist\/.+\.m?js$/.test(arg));
  if (argv[0] !== 'node' || script < 1)
    throw new Error(`${dockerfile}: ENTRYPOINT is not ["node", ...flags, "dist/....js", ...]`);
  const env = {};
  for (const { args } of all.filter((i) => i.cmd === 'ENV')) {
    for (const [, key, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) {
      if (key.startsWith('MALLOC_') || key === 'NODE_OPTIONS') env[key] = value.replace(/^"|"$/g, '');
    }
  }
  return { flags: argv.slice(1, script), script: argv[script], env };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const runtime = imageNodeRuntime();
  const args = process.argv.slice(2);
  if (args.length === 0) {
    process.stdout.write(`${JSON.stringify(runtime, null, 2)}\n`);
  } else {
    const child = spawn(process.execPath, [...runtime.flags, ...args], {
      stdio: 'inherit',
      env: { ...process.env, ...runtime.env },
    });
    // Ctrl-C reaches the child from the terminal; a SIGTERM sent to this process is passed on.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
  }
}
