// scripts/node_runtime.mjs: the one definition of the node flags and allocator settings tokengate runs with (the
// Dockerfile's), read by npm start, the soak, the footprint and the bench.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { imageNodeRuntime } from '../../scripts/node_runtime.mjs';
import { ROOT } from '../helpers/paths.js';
import { TOKENGATE_CLI } from '../../src/testkit/tokengate_process.js';

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-node-runtime-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function dockerfile(text: string): string {
  const file = join(tmp, `Dockerfile.${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text);
  return file;
}

describe('imageNodeRuntime', () => {
  it("reads the repository Dockerfile's ENTRYPOINT flags and its MALLOC_* and NODE_OPTIONS settings", () => {
    const runtime = imageNodeRuntime();
    const entrypoint = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('ENTRYPOINT '))!;
    expect(['node', ...runtime.flags, runtime.script, 'serve']).toEqual(JSON.parse(entrypoint.slice(11)));
    // The bundle (rolldown.config.mjs), and the very file every process-level test and the bench start.
    expect(runtime.script).toBe('dist/bundle/tokengate.mjs');
    expect(join(ROOT, runtime.script)).toBe(TOKENGATE_CLI);
    expect(runtime.flags.length).toBeGreaterThan(0);
    expect(Object.keys(runtime.env).every((k) => k.startsWith('MALLOC_') || k === 'NODE_OPTIONS')).toBe(true);
    expect(runtime.env.NODE_OPTIONS).toMatch(/^--max-old-space-size=\d+$/);
  });

  it('joins continued ENV lines, keeps only MALLOC_* and NODE_OPTIONS, takes the last ENTRYPOINT', () => {
    const file = dockerfile(
      [
        'FROM node:22 AS runtime',
        'ENV NODE_ENV=production \\',
        '    MALLOC_ARENA_MAX=2 \\',
        '    TOKENGATE_CONFIG=/etc/tokengate/tokengate.yaml',
        'ENV MALLOC_TRIM_THRESHOLD_="131072" NODE_OPTIONS="--max-old-space-size=96"',
        'ENTRYPOINT ["node", "dist/cli.js", "serve"]',
        'ENTRYPOINT ["node", "--max-semi-space-size=4", "--stack-size=900", "dist/bundle/tokengate.mjs", "serve"]',
      ].join('\n'),
    );
    expect(imageNodeRuntime(file)).toEqual({
      flags: ['--max-semi-space-size=4', '--stack-size=900'],
      script: 'dist/bundle/tokengate.mjs',
      env: { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072', NODE_OPTIONS: '--max-old-space-size=96' },
    });
  });

  it('refuses an ENTRYPOINT that does not run node on a script in dist/, or none', () => {
    expect(() => imageNodeRuntime(dockerfile('ENTRYPOINT ["/bin/sh", "-c", "node dist/cli.js"]\n'))).toThrow(
      /is not \["node", \.\.\.flags, "dist\/\.\.\.\.js"/,
    );
    expect(() => imageNodeRuntime(dockerfile('FROM node:22\n'))).toThrow(/no ENTRYPOINT/);
  });

  it('run as a launcher, starts node with those flags and that environment (npm start uses it)', () => {
    const probe = 'console.log(JSON.stringify({ execArgv: process.execArgv, env: process.env }))';
    const out = execFileSync(process.execPath, [join(ROOT, 'scripts/node_runtime.mjs'), '-e', probe], {
      encoding: 'utf8',
    });
    const { execArgv, env } = JSON.parse(out) as { execArgv: string[]; env: Record<string, string> };
    const runtime = imageNodeRuntime();
    expect(execArgv).toEqual([...runtime.flags, '-e', probe]);
    for (const [k, v] of Object.entries(runtime.env)) expect(env[k]).toBe(v);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain(`node scripts/node_runtime.mjs ${runtime.script} demo`);
  });
});
