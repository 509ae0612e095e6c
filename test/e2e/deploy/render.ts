// Rendering deploy/ the way a user applies it (`kubectl kustomize`) and reading the pod out of the result. In the e2e
// tier because kubectl is not part of a machine with only Node.js and npm.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEPLOY } from '../../deploy/helpers.js';

/** A Kubernetes object as rendered; the tests read it loosely and check it against the schemas separately. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: any };
  [k: string]: any;
};

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
    ...subdirs(join(DEPLOY, 'overlays')).map((o) => ({
      name: `overlays/${o}`,
      render: () => kustomize(join(DEPLOY, 'overlays', o)),
    })),
    ...subdirs(join(DEPLOY, 'components')).map((c) => ({
      name: `base + components/${c}`,
      render: (tmp: string) => kustomizeWithComponent(tmp, c),
    })),
  ];
}

/** `kubectl kustomize DIR` ($KUBECTL_BIN or kubectl on the PATH). A missing kubectl fails saying so (never a skip). */
export function kustomize(dir: string): string {
  const kubectl = process.env.KUBECTL_BIN || 'kubectl';
  const r = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      `${kubectl} not found: these tests render deploy/ with \`kubectl kustomize\` (kubectl >= 1.27 has kustomize built in)`,
    );
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
