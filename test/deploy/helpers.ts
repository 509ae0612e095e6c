// Shared by the test/deploy tests: rendering the kustomizations, reading the pod out of them, running processes,
// and laying out a ConfigMap volume the way the kubelet does.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = join(ROOT, 'deploy');
export const CLI = join(ROOT, 'dist/cli.js');

/** A Kubernetes object as rendered; the tests read it loosely and check it against the schemas separately. */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: any }; [k: string]: any };

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Every kustomization the tests render: the base, each overlay, and the base with each component. */
export function renderTargets(): { name: string; render: (tmp: string) => string }[] {
  return [
    { name: 'base', render: () => kustomize(join(DEPLOY, 'base')) },
    ...subdirs(join(DEPLOY, 'overlays')).map((o) => ({ name: `overlays/${o}`, render: () => kustomize(join(DEPLOY, 'overlays', o)) })),
    ...subdirs(join(DEPLOY, 'components')).map((c) => ({ name: `base + components/${c}`, render: (tmp: string) => kustomizeWithComponent(tmp, c) })),
  ];
}

/** `kubectl kustomize DIR`. A missing kubectl fails with a message saying so (never a skip). */
export function kustomize(dir: string): string {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('kubectl not found on PATH: these tests render deploy/ with `kubectl kustomize` (kubectl >= 1.27 has kustomize built in)');
  }
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/**
 * Renders the base plus a component through a throwaway kustomization in `tmp` (components are only usable from a
 * kustomization; paths stay relative because kustomize refuses absolute ones).
 */
export function kustomizeWithComponent(tmp: string, component: string): string {
  const dir = join(tmp, `with-${component.replace(/\W+/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  const rel = (p: string) => pathRelative(dir, p);
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ${rel(join(DEPLOY, 'base'))}\ncomponents:\n- ${rel(join(DEPLOY, 'components', component))}\n`,
  );
  return kustomize(dir);
}

function pathRelative(from: string, to: string): string {
  const a = resolve(from).split('/').filter(Boolean);
  const b = resolve(to).split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const o = doc.toJS() as K8sObject | null;
    return o ? [o] : [];
  });
}

export function only(objects: K8sObject[], kind: string, predicate: (o: K8sObject) => boolean = () => true): K8sObject {
  const found = objects.filter((o) => o.kind === kind && predicate(o));
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0]!;
}

/** The pod and the two ConfigMaps' files, as the Deployment mounts them. */
export interface RenderedPod {
  readonly deployment: K8sObject;
  readonly podSpec: any;
  readonly tokengate: any;
  readonly envoy: any;
  /** tokengate.yaml from the ConfigMap mounted at the directory of TOKENGATE_CONFIG. */
  readonly tokengateConfigName: string;
  readonly tokengateConfigMap: K8sObject;
  readonly tokengateConfigText: string;
  readonly envoyConfigMap: K8sObject;
  readonly envoyConfigText: string;
  /** Mount path and file name of each config (TOKENGATE_CONFIG; envoy's --config-path). */
  readonly tokengateConfigPath: string;
  readonly envoyConfigPath: string;
}

export function podOf(objects: K8sObject[]): RenderedPod {
  const deployment = only(objects, 'Deployment');
  const podSpec = deployment.spec.template.spec;
  const tokengate = (podSpec.initContainers ?? []).find((c: any) => c.name === 'tokengate');
  const envoy = (podSpec.initContainers ?? []).find((c: any) => c.name === 'envoy');
  if (!tokengate || !envoy) throw new Error('the Deployment has no tokengate and envoy init containers');
  const tokengateConfigPath = tokengate.env?.find((e: any) => e.name === 'TOKENGATE_CONFIG')?.value;
  if (!tokengateConfigPath) throw new Error('tokengate container: no TOKENGATE_CONFIG');
  const args: string[] = envoy.args ?? [];
  const i = args.findIndex((a) => a === '--config-path' || a === '-c');
  const envoyConfigPath = args[i + 1];
  if (i < 0 || !envoyConfigPath) throw new Error('envoy container: no --config-path argument');
  const mounted = (container: any, file: string) => {
    const mount = (container.volumeMounts ?? []).find((m: any) => m.mountPath === dirname(file));
    if (!mount) throw new Error(`${container.name}: nothing is mounted at ${dirname(file)}`);
    const volume = podSpec.volumes.find((v: any) => v.name === mount.name);
    const cmName = volume?.configMap?.name;
    if (!cmName) throw new Error(`${container.name}: volume ${mount.name} is not a ConfigMap`);
    const cm = only(objects, 'ConfigMap', (o) => o.metadata.name === cmName);
    const key = file.slice(dirname(file).length + 1);
    const text = cm.data?.[key];
    if (typeof text !== 'string') throw new Error(`ConfigMap ${cmName} has no key ${key}`);
    return { cm, text };
  };
  const t = mounted(tokengate, tokengateConfigPath);
  const e = mounted(envoy, envoyConfigPath);
  return {
    deployment,
    podSpec,
    tokengate,
    envoy,
    tokengateConfigName: t.cm.metadata.name,
    tokengateConfigMap: t.cm,
    tokengateConfigText: t.text,
    envoyConfigMap: e.cm,
    envoyConfigText: e.text,
    tokengateConfigPath,
    envoyConfigPath,
  };
}

/** A container port by name or number: its number, or undefined when the container has no such port. */
export function containerPort(container: any, port: string | number): number | undefined {
  const ports: any[] = container.ports ?? [];
  if (typeof port === 'number') return ports.some((p) => p.containerPort === port) ? port : undefined;
  return ports.find((p) => p.name === port)?.containerPort;
}

/** `host:port` → port. */
export function portOf(address: string): number {
  const m = /:(\d+)$/.exec(address);
  if (!m) throw new Error(`not host:port: ${address}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------------------------
// Tools

export function envoyBin(): string {
  const bin = process.env.ENVOY_BIN || join(ROOT, '.tools/envoy-venv/bin/envoy');
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`envoy binary not found at ${bin}: run scripts/install-envoy.sh (or set ENVOY_BIN)`);
  }
  return bin;
}

export function envoyValidate(file: string): { status: number | null; output: string } {
  const r = spawnSync(envoyBin(), ['--mode', 'validate', '-c', file, '--log-level', 'warn'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** dist/ is what the image runs; build it when missing (npm test's pretest builds it anyway). */
export function ensureBuilt(): void {
  if (existsSync(CLI)) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

export function tokengateValidate(file: string, cli = CLI, cwd = ROOT): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [cli, 'validate', file], { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Processes, ports, HTTP

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export interface Proc {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  log(): string;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A child process with stdout and stderr appended to `logFile`. */
export function startProcess(command: string, args: string[], logFile: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], cwd: options.cwd ?? ROOT, env: options.env ?? process.env });
  } finally {
    closeSync(fd);
  }
  children.add(child);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => {
      done = true;
      children.delete(child);
      resolveExit({ code, signal });
    });
    child.once('error', () => {
      done = true;
      children.delete(child);
      resolveExit({ code: null, signal: null });
    });
  });
  return {
    pid: child.pid ?? -1,
    exited,
    running: () => !done,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
      } catch {
        return '';
      }
    },
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!done) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** `n` distinct free TCP ports on 127.0.0.1 (all held open until every one is read). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', () => ok());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  }
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP/1.1 request to 127.0.0.1:port on a fresh connection. */
export function httpGet(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((ok, fail) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', fail);
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path} on ${port}: timed out`)));
    req.on('error', fail);
    req.end();
  });
}

/** Polls `probe` until it returns a value other than undefined; no fixed sleeps stand in for readiness. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, diagnostics?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      // An error marked `fatal` (e.g. the awaited process exited) ends the wait at once.
      if ((err as { fatal?: boolean }).fatal) throw new Error(`${what}: ${(err as Error).message}${diagnostics ? `\n${diagnostics()}` : ''}`);
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${diagnostics ? `\n${diagnostics()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// ConfigMap volumes, as the kubelet writes them (AtomicWriter):
//   dir/..2026_11_30_22_00_00.123456789/tokengate.yaml   the payload, in a timestamped directory
//   dir/..data -> ..2026_11_30_22_00_00.123456789        the one symlink that an update swaps
//   dir/tokengate.yaml -> ..data/tokengate.yaml          stable per-key symlinks
// An update writes a new timestamped directory, points a temporary symlink `..data_tmp` at it, renames that over
// `..data` (one atomic rename(2)), then removes the old directory.

let payloadSeq = 0;

function payloadDir(dir: string, files: Record<string, string>): string {
  const t = new Date().toISOString().replace(/[-:T]/g, '_').replace(/\..*/, '');
  const name = `..${t}.${process.pid}${String(++payloadSeq).padStart(4, '0')}`;
  mkdirSync(join(dir, name));
  for (const [key, text] of Object.entries(files)) writeFileSync(join(dir, name, key), text);
  return name;
}

export function writeConfigMapVolume(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const payload = payloadDir(dir, files);
  symlinkSync(payload, join(dir, '..data'));
  for (const key of Object.keys(files)) symlinkSync(join('..data', key), join(dir, key));
}

export function updateConfigMapVolume(dir: string, files: Record<string, string>): void {
  const old = readlinkSync(join(dir, '..data'));
  const payload = payloadDir(dir, files);
  symlinkSync(payload, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  rmSync(join(dir, old), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------------
// tokengate as a process, and a gRPC client for it built from the fetched Envoy protos (not from src/, so these
// tests exercise exactly what the image runs).

export interface CheckResult {
  /** HTTP status Envoy would answer with: 200 for an allow, else the denied_response status. */
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

const HTTP_STATUS: Record<string, number> = { Unauthorized: 401, Forbidden: 403, ServiceUnavailable: 503, InternalServerError: 500 };

export interface AuthzClient {
  check(request: { path: string; headers?: Record<string, string>; contextExtensions?: Record<string, string> }): Promise<CheckResult>;
  close(): void;
}

export async function authzClient(address: string): Promise<AuthzClient> {
  const grpc = await import('@grpc/grpc-js');
  const { loadSync } = await import('@grpc/proto-loader');
  const definition = loadSync('envoy/service/auth/v3/external_auth.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: [join(ROOT, 'proto')],
  });
  const Authorization = (grpc.loadPackageDefinition(definition) as any).envoy.service.auth.v3.Authorization;
  const client = new Authorization(address, grpc.credentials.createInsecure());
  return {
    check: ({ path, headers = {}, contextExtensions = {} }) =>
      new Promise((ok, fail) => {
        const http = {
          method: 'GET',
          path,
          host: 'api.example.com',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          headers: { ':authority': 'api.example.com', ':method': 'GET', ':path': path, ':scheme': 'http', ...headers },
        };
        const request = { attributes: { request: { http }, context_extensions: contextExtensions } };
        client.Check(request, { deadline: Date.now() + 5000 }, (err: Error | null, res: any) => {
          if (err) return fail(err);
          const allowed = res.status?.code === 0 || res.status?.code === undefined;
          const denied = res.denied_response;
          const optionHeaders = (allowed ? res.ok_response?.headers : denied?.headers) ?? [];
          ok({
            status: allowed ? 200 : (HTTP_STATUS[denied?.status?.code] ?? Number(denied?.status?.code)),
            body: denied?.body ?? '',
            headers: Object.fromEntries(optionHeaders.map((h: any) => [h.header.key, h.header.value])),
          });
        });
      }),
    close: () => client.close(),
  };
}

/** `node dist/cli.js serve --config FILE` (cwd: the package root), ready once GET /readyz on `opsPort` answers 200. */
export async function startTokengate(configFile: string | undefined, opsPort: number, logFile: string, options: { cli?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Proc> {
  const env = { ...process.env, ...options.env };
  delete env.LOG_LEVEL;
  if (configFile === undefined && !env.TOKENGATE_CONFIG) throw new Error('startTokengate: no config file and no TOKENGATE_CONFIG');
  const args = [options.cli ?? CLI, 'serve', ...(configFile === undefined ? [] : ['--config', configFile])];
  const proc = startProcess(process.execPath, args, logFile, { cwd: options.cwd ?? ROOT, env });
  try {
    await waitFor(
      `tokengate GET /readyz == 200 on ${opsPort}`,
      async () => {
        if (!proc.running()) throw Object.assign(new Error('tokengate exited'), { fatal: true });
        return (await httpGet(opsPort, '/readyz', {}, 1000)).status === 200 ? true : undefined;
      },
      20_000,
      () => proc.log(),
    );
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}
