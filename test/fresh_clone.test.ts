// The README's promise: on a fresh clone, `npm ci && npm test` passes with only Node.js and npm present. This test
// makes such a clone (git clone of HEAD, so uncommitted work is not in it), stands in for `npm ci` by linking the
// installed node_modules and running its postinstall (the protos), then runs `npm test` there with a PATH that holds
// only node, npm, npx, sh, tar and gzip (so no Envoy, kubectl, Go or Python), no .tools/, and an empty tools cache.
// It runs after every other test file (vitest.config.ts: its own project, a later group), since it runs them all
// again. The child run leaves this project out (--project default); TOKENGATE_FRESH_CLONE_CHILD stops a recursion
// should a config change ever let it in.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

if (process.env.TOKENGATE_FRESH_CLONE_CHILD) {
  throw new Error('test/fresh_clone.test.ts ran inside its own fresh-clone run: the child must run --project default');
}

/** The only programs on the child's PATH: Node.js and npm, a POSIX shell, and tar with gzip (the protos' tarball). */
const ALLOWED_PROGRAMS = ['node', 'npm', 'npx', 'sh', 'tar', 'gzip'];

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-fresh-'));
let running: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  // The child runs in its own process group: end it, and everything it started, if the test gave up on it.
  if (running?.pid !== undefined && running.exitCode === null) process.kill(-running.pid, 'SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

function which(program: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const file = join(dir || '.', program);
    if (existsSync(file)) return file;
  }
  throw new Error(`${program} is not on this machine's PATH`);
}

/** A directory holding links to ALLOWED_PROGRAMS only, to serve as the child's whole PATH. */
function minimalPath(): string {
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  for (const program of ALLOWED_PROGRAMS) symlinkSync(which(program), join(bin, program));
  return bin;
}

/** This machine's environment without the test runner's, npm's or the tool overrides' variables. */
function freshEnv(path: string, toolsDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VITEST|npm_|ENVOY_|KUBECTL_|TOKENGATE_)/i.test(k) || k === 'NODE_ENV' || k === 'TEST') continue;
    env[k] = v;
  }
  return { ...env, PATH: path, TOKENGATE_TOOLS_DIR: toolsDir, TOKENGATE_FRESH_CLONE_CHILD: '1' };
}

/** Runs a command in its own process group, its output into `log` as it goes; resolves with its exit status. */
function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<number | null> {
  return new Promise((resolvePromise, reject) => {
    const fd = openSync(log, 'w');
    running = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    running.on('error', reject);
    running.on('close', resolvePromise);
  });
}

/** Every default-tier test file of the clone, relative to it (test/e2e/ is the other tier; this file is left out). */
function defaultTierFiles(root: string, dir = 'test'): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((d) => {
    const rel = join(dir, d.name);
    if (d.isDirectory()) return rel === join('test', 'e2e') ? [] : defaultTierFiles(root, rel);
    return d.name.endsWith('.test.ts') && rel !== join('test', 'fresh_clone.test.ts') ? [rel] : [];
  });
}

interface VitestJson {
  success: boolean;
  numTotalTests: number;
  numPassedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; status: string }[];
}

describe('a fresh clone with only Node.js and npm', () => {
  it('passes `npm test`', async () => {
    const clone = join(tmp, 'repo');
    const git = spawnSync('git', ['clone', '-q', ROOT, clone], { encoding: 'utf8' });
    expect(git.status, git.stderr).toBe(0);
    expect(existsSync(join(clone, '.tools')), '.tools/ is not in a clone').toBe(false);
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const toolsDir = join(tmp, 'tools');
    mkdirSync(toolsDir);
    const env = freshEnv(minimalPath(), toolsDir);

    // `npm ci` would run the postinstall: fetch and verify the Envoy protos (they are not committed).
    const protos = await run(process.execPath, ['scripts/fetch-protos.mjs'], clone, env, join(tmp, 'protos.log'));
    expect(protos, readFileSync(join(tmp, 'protos.log'), 'utf8')).toBe(0);

    const results = join(tmp, 'results.json');
    const args = [
      'test',
      '--',
      '--project',
      'default',
      '--reporter=dot',
      '--reporter=json',
      `--outputFile.json=${results}`,
    ];
    const log = join(tmp, 'npm-test.log');
    const status = await run('npm', args, clone, env, log);
    const output = readFileSync(log, 'utf8');
    expect(status, output.slice(-20_000)).toBe(0);

    // It ran the whole default tier: every test file there passed, none skipped, and nothing was installed.
    const report = JSON.parse(readFileSync(results, 'utf8')) as VitestJson;
    expect(report.success).toBe(true);
    const ran = report.testResults.map((r) => relative(clone, r.name)).sort();
    expect(ran).toEqual(defaultTierFiles(clone).sort());
    for (const r of report.testResults) expect(r.status, r.name).toBe('passed');
    expect(report.numPassedTests).toBe(report.numTotalTests);
    expect(report.numPendingTests + report.numTodoTests).toBe(0);
    expect(report.numTotalTests).toBeGreaterThan(100);
    expect(readdirSync(toolsDir)).toEqual([]);
  }, 1_800_000);
});
