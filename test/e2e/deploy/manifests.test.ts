// deploy/: renders the base, every overlay and the base with every component with `kubectl kustomize`, checks
// every object against the Kubernetes OpenAPI schemas offline, and checks the pod's wiring against the configs
// it carries: sidecar order, probe ports, mounts, security context, the Unix socket, the generated envoy.yaml
// (which must pass `envoy --mode validate`). In the e2e tier: it needs kubectl and Envoy. That deploy/base/envoy.yaml
// is a fresh render of envoy/envoy.yaml is checked in the default tier (test/deploy/envoy_render.test.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ADMIN_CLUSTER, READY_LISTENER } from '../../../scripts/render-deploy.mjs';
import { DEPLOY, ensureBuilt, tokengateValidate } from '../../deploy/helpers.js';
import { envoyValidate } from '../../helpers/envoy_binary.js';
import {
  containerPort,
  only,
  parseObjects,
  podOf,
  portOf,
  renderTargets,
  type K8sObject,
  type RenderedPod,
} from './render.js';
import { checkFieldsWithTypes, validateWithSchemas } from './schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'tokengate-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// The tokengate config is read as plain YAML here (only server addresses and policy names), so these tests do not
// depend on src/ internals; `tokengate validate` (the built CLI, as the image runs it) checks it fully below.
interface TokengateYaml {
  server: { grpc: { address: string }; http: { address: string } };
  policies: { name: string }[];
}

function tokengateYaml(text: string): TokengateYaml {
  return parse(text, { maxAliasCount: 100 }) as TokengateYaml;
}

// ---- Envoy bootstrap helpers (the rendered ConfigMap's envoy.yaml, parsed) ----

type Envoy = any;

function listener(envoy: Envoy, name: string): any {
  const l = envoy.static_resources.listeners.find((x: any) => x.name === name);
  if (!l) throw new Error(`envoy.yaml has no listener ${name}`);
  return l;
}

function cluster(envoy: Envoy, name: string): any {
  const c = envoy.static_resources.clusters.find((x: any) => x.name === name);
  if (!c) throw new Error(`envoy.yaml has no cluster ${name}`);
  return c;
}

function endpointAddresses(c: any): any[] {
  return c.load_assignment.endpoints.flatMap((e: any) => e.lb_endpoints.map((lb: any) => lb.endpoint.address));
}

function routesOf(l: any): any[] {
  const hcm = l.filter_chains[0].filters.find((f: any) => f.name === 'envoy.filters.network.http_connection_manager');
  return hcm.typed_config.route_config.virtual_hosts.flatMap((vh: any) => vh.routes);
}

/** The route a GET to `path` takes on listener `l` (first match by path / prefix / path_separated_prefix). */
function routeFor(l: any, path: string): any {
  return routesOf(l).find((r: any) => {
    const m = r.match;
    if (m.grpc) return false;
    if (m.path !== undefined) return m.path === path;
    if (m.prefix !== undefined) return path.startsWith(m.prefix);
    if (m.path_separated_prefix !== undefined) return path === m.path_separated_prefix || path.startsWith(`${m.path_separated_prefix}/`);
    return false;
  });
}

function allContainers(podSpec: any): any[] {
  return [...(podSpec.initContainers ?? []), ...(podSpec.containers ?? [])];
}

function probesOf(container: any): [string, any][] {
  return (['startupProbe', 'livenessProbe', 'readinessProbe'] as const).filter((p) => container[p]).map((p) => [p, container[p]]);
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

// ---- every kustomization ----

for (const target of renderTargets()) {
  describe(`kubectl kustomize: ${target.name}`, () => {
    let objects: K8sObject[];
    let pod: RenderedPod;
    let envoy: Envoy;

    beforeAll(() => {
      objects = parseObjects(target.render(tmp));
      pod = podOf(objects);
      envoy = parse(pod.envoyConfigText);
    });

    it('every object passes the Kubernetes OpenAPI schemas (kubernetes-models)', async () => {
      expect(objects.length).toBeGreaterThan(5);
      expect(await validateWithSchemas(objects)).toEqual([]);
    });

    it('no object has a field its schema does not define (TypeScript excess-property check against the models)', () => {
      expect(checkFieldsWithTypes(objects)).toEqual([]);
    }, 60_000);

    it('runs tokengate, then Envoy, as restartable init containers (native sidecars), then the app', () => {
      const init = pod.podSpec.initContainers;
      expect(init.map((c: any) => c.name)).toEqual(['tokengate', 'envoy']);
      for (const c of init) expect(c.restartPolicy, c.name).toBe('Always');
      expect(pod.podSpec.containers.map((c: any) => c.name)).toEqual(['app']);
    });

    it('probes reach real ports: tokengate on its ops port from tokengate.yaml, Envoy on its "ready" listener', () => {
      const config = tokengateYaml(pod.tokengateConfigText);
      const opsPort = portOf(config.server.http.address);
      expect(config.server.http.address).toMatch(/^0\.0\.0\.0:/); // the kubelet probes the pod IP
      for (const [name, probe] of probesOf(pod.tokengate)) {
        expect(probe.httpGet, `tokengate ${name}`).toBeDefined();
        expect(containerPort(pod.tokengate, probe.httpGet.port), `tokengate ${name} port`).toBe(opsPort);
      }
      expect(pod.tokengate.readinessProbe.httpGet.path).toBe('/readyz');
      expect(pod.tokengate.livenessProbe.httpGet.path).toBe('/healthz');
      expect(pod.tokengate.startupProbe.httpGet.path).toBe('/healthz');

      const ready = listener(envoy, READY_LISTENER);
      const readyPort = ready.address.socket_address.port_value;
      expect(ready.address.socket_address.address).toBe('0.0.0.0');
      for (const [name, probe] of probesOf(pod.envoy)) {
        expect(containerPort(pod.envoy, probe.httpGet.port), `envoy ${name} port`).toBe(readyPort);
      }
      // Readiness is Envoy's own /ready from the admin API, forwarded; liveness is answered by the listener itself.
      const readiness = routeFor(ready, pod.envoy.readinessProbe.httpGet.path);
      expect(readiness.route.cluster).toBe(ADMIN_CLUSTER);
      expect(readiness.match.path).toBe('/ready');
      const admin = envoy.admin.address.socket_address;
      expect(endpointAddresses(cluster(envoy, ADMIN_CLUSTER))).toEqual([{ socket_address: { address: admin.address, port_value: admin.port_value } }]);
      expect(routeFor(ready, pod.envoy.livenessProbe.httpGet.path).direct_response.status).toBe(200);
    });

    it('keeps the Envoy admin API on loopback and answers only GET /ready and /stats/prometheus from it', () => {
      const admin = envoy.admin.address.socket_address;
      expect(admin.address).toBe('127.0.0.1');
      for (const c of allContainers(pod.podSpec)) expect(containerPort(c, admin.port_value), `${c.name} exposes the admin port`).toBeUndefined();
      const toAdmin = routesOf(listener(envoy, READY_LISTENER)).filter((r: any) => r.route?.cluster === ADMIN_CLUSTER);
      expect(toAdmin.map((r: any) => r.match.path).sort()).toEqual(['/ready', '/stats/prometheus']);
      for (const r of toAdmin) expect(r.match.headers).toEqual([{ name: ':method', string_match: { exact: 'GET' } }]);
      expect(routeFor(listener(envoy, READY_LISTENER), '/quitquitquit').direct_response.status).toBe(404);
      // No other listener or cluster reaches the admin port.
      for (const c of envoy.static_resources.clusters.filter((x: any) => x.name !== ADMIN_CLUSTER)) {
        for (const a of endpointAddresses(c)) expect(a.socket_address?.port_value, c.name).not.toBe(admin.port_value);
      }
    });

    it('the Service exposes only Envoy\'s ingress port and selects the pod', () => {
      const service = only(objects, 'Service');
      const ingressPort = listener(envoy, 'ingress').address.socket_address.port_value;
      expect(service.spec.ports).toHaveLength(1);
      expect(containerPort(pod.envoy, service.spec.ports[0].targetPort)).toBe(ingressPort);
      expect(labelsMatch(service.spec.selector, pod.deployment.spec.template.metadata.labels)).toBe(true);
    });

    it('tokengate and Envoy share the Unix socket in an emptyDir', () => {
      const config = tokengateYaml(pod.tokengateConfigText);
      expect(config.server.grpc.address).toMatch(/^unix:\//);
      const socket = config.server.grpc.address.slice('unix:'.length);
      expect(endpointAddresses(cluster(envoy, 'tokengate'))).toEqual([{ pipe: { path: socket } }]);
      const volumeAt = (c: any) => c.volumeMounts.find((m: any) => m.mountPath === dirname(socket))?.name;
      const volume = volumeAt(pod.tokengate);
      expect(volume, 'tokengate mounts the socket directory').toBeDefined();
      expect(volumeAt(pod.envoy), 'envoy mounts the same volume there').toBe(volume);
      expect(pod.podSpec.volumes.find((v: any) => v.name === volume).emptyDir).toBeDefined();
    });

    it('mounts the ConfigMaps as directories (no subPath anywhere), read-only', () => {
      for (const c of allContainers(pod.podSpec)) {
        for (const m of c.volumeMounts ?? []) expect(m.subPath ?? m.subPathExpr, `${c.name} ${m.mountPath}`).toBeUndefined();
      }
      for (const [c, file] of [[pod.tokengate, pod.tokengateConfigPath], [pod.envoy, pod.envoyConfigPath]] as const) {
        const mount = c.volumeMounts.find((m: any) => m.mountPath === dirname(file));
        expect(mount.readOnly, `${c.name} ${mount.mountPath}`).toBe(true);
      }
      // tokengate's ConfigMap keeps its name so updates land in place (hot reload); Envoy's is hashed (rollout).
      expect(pod.tokengateConfigName).toBe('tokengate-config');
      expect(pod.envoyConfigMap.metadata.name).toMatch(/^envoy-config-[a-z0-9]{10}$/);
    });

    it('runs every container non-root, without privilege escalation or capabilities, read-only, seccomp RuntimeDefault', () => {
      const podSc = pod.podSpec.securityContext;
      expect(podSc.runAsNonRoot).toBe(true);
      expect(podSc.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      expect(podSc.runAsUser).toBeGreaterThan(0);
      expect(pod.podSpec.automountServiceAccountToken).toBe(false);
      for (const c of allContainers(pod.podSpec)) {
        const sc = c.securityContext;
        expect(sc, c.name).toBeDefined();
        expect(sc.runAsNonRoot ?? podSc.runAsNonRoot, c.name).toBe(true);
        expect(sc.allowPrivilegeEscalation, c.name).toBe(false);
        expect(sc.readOnlyRootFilesystem, c.name).toBe(true);
        expect(sc.capabilities?.drop, c.name).toContain('ALL');
        expect(sc.capabilities?.add, c.name).toBeUndefined();
        expect(sc.privileged ?? false, c.name).toBe(false);
        expect((sc.seccompProfile ?? podSc.seccompProfile).type, c.name).toBe('RuntimeDefault');
      }
    });

    it('gives every container CPU and memory requests and limits', () => {
      for (const c of allContainers(pod.podSpec)) {
        for (const kind of ['requests', 'limits']) {
          for (const r of ['cpu', 'memory']) expect(c.resources?.[kind]?.[r], `${c.name} ${kind}.${r}`).toBeDefined();
        }
      }
    });

    it('the app listens on loopback where envoy.yaml\'s upstream cluster points, so nothing bypasses Envoy', () => {
      const [addr] = endpointAddresses(cluster(envoy, 'upstream'));
      expect(addr.socket_address.address).toBe('127.0.0.1');
      const app = pod.podSpec.containers[0];
      expect(app.args.join(' ')).toContain(`127.0.0.1:${addr.socket_address.port_value}`);
      expect(app.ports ?? []).toEqual([]);
    });

    it('has a PodDisruptionBudget and a CPU HorizontalPodAutoscaler for this Deployment (which leaves replicas to it)', () => {
      const labels = pod.deployment.spec.template.metadata.labels;
      const pdb = only(objects, 'PodDisruptionBudget');
      expect(labelsMatch(pdb.spec.selector.matchLabels, labels)).toBe(true);
      expect(pdb.spec.maxUnavailable ?? pdb.spec.minAvailable).toBeDefined();
      const hpa = only(objects, 'HorizontalPodAutoscaler');
      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: pod.deployment.metadata.name });
      expect(hpa.spec.metrics).toContainEqual(expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }));
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(pod.deployment.spec.replicas).toBeUndefined();
      expect(labelsMatch(pod.deployment.spec.selector.matchLabels, labels)).toBe(true);
    });

    it('the tokengate.yaml it carries passes `tokengate validate`', () => {
      ensureBuilt();
      const file = join(tmp, `${target.name.replace(/\W+/g, '_')}-tokengate.yaml`);
      writeFileSync(file, pod.tokengateConfigText);
      const r = tokengateValidate(file);
      expect(r.status, r.output).toBe(0);
    }, 60_000);

    it('the envoy.yaml it carries passes `envoy --mode validate` and is the generated deploy/base/envoy.yaml', () => {
      expect(pod.envoyConfigText).toBe(readFileSync(join(DEPLOY, 'base/envoy.yaml'), 'utf8'));
      const file = join(tmp, `${target.name.replace(/\W+/g, '_')}-envoy.yaml`);
      writeFileSync(file, pod.envoyConfigText);
      const r = envoyValidate(file);
      expect(r.status, r.output).toBe(0);
    }, 60_000);

    it('every policy Envoy names in context_extensions exists in the tokengate config', () => {
      const names = new Set(tokengateYaml(pod.tokengateConfigText).policies.map((p) => p.name));
      const named = routesOf(listener(envoy, 'ingress'))
        .map((r: any) => r.typed_per_filter_config?.['envoy.filters.http.ext_authz']?.check_settings?.context_extensions?.policy)
        .filter(Boolean);
      expect(named.length).toBeGreaterThan(0);
      for (const n of named) expect(names.has(n), `policy "${n}"`).toBe(true);
    });

    if (target.name.includes('components/monitoring')) {
      it('scrapes tokengate\'s /metrics and Envoy\'s /stats/prometheus on ports the pod has', () => {
        const monitor = only(objects, 'PodMonitor');
        expect(labelsMatch(monitor.spec.selector.matchLabels, pod.deployment.spec.template.metadata.labels)).toBe(true);
        const named = allContainers(pod.podSpec).flatMap((c) => (c.ports ?? []).map((p: any) => [p.name, c.name]));
        const byPort = Object.fromEntries(named);
        expect(monitor.spec.podMetricsEndpoints.map((e: any) => [byPort[e.port], e.path])).toEqual([
          ['tokengate', '/metrics'],
          ['envoy', '/stats/prometheus'],
        ]);
        const annotations = pod.deployment.spec.template.metadata.annotations;
        const opsPort = portOf(tokengateYaml(pod.tokengateConfigText).server.http.address);
        expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(opsPort), 'prometheus.io/path': '/metrics' });
      });
    }

    if (target.name.startsWith('overlays/')) {
      it('carries the overlay\'s own tokengate.yaml', () => {
        const overlay = join(DEPLOY, target.name, 'tokengate.yaml');
        expect(pod.tokengateConfigText).toBe(readFileSync(overlay, 'utf8'));
      });
    }
  });
}
