// The container image without Docker: parse the Dockerfile, replay its runtime stage into a temp dir (the deps stage
// for real: its COPY lines from the build context as .dockerignore filters it, then its RUN, `npm ci --omit=dev
// --ignore-scripts`; the build stage's outputs are taken from this working tree, which `npm ci && npm run build`
// made the same way), then run the image's ENTRYPOINT from that tree. A runtime dependency that sits in
// devDependencies, a file the image forgets to copy (dist/, proto/, package.json's "type") or a .dockerignore that
// drops one shows up here as a failure.
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ROOT } from '../helpers/paths.js';
import { freePorts } from '../helpers/ports.js';
import { startTokengateProcess } from '../helpers/tokengate_process.js';
import { authzClient, tokengateValidate } from './helpers.js';

// ---- a small Dockerfile reader ----

interface Instruction {
  readonly cmd: string;
  readonly args: string;
}

interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (/^\s*#/.test(line) || line.trim() === '')) continue;
    if (current !== '' && /^\s*#/.test(line)) continue; // comment lines inside a continuation
    if (line.endsWith('\\')) current += `${line.slice(0, -1)} `;
    else {
      logical.push(`${current}${line}`.trim());
      current = '';
    }
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile: cannot read "${line}"`);
    const cmd = m[1]!.toUpperCase();
    const rest = m[2]!;
    if (cmd === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args[k!] = v ?? '';
    } else if (cmd === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`Dockerfile: cannot read FROM ${rest}`);
      const image = f[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
      stages.push({ name: f[2] ?? String(stages.length), image, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile: ${cmd} before FROM`);
      stages.at(-1)!.instructions.push({ cmd, args: rest });
    }
  }
  return { args, stages };
}

/** COPY [--from=x] [--chown=..] src... dest (shell form; JSON form too). */
function copyArgs(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.trim().startsWith('[') ? (JSON.parse(args) as string[]) : args.trim().split(/\s+/);
  let from: string | undefined;
  const rest: string[] = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice(7);
    else if (w.startsWith('--')) continue; // --chown, --chmod, --link: no effect on the files' presence
    else rest.push(w);
  }
  const dest = rest.pop();
  if (!dest || rest.length === 0) throw new Error(`COPY ${args}: needs a source and a destination`);
  return { ...(from ? { from } : {}), sources: rest, dest };
}

// ---- .dockerignore (the patterns this repository uses: **, *, literal paths, ! exceptions, trailing /) ----

function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      const re = pattern
        .split('/')
        .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/');
      return { negate, re: new RegExp(`^${re.replace(/\.\*\//g, '(?:.*/)?')}$`) };
    });
  // Docker: the last rule that matches the path or one of its parent directories decides.
  return (path: string) => {
    const parts = path.split('/');
    let excluded = false;
    for (const rule of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.re.test(parts.slice(0, i).join('/'))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
}

// ---- replay ----

const dockerfileText = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const { stages } = parseDockerfile(dockerfileText);
const runtime = stages.at(-1)!;
const excluded = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-image-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Copies `src` (a file or a directory's contents) to `dest` as COPY does; `keep` filters context files. */
function copy(src: string, dest: string, destIsDir: boolean, keep: (file: string) => boolean = () => true): number {
  if (!existsSync(src)) throw new Error(`COPY source ${src} does not exist`);
  if (statSync(src).isDirectory()) {
    let n = 0;
    for (const file of walk(src)) {
      if (!keep(file)) continue;
      const target = join(dest, relative(src, file));
      mkdirSync(dirname(target), { recursive: true });
      cpSync(file, target);
      n++;
    }
    return n;
  }
  if (!keep(src)) return 0;
  const target = destIsDir ? join(dest, src.split('/').pop()!) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(src, target);
  return 1;
}

interface Replayed {
  readonly root: string;
  readonly workdir: string;
  readonly env: Record<string, string>;
  readonly user?: string;
  readonly entrypoint?: string[];
}

const replayed = new Map<string, Replayed>();

/**
 * The file tree of a stage. `build` is not replayed (npm ci with the proto fetch, then tsc): its WORKDIR is this
 * working tree, where the same two commands have run. Every other stage is replayed for real.
 */
function replay(stage: Stage): Replayed {
  const done = replayed.get(stage.name);
  if (done) return done;
  const root = join(tmp, `stage-${stage.name}`);
  let workdir = '/';
  const env: Record<string, string> = {};
  let user: string | undefined;
  let entrypoint: string[] | undefined;
  const inStage = (p: string) => join(root, posix.resolve(workdir, p));
  for (const { cmd, args } of stage.instructions) {
    if (cmd === 'WORKDIR') {
      workdir = posix.resolve(workdir, args.trim());
      mkdirSync(join(root, workdir), { recursive: true });
    } else if (cmd === 'ENV') {
      for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    } else if (cmd === 'USER') {
      user = args.trim();
    } else if (cmd === 'ENTRYPOINT') {
      entrypoint = JSON.parse(args) as string[];
    } else if (cmd === 'COPY') {
      const { from, sources, dest } = copyArgs(args);
      const destIsDir = dest.endsWith('/') || sources.length > 1;
      for (const s of sources) {
        let n: number;
        if (from === undefined) {
          n = copy(join(ROOT, s), inStage(dest), destIsDir, (file) => !excluded(relative(ROOT, file)));
        } else {
          const source = stages.find((st) => st.name === from);
          if (!source) throw new Error(`COPY --from=${from}: no such stage`);
          const src = source.name === 'build' ? buildOutput(source, s) : join(replay(source).root, s);
          n = copy(src, inStage(dest), destIsDir);
        }
        if (n === 0) throw new Error(`COPY ${args}: ${s} copies nothing (missing, or excluded by .dockerignore)`);
      }
    } else if (cmd === 'RUN') {
      // A private npm cache: the Dockerfile's `npm cache clean --force` must never touch this machine's own cache,
      // which other npm processes (and the rest of the test run) are using.
      const npmCache = mkdtempSync(join(tmpdir(), 'tokengate-image-npm-'));
      execFileSync('sh', ['-c', args], { cwd: join(root, workdir), stdio: 'pipe', env: { ...process.env, ...env, npm_config_cache: npmCache }, timeout: 300_000 });
    }
  }
  const result = { root, workdir, env, ...(user ? { user } : {}), ...(entrypoint ? { entrypoint } : {}) };
  replayed.set(stage.name, result);
  return result;
}

function buildOutput(stage: Stage, path: string): string {
  const workdir = stage.instructions.filter((i) => i.cmd === 'WORKDIR').at(-1)?.args.trim();
  if (!workdir || !path.startsWith(`${workdir}/`)) throw new Error(`COPY --from=build ${path}: not under the build stage's WORKDIR`);
  return join(ROOT, path.slice(workdir.length + 1));
}

// ---- tests ----

describe('Dockerfile', () => {
  it('is multi-stage on a current Node LTS, with a production-only install and no HEALTHCHECK', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    for (const s of stages) {
      const major = Number(/^node:(\d+)/.exec(s.image)?.[1]);
      expect(major, s.image).toBeGreaterThanOrEqual(20);
      expect(major % 2, `${s.image}: LTS lines are even`).toBe(0);
    }
    const deps = stages.find((s) => s.name === 'deps')!;
    expect(deps.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args).join(' ')).toContain('npm ci --omit=dev --ignore-scripts');
    const build = stages.find((s) => s.name === 'build')!;
    const buildRuns = build.instructions.filter((i) => i.cmd === 'RUN').map((i) => i.args);
    expect(buildRuns[0]).toMatch(/^npm ci\b/); // with scripts: the postinstall fetches and verifies the protos
    expect(buildRuns).toContain('npm run build');
    expect(dockerfileText).not.toMatch(/^\s*HEALTHCHECK/m);
  });

  it('runs `node dist/bundle/tokengate.mjs serve` as a numeric non-root user, the config path from TOKENGATE_CONFIG', () => {
    const ins = runtime.instructions;
    expect(JSON.parse(ins.find((i) => i.cmd === 'ENTRYPOINT')!.args)).toEqual(['node', '--max-semi-space-size=4', '--heap-growing-percent=200', 'dist/bundle/tokengate.mjs', 'serve']);
    const user = ins.filter((i) => i.cmd === 'USER').at(-1)!.args.trim();
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(ins.find((i) => i.cmd === 'ENV')!.args).toMatch(/TOKENGATE_CONFIG=\/\S+/);
    expect(ins.some((i) => i.cmd === 'CMD')).toBe(false);
  });

  it('every COPY from the build context, in every stage, finds files that .dockerignore lets through', () => {
    for (const stage of stages) {
      for (const { args } of stage.instructions.filter((i) => i.cmd === 'COPY')) {
        const { from, sources } = copyArgs(args);
        if (from !== undefined) continue;
        for (const s of sources) {
          const path = join(ROOT, s);
          const files = existsSync(path) ? (statSync(path).isDirectory() ? walk(path) : [path]) : [];
          expect(files.filter((f) => !excluded(relative(ROOT, f))).length, `${stage.name}: COPY ${s}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('.dockerignore keeps the working tree\'s build outputs, tools and fetched protos out of the context', () => {
    for (const p of ['node_modules/yaml/package.json', 'dist/cli.js', '.tools/envoy-venv/bin/envoy', '.git/HEAD', 'test/deploy/helpers.ts', 'proto/envoy/service/auth/v3/external_auth.proto', 'deploy/base/deployment.yaml']) {
      expect(excluded(p), p).toBe(true);
    }
    for (const p of ['package.json', 'package-lock.json', 'src/cli.ts', 'tsconfig.build.json', 'scripts/fetch-protos.mjs', 'proto/FILES', 'proto/MANIFEST.sha256', 'config/demo.yaml']) {
      expect(excluded(p), p).toBe(false);
    }
  });
});

describe('the image\'s file layout, built without Docker', () => {
  let image: Replayed;
  let app: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/bundle/tokengate.mjs'))) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
    image = replay(runtime);
    app = join(image.root, image.workdir);
  }, 300_000);

  it('holds dist/, every fetched proto, config/, package.json and production dependencies only', () => {
    expect(existsSync(join(app, 'dist/cli.js'))).toBe(true);
    expect(existsSync(join(app, 'dist/bundle/tokengate.mjs'))).toBe(true);
    expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).type).toBe('module');
    const listed = readFileSync(join(app, 'proto/FILES'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'))
      .map((l) => l.trim().split(/\s+/)[1]!);
    expect(listed.length).toBeGreaterThan(10);
    for (const f of listed) expect(existsSync(join(app, 'proto', f)), f).toBe(true);
    // package-lock.json marks what only the devDependencies pull in with `dev: true`: exactly that must be absent.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> };
    const entries = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const dev = entries.filter(([, p]) => p.dev).map(([path]) => path);
    const prod = entries.filter(([, p]) => !p.dev && !p.optional).map(([path]) => path);
    expect(dev.length).toBeGreaterThan(0);
    for (const path of dev) expect(existsSync(join(app, path)), `dev-only ${path}`).toBe(false);
    for (const path of prod) expect(existsSync(join(app, path, 'package.json')), `production ${path}`).toBe(true);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies)) expect(existsSync(join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
    for (const absent of ['src', 'test', 'scripts', 'deploy', 'tsconfig.json']) expect(existsSync(join(app, absent)), absent).toBe(false);
  });

  it('`tokengate validate` runs from it, with the bundle the ENTRYPOINT names', () => {
    const file = join(tmp, 'deploy-tokengate.yaml');
    cpSync(join(ROOT, 'deploy/base/tokengate.yaml'), file);
    const ok = tokengateValidate(file, join(app, 'dist/bundle/tokengate.mjs'), app);
    expect(ok.status, ok.output).toBe(0);
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'policies: []\n');
    const r = tokengateValidate(bad, join(app, 'dist/bundle/tokengate.mjs'), app);
    expect(r.status).toBe(1);
    expect(r.output).toContain('policies: must not be empty');
  }, 60_000);

  it('its ENTRYPOINT serves Check over a Unix socket with the config from TOKENGATE_CONFIG, and exits 0 on SIGTERM', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const [opsPort] = await freePorts(1);
    const socket = join(tmp, 'authz.sock');
    const config = {
      server: { grpc: { address: `unix:${socket}` }, http: { address: `127.0.0.1:${opsPort}` }, shutdownGraceSeconds: 1 },
      policies: [
        {
          name: 'default',
          validateJwt: {
            issuerSigningKeys: [{ jwk: { ...publicKey.export({ format: 'jwk' }), kid: 'k1' } }],
            audiences: ['api://image-test'],
            issuers: ['https://issuer.example'],
          },
        },
      ],
    };
    const configFile = join(tmp, 'serve.yaml');
    writeFileSync(configFile, stringify(config));
    const [command, ...args] = image.entrypoint!;
    expect(command).toBe('node');
    const script = args.findIndex((a) => !a.startsWith('--'));
    const proc = await startTokengateProcess({
      nodeFlags: args.slice(0, script),
      args: args.slice(script + 1),
      opsPort: opsPort!,
      logFile: join(tmp, 'serve.log'),
      cli: join(app, args[script]!),
      cwd: app,
      env: { ...image.env, TOKENGATE_CONFIG: configFile },
    });
    try {
      const client = authzClient(`unix:${socket}`);
      try {
        const r = await client.check({ path: '/orders' });
        expect(r.status).toBe(401);
      } finally {
        client.close();
      }
    } finally {
      const exit = await proc.stop('SIGTERM');
      expect(exit, proc.logTail()).toEqual({ code: 0, signal: null });
    }
  }, 60_000);
});
